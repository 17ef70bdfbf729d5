"""Runs tell the truth and lose nothing silently: one source per folder however its path is spelled, index
failures and a full disk reported in the run, empty files and empty folders named as such, every accepted
suffix picked up, and ocdsmerge's warnings kept as notes of the run rather than lines on stderr."""

from __future__ import annotations

import gzip
import json
import sqlite3
import warnings
import zipfile

import pytest
from ocdsmerge.exceptions import OCDSMergeWarning
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from ingest import runner
from ingest.fetch import http_session
from ingest.ocds import FILE_SUFFIXES, SUFFIXES, accepted_suffix
from ingest.runner import record_index_failure, run_ingest
from portal.models import IngestRun, Package, Process, Source
from tests.conftest import DEMO_DATA
from tests.ingest.http_server import running_server

SMALL_PACKAGE = DEMO_DATA / "mexico-city" / "release-package-AD-065-2015.json"
MONTREAL = sorted((DEMO_DATA / "montreal").glob("*.json"))


def montreal_release(index: int) -> dict:
    return json.loads(MONTREAL[index].read_text(encoding="utf-8"))


def test_the_same_folder_under_two_spellings_is_one_source(sessions, tmp_path):
    folder = tmp_path / "feed"
    folder.mkdir()
    (folder / "package.json").write_bytes(SMALL_PACKAGE.read_bytes())
    (tmp_path / "other").mkdir()

    for spelling in (str(folder), f"{folder}/", f"{tmp_path}/other/../feed", f"{tmp_path}/./feed//"):
        assert run_ingest(sessions, spelling).status == "succeeded"

    with sessions() as session:
        sources = session.scalars(select(Source)).all()
        assert [(source.name, source.location) for source in sources] == [(str(folder), str(folder))]
        assert len(session.scalars(select(IngestRun)).all()) == 4
        assert session.scalars(select(Package.location)).all() == ["package.json"]


def test_a_relative_path_names_the_same_source_as_its_absolute_path(sessions, tmp_path, monkeypatch):
    (tmp_path / "package.json").write_bytes(SMALL_PACKAGE.read_bytes())
    monkeypatch.chdir(tmp_path)
    run_ingest(sessions, "package.json")
    run_ingest(sessions, str(tmp_path / "package.json"))
    with sessions() as session:
        assert session.scalars(select(Source.name)).all() == [str(tmp_path / "package.json")]


def test_an_index_failure_after_the_commit_is_reported_in_the_run(sessions):
    result = run_ingest(sessions, str(SMALL_PACKAGE))
    assert result.status == "succeeded"

    record_index_failure(sessions, result.run_id, "OSError: [Errno 28] No space left on device")

    with sessions() as session:
        run = session.get(IngestRun, result.run_id)
        assert run.status == "failed"
        assert run.error == (
            "search index not updated: OSError: [Errno 28] No space left on device (the changed processes stay "
            "queued for the next update)"
        )
        assert run.releases_new == 2  # what was stored stays stored


def test_a_full_disk_stops_the_run_and_names_the_file(sessions, tmp_path, monkeypatch):
    for name in ("a.json", "b.json", "c.json", "d.json"):
        (tmp_path / name).write_bytes(SMALL_PACKAGE.read_bytes())
    real = runner.load_file

    def disk_fills_up(session, source, run_id, path, *, location, **options):
        if location == "b.json":
            raise OperationalError("INSERT INTO release ...", {}, sqlite3.OperationalError("database or disk is full"))
        return real(session, source, run_id, path, location=location, **options)

    monkeypatch.setattr(runner, "load_file", disk_fills_up)
    result = run_ingest(sessions, str(tmp_path))

    assert result.status == "failed"
    assert result.errors == [
        "b.json: the database could not write (database or disk is full); the run stopped there (2 more files not read)"
    ]
    assert result.counts.files == 1
    with sessions() as session:
        assert session.scalars(select(Package.location)).all() == ["a.json"]


@pytest.mark.parametrize(("content", "reason"), [(b"", "no bytes"), (b" \n\t\n", "only white space")])
def test_an_empty_file_is_empty_not_invalid_json(sessions, tmp_path, content, reason):
    (tmp_path / "a-empty.json").write_bytes(content)
    (tmp_path / "b.json").write_bytes(SMALL_PACKAGE.read_bytes())
    result = run_ingest(sessions, str(tmp_path))
    assert result.errors == [f"a-empty.json: empty ({reason})"]
    assert result.counts.files == 1


