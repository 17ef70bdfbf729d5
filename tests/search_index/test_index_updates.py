"""Index updates that must not stop: a value a column cannot hold, a document that fails, a rebuild while
ingests run, a second writer, a search during a rebuild's swap."""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ingest.runner import run_ingest
from portal.models import IndexQueue
from search_index import indexer
from search_index.indexer import IndexBusy, apply_queue, rebuild, update_index, writing
from search_index.query import Filters, SearchIndex, search_processes


def releases_file(folder: Path, name: str, amounts: dict[int, object], step: int = 1) -> Path:
    releases = [
        {
            "ocid": f"ocds-test00-{n}",
            "id": f"r{step}",
            "date": f"2021-01-{step:02d}T00:00:00Z",
            "tag": ["award"],
            "tender": {"title": f"Bridge repairs lot{n}"},
            "awards": [{"id": "1", "status": "active", "value": {"amount": amount, "currency": "CAD"}}],
        }
        for n, amount in amounts.items()
    ]
    path = folder / name
    path.write_text(json.dumps({"releases": releases}), encoding="utf-8")
    return path


def queued(sessions) -> list[str]:
    with sessions() as session:
        return sorted(session.scalars(select(IndexQueue.ocid)))


# Amounts as the database may hand them back (storing them exactly is the data model's business, and
# PostgreSQL's money column refuses some of them): the index must take whatever comes.
HUGE = {1: Decimal("1e17"), 2: Decimal("1e30"), 3: Decimal("1e400"), 6: Decimal("Infinity"), 7: Decimal("-1e17")}


def test_amounts_beyond_the_column_are_left_out_and_block_nothing(app, sessions, tmp_path, monkeypatch):
    documents = indexer.documents

    def huge_amounts(session, ids):
        for document in documents(session, ids):
            number = int(document["ocid"].rsplit("-", 1)[1])
            if number in HUGE:
                document["amount"] = indexer._cents(HUGE[number])
                document["amount_text"] = str(HUGE[number])
            yield document

    monkeypatch.setattr(indexer, "documents", huge_amounts)
    path = releases_file(tmp_path, "a.json", {1: 1, 2: 2, 3: 3, 4: 250, 6: 6, 7: 7})
    assert run_ingest(sessions, str(path)).status == "succeeded"
    report = update_index(sessions, app.config["INDEX_DIR"])
    assert report.indexed == 6 and report.skipped == {}
    assert report.values_left_out == {"amount": 5}
    assert queued(sessions) == []
    index = SearchIndex(app.config["INDEX_DIR"])
    assert search_processes(index, q="bridge").total == 6  # every document indexed, its words searchable
    assert search_processes(index, q="lot2").hits[0].amount == "1E+30"  # the amount still shown as published
    by_amount = search_processes(index, q="bridge", sort="amount")
    assert by_amount.hits[0].ocid == "ocds-test00-4"  # a left-out amount sorts as unknown, last
    assert {h.ocid for h in search_processes(index, q="", filters=Filters("CAD", max_amount=1000)).hits} == {
        "ocds-test00-4"
    }
    # Later ingests and a rebuild still go through.
    later = releases_file(tmp_path, "b.json", {5: 10, 1: 11}, step=2)
    assert run_ingest(sessions, str(later)).status == "succeeded"
    assert apply_queue(sessions, app.config["INDEX_DIR"]) == 2
    assert rebuild(sessions, app.config["INDEX_DIR"]) == 7
    assert search_processes(SearchIndex(app.config["INDEX_DIR"]), q="bridge").total == 7


def test_a_document_that_fails_is_skipped_and_the_rest_indexed(app, sessions, tmp_path, monkeypatch):
    path = releases_file(tmp_path, "a.json", {1: 10, 2: 20, 3: 30})
    (tmp_path / "a.json").write_text(
        (tmp_path / "a.json").read_text().replace("Bridge repairs lot2", "Bridge repairs lot2 zanzibar")
    )
    assert run_ingest(sessions, str(path)).status == "succeeded"
    documents = indexer.documents

    def failing(session, ids):
        for document in documents(session, ids):
            if document["ocid"] == "ocds-test00-2":
                document["title"] = 12345  # Whoosh fails on this late in the document, after other fields
            yield document

    monkeypatch.setattr(indexer, "documents", failing)
    report = update_index(sessions, app.config["INDEX_DIR"])
    assert report.indexed == 2 and list(report.skipped) == ["ocds-test00-2"]
    assert queued(sessions) == ["ocds-test00-2"]  # kept for the next run
    index = SearchIndex(app.config["INDEX_DIR"])
    assert sorted(h.ocid for h in search_processes(index, q="bridge").hits) == ["ocds-test00-1", "ocds-test00-3"]
    assert search_processes(index, q="zanzibar").total == 0  # nothing of the failed document was written
    monkeypatch.setattr(indexer, "documents", documents)
    assert apply_queue(sessions, app.config["INDEX_DIR"]) == 1
    assert search_processes(index, q="zanzibar").total == 1 and queued(sessions) == []


