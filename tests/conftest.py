"""Fixtures: a real database per test (SQLite, and the PostgreSQL service), a Whoosh index in tmp_path, and the
real data files. Tests that need PostgreSQL or ../shared/data skip when those are missing, except under CI,
where a missing service or data set fails the run instead of passing it quietly."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from ingest.runner import RunResult, run_ingest
from portal.app import create_app
from portal.domain.vendors import resolve_all
from portal.models import Base
from portal.resources import demo_data_folder
from search_index.indexer import apply_queue

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
DEMO_DATA = demo_data_folder()
POSTGRES_URL = os.environ.get("PORTAL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = bool(os.environ.get("CI"))


def missing(reason: str) -> None:
    """Skip locally; fail under CI, where a skipped suite must not pass for a green one."""
    if IN_CI:
        pytest.fail(f"{reason} (required when CI is set)")
    pytest.skip(reason)


def _postgres_available() -> str | None:
    try:
        with create_engine(POSTGRES_URL).connect() as connection:
            connection.execute(text("select 1"))
    except Exception as error:  # any failure to connect means "not here"
        return str(error).splitlines()[0]
    return None


_POSTGRES_ERROR = _postgres_available()


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark what each test needs, so that `-m "not postgres"`, `-m shared_data` or `-m browser` select by it."""
    for item in items:
        needs = getattr(item, "fixturenames", ())
        if "shared_data" in needs:
            item.add_marker(pytest.mark.shared_data)
        if "browser" in item.nodeid.split("/") or "page" in needs:
            item.add_marker(pytest.mark.browser)
        if "bench" in item.nodeid.split("/"):
            item.add_marker(pytest.mark.postgres)


@contextmanager
def fresh_database(kind: str, folder: Path) -> Iterator[str]:
    """A new, empty database: a file for SQLite; a schema of its own in the `test` database for PostgreSQL."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'portal.sqlite'}"
        return
    if _POSTGRES_ERROR:
        missing(f"PostgreSQL not reachable at {POSTGRES_URL}: {_POSTGRES_ERROR}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def make_app(database_url: str, folder: Path, **settings):
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "INDEX_DIR": str(folder / "index"),
            "DOWNLOADS_DIR": str(folder / "downloads"),
            "TESTING": True,
            **settings,
        }
    )
    Base.metadata.create_all(app.extensions["portal.engine"])
    return app


def load_into(app, location: str | Path, source: str | None = None) -> RunResult:
    """Ingest a location the way `portal ingest` does: store and compile, resolve the new parties into entities,
    then update the search index."""
    result = run_ingest(app.extensions["portal.sessions"], str(location), source_name=source)
    with app.extensions["portal.sessions"].begin() as session:
        resolve_all(session, incremental=True)
    apply_queue(app.extensions["portal.sessions"], app.config["INDEX_DIR"])
    return result


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture(scope="module", params=BACKENDS)
def demo_app(request, tmp_path_factory):
    """One app per backend with the demo set loaded, shared by a module's read-only tests."""
    folder = tmp_path_factory.mktemp("demo")
    with fresh_database(request.param, folder) as url:
        app = make_app(url, folder)
        result = load_into(app, DEMO_DATA, "demo")
        assert result.status == "succeeded", result.errors
        yield app
        app.extensions["portal.engine"].dispose()


@pytest.fixture
def demo_client(demo_app):
    return demo_app.test_client()


@pytest.fixture
def app(database_url, tmp_path):
    app = make_app(database_url, tmp_path)
    yield app
    app.extensions["portal.engine"].dispose()


@pytest.fixture
def sessions(app):
    return app.extensions["portal.sessions"]


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def load(app):
    def load(location: str | Path, source: str | None = None) -> RunResult:
        return load_into(app, location, source)

    return load


@pytest.fixture
def demo_loaded(load):
    result = load(DEMO_DATA, "demo")
    assert result.status == "succeeded", result.errors
    return result


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        missing(f"the shared data set is not at {SHARED_DATA}")
    return SHARED_DATA
