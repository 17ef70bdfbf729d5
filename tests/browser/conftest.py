"""Fixtures for the browser tests: the portal on a real HTTP server (SQLite, demo data loaded) and Chromium.

Chromium comes from Debian (/usr/bin/chromium): Playwright's own browser download cannot work here. Without it
the tests skip locally and fail under CI, like the other tests' missing services.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from portal.app import create_app
from portal.models import Base

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PER_PAGE = 5  # small pages, so that the demo set (36 processes) paginates
TIMEOUT_MS = 10_000  # a page of this portal loads in milliseconds: fail fast rather than hang


def missing(reason: str) -> None:
    """Skip locally; fail under CI (same rule as `missing` in tests/conftest.py, which importlib mode hides)."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (required when CI is set)")
    pytest.skip(reason)


@pytest.fixture
def database_url(tmp_path):
    """SQLite only: the browser tests check pages, not backends (tests/portal covers both)."""
    return f"sqlite:///{tmp_path / 'browser.sqlite'}"


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(
        {"DATABASE_URL": database_url, "INDEX_DIR": str(tmp_path / "index"), "TESTING": True, "PER_PAGE": PER_PAGE}
    )
    Base.metadata.create_all(app.extensions["portal.engine"])
    yield app
    app.extensions["portal.engine"].dispose()


@pytest.fixture
def live_server(app, demo_loaded) -> Iterator[str]:
    """The app with the demo data, served over HTTP on a free port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # A short poll interval: shutdown() waits for the serving loop to notice, up to one interval.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="portal-live-server", daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        missing(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@dataclass
class PageProblems:
    """What went wrong in the browser while a test ran: each list should stay empty."""

    dialogs: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    failed_responses: list[str] = field(default_factory=list)

    def watch(self, page) -> None:
        def on_dialog(dialog) -> None:
            self.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        def on_response(response) -> None:
            if response.status >= 400:
                self.failed_responses.append(f"{response.status} {response.url}")

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))

        def on_console(message) -> None:
            # Chromium asks for /favicon.ico on its own; the portal has none, and no page links to one.
            if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
                self.console_errors.append(f"{message.text} ({message.location.get('url')})")

        page.on("console", on_console)
        page.on("response", on_response)

    def summary(self) -> dict[str, list[str]]:
        return {name: values for name, values in vars(self).items() if values}


@pytest.fixture
def problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def new_page(browser, live_server, problems) -> Iterator[Callable]:
    """Open a page in a fresh context (options as for `browser.new_context`), watched for dialogs and errors.

    After the test, no page may have shown a dialog, thrown, logged a console error (a CSP violation is one) or
    received an HTTP error.
    """
    contexts = []

    def open_page(**options):
        context = browser.new_context(base_url=live_server, **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        problems.watch(page)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not problems.summary(), problems.summary()


@pytest.fixture
def page(new_page):
    return new_page()
