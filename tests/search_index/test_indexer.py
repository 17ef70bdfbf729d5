"""The index is a projection of the database: incremental updates and a full rebuild give the same documents."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select
from whoosh import index as whoosh_index

from portal.models import IndexQueue
from search_index.indexer import apply_queue, open_index, rebuild
from search_index.query import SearchIndex, search_processes
from search_index.schema import process_schema
from tests.conftest import DEMO_DATA


def stored_documents(directory) -> dict[str, dict]:
    with open_index(directory).searcher() as searcher:
        return {fields["ocid"]: fields for fields in searcher.all_stored_fields()}


def test_rebuild_gives_the_same_documents_as_incremental_updates(app, sessions, load):
    load(DEMO_DATA)
    incremental = stored_documents(app.config["INDEX_DIR"])
    assert rebuild(sessions, app.config["INDEX_DIR"]) == len(incremental) == 36
    assert stored_documents(app.config["INDEX_DIR"]) == incremental


def test_ingest_queues_changes_and_indexing_drains_the_queue(app, sessions):
    from ingest.runner import run_ingest

    run_ingest(sessions, str(DEMO_DATA / "ukraine-prozorro"))
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(IndexQueue)) == 11
    assert search_processes(SearchIndex(app.config["INDEX_DIR"]), q="лимони").total == 0  # not indexed yet
    assert apply_queue(sessions, app.config["INDEX_DIR"]) == 11
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(IndexQueue)) == 0
    assert search_processes(SearchIndex(app.config["INDEX_DIR"]), q="лимони").total == 1


def test_an_open_searcher_sees_updates_and_survives_a_rebuild(app, sessions, load, tmp_path):
    index = SearchIndex(app.config["INDEX_DIR"])
    load(DEMO_DATA / "montreal")
    assert search_processes(index, q="arrendamiento").total == 0
    load(DEMO_DATA / "mexico-city")
    found = [h.ocid for h in search_processes(index, q="arrendamiento").hits]
    assert "OCDS-87SD3T-AD-SF-DRM-063-2015" in found
    rebuild(sessions, app.config["INDEX_DIR"])
    assert [h.ocid for h in search_processes(index, q="arrendamiento").hits] == found


def test_changed_amount_is_reflected_in_sorting(app, load, tmp_path):
    base = {"date": "2020-01-01T00:00:00Z", "tender": {"title": "Road works"}}
    releases = [
        dict(
            base,
            ocid=f"ocds-test00-{n}",
            id="1",
            tender={"title": "Road works", "value": {"amount": n * 10, "currency": "CAD"}},
        )
        for n in (1, 2, 3)
    ]
    (tmp_path / "a.json").write_text(json.dumps({"releases": releases}), encoding="utf-8")
    load(tmp_path / "a.json")
    index = SearchIndex(app.config["INDEX_DIR"])
    assert [h.ocid for h in search_processes(index, q="road", sort="amount").hits] == [
        "ocds-test00-3",
        "ocds-test00-2",
        "ocds-test00-1",
    ]
    bigger = dict(
        releases[0], id="2", date="2020-02-01T00:00:00Z", tender={"value": {"amount": 1000, "currency": "CAD"}}
    )
    (tmp_path / "b.json").write_text(json.dumps({"releases": [bigger]}), encoding="utf-8")
    load(tmp_path / "b.json")
    assert search_processes(index, q="road", sort="amount").hits[0].ocid == "ocds-test00-1"


def test_an_index_from_before_the_pairs_field_still_takes_updates_and_finds_phrases(app, load):
    schema = process_schema()
    schema.remove("pairs")
    Path(app.config["INDEX_DIR"]).mkdir(parents=True, exist_ok=True)
    whoosh_index.create_in(app.config["INDEX_DIR"], schema)
    load(DEMO_DATA / "mexico-city")
    index = SearchIndex(app.config["INDEX_DIR"])
    assert "pairs" not in index.searcher().schema
    # Two tender titles, and one process's procurement method rationale ("Arrendamiento de bienes inmuebles").
    assert search_processes(index, q='"arrendamiento de bienes"').total == 3
    assert search_processes(index, q="bienes de arrendamiento").total == 3
    assert search_processes(index, q='"bienes de arrendamiento"').total == 0
