"""The audit trail: every account change and publication is chained; tampering with a row, cutting the chain
short or rewriting it is found by `portal audit verify` and the public page."""

from __future__ import annotations

import json
import re

from sqlalchemy import select, text

from portal.cli import cli
from portal.domain.audit import GENESIS, verify_chain
from portal.models import AuditEntry
from tests.officials.conftest import PASSWORD, publish, sign_in


def verify(app, *args):
    return app.test_cli_runner().invoke(cli, ["audit", "verify", *args])


def _entries(sessions) -> list[AuditEntry]:
    with sessions() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def test_each_change_appends_an_entry_chained_to_the_one_before(app, officials, signed_in, sessions):
    publish(signed_in("roads"), officials.roads)
    entries = _entries(sessions)
    actions = [e.action for e in entries]
    assert actions[:2] == ["department created", "department created"]
    assert actions.count("account created") == 4 and actions[-1] == "notice published"
    assert entries[0].prev_hash == GENESIS
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(entries, entries[1:], strict=False))
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    # Ids and hashes only: no name, no password, no free text.
    assert all(re.fullmatch(r"(account|department|release):\S+", e.subject) for e in entries)
    result = verify(app)
    assert result.exit_code == 0, result.output
    assert f"audit chain intact: {len(entries)} entries" in result.output


def test_a_row_altered_in_the_database_is_found_by_the_verify_command(app, officials, signed_in, sessions):
    publish(signed_in("roads"), officials.roads)
    with sessions() as session, session.begin():
        session.execute(text("UPDATE audit_entry SET subject = 'account:999' WHERE seq = 3"))
    result = verify(app)
    assert result.exit_code == 1
    assert "entry 3: its content does not match its hash: the row was altered" in result.output
    page = app.test_client().get("/audit.json").get_json()
    assert page["intact"] is False and page["breaks"][0]["seq"] == 3
    html = app.test_client().get("/audit").get_data(as_text=True)
    assert 'data-chain="broken"' in html


def test_a_row_rewritten_with_a_fresh_hash_breaks_the_next_link(app, officials, sessions):
    with sessions() as session, session.begin():
        entry = session.get(AuditEntry, 2)
        entry.actor_id = 42
        from portal.domain.audit import _hash_of

        entry.hash = _hash_of(entry)
    report_output = verify(app).output
    assert "entry 3: its link does not match the hash of the entry before it" in report_output


def test_a_deleted_row_shows_as_a_gap(app, officials, sessions):
    with sessions() as session, session.begin():
        session.execute(text("DELETE FROM audit_entry WHERE seq = 4"))
    output = verify(app).output
    assert "entry 5: entries 4 to 4 are missing" in output


def test_a_kept_checkpoint_catches_a_chain_cut_short(app, officials, signed_in, sessions, tmp_path):
    kept = tmp_path / "kept.json"
    with sessions() as session:
        head = verify_chain(session)
    kept.write_text(json.dumps({"seq": head.head_seq, "hash": head.head_hash}))
    assert verify(app, "--checkpoint", str(kept)).exit_code == 0
    with sessions() as session, session.begin():
        session.execute(text(f"DELETE FROM audit_entry WHERE seq = {head.head_seq}"))
    result = verify(app, "--checkpoint", str(kept))
    assert result.exit_code == 1
    assert f"entry {head.head_seq} of the checkpoint is gone" in result.output


def test_the_daily_checkpoint_is_served_and_listed_in_the_atom_feed(app, officials):
    result = app.test_cli_runner().invoke(cli, ["audit", "checkpoint"])
    assert result.exit_code == 0 and "checkpoint written" in result.output
    again = app.test_cli_runner().invoke(cli, ["audit", "checkpoint"])
    assert "exists already" in again.output
    client = app.test_client()
    page = client.get("/audit.json").get_json()
    assert page["intact"] and page["head"]["seq"] == 6
    [url] = page["checkpoints"]
    kept = client.get(url).get_json()
    assert kept["seq"] == 6 and kept["hash"] == page["head"]["hash"]
    feed = client.get("/audit/checkpoints.atom")
    assert feed.mimetype == "application/atom+xml"
    assert kept["hash"] in feed.get_data(as_text=True)
    assert client.get("/audit/checkpoints/../../etc/passwd.json").status_code == 404


def test_a_failed_sign_in_leaves_no_typed_text_in_the_trail(app, officials, sessions):
    client = app.test_client()
    for _ in range(5):
        sign_in(client, "roads", "secret typed by someone")
    sign_in(client, "roads", PASSWORD)
    with sessions() as session:
        rows = session.execute(text("SELECT * FROM audit_entry")).all()
    assert "secret typed" not in repr(rows) and "Roads" not in repr(rows)


def test_concurrent_appends_take_turns_and_never_fork(app, sessions):
    """Two transactions append at once: both commit, one after the other, and the chain stays one line (on
    SQLite the second may instead fail and roll back whole, never fork)."""
    import threading

    from portal.domain.audit import append_entry
    from portal.vocabulary import AuditAction

    first = sessions()
    first.begin()
    append_entry(first, action=AuditAction.ACCOUNT_CREATED, subject="account:1", content={"id": 1}, actor_id=None)
    outcome: list[object] = []

    def second() -> None:
        try:
            with sessions() as session, session.begin():
                entry = append_entry(
                    session, action=AuditAction.ACCOUNT_CREATED, subject="account:2", content={"id": 2}, actor_id=None
                )
                outcome.append(entry.seq)
        except Exception as error:  # SQLite: busy, or a stale head; never a fork
            outcome.append(type(error).__name__)

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(timeout=1)
    first.commit()
    first.close()
    thread.join(timeout=30)
    with sessions() as session:
        report = verify_chain(session)
    assert report.intact
    if app.extensions["portal.engine"].dialect.name == "postgresql":
        assert outcome == [2] and report.entries == 2