def test_an_empty_json_lines_file_is_empty(sessions, tmp_path):
    (tmp_path / "empty.jsonl").write_bytes(b"\n\n")
    result = run_ingest(sessions, str(tmp_path / "empty.jsonl"))
    assert result.errors == ["empty.jsonl: empty (no JSON in the file)"]


def test_a_folder_with_no_loadable_file_is_a_failed_run(sessions, tmp_path):
    (tmp_path / "README.txt").write_text("nothing to load here", encoding="utf-8")
    (tmp_path / "data.csv").write_text("a,b\n", encoding="utf-8")
    result = run_ingest(sessions, str(tmp_path))
    assert result.status == "failed"
    assert result.errors == [f"{tmp_path}: no loadable file (looked for names ending in {', '.join(FILE_SUFFIXES)})"]
    assert result.counts.files == 0


def test_every_suffix_the_reader_accepts_is_picked_up_from_a_folder(sessions, tmp_path):
    documents = {}
    for index, suffix in enumerate(FILE_SUFFIXES):
        release = montreal_release(index)
        documents[suffix] = release["ocid"]
        text = json.dumps(release).encode() + b"\n"
        path = tmp_path / f"file-{index}{suffix}"
        if suffix == ".zip":
            with zipfile.ZipFile(path, "w") as archive:
                archive.writestr("inner.jsonlines", text)
        elif suffix.endswith(".gz"):
            path.write_bytes(gzip.compress(text))
        else:
            path.write_bytes(text)
    (tmp_path / "skipped.txt").write_text("{}", encoding="utf-8")

    result = run_ingest(sessions, str(tmp_path))

    assert result.status == "succeeded", result.errors
    assert result.counts.files == len(FILE_SUFFIXES)
    with sessions() as session:
        assert set(session.scalars(select(Process.ocid))) == set(documents.values())


def test_one_table_of_suffixes_names_what_is_read_and_how():
    assert set(SUFFIXES) == {".json", ".jsonl", ".ndjson", ".jsonlines"}
    assert accepted_suffix("feed.JSONLINES") == ".jsonlines"
    assert accepted_suffix("feed.jsonlines.gz") == ".jsonlines.gz"
    assert accepted_suffix("feed.json.gz") == ".json.gz"
    assert accepted_suffix("archive.zip") == ".zip"
    assert accepted_suffix("notes.txt") is None


def test_a_download_keeps_the_suffix_that_says_how_to_read_it(sessions):
    lines = b"".join(json.dumps(montreal_release(i)).encode() + b"\n" for i in range(3))
    with running_server() as server:
        url = server.serve("/feed.jsonlines", lines) + "?page=1"
        result = run_ingest(sessions, url, http=http_session(backoff=0))
    assert result.status == "succeeded", result.errors
    assert result.counts.releases_new == 3


def test_ocdsmerge_warnings_become_notes_of_the_run_not_stderr(sessions, tmp_path):
    release = montreal_release(0)
    release["tender"] = {"id": "t", "items": [{"id": "1", "description": "a"}, {"id": "1", "description": "b"}]}
    (tmp_path / "duplicates.json").write_text(json.dumps(release), encoding="utf-8")

    with warnings.catch_warnings():
        warnings.simplefilter("error", OCDSMergeWarning)  # one escaping the run would fail this test
        result = run_ingest(sessions, str(tmp_path / "duplicates.json"))

    assert result.status == "succeeded", result.errors
    merge_notes = [note for note in result.counts.notes if note["note"].startswith("ocdsmerge: ")]
    assert merge_notes, result.counts.notes
    assert all(note["where"] == "duplicates.json" for note in merge_notes)
    assert any("'1'" in note["note"] for note in merge_notes)
    with sessions() as session:
        assert session.get(IngestRun, result.run_id).notes == result.counts.notes


def test_a_run_that_cannot_record_its_outcome_still_reports_it(sessions, tmp_path, monkeypatch):
    (tmp_path / "a.json").write_bytes(SMALL_PACKAGE.read_bytes())

    def full(*args, **kwargs):
        raise OperationalError("UPDATE ingest_run ...", {}, sqlite3.OperationalError("database or disk is full"))

    monkeypatch.setattr(runner, "_finish", full)
    result = run_ingest(sessions, str(tmp_path))
    assert result.status == "failed"
    assert result.counts.files == 1
    assert result.errors == [
        "the run's outcome could not be recorded (run: the database could not write (database or disk is full)); "
        "the next run will mark it abandoned"
    ]
