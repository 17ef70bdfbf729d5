"""Residents' concerns through the web app, on SQLite and PostgreSQL: raise (no account) → moderate → answer →
shown in public; the buyer without a publisher; XSS as text; CSRF, honeypot, size and rate limits; retention; the
buyer's counts; and no address or email of a resident in any page, JSON, export, feed, log or table."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from sqlalchemy import inspect, select, text, update

from portal.cli import cli
from portal.domain.audit import verify_chain
from portal.models import (
    AuditEntry,
    Concern,
    ConcernContact,
    ConcernEvent,
    FlagResult,
    OutboxMessage,
    Process,
    VendorParty,
    utcnow,
)
from portal.render import encode_ocid
from portal.vocabulary import AuditAction, EntityKind
from tests.conftest import missing
from tests.officials.conftest import csrf_token
from tests.portal.test_render import ODD_OCIDS
from tests.residents.conftest import EMAIL, RESIDENT, RESIDENT_V6, client_from, raise_concern, raise_form

REDACTED = "The tender asks for a brand of asphalt only one local firm sells. [name hidden]"


def _only_concern(sessions) -> Concern:
    with sessions() as session:
        concern = session.scalars(select(Concern)).one()
        session.expunge(concern)
        return concern


def _moderate(client, concern_id: int, **form: str):
    token = csrf_token(client, f"/officials/concerns/{concern_id}")
    return client.post(f"/officials/concerns/{concern_id}/moderate", data={"csrf_token": token, **form})


def _answer(client, concern_id: int, answer: str):
    token = csrf_token(client, f"/officials/concerns/{concern_id}")
    return client.post(f"/officials/concerns/{concern_id}/answer", data={"csrf_token": token, "answer": answer})


def test_a_concern_is_moderated_answered_by_the_buyer_and_shown_in_public(
    app, roads_ocid, resident, signed_in, sessions
):
    raised = raise_concern(resident, roads_ocid, text="Only Jean Tremblay's firm sells that asphalt, see the spec.")
    assert raised.status_code == 303
    assert resident.get(raised.headers["Location"]).status_code == 200
    concern = _only_concern(sessions)
    assert concern.status == "received"
    # Not public before moderation: neither the page, its JSON twin, nor the feed shows it.
    for path in (
        f"/process/{roads_ocid}",
        f"/process/{roads_ocid}/concerns.json",
        f"/process/{roads_ocid}/concerns.atom",
    ):
        assert "Tremblay" not in resident.get(path).get_data(as_text=True), path

    moderator = signed_in("moderator")
    queue = moderator.get("/officials/concerns").get_data(as_text=True)
    assert f'data-concern="{concern.id}"' in queue
    # A publisher sees no unmoderated concern, and may not moderate.
    roads = signed_in("roads")
    assert roads.get(f"/officials/concerns/{concern.id}").status_code == 404
    token = csrf_token(roads, "/officials/")
    refused = roads.post(f"/officials/concerns/{concern.id}/moderate", data={"csrf_token": token, "action": "publish"})
    assert refused.status_code == 403

    # The moderator hides the name while publishing.
    hidden = "Only [name hidden]'s firm sells that asphalt, see the spec."
    assert _moderate(moderator, concern.id, action="publish", text=hidden).status_code == 302
    page = resident.get(f"/process/{roads_ocid}").get_data(as_text=True)
    assert "[name hidden]" in page.replace("&#39;", "'") and "Tremblay" not in page
    assert "data-due" in page
    data = resident.get(f"/process/{roads_ocid}/concerns.json").get_json()
    (shown,) = data["concerns"]
    assert shown["status"] == "published" and shown["answer"] is None and shown["answer_due"]
    assert [step["status"] for step in shown["timeline"]] == ["received", "published"]
    assert "Tremblay" not in str(data)

    # Another department's publisher may not answer; the buyer's may.
    parks = signed_in("parks")
    assert _answer(parks, concern.id, "Not ours.").status_code == 403
    answered = _answer(
        roads, concern.id, "The specification names a standard (CSA A23.1), not a brand; see addendum 2."
    )
    assert answered.status_code == 302
    page = resident.get(f"/process/{roads_ocid}").get_data(as_text=True)
    assert "CSA A23.1" in page and "data-other-means" not in page
    shown = resident.get(f"/process/{roads_ocid}/concerns.json").get_json()["concerns"][0]
    assert shown["status"] == "answered" and shown["answer"]["by_other_means"] is False
    assert [step["status"] for step in shown["timeline"]] == ["received", "published", "answered"]
    feed = resident.get(f"/process/{roads_ocid}/concerns.atom")
    assert feed.mimetype == "application/atom+xml" and "CSA A23.1" in feed.get_data(as_text=True)

    # Closing, then every step is on the audit chain; the author heard of each by email, through the outbox.
    assert _moderate(moderator, concern.id, action="resolve").status_code == 302
    with sessions() as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.subject == f"concern:{concern.id}")).all()
        assert actions == [AuditAction.FLAG_MODERATED, AuditAction.CONCERN_ANSWERED, AuditAction.FLAG_MODERATED]
        assert verify_chain(session).intact
        outbox = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [m.recipient for m in outbox] == [EMAIL] * 4
        assert [m.subject.rsplit(" ", 1)[-1] for m in outbox] == ["received", "published", "answered", "closed"]
        assert session.get(Concern, concern.id).closed_at is not None


def test_a_buyer_without_a_publisher_is_answered_by_a_moderator_marked_as_such(
    app, montreal_ocid, resident, signed_in, sessions
):
    page = resident.get(f"/process/{montreal_ocid}").get_data(as_text=True)
    assert 'data-answerer="none"' in page
    assert raise_concern(resident, montreal_ocid, email=None).status_code == 303
    concern = _only_concern(sessions)
    moderator = signed_in("moderator")
    assert _moderate(moderator, concern.id, action="publish").status_code == 302
    assert _answer(signed_in("roads"), concern.id, "Not our buyer.").status_code == 403
    assert (
        _answer(moderator, concern.id, "The city's letter of 3 December says the deadline was extended.").status_code
        == 302
    )
    page = resident.get(f"/process/{montreal_ocid}").get_data(as_text=True)
    assert "data-other-means" in page and "letter of 3 December" in page
    shown = resident.get(f"/process/{montreal_ocid}/concerns.json").get_json()["concerns"][0]
    assert shown["answer"]["by_other_means"] is True
    with sessions() as session:
        assert session.scalars(select(OutboxMessage)).all() == []  # no email was given: nobody to tell


def test_a_rejected_concern_is_never_public_and_its_reason_goes_to_the_author_only(
    app, roads_ocid, resident, signed_in, sessions
):
    raise_concern(resident, roads_ocid, text="Buy my product at www.example.com cheap cheap cheap!")
    concern = _only_concern(sessions)
    moderator = signed_in("moderator")
    assert _moderate(moderator, concern.id, action="reject", reason="").status_code == 422
    assert _moderate(moderator, concern.id, action="reject", reason="Advertising, not a concern.").status_code == 302
    for path in (
        f"/process/{roads_ocid}",
        f"/process/{roads_ocid}/concerns.json",
        f"/process/{roads_ocid}/concerns.atom",
    ):
        body = resident.get(path).get_data(as_text=True)
        assert "cheap" not in body and "Advertising" not in body
    with sessions() as session:
        last = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
        assert last.recipient == EMAIL and "Advertising, not a concern." in last.body
        assert session.get(Concern, concern.id).status == "rejected"
    # Moderated once: a second decision is refused.
    assert _moderate(moderator, concern.id, action="publish").status_code == 422


XSS = [
    "<script>alert('xss')</script> is what the tender page says",
    '"><img src=x onerror=alert(1)> about the specification',
    "javascript:alert(1) <a href='javascript:alert(2)'>click</a> in the tender",
    'see https://example.org/evil"onmouseover="alert(1) for the specification',
]


def test_xss_payloads_are_shown_as_text_and_links_work_only_once_published(
    app, roads_ocid, resident, signed_in, sessions
):
    for number, payload in enumerate(XSS, start=1):  # from several clients: the limit is 3 a day each here
        assert raise_concern(client_from(app, f"198.51.100.{number}"), roads_ocid, text=payload).status_code == 303
    moderator = signed_in("moderator")
    with sessions() as session:
        ids = session.scalars(select(Concern.id).order_by(Concern.id)).all()
    # In the queue, before publication: escaped, and no link at all.
    unpublished = moderator.get(f"/officials/concerns/{ids[3]}").get_data(as_text=True)
    text_shown = unpublished.split("data-concern-text>")[1].split("</p>")[0]
    assert "<a " not in text_shown and "https://example.org/evil" in text_shown
    for concern_id in ids:
        body = moderator.get(f"/officials/concerns/{concern_id}").get_data(as_text=True)
        assert "<script>alert" not in body and "<img src=x" not in body
        assert _moderate(moderator, concern_id, action="publish").status_code == 302
    page = resident.get(f"/process/{roads_ocid}/concerns").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<script>alert" not in page and "<img src=x" not in page and 'href="javascript' not in page
    # Published: the http(s) link is clickable, marked as leaving the site, and cannot break out of its attribute.
    links = re.findall(r"<a ([^>]*)>", page.split('id="concerns"')[1])
    external = [a for a in links if "nofollow" in a]
    assert external == ['href="https://example.org/evil" rel="nofollow noopener external"']
    assert not re.search(r"<[^>]*(onerror|onmouseover)", page)  # the rest stays text, outside any tag
    data = resident.get(f"/process/{roads_ocid}/concerns.json").get_json()
    assert {c["text"] for c in data["concerns"]} == set(XSS)  # JSON keeps the text as written


def test_a_post_without_a_csrf_token_is_refused(app, roads_ocid, resident, sessions):
    form = raise_form(resident, roads_ocid)
    for token in (None, "forged"):
        data = {**form, "csrf_token": token} if token else {k: v for k, v in form.items() if k != "csrf_token"}
        assert resident.post(f"/process/{roads_ocid}/concerns", data=data).status_code == 400
    fresh = client_from(app, RESIDENT)  # another browser, with this one's token
    assert fresh.post(f"/process/{roads_ocid}/concerns", data=form).status_code == 400
    with sessions() as session:
        assert session.scalars(select(Concern)).all() == []


def test_the_honeypot_is_answered_as_a_success_and_stores_nothing(app, roads_ocid, resident, sessions):
    response = raise_concern(resident, roads_ocid, website="http://spam.example")
    assert response.status_code == 303
    with sessions() as session:
        assert session.scalars(select(Concern)).all() == []
    # Nor did it count against the limit (3 here).
    for _ in range(3):
        assert raise_concern(resident, roads_ocid).status_code == 303


def test_fields_and_size_are_checked(app, roads_ocid, resident, sessions):
    cases = {
        "text": {"text": "too short"},
        "email": {"email": "not an email"},
        "category": {"category": "<b>made up</b>"},
    }
    for field, change in cases.items():
        response = raise_concern(resident, roads_ocid, **change)
        assert response.status_code == 422, field
        assert f'id="concern-e-{field}"' in response.get_data(as_text=True)
    assert raise_concern(resident, roads_ocid, text="x" * 5001).status_code == 422
    assert raise_concern(resident, roads_ocid, text="é" * 12000).status_code == 413
    assert resident.post("/process/no-such-ocid/concerns", data=raise_form(resident, roads_ocid)).status_code == 404
    with sessions() as session:
        assert session.scalars(select(Concern)).all() == []


def test_a_concern_cites_only_the_red_flags_that_fired_on_its_process(app, roads_ocid, resident, signed_in, sessions):
    with sessions.begin() as session:
        process_id = session.scalar(select(Process.id).where(Process.ocid == roads_ocid))
        for code in ("R018", "R003"):
            session.add(FlagResult(process_id=process_id, code=code, outcome="fired", evidence={}))
    page = resident.get(f"/process/{roads_ocid}/concerns").get_data(as_text=True)
    assert 'name="flags" value="R003"' in page and 'name="flags" value="R018"' in page
    assert 'value="R048"' not in page

    form = raise_form(resident, roads_ocid, email=None)
    form["flags"] = ["R018", "R003", "R018"]
    assert resident.post(f"/process/{roads_ocid}/concerns", data=form).status_code == 303
    concern = _only_concern(sessions)
    assert concern.flags == ["R018", "R003"]
    _moderate(signed_in("moderator"), concern.id, action="publish")
    assert resident.get(f"/process/{roads_ocid}/concerns.json").get_json()["concerns"][0]["flags"] == ["R018", "R003"]
    shown = resident.get(f"/process/{roads_ocid}").get_data(as_text=True)
    assert 'href="/methodology/R018"' in shown.split("data-cited-flags", 1)[1].split("</p>", 1)[0]

    # A flag that did not fire here, or a made-up code, is refused with the form kept.
    for cited in (["R048"], ["R018", "single-bid"]):
        form = raise_form(resident, roads_ocid, email=None)
        form["flags"] = cited
        assert resident.post(f"/process/{roads_ocid}/concerns", data=form).status_code == 422, cited
    raise_concern(resident, roads_ocid)  # no flags: null, not an empty list
    with sessions() as session:
        assert session.scalars(select(Concern.flags).order_by(Concern.id.desc())).first() is None


def test_the_rate_limit_refuses_with_a_clear_message_per_client(app, roads_ocid, sessions):
    resident = client_from(app, RESIDENT)
    for _ in range(3):  # CONCERN_CLIENT_LIMIT=3 in these tests
        assert raise_concern(resident, roads_ocid).status_code == 303
    refused = raise_concern(resident, roads_ocid)
    assert refused.status_code == 429
    body = refused.get_data(as_text=True)
    assert "Too many concerns from your connection: at most 3 in 24 hours" in body
    assert "try again tomorrow" in body
    # A header the client writes changes nothing without a trusted proxy.
    spoofed = raise_concern(resident, roads_ocid, **{})
    assert spoofed.status_code == 429
    header = client_from(app, RESIDENT, HTTP_X_FORWARDED_FOR="198.51.100.9")
    assert raise_concern(header, roads_ocid).status_code == 429
    other = client_from(app, "198.51.100.9")
    assert raise_concern(other, roads_ocid).status_code == 303
    # IPv6: the whole /64 is one client.
    for host in range(1, 4):
        v6 = client_from(app, f"2001:db8:85a3:1::{host}")
        assert raise_concern(v6, roads_ocid).status_code == 303
    v6 = client_from(app, RESIDENT_V6)
    assert raise_concern(v6, roads_ocid).status_code == 429
    with sessions() as session:
        assert len(session.scalars(select(Concern)).all()) == 7


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(database_url, tmp_path, roads_ocid):
    from tests.conftest import make_app

    proxied = make_app(database_url, tmp_path / "proxied", TRUSTED_PROXIES=("127.0.0.1/32",), CONCERN_CLIENT_LIMIT=1)
    first = client_from(proxied, "127.0.0.1", HTTP_X_FORWARDED_FOR=RESIDENT)
    assert raise_concern(first, roads_ocid).status_code == 303
    assert raise_concern(first, roads_ocid).status_code == 429
    second = client_from(proxied, "127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.9")
    assert raise_concern(second, roads_ocid).status_code == 303
    proxied.extensions["portal.engine"].dispose()


def test_the_tender_limit_holds_across_clients(database_url, tmp_path, roads_ocid):
    from tests.conftest import make_app

    limited = make_app(database_url, tmp_path / "limited", CONCERN_TENDER_LIMIT=2)
    for host in (1, 2):
        assert raise_concern(client_from(limited, f"198.51.100.{host}"), roads_ocid).status_code == 303
    refused = raise_concern(client_from(limited, "198.51.100.3"), roads_ocid)
    assert refused.status_code == 429 and "This process has received too many concerns today" in refused.get_data(
        as_text=True
    )
    limited.extensions["portal.engine"].dispose()


def test_emails_are_purged_days_after_closing_and_the_command_is_safe_to_repeat(
    app, roads_ocid, resident, signed_in, sessions
):
    moderator = signed_in("moderator")
    for _ in range(3):
        raise_concern(resident, roads_ocid)
    with sessions() as session:
        old, recent, still_open = session.scalars(select(Concern.id).order_by(Concern.id)).all()
    _moderate(moderator, old, action="reject", reason="Duplicate.")
    _moderate(moderator, recent, action="publish")
    _moderate(moderator, recent, action="refer")
    _moderate(moderator, still_open, action="publish")
    with sessions.begin() as session:
        session.execute(update(Concern).where(Concern.id == old).values(closed_at=utcnow() - timedelta(days=91)))
    runner = app.test_cli_runner()
    result = runner.invoke(cli, ["concerns", "purge"])
    assert result.exit_code == 0, result.output
    assert "1 email(s) deleted" in result.output
    with sessions() as session:
        assert session.scalars(select(ConcernContact.concern_id).order_by(ConcernContact.concern_id)).all() == [
            recent,
            still_open,
        ]
        assert session.scalars(select(OutboxMessage).where(OutboxMessage.concern_id == old)).all() == []
        purged = session.get(Concern, old)
        assert purged is not None and purged.status == "rejected"  # the record stays, without the words
        assert purged.text == "" and purged.rejection_reason is None
        assert session.get(Concern, recent).text != ""  # published text is the public record
    again = runner.invoke(cli, ["concerns", "purge"])
    assert again.exit_code == 0 and "0 email(s) deleted" in again.output


def test_buyer_pages_count_open_and_answered_concerns(app, montreal_ocid, resident, signed_in, sessions):
    with sessions() as session:
        vendor_id = session.scalar(
            select(VendorParty.vendor_id)
            .join(Process, Process.buyer_id == VendorParty.party_id)
            .where(Process.ocid == montreal_ocid, VendorParty.kind == str(EntityKind.BUYER))
        )
    assert vendor_id is not None
    moderator = signed_in("moderator")
    for _ in range(3):
        raise_concern(resident, montreal_ocid, email=None)
    first, second, _waiting = _ids(sessions)
    _moderate(moderator, first, action="publish")
    _moderate(moderator, second, action="publish")
    _answer(moderator, second, "Answered by letter.")
    page = resident.get(f"/buyer/{vendor_id}").get_data(as_text=True)
    assert re.search(r'data-figure="concerns-open">1<', page)
    assert re.search(r'data-figure="concerns-answered">1<', page)
    assert resident.get(f"/buyer/{vendor_id}.json").get_json()["concerns"] == {"open": 1, "answered": 1, "overdue": 0}
    with sessions.begin() as session:  # the deadline passes
        session.execute(update(Concern).where(Concern.id == first).values(answer_due=utcnow() - timedelta(days=1)))
    assert resident.get(f"/buyer/{vendor_id}.json").get_json()["concerns"]["overdue"] == 1


def _ids(sessions) -> list[int]:
    with sessions() as session:
        return list(session.scalars(select(Concern.id).order_by(Concern.id)))


def test_no_address_or_email_in_any_page_json_export_feed_log_or_table(
    app, roads_ocid, montreal_ocid, resident, signed_in, sessions, logs
):
    moderator, roads = signed_in("moderator"), signed_in("roads")
    raise_concern(resident, roads_ocid)
    raise_concern(resident, montreal_ocid)
    v6 = client_from(app, RESIDENT_V6)
    raise_concern(v6, roads_ocid, email="second.person@example.net")
    first, second, third = _ids(sessions)
    _moderate(moderator, first, action="publish")
    _moderate(moderator, second, action="publish")
    _moderate(moderator, third, action="reject", reason="Duplicate of an earlier concern.")
    _answer(roads, first, "We will review the specification.")
    _answer(moderator, second, "Answered by letter.")
    _moderate(moderator, first, action="resolve")
    with sessions() as session:
        vendor_ids = session.scalars(select(VendorParty.vendor_id).where(VendorParty.kind == "buyer")).all()

    bodies = {}
    paths = [
        "/",
        "/index.json",
        "/privacy",
        "/privacy.json",
        "/audit",
        "/audit.json",
        "/published/releases.json",
        "/search?q=asphalt",
        "/search.json?q=asphalt",
        "/search.csv?q=asphalt",
        "/search.atom?q=asphalt",
    ]
    for ocid in (roads_ocid, montreal_ocid):
        paths += [f"/process/{ocid}", f"/process/{ocid}.json", f"/process/{ocid}.csv"]
        paths += [f"/process/{ocid}/concerns", f"/process/{ocid}/concerns.json", f"/process/{ocid}/concerns.atom"]
    for vendor_id in vendor_ids:
        paths += [f"/buyer/{vendor_id}", f"/buyer/{vendor_id}.json", f"/buyer/{vendor_id}.csv"]
    for path in paths:
        response = resident.get(path)
        assert response.status_code == 200, path
        bodies[path] = response.get_data(as_text=True)
    for client, who in ((moderator, "moderator"), (roads, "roads")):
        for path in ["/officials/", "/officials/concerns"] + [
            f"/officials/concerns/{i}" for i in (first, second, third)
        ]:
            response = client.get(path)
            bodies[f"{who} {path}"] = response.get_data(as_text=True)
    assert "We will review the specification." in bodies[f"/process/{roads_ocid}/concerns.json"]
    secrets = [RESIDENT, RESIDENT_V6, "2001:db8", EMAIL, "second.person@example.net"]
    for where, body in bodies.items():
        for secret in secrets:
            assert secret not in body, (secret, where)
    log_text = "\n".join(f"{r.name} {r.getMessage()}" for r in logs.records)
    for secret in secrets:
        assert secret not in log_text
    # Nor is the address in any table: only the emails, in the contact and outbox tables, which are never shown.
    engine = app.extensions["portal.engine"]
    with engine.connect() as connection:
        for table in inspect(engine).get_table_names():
            rows = connection.execute(text(f'SELECT * FROM "{table}"')).all()
            dump = repr(rows)
            assert RESIDENT not in dump and "2001:db8" not in dump, table
            if table not in ("concern_contact", "outbox_message"):
                assert EMAIL not in dump and "example.net" not in dump, table


def test_the_process_page_shows_the_form_and_the_privacy_note(app, roads_ocid, resident):
    page = resident.get(f"/process/{roads_ocid}").get_data(as_text=True)
    assert 'name="csrf_token"' in page and 'action="/process/' in page
    assert "deleted 90 days after the concern is closed" in page
    assert 'href="/privacy"' in page
    privacy = resident.get("/privacy.json").get_json()
    assert privacy["email_kept_days_after_closing"] == 90 and privacy["addresses_stored"] is False


def test_concern_event_rows_follow_the_timeline(app, roads_ocid, resident, signed_in, sessions):
    raise_concern(resident, roads_ocid, email=None)
    (concern_id,) = _ids(sessions)
    moderator = signed_in("moderator")
    _moderate(moderator, concern_id, action="publish")
    _moderate(moderator, concern_id, action="refer")
    with sessions() as session:
        steps = session.scalars(select(ConcernEvent.status).order_by(ConcernEvent.id)).all()
        assert steps == ["received", "published", "referred"]
    assert _moderate(moderator, concern_id, action="resolve").status_code == 422  # closed already


def test_with_redis_the_limit_is_shared_by_every_app_instance(database_url, tmp_path, roads_ocid):
    """Two app instances (two workers) share Redis: the second sees the first one's count."""
    import secrets

    import redis

    from portal.privacy import REDIS_COUNTER, RedisKey, pseudonym
    from tests.conftest import make_app
    from tests.residents.test_privacy import REDIS_URL

    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as error:
        missing(f"Redis not reachable at {REDIS_URL}: {error}")
    # A fresh client each run: counters in Redis outlive the test by up to a day.
    address = f"2001:db8:{secrets.randbelow(0xFFFF):x}:{secrets.randbelow(0xFFFF):x}::1"
    workers = [make_app(database_url, tmp_path / f"w{n}", REDIS_URL=REDIS_URL, CONCERN_CLIENT_LIMIT=2) for n in (1, 2)]
    try:
        assert raise_concern(client_from(workers[0], address), roads_ocid).status_code == 303
        assert raise_concern(client_from(workers[1], address), roads_ocid).status_code == 303
        assert raise_concern(client_from(workers[0], address), roads_ocid).status_code == 429
    finally:
        connection = redis.Redis.from_url(REDIS_URL)
        connection.delete(REDIS_COUNTER + "client:" + pseudonym(RedisKey(connection).current(), address))
        for app in workers:
            app.extensions["portal.engine"].dispose()


