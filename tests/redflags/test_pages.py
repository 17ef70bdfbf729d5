"""Where the flags show: the process page (with evidence), the methodology pages, the search facet and badge,
the CLI, the recomputation after a load, and the function residents' concerns call."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from whoosh import index as whoosh_index

from portal.cli import after_loading, cli
from portal.domain.redflags import INDICATORS, fired_flags, load_settings, recompute_flags
from portal.models import FlagResult, Process, VendorParty
from search_index.indexer import rebuild
from search_index.query import SearchIndex, search_processes
from search_index.schema import process_schema
from tests.redflags.conftest import award, release

SHORT = {"id": "t", "procurementMethod": "open", "numberOfTenderers": 1}
SHORT["tenderPeriod"] = {"startDate": "2024-01-01T00:00:00Z", "endDate": "2024-01-02T00:00:00Z"}
LONG = {
    **SHORT,
    "numberOfTenderers": 4,
    "tenderPeriod": {"startDate": "2024-01-01T00:00:00Z", "endDate": "2024-03-01T00:00:00Z"},
}
ACME = {"id": "S1", "name": "Acme Paving"}


def _write(path: Path, releases: list[dict]) -> Path:
    path.write_text(json.dumps({"version": "1.1", "publishedDate": "2024-06-01T00:00:00Z", "releases": releases}))
    return path


def _flagged_set(app, load, sessions, tmp_path) -> None:
    load(_write(tmp_path / "a.json", [release(1, tender=SHORT), release(2, tender=LONG, awards=[award(ACME, 5)])]))
    with sessions.begin() as session:
        recompute_flags(session)
    rebuild(sessions, app.config["INDEX_DIR"])


def test_the_process_page_shows_each_fired_flag_with_its_evidence(app, client, load, sessions, tmp_path):
    _flagged_set(app, load, sessions, tmp_path)
    page = client.get("/process/ocds-flags0-1").get_data(as_text=True)
    assert 'data-flag="R003"' in page and 'data-flag="R018"' in page
    assert "threshold days" in page and "15.0" in page
    # A figure made of named parts (the tender period) reads as words, not as a JSON object.
    period = page.split("<dt>tender period</dt>", 1)[1].split("</dd>", 1)[0]
    assert "start: " in period and "end: " in period and "{" not in period
    assert 'href="/methodology/R003"' in page
    assert 'data-flag="R003"' not in client.get("/process/ocds-flags0-2").get_data(as_text=True)
    twin = client.get("/process/ocds-flags0-1.json").get_json()["red_flags"]
    # Four key fields of eleven published (buyer, method, period, tenderers): the score fires too.
    assert [f["code"] for f in twin["fired"]] == ["R003", "R018", "TRANSPARENCY"]
    assert twin["fired"][0]["evidence"]["days"] == 1.0
    assert twin["outcomes"]["R024"] == "not enough data"
    assert twin["releases_read"] == ["1"]
    assert "compiled from releases 1 (listed below)" in page
    assert set(twin["outcomes"]) == set(INDICATORS)


def test_fired_flags_names_the_releases_read(app, load, sessions, tmp_path):
    _flagged_set(app, load, sessions, tmp_path)
    with sessions() as session:
        process_id = session.scalar(select(Process.id).where(Process.ocid == "ocds-flags0-1"))
        flags = fired_flags(session, process_id)
    assert [(f.code, f.releases) for f in flags] == [("R003", ["1"]), ("R018", ["1"]), ("TRANSPARENCY", ["1"])]
    assert flags[0].title == "Short submission period"


def test_methodology_documents_every_indicator_and_setting(client):
    listing = client.get("/methodology.json").get_json()["indicators"]
    assert [i["code"] for i in listing] == list(INDICATORS)
    settings = load_settings()
    for entry in listing:
        indicator = INDICATORS[entry["code"]]
        assert entry["definition"] and entry["why"] and entry["fields"]
        for name in settings.get(entry["code"], {}):
            assert indicator.settings_help.get(name), f"{entry['code']}.{name} is not documented"
    assert set(settings) <= set(INDICATORS)  # no thresholds for an indicator that does not exist
    page = client.get("/methodology/R003").get_data(as_text=True)
    assert "Short submission period" in page and "tenderPeriod" in page and "15" in page
    assert client.get("/methodology/R003.json").get_json()["settings"][0]["name"] == "days"
    assert client.get("/methodology/R999").status_code == 404
    assert client.get("/methodology.csv").get_data(as_text=True).startswith("code,")


def test_search_has_a_flag_facet_and_badges(app, client, load, sessions, tmp_path):
    _flagged_set(app, load, sessions, tmp_path)
    found = client.get("/search.json", query_string={"flag": "R003"}).get_json()
    assert [r["ocid"] for r in found["results"]] == ["ocds-flags0-1"]
    assert found["results"][0]["flags"] == ["R003", "R018", "TRANSPARENCY"]
    everything = client.get("/search.json").get_json()
    assert {f["value"]: f["count"] for f in everything["facets"]["flag"]} == {"R003": 1, "R018": 1, "TRANSPARENCY": 1}
    page = client.get("/search", query_string={"flag": "R018"}).get_data(as_text=True)
    assert 'class="badge warn" href="/methodology/R018"' in page


def test_an_index_built_before_flags_keeps_working(app, load, sessions, tmp_path):
    schema = process_schema()
    schema.remove("flags")
    Path(app.config["INDEX_DIR"]).mkdir(parents=True, exist_ok=True)
    whoosh_index.create_in(app.config["INDEX_DIR"], schema)
    load(_write(tmp_path / "a.json", [release(1, tender=SHORT)]))
    index = SearchIndex(app.config["INDEX_DIR"])
    results = search_processes(index, q="", facets=10)
    assert results.total == 1 and results.hits[0].flags == []
    assert results.facets.get("flag", []) == []


def test_flags_follow_each_load_and_the_cli_recomputes_them(app, sessions, tmp_path):
    first = _write(tmp_path / "a.json", [release(1, tender=SHORT)])
    runner = app.test_cli_runner()
    assert runner.invoke(cli, ["ingest", str(first)]).exit_code == 0
    with sessions() as session:
        assert session.scalars(select(FlagResult.code).order_by(FlagResult.code)).all() == [
            "R003",
            "R018",
            "TRANSPARENCY",
        ]
    # The same process republished with a long period and four tenderers: its flags go, at the next load.
    later = {**LONG, "id": "t"}
    second = _write(tmp_path / "b.json", [{**release(1, tender=later), "id": "2", "date": "2024-04-01T00:00:00Z"}])
    result = runner.invoke(cli, ["ingest", str(second)])
    assert result.exit_code == 0, result.output
    assert "red flags: 1 processes rewritten" in result.output
    with sessions() as session:
        assert session.scalars(select(FlagResult.code)).all() == ["TRANSPARENCY"]  # R003 and R018 are gone
        session.execute(FlagResult.__table__.delete())
        session.commit()
    assert after_loading(app, []) == 0  # nothing queued: nothing recomputed
    result = runner.invoke(cli, ["flags", "recompute"])
    assert result.exit_code == 0 and "R003: 0 processes" in result.output


def test_buyer_and_supplier_pages_count_their_flags_against_all_processes(app, client, load, sessions, tmp_path):
    load(
        _write(
            tmp_path / "a.json",
            [release(1, tender=SHORT, awards=[award(ACME, 5)]), release(2, tender=LONG, awards=[award(ACME, 5)])],
        )
    )
    with sessions.begin() as session:
        recompute_flags(session)
    with sessions() as session:
        vendor = session.scalar(select(VendorParty.vendor_id).where(VendorParty.kind == "supplier"))
        buyer = session.scalar(select(VendorParty.vendor_id).where(VendorParty.kind == "buyer"))
    figures = client.get(f"/vendor/{vendor}.json").get_json()["red_flags"]
    assert (figures["processes"], figures["flagged"]) == (2, 1)
    by_code = {row["code"]: row for row in figures["by_code"]}
    assert by_code["R003"]["processes"] == 1 and by_code["R003"]["rate"] == 0.5
    assert by_code["R003"]["rate_all_processes"] == 0.5
    assert client.get(f"/buyer/{buyer}.json").get_json()["red_flags"]["flagged"] == 1
    page = client.get(f"/vendor/{vendor}").get_data(as_text=True)
    assert 'href="/methodology/R003"' in page
