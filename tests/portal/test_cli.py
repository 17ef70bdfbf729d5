"""The commands as people call them, through Flask's CLI runner on a real database and index."""

from __future__ import annotations

import socket

from portal.cli import cli
from portal.models import Process, Release
from tests.conftest import DEMO_DATA


def invoke(app, *args):
    return app.test_cli_runner().invoke(cli, list(args))


def test_init_db_creates_the_schema(database_url, tmp_path):
    from portal.app import create_app

    app = create_app(
        {
            "DATABASE_URL": database_url,
            "INDEX_DIR": str(tmp_path / "index"),
            "DOWNLOADS_DIR": str(tmp_path / "downloads"),
            "TESTING": True,
        }
    )
    result = invoke(app, "init-db")
    assert result.exit_code == 0, result.output
    assert "database ready" in result.output
    with app.extensions["portal.sessions"]() as session:
        assert session.query(Release).count() == 0  # the table exists
    app.extensions["portal.engine"].dispose()


def test_ingest_loads_a_folder_and_updates_the_index(app):
    result = invoke(app, "ingest", str(DEMO_DATA / "montreal"), "--source", "Montréal")
    assert result.exit_code == 0, result.output
    assert "succeeded" in result.output
    with app.extensions["portal.sessions"]() as session:
        processes = session.query(Process).count()
    assert processes > 0
    assert f"search index: {processes} processes updated" in result.output
    page = app.test_client().get("/search.json").get_json()
    assert page["total"] == processes


def test_ingest_of_a_bad_file_names_it_and_fails(app, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"releases": [', encoding="utf-8")
    result = invoke(app, "ingest", str(bad))
    assert result.exit_code == 1
    assert "bad.json" in result.output


def test_reindex_rebuilds_what_ingest_indexed(app):
    invoke(app, "ingest", str(DEMO_DATA / "montreal"))
    before = app.test_client().get("/search.json").get_json()["total"]
    result = invoke(app, "reindex")
    assert result.exit_code == 0, result.output
    assert f"rebuilt: {before} processes" in result.output
    assert app.test_client().get("/search.json").get_json()["total"] == before


def test_serve_refuses_a_busy_port_with_advice(app):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = invoke(app, "serve", "--port", str(port))
    assert result.exit_code != 0
    assert f"port {port}" in result.output and "PORT=8000" in result.output


def test_an_index_failure_after_the_commit_fails_the_run(database_url, tmp_path):
    from portal.app import create_app
    from portal.models import Base, IngestRun

    blocked = tmp_path / "index"
    blocked.write_text("a file where the index folder should be", encoding="utf-8")
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "INDEX_DIR": str(blocked),
            "DOWNLOADS_DIR": str(tmp_path / "dl"),
            "TESTING": True,
        }
    )
    Base.metadata.create_all(app.extensions["portal.engine"])
    result = invoke(app, "ingest", str(DEMO_DATA / "montreal"))
    assert result.exit_code != 0
    with app.extensions["portal.sessions"]() as session:
        run = session.query(IngestRun).one()
        assert run.status == "failed"
        assert "search index not updated" in run.error
        assert session.query(Release).count() > 0  # what was stored stays stored, and queued
    app.extensions["portal.engine"].dispose()
