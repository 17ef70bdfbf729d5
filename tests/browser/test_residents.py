"""A resident's concern in Chromium, on SQLite and on PostgreSQL: raised on a process page without an account
(from 203.0.113.7, through a trusted proxy's X-Forwarded-For), moderated with personal data hidden, answered by the
buyer's publisher, then shown in public with its timeline. Every page, JSON twin, export and feed the test reads,
and every line the server logged, is then searched for the resident's address and email."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from sqlalchemy import select
from werkzeug.serving import make_server

from portal.models import Base, Process
from portal.privacy import AnonymousRequestHandler
from tests.conftest import BACKENDS, fresh_database, make_app
from tests.officials.conftest import PASSWORD, Officials, publish
from tests.officials.conftest import cheap_hashes as cheap_hashes  # autouse: argon2id at its smallest cost
from tests.officials.conftest import sign_in as sign_in_client

pytestmark = pytest.mark.browser

RESIDENT = "203.0.113.7"  # TEST-NET-3: cannot match 127.0.0.1 or any URL of the site
EMAIL = "resident.watcher@example.org"
PAYLOAD = "<script>alert('x')</script> The specification names Jean Tremblay's brand of asphalt."


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def app(database_url, tmp_path):
    app = make_app(database_url, tmp_path, TRUSTED_PROXIES=("127.0.0.1/32",), CHECKPOINT_DIR=str(tmp_path / "cp"))
    Base.metadata.create_all(app.extensions["portal.engine"])
    yield app
    app.extensions["portal.engine"].dispose()


@pytest.fixture
def server_log(tmp_path) -> Iterator[Path]:
    """Everything logged while the server runs (Werkzeug's access lines, the app's messages), in a file."""
    path = tmp_path / "server.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    root, werkzeug = logging.getLogger(), logging.getLogger("werkzeug")
    old_level = werkzeug.level
    werkzeug.setLevel(logging.INFO)
    root.addHandler(handler)
    yield path
    root.removeHandler(handler)
    werkzeug.setLevel(old_level)
    handler.close()


@pytest.fixture
def ocid(app) -> str:
    """A process the Roads department published here, so that its publisher answers."""
    officials = Officials(app.extensions["portal.sessions"])
    client = app.test_client()
    assert sign_in_client(client, "roads").status_code == 302
    assert publish(client, officials.roads).status_code == 302
    with app.extensions["portal.sessions"]() as session:
        return session.scalars(select(Process.ocid)).one()


@pytest.fixture
def live_server(app, ocid, server_log) -> Iterator[str]:
    """The app over HTTP, logging as `portal serve` does (no client addresses)."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=AnonymousRequestHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def sign_in(page, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/officials/sign-in")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("nav.official")).to_contain_text(username)


def keep_bodies(page, bodies: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """Keep the body of every text answer the page receives."""

    def on_response(response) -> None:  # type: ignore[no-untyped-def]
        kind = response.headers.get("content-type", "")
        if response.status < 300 and kind.startswith(("text/", "application/json", "application/atom")):
            with contextlib.suppress(Exception):  # a page navigated away before its body was read
                bodies[f"{response.request.method} {response.url}"] = response.text()

    page.on("response", on_response)


def test_a_concern_goes_from_a_resident_through_moderation_to_a_public_answer(
    new_page, app, ocid, live_server, server_log
):
    bodies: dict[str, str] = {}

    # The resident, behind the site's proxy: no account.
    resident = new_page(extra_http_headers={"X-Forwarded-For": RESIDENT})
    keep_bodies(resident, bodies)
    resident.goto(f"/process/{ocid}")
    expect(resident.locator("#concerns-title")).to_have_text("Residents’ concerns")
    expect(resident.locator(".concern-form")).to_contain_text("deleted 90 days after the concern is closed")
    resident.select_option("#concern-category", "specification favours one vendor")
    resident.fill("#concern-text", PAYLOAD)
    resident.fill("#concern-email", EMAIL)
    resident.get_by_role("button", name="Send the concern").click()
    expect(resident.locator(".notice[role=status]")).to_contain_text("your concern was received")
    expect(resident.locator(".concern")).to_have_count(0)  # not public before moderation

    # The moderator hides the name and publishes.
    moderator = new_page()
    keep_bodies(moderator, bodies)
    sign_in(moderator, "moderator")
    moderator.get_by_role("link", name="Residents’ concerns").click()
    moderator.get_by_role("link", name="Concern 1").click()
    expect(moderator.locator("[data-concern-text]")).to_have_text(PAYLOAD)  # as text: the script never ran
    moderator.fill("#m-text", PAYLOAD.replace("Jean Tremblay", "[name hidden]"))
    moderator.get_by_role("button", name="Publish", exact=True).click()
    expect(moderator.locator(".notice[role=status]")).to_contain_text("Concern 1 published.")

    # The buyer's publisher answers.
    publisher = new_page()
    keep_bodies(publisher, bodies)
    sign_in(publisher, "roads")
    publisher.get_by_role("link", name="Residents’ concerns").click()
    publisher.get_by_role("link", name="Concern 1").click()
    publisher.fill("#a-answer", "The specification names a standard (CSA A23.1), not a brand.")
    publisher.get_by_role("button", name="Publish the answer").click()
    expect(publisher.locator(".notice[role=status]")).to_contain_text("Answer published")

    # In public: the moderated text (as text), the answer, the timeline.
    resident.goto(f"/process/{ocid}")
    concern = resident.locator(".concern")
    expect(concern).to_have_count(1)
    expect(concern.locator(".concern-text")).to_have_text(PAYLOAD.replace("Jean Tremblay", "[name hidden]"))
    expect(concern.locator("[data-answer]")).to_contain_text("CSA A23.1")
    expect(concern.locator("[data-step]")).to_have_count(3)
    expect(resident.locator("script")).to_have_count(0)
    results = Axe().run(resident)
    assert not results.violations_count, [v["id"] for v in results.response["violations"]]
    for path in (
        f"/process/{ocid}/concerns.json",
        f"/process/{ocid}/concerns.atom",
        f"/process/{ocid}.json",
        f"/process/{ocid}.csv",
        "/audit.json",
        "/published/releases.json",
        "/privacy",
    ):
        response = resident.request.get(path)
        assert response.ok, path
        bodies[path] = response.text()
    assert "CSA A23.1" in bodies[f"/process/{ocid}/concerns.json"]
    assert "Tremblay" not in bodies[f"/process/{ocid}/concerns.json"]

    assert len(bodies) >= 12  # pages of all three people, the twins, the feed, the export
    log = server_log.read_text(encoding="utf-8")
    assert "POST /process/" in log  # the access lines were captured
    for where, body in {**bodies, "server log": log}.items():
        assert RESIDENT not in body, where
        assert EMAIL not in body, where
    assert "127.0.0.1" not in log  # nor the proxy's (the socket's) address
