"""`portal sources run | status | check` and `portal demo` with its registers, as people call them."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.cli import cli
from portal.models import FlagResult, Process
from portal.resources import demo_sources_file


def invoke(app, *args):
    return app.test_cli_runner().invoke(cli, list(args))


def test_sources_run_loads_a_named_source_and_updates_the_index(app):
    name = "Ville de Montréal: contrats du conseil municipal (demo excerpt)"
    result = invoke(app, "sources", "run", name, "--file", str(demo_sources_file()))
    assert result.exit_code == 0, result.output
    assert f"{name}: run 1 succeeded: 10 fetched of the publisher's 10, 9 new releases" in result.output
    assert "1 rows not mapped" in result.output
    assert "search index: 9 processes updated" in result.output
    assert app.test_client().get("/search.json").get_json()["total"] == 9


def test_sources_run_names_an_unknown_source(app):
    result = invoke(app, "sources", "run", "Nowhere", "--file", str(demo_sources_file()))
    assert result.exit_code != 0 and "no source named 'Nowhere'" in result.output


def test_sources_status_shows_licence_cursor_and_last_run(app):
    invoke(app, "sources", "run", "--file", str(demo_sources_file()))
    result = invoke(app, "sources", "status")
    assert result.exit_code == 0, result.output
    assert "licence: CC BY 4.0; attribution: Ville de Montréal, données ouvertes" in result.output
    assert "last run 2: succeeded, 308 new releases" in result.output


def test_sources_check_probes_every_source(app):
    result = invoke(app, "sources", "check", "--file", str(demo_sources_file()))
    assert result.exit_code == 0, result.output
    assert result.output.count("up ") == 3


def test_demo_loads_the_registers_beside_the_ocds_files(database_url, tmp_path):
    from portal.app import create_app

    app = create_app(
        {
            "DATABASE_URL": database_url,
            "INDEX_DIR": str(tmp_path / "index"),
            "DOWNLOADS_DIR": str(tmp_path / "downloads"),
            "TESTING": True,
        }
    )
    result = invoke(app, "demo")
    assert result.exit_code == 0, result.output
    assert "City of Chicago: Contracts (demo slice): run 2 succeeded: 513 fetched" in result.output
    with app.extensions["portal.sessions"]() as session:
        chicago = session.scalar(select(func.count()).select_from(Process).where(Process.ocid.like("x-chicago-%")))
    assert chicago == 144
    page = app.test_client().get("/process/x-chicago-contracts-21600").get_data(as_text=True)
    assert "PROPERTY LEASE (revision 15): -4937.20 USD" in page
    # The red flags end computed over the whole demo set (no full computation left due), and search finds them.
    assert "run `portal flags recompute`" not in result.output.rsplit("red flags:", 1)[1]
    with app.extensions["portal.sessions"]() as session:
        fired = session.execute(select(FlagResult.code, func.count()).group_by(FlagResult.code)).all()
    assert fired
    for code, count in fired:
        found = app.test_client().get("/search.json", query_string={"flag": code}).get_json()
        assert found["total"] == count, code
    app.extensions["portal.engine"].dispose()


def test_sources_run_due_runs_only_what_its_schedule_says(app, tmp_path):
    text = demo_sources_file().read_text(encoding="utf-8").replace('schedule = "manual"', 'schedule = "daily"', 1)
    text = text.replace('url = "registers/', f'url = "{demo_sources_file().parent}/registers/')
    sources = tmp_path / "sources.toml"
    sources.write_text(text, encoding="utf-8")
    first = invoke(app, "sources", "run", "--due", "--file", str(sources))
    assert first.exit_code == 0, first.output
    assert "City of Chicago: Contracts (demo slice): run 1 succeeded" in first.output
    assert "Montréal" not in first.output  # manual
    second = invoke(app, "sources", "run", "--due", "--file", str(sources))
    assert "no source is due" in second.output
