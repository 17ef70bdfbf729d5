"""The administrators' vendor page: the CLI's merge, split, undo and review settling as forms, for administrators
only, each calling the same domain function as the command and each appended to the audit trail; old vendor
addresses redirect after a merge or split. Also the command line's `portal vendors settle` and `reopen`."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from portal.cli import cli
from portal.domain.audit import verify_chain
from portal.domain.vendors import resolve_all
from portal.models import Account, AuditEntry, Vendor, VendorDecision, VendorParty, VendorReview
from portal.vocabulary import AuditAction, ReviewReason, ReviewStatus
from tests.officials.conftest import csrf_token
from tests.vendors.conftest import A, B, vendor_of, vendors_loaded  # noqa: F401  (a fixture)

PAGE = "/officials/vendors"


def _ids(sessions) -> dict[str, int]:
    with sessions() as session:
        return {
            "acme": vendor_of(session, A, "ACME Corp.").vendor_id,
            "acme_corp_party": vendor_of(session, B, "ACME CORP").party_id,
            "beta": vendor_of(session, A, "Beta Builders Inc").vendor_id,
            "beta_llc": vendor_of(session, B, "Beta Builders LLC").vendor_id,
        }


def _trail(sessions) -> list[AuditEntry]:
    with sessions() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def _admin_id(sessions) -> int:
    with sessions() as session:
        return session.scalars(select(Account.id).where(Account.username == "admin")).one()


def _same_as_a_whole_run(sessions) -> None:
    """A decision resolves only its own entities again: a whole run afterwards changes nothing."""
    mapping = select(VendorParty.party_id, VendorParty.kind, VendorParty.vendor_id, VendorParty.evidence)
    live = select(Vendor.id, Vendor.merged_into_id)
    with sessions() as session:
        before = (set(session.execute(mapping).all()), set(session.execute(live).all()))
    with sessions.begin() as session:
        resolve_all(session)
    with sessions() as session:
        assert (set(session.execute(mapping).all()), set(session.execute(live).all())) == before


def _post(client, path: str, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, PAGE), **data})


def test_only_administrators_reach_the_vendor_page(app, officials, signed_in, vendors_loaded):  # noqa: F811
    ids = _ids(vendors_loaded)
    anonymous = app.test_client()
    page = anonymous.get(PAGE)
    assert page.status_code == 302 and "/officials/sign-in" in page.headers["Location"]
    token = csrf_token(anonymous)  # a valid token, from the sign-in page: still not allowed
    merged = anonymous.post(f"{PAGE}/merge", data={"csrf_token": token, "vendor_ids": [ids["beta"], ids["beta_llc"]]})
    assert merged.status_code == 302 and "/officials/sign-in" in merged.headers["Location"]
    for username in ("roads", "moderator"):
        client = signed_in(username)
        assert client.get(PAGE).status_code == 403
        token = csrf_token(client, "/officials/")
        for path, data in (
            (f"{PAGE}/merge", {"vendor_ids": [ids["beta"], ids["beta_llc"]]}),
            (f"{PAGE}/{ids['acme']}/split", {"party_ids": [ids["acme_corp_party"]]}),
            (f"{PAGE}/decisions/1/undo", {}),
            (f"{PAGE}/reviews/1/settle", {"outcome": "kept apart"}),
        ):
            assert client.post(path, data={"csrf_token": token, **data}).status_code == 403, (username, path)
    with vendors_loaded() as session:
        assert session.query(VendorDecision).count() == 0
        assert session.query(VendorReview).filter(VendorReview.status != ReviewStatus.OPEN).count() == 0
    assert signed_in("admin").get(PAGE).status_code == 200


def test_every_form_needs_its_csrf_token(signed_in, vendors_loaded):  # noqa: F811
    ids = _ids(vendors_loaded)
    admin = signed_in("admin")
    refused = admin.post(f"{PAGE}/merge", data={"vendor_ids": [ids["beta"], ids["beta_llc"]]})
    assert refused.status_code == 400
    forged = admin.post(f"{PAGE}/merge", data={"csrf_token": "forged", "vendor_ids": [ids["beta"], ids["beta_llc"]]})
    assert forged.status_code == 400
    with vendors_loaded() as session:
        assert session.query(VendorDecision).count() == 0
    html = admin.get(f"{PAGE}?q=acme&vendor={ids['acme']}").get_data(as_text=True)
    assert html.count('<form method="post"') == html.count('name="csrf_token"')


def test_an_administrator_merges_two_vendors_and_undoes_it(app, client, signed_in, vendors_loaded):  # noqa: F811
    ids = _ids(vendors_loaded)
    admin = signed_in("admin")
    found = admin.get(f"{PAGE}?q=beta+builders").get_data(as_text=True)
    assert f'data-vendor="{ids["beta"]}"' in found and f'data-vendor="{ids["beta_llc"]}"' in found
    before = len(_trail(vendors_loaded))

    merged = _post(admin, f"{PAGE}/merge", vendor_ids=[ids["beta"], ids["beta_llc"]], reason="one firm", q="beta")
    assert merged.status_code == 302 and merged.headers["Location"].startswith(PAGE)
    with vendors_loaded() as session:
        decision = session.query(VendorDecision).one()
        assert (decision.action, decision.by, decision.reason, decision.undone_at) == (
            "merge",
            "admin",
            "one firm",
            None,
        )
        survivor = vendor_of(session, A, "Beta Builders Inc").vendor_id
        assert vendor_of(session, B, "Beta Builders LLC").vendor_id == survivor
        gone = ({ids["beta"], ids["beta_llc"]} - {survivor}).pop()
        assert session.get(Vendor, gone).merged_into_id == survivor
    _same_as_a_whole_run(vendors_loaded)
    trail = _trail(vendors_loaded)
    assert len(trail) == before + 1
    entry = trail[-1]
    assert (entry.action, entry.subject, entry.actor_id) == (
        AuditAction.VENDORS_MERGED,
        f"vendor-decision:{decision.id}",
        _admin_id(vendors_loaded),
    )
    assert "one firm" not in json.dumps([e.subject for e in trail])  # the reason is hashed, not kept
    audit = client.get("/audit.json").get_json()
    assert audit["intact"] and audit["recent"][0]["action"] == "vendors merged"
    # The old address leads to where its parties went, in every format.
    moved = client.get(f"/vendor/{gone}")
    assert moved.status_code == 301 and moved.headers["Location"].endswith(f"/vendor/{survivor}")
    assert client.get(f"/vendor/{gone}.csv").headers["Location"].endswith(f"/vendor/{survivor}.csv")
    page = admin.get(PAGE).get_data(as_text=True)
    assert f"Undo decision {decision.id}" in page

    undone = _post(admin, f"{PAGE}/decisions/{decision.id}/undo")
    assert undone.status_code == 302
    with vendors_loaded() as session:
        assert session.get(VendorDecision, decision.id).undone_at is not None
        assert (
            vendor_of(session, A, "Beta Builders Inc").vendor_id != vendor_of(session, B, "Beta Builders LLC").vendor_id
        )
        assert session.get(Vendor, gone).merged_into_id is None
    assert client.get(f"/vendor/{gone}").status_code == 200  # its parties came back to it
    _same_as_a_whole_run(vendors_loaded)
    trail = _trail(vendors_loaded)
    assert trail[-1].action == AuditAction.VENDOR_DECISION_UNDONE and len(trail) == before + 2
    again = _post(admin, f"{PAGE}/decisions/{decision.id}/undo")
    assert again.status_code == 422 and "already undone" in again.get_data(as_text=True)
    assert len(_trail(vendors_loaded)) == before + 2  # a refused action leaves no entry
    with vendors_loaded() as session:
        assert verify_chain(session).intact


def test_an_administrator_splits_a_party_off_and_undoes_it(client, signed_in, vendors_loaded):  # noqa: F811
    ids = _ids(vendors_loaded)
    admin = signed_in("admin")
    parties = admin.get(f"{PAGE}?q=acme&vendor={ids['acme']}").get_data(as_text=True)
    assert f'data-party="{ids["acme_corp_party"]}"' in parties and "same words “ACME”, legal form CORP" in parties

    split = _post(admin, f"{PAGE}/{ids['acme']}/split", party_ids=[ids["acme_corp_party"]], reason="another firm")
    assert split.status_code == 302
    with vendors_loaded() as session:
        decision = session.query(VendorDecision).one()
        assert decision.action == "split" and decision.party_ids == [ids["acme_corp_party"]]
        moved_to = vendor_of(session, B, "ACME CORP").vendor_id
        assert moved_to != ids["acme"] and vendor_of(session, A, "ACME Corp.").vendor_id == ids["acme"]
    assert _trail(vendors_loaded)[-1].action == AuditAction.VENDOR_SPLIT
    _same_as_a_whole_run(vendors_loaded)
    assert client.get(f"/vendor/{moved_to}").status_code == 200

    all_parties = _post(admin, f"{PAGE}/{ids['acme']}/split", party_ids=[ids["acme_corp_party"]])
    assert all_parties.status_code == 422  # that party is not in the entity any more
    assert (
        admin.post(
            f"{PAGE}/{ids['acme']}/split", data={"csrf_token": csrf_token(admin, PAGE), "party_ids": "x"}
        ).status_code
        == 400
    )

    assert _post(admin, f"{PAGE}/decisions/{decision.id}/undo").status_code == 302
    with vendors_loaded() as session:
        assert vendor_of(session, B, "ACME CORP").vendor_id == ids["acme"]
    _same_as_a_whole_run(vendors_loaded)
    # The entity made by the split is retired, and its address leads back.
    moved = client.get(f"/vendor/{moved_to}")
    assert moved.status_code == 301 and moved.headers["Location"].endswith(f"/vendor/{ids['acme']}")


def test_the_review_queue_is_settled_from_the_page(sessions, signed_in, vendors_loaded, tmp_path, load):  # noqa: F811
    # A register that reuses ACME's identifier for another organisation: flagged, not merged.
    release = {
        "ocid": "ocds-cccccc-p9",  # another publisher: the same identifier under B would be B's ACME party
        "id": "1",
        "date": "2022-07-01T00:00:00Z",
        "tag": ["award"],
        "parties": [
            {
                "id": "zeta",
                "name": "Zeta Holdings",
                "identifier": {"scheme": "XX-REG", "id": "111"},
                "roles": ["supplier"],
            }
        ],
        "awards": [{"id": "a9", "status": "active", "suppliers": [{"id": "zeta", "name": "Zeta Holdings"}]}],
    }
    (tmp_path / "zeta.json").write_text(json.dumps(release), encoding="utf-8")
    assert load(tmp_path / "zeta.json").status == "succeeded"
    admin = signed_in("admin")
    page = admin.get(PAGE).get_data(as_text=True)
    with sessions() as session:
        by_reason = {r.reason: r.id for r in session.query(VendorReview).filter_by(status=ReviewStatus.OPEN)}
        zeta = vendor_of(session, "ocds-cccccc", "Zeta Holdings").vendor_id
    ids = _ids(sessions)
    assert zeta != ids["acme"]  # the same identifier, names that disagree: not merged
    conflict, forms = by_reason[ReviewReason.IDENTIFIER_NAMES_DISAGREE], by_reason[ReviewReason.LEGAL_FORMS_DIFFER]
    assert page.index(f'data-review="{conflict}"') < page.index(f'data-review="{forms}"')  # identifier conflicts first

    # Keep the conflict apart: it leaves the queue and a full rerun does not bring it back.
    kept = _post(admin, f"{PAGE}/reviews/{conflict}/settle", outcome="kept apart")
    assert kept.status_code == 302
    with sessions.begin() as session:
        resolve_all(session)
    with sessions() as session:
        review = session.get(VendorReview, conflict)
        assert (review.status, review.settled_by, review.decision_id) == (ReviewStatus.KEPT_APART, "admin", None)
        assert session.query(VendorReview).filter_by(reason=ReviewReason.IDENTIFIER_NAMES_DISAGREE).count() == 1
    assert _trail(sessions)[-1].action == AuditAction.VENDOR_REVIEW_SETTLED
    assert f'data-review="{conflict}"' in admin.get(PAGE).get_data(as_text=True)  # listed under "Kept apart"
    assert _post(admin, f"{PAGE}/reviews/{conflict}/reopen").status_code == 302
    with sessions() as session:
        assert session.get(VendorReview, conflict).status == ReviewStatus.OPEN
    assert _trail(sessions)[-1].action == AuditAction.VENDOR_REVIEW_REOPENED

    # Merge the two legal forms: a decision, which undone puts the pair back in the queue.
    merged = _post(admin, f"{PAGE}/reviews/{forms}/settle", outcome="merged")
    assert merged.status_code == 302
    with sessions() as session:
        review = session.get(VendorReview, forms)
        assert review.status == ReviewStatus.MERGED and review.decision_id is not None
        assert (
            vendor_of(session, A, "Beta Builders Inc").vendor_id == vendor_of(session, B, "Beta Builders LLC").vendor_id
        )
        decision_id = review.decision_id
    assert [e.action for e in _trail(sessions)[-2:]] == [AuditAction.VENDORS_MERGED, AuditAction.VENDOR_REVIEW_SETTLED]
    assert _post(admin, f"{PAGE}/reviews/{forms}/settle", outcome="merged").status_code == 422  # settled already
    assert _post(admin, f"{PAGE}/reviews/{forms}/settle", outcome="maybe").status_code == 400
    assert _post(admin, f"{PAGE}/decisions/{decision_id}/undo").status_code == 302
    with sessions() as session:
        review = session.get(VendorReview, forms)
        assert (review.status, review.decision_id, review.settled_by) == (ReviewStatus.OPEN, None, None)
        assert (
            vendor_of(session, A, "Beta Builders Inc").vendor_id != vendor_of(session, B, "Beta Builders LLC").vendor_id
        )
        assert verify_chain(session).intact


@pytest.mark.parametrize("outcome", ["--merge", "--keep-apart"])
def test_the_command_line_settles_a_review(app, vendors_loaded, outcome):  # noqa: F811
    runner = app.test_cli_runner()
    with vendors_loaded() as session:
        review_id = session.query(VendorReview).filter_by(reason=ReviewReason.LEGAL_FORMS_DIFFER).one().id
    listed = runner.invoke(cli, ["vendors", "review"])
    assert listed.output.splitlines()[0].split("\t")[0].isdigit()
    assert f"{review_id}\tsupplier\tlegal forms differ" in listed.output
    assert runner.invoke(cli, ["vendors", "settle", str(review_id), "--by", "x"]).exit_code != 0  # says which
    settled = runner.invoke(cli, ["vendors", "settle", str(review_id), outcome, "--by", "A. Official"])
    assert settled.exit_code == 0, settled.output
    with vendors_loaded() as session:
        review = session.get(VendorReview, review_id)
        assert review.settled_by == "A. Official"
        assert (review.decision_id is not None) == (outcome == "--merge")
        entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
        assert entries[-1].action == AuditAction.VENDOR_REVIEW_SETTLED and entries[-1].actor_id is None
    reopened = runner.invoke(cli, ["vendors", "reopen", str(review_id)])
    assert (reopened.exit_code == 0) == (outcome == "--keep-apart"), reopened.output