def test_the_outbox_is_written_to_a_mail_file_once(app, roads_ocid, resident, signed_in, sessions, tmp_path):
    import mailbox

    raise_concern(resident, roads_ocid)
    (concern_id,) = _ids(sessions)
    _moderate(signed_in("moderator"), concern_id, action="reject", reason="Not about this tender.")
    runner, path = app.test_cli_runner(), tmp_path / "out.mbox"
    result = runner.invoke(cli, ["concerns", "mail", "--mbox", str(path)])
    assert result.exit_code == 0 and "2 message(s)" in result.output, result.output
    mails = list(mailbox.mbox(str(path)))
    assert [m["To"] for m in mails] == [EMAIL, EMAIL]
    assert "Not about this tender." in mails[1].get_payload()
    assert "0 message(s)" in runner.invoke(cli, ["concerns", "mail", "--mbox", str(path)]).output
    assert len(mailbox.mbox(str(path))) == 2


def test_a_concern_can_be_raised_on_any_ocid(app, load, sessions, tmp_path):
    """Ocids with `/`, `%`, `?`, `#`, `~`, spaces and letters beyond ASCII: the form, the post, the page it
    redirects to and the feed all reach the right process."""
    for number, ocid in enumerate(ODD_OCIDS):
        release = {
            "ocid": ocid,
            "id": "1",
            "date": "2020-01-01T00:00:00-05:00",
            "tag": ["tender"],
            "tender": {"id": "t", "title": f"Oddity {number}"},
        }
        (tmp_path / f"odd-{number}.json").write_text(json.dumps(release, ensure_ascii=False), encoding="utf-8")
    assert load(tmp_path).status == "succeeded"
    for number, ocid in enumerate(ODD_OCIDS):
        client = client_from(app, f"198.51.100.{number + 1}")  # one client each: the per-client limit stays out
        segment = encode_ocid(ocid)
        raised = raise_concern(client, segment, text=f"Concern number {number} about this oddity.")
        assert raised.status_code == 303, (ocid, raised.get_data(as_text=True)[:300])
        assert client.get(raised.headers["Location"]).status_code == 200, ocid
        assert client.get(f"/process/{segment}/concerns.atom").status_code == 200, ocid
    with sessions() as session:
        raised_on = dict(session.execute(select(Concern.text, Concern.ocid)).all())
    assert raised_on == {f"Concern number {n} about this oddity.": ocid for n, ocid in enumerate(ODD_OCIDS)}