def test_a_release_ingested_during_a_rebuild_is_in_the_new_index(app, sessions, tmp_path, monkeypatch, load):
    load(releases_file(tmp_path, "a.json", {1: 10, 2: 20}))
    build = indexer._build
    seen_during = []

    def build_then_ingest(*args):
        count = build(*args)  # the build has read the database: what comes now is not in it
        load(releases_file(tmp_path, "b.json", {3: 30}, step=2))
        seen_during.append(search_processes(SearchIndex(app.config["INDEX_DIR"]), q="lot3").total)
        return count

    monkeypatch.setattr(indexer, "_build", build_then_ingest)
    assert rebuild(sessions, app.config["INDEX_DIR"]) == 2
    assert seen_during == [1]  # the live index took the update while the rebuild ran
    assert search_processes(SearchIndex(app.config["INDEX_DIR"]), q="bridge").total == 3
    assert queued(sessions) == []


def test_a_rebuild_replays_only_what_was_queued_after_it_started(app, sessions, tmp_path, monkeypatch):
    # A bulk load leaves every process queued; the build reads them all, so replaying them would index each twice.
    assert run_ingest(sessions, str(releases_file(tmp_path, "a.json", {1: 10, 2: 20, 3: 30}))).status == "succeeded"
    assert len(queued(sessions)) == 3
    build, write = indexer._build, indexer._write
    replayed: list[str] = []

    def build_then_ingest(*args):
        count = build(*args)
        assert (
            run_ingest(sessions, str(releases_file(tmp_path, "b.json", {2: 25, 4: 40}, step=2))).status == "succeeded"
        )
        return count

    def recording_write(ix, docs, gone, report):
        replayed.extend(d["ocid"] for d in docs)
        return write(ix, docs, gone, report)

    monkeypatch.setattr(indexer, "_build", build_then_ingest)
    monkeypatch.setattr(indexer, "_write", recording_write)
    assert rebuild(sessions, app.config["INDEX_DIR"]) == 3
    # Lot 2 was queued again by the second ingest (after the build read it), lot 4 is new: only they are replayed.
    assert sorted(replayed) == ["ocds-test00-2", "ocds-test00-4"]
    assert queued(sessions) == []
    index = SearchIndex(app.config["INDEX_DIR"])
    assert search_processes(index, q="bridge").total == 4
    assert search_processes(index, q="lot2").hits[0].amount.startswith("25")


def test_the_web_path_never_creates_an_index(tmp_path):
    missing = tmp_path / "index"
    started = time.monotonic()
    page = search_processes(SearchIndex(missing), q="bridge")
    assert page.total == 0 and page.hits == [] and "not been built" in page.notice
    assert not missing.exists()
    missing.mkdir()  # a folder with no index in it (the previous code's web path left such folders)
    assert "not been built" in search_processes(SearchIndex(missing), q="bridge").notice
    assert time.monotonic() - started < 1  # no rebuild under way: nothing to wait for
    assert list(missing.iterdir()) == []


def test_a_search_during_the_swap_waits_for_the_new_index(app, sessions, tmp_path, monkeypatch, load):
    load(releases_file(tmp_path, "a.json", {1: 10, 2: 20}))
    directory = Path(app.config["INDEX_DIR"])
    index = SearchIndex(directory)
    assert search_processes(index, q="bridge").total == 2
    load(releases_file(tmp_path, "b.json", {3: 30}, step=2))
    swap = indexer._swap
    during: list = []

    def slow_swap(building: Path, target: Path) -> None:
        aside = target.with_name(target.name + ".aside")
        target.rename(aside)  # the moment between the two renames, drawn out
        searching = threading.Thread(target=lambda: during.append(search_processes(index, q="bridge")))
        searching.start()
        time.sleep(0.3)
        assert not target.exists()  # the search did not create an empty index in its place
        aside.rename(target)
        swap(building, target)
        searching.join()

    monkeypatch.setattr(indexer, "_swap", slow_swap)
    rebuild(sessions, directory)
    assert [page.total for page in during] == [3]
    assert search_processes(index, q="bridge").total == 3


def test_a_second_writer_waits_then_says_so(app, sessions, tmp_path):
    assert run_ingest(sessions, str(releases_file(tmp_path, "a.json", {1: 10}))).status == "succeeded"
    directory = app.config["INDEX_DIR"]
    with writing(directory), pytest.raises(IndexBusy, match="another process is writing the search index"):
        apply_queue(sessions, directory, timeout=0.2)
    assert queued(sessions) == ["ocds-test00-1"]

    held = threading.Event()

    def hold() -> None:
        with writing(directory):
            held.set()
            time.sleep(0.5)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait()
    started = time.monotonic()
    assert apply_queue(sessions, directory, timeout=30) == 1  # waited for the other writer, then indexed
    assert time.monotonic() - started >= 0.3
    holder.join()
    with pytest.raises(IndexBusy), indexer._flock(indexer._sibling(directory, ".rebuild.lock"), 0, "rebuild"):
        rebuild(sessions, directory, timeout=0.1)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(IndexQueue)) == 0
