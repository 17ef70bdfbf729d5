"""Bad input and crashes lose nothing: a file that fails is rolled back whole and named in the run's error, the
other files still load, and an ingest killed mid-job leaves only whole files behind and finishes on a re-run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ingest import runner
from ingest.runner import run_ingest
from ingest.status import list_sources
from portal.database import make_engine, make_session_factory
from portal.models import Base, IndexQueue, IngestRun, Package, Process, PublishedRecord, Release
from search_index.indexer import apply_queue, open_index
from tests.conftest import DEMO_DATA, ROOT

MONTREAL = sorted((DEMO_DATA / "montreal").glob("*.json"))
PACKAGE = DEMO_DATA / "mexico-city" / "release-package-AD-063-2015.json"
SMALL_PACKAGE = DEMO_DATA / "mexico-city" / "release-package-AD-065-2015.json"
UKRAINE_RELEASE = (
    DEMO_DATA / "ukraine-prozorro" / "ocds-be6bcu-UA-2016-08-31-000670-b-aad96fd497084a9b94c5cb582349ceb0.json"
)


def count(sessions, model, *where) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def the_run(sessions, run_id: int) -> IngestRun:
    with sessions() as session:
        return session.get(IngestRun, run_id)


def indexed_ocids(app) -> set[str]:
    with open_index(app.config["INDEX_DIR"]).searcher() as searcher:
        return {fields["ocid"] for fields in searcher.all_stored_fields()}


def assert_nothing_stored(sessions) -> None:
    for model in (Package, Release, PublishedRecord, Process, IndexQueue):
        assert count(sessions, model) == 0, model.__name__


@pytest.mark.parametrize("batch", [2, runner.BATCH], ids=["flushed-before-the-bad-line", "default-batch"])
def test_a_bad_json_line_rolls_back_its_whole_file_and_the_next_file_still_loads(
    app, sessions, load, tmp_path, monkeypatch, batch
):
    # With a batch of 2, the first releases are inserted and compiled inside the file's transaction before the
    # bad line is read: the rollback, not the batching, is what must keep them out.
    monkeypatch.setattr(runner, "BATCH", batch)
    flushed: list[int] = []
    real_flush = runner._flush_batch

    def counting_flush(session, package, pending, *rest, **options):
        flushed.append(len(pending))
        real_flush(session, package, pending, *rest, **options)

    monkeypatch.setattr(runner, "_flush_batch", counting_flush)

    releases = [json.loads(path.read_text(encoding="utf-8")) for path in MONTREAL[:5]]
    lines = [json.dumps(release) for release in releases]
    lines[3] = lines[3][: len(lines[3]) // 2]  # line 4 is cut off in the middle
    folder = tmp_path / "feed"
    folder.mkdir()
    (folder / "a-feed.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    shutil.copyfile(SMALL_PACKAGE, folder / "b-package.json")
    good = {(r["ocid"], r["id"]) for r in json.loads(SMALL_PACKAGE.read_text(encoding="utf-8"))["releases"]}

    result = load(folder)

    if batch == 2:
        assert flushed[:1] == [2], "the first two releases should have been flushed before line 4 was read"
    assert result.status == "failed"
    run = the_run(sessions, result.run_id)
    assert run.status == "failed"
    assert run.error.startswith("a-feed.jsonl: invalid JSON at line 4, column ")
    assert "\n" not in run.error  # only the bad file is in error
    assert run.files == 1  # b-package.json
    montreal_ocids = {release["ocid"] for release in releases}
    with sessions() as session:
        assert set(session.execute(select(Release.ocid, Release.release_id)).all()) == good
        assert session.scalars(select(Package.location)).all() == ["b-package.json"]
        assert set(session.scalars(select(Process.ocid))) == {ocid for ocid, _ in good}
        assert not montreal_ocids & set(session.scalars(select(IndexQueue.ocid)))
    assert indexed_ocids(app) == {ocid for ocid, _ in good}


@pytest.mark.parametrize(
    "original",
    [PACKAGE, UKRAINE_RELEASE],
    ids=["release-package-cut-inside-a-string", "pretty-printed-release-cut-inside-a-utf8-character"],
)
def test_a_half_written_file_is_reported_with_its_position_and_nothing_is_stored(sessions, load, tmp_path, original):
    body = original.read_bytes()
    head = body[: len(body) // 2]
    (tmp_path / original.name).write_bytes(head)
    # Where the parser must stop: both cuts land inside a string value, so at that string's opening quote.
    quote = head.rindex(b'"')
    assert head[:quote].rstrip().endswith(b":"), "the cut should fall inside a value string"
    before = head[:quote].decode("utf-8")
    line, column = before.count("\n") + 1, len(before) - before.rfind("\n")

    result = load(tmp_path / original.name)

    assert result.status == "failed"
    run = the_run(sessions, result.run_id)
    assert run.status == "failed"
    expected = f"{original.name}: invalid JSON at line {line}, column {column}: Unterminated string starting at"
    assert run.error == expected
    assert_nothing_stored(sessions)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"hello": 1}', "hello.json: not an OCDS release, record or package (keys: hello)"),
        ("[1, 2]", "hello.json[0]: expected a JSON object, found int"),
    ],
    ids=["object", "array-of-numbers"],
)
def test_a_json_document_that_is_not_ocds_fails_with_a_clear_error(sessions, load, tmp_path, content, message):
    (tmp_path / "hello.json").write_text(content, encoding="utf-8")

    result = load(tmp_path / "hello.json")

    assert result.status == "failed"
    assert the_run(sessions, result.run_id).error == message
    assert_nothing_stored(sessions)


def test_a_package_with_one_bad_release_stores_none_of_its_releases(sessions, load, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "BATCH", 1)  # the good releases are inserted before the bad one is read
    package = json.loads(PACKAGE.read_text(encoding="utf-8"))
    assert len(package["releases"]) == 2
    package["releases"].append("not a release")
    (tmp_path / "package.json").write_text(json.dumps(package, ensure_ascii=False), encoding="utf-8")

    result = load(tmp_path / "package.json")

    assert result.status == "failed"
    assert the_run(sessions, result.run_id).error == "package.json releases[2]: a release must be a JSON object"
    assert_nothing_stored(sessions)


# --- a crash mid-job -------------------------------------------------------------------------------------------

COPIES = 6  # copies of the demo set, each in its own folder: enough files that the kill lands mid-job
CHILD = """
import sys
from ingest.runner import run_ingest
from ingest.status import list_sources
from portal.database import make_engine, make_session_factory

result = run_ingest(make_session_factory(make_engine(sys.argv[1])), sys.argv[2], source_name="crash test")
print(result.status, result.counts.files)
"""


def sqlite_database(path: Path):
    engine = make_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    return engine, make_session_factory(engine)


def release_keys_by_location(sessions) -> dict[str, set[tuple[str, str, str]]]:
    keys: dict[str, set[tuple[str, str, str]]] = {}
    with sessions() as session:
        rows = session.execute(
            select(Package.location, Release.ocid, Release.release_id, Release.checksum).join(
                Release, Release.package_id == Package.id, isouter=True
            )
        )
        for location, *key in rows:
            keys.setdefault(location, set())
            if key[0] is not None:
                keys[location].add(tuple(key))
    return keys


def package_locations(sessions) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(Package.location).order_by(Package.id)))


def compiled_checksums(sessions) -> dict[str, str]:
    with sessions() as session:
        return dict(session.execute(select(Process.ocid, Process.compiled_checksum)).all())


def test_an_ingest_killed_mid_job_leaves_whole_files_and_a_rerun_completes_it(tmp_path):
    data = tmp_path / "data"
    for copy in range(COPIES):
        shutil.copytree(DEMO_DATA, data / f"copy-{copy:02d}", ignore=shutil.ignore_patterns("*.md"))
    files = sum(1 for path in data.rglob("*.json"))

    # What a clean, uninterrupted run ends with.
    clean_engine, clean = sqlite_database(tmp_path / "clean.sqlite")
    clean_run = run_ingest(clean, str(data), source_name="crash test")
    assert clean_run.status == "succeeded", clean_run.errors
    assert clean_run.counts.files == files
    clean_locations, clean_keys = package_locations(clean), release_keys_by_location(clean)
    clean_checksums = compiled_checksums(clean)
    assert count(clean, Release) == 45  # the demo set's distinct releases, whatever the number of copies
    clean_engine.dispose()

    engine, sessions = sqlite_database(tmp_path / "crashed.sqlite")
    log = (tmp_path / "child.out").open("wb")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(engine.url), str(data)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while count(sessions, Release) == 0:
            assert child.poll() is None, f"the ingest ended before any file committed: {child.args}"
            assert time.monotonic() < deadline, "no release committed within 60 s"
            time.sleep(0.01)
        assert child.poll() is None, "the ingest finished before it could be killed: give it more files"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
        log.close()

    # The run is still "running" in the database, the evidence of the crash; its process is gone, so the sources
    # listing already calls it abandoned.
    with sessions() as session:
        runs = session.scalars(select(IngestRun)).all()
        assert [(run.status, run.finished_at, run.error) for run in runs] == [("running", None, None)]
        assert runs[0].owner.endswith(f" {child.pid}")
        [source] = list_sources(session)
        assert source.runs[0].status == "abandoned"
        assert f"pid {child.pid}" in source.runs[0].error

    # Files commit one at a time, in order: what is stored is exactly the first files, each of them whole.
    stored = package_locations(sessions)
    assert 1 <= len(stored) < files
    assert stored == clean_locations[: len(stored)]
    stored_keys = release_keys_by_location(sessions)
    for location in stored:
        assert stored_keys[location] == clean_keys[location], location
    with sessions() as session:
        release_ocids = set(session.scalars(select(Release.ocid)))
        assert set(session.scalars(select(Process.ocid))) == release_ocids
        # Nothing reached the search index, but every changed process is still queued for it.
        assert set(session.scalars(select(IndexQueue.ocid))) == release_ocids

    rerun = run_ingest(sessions, str(data), source_name="crash test")

    assert rerun.status == "succeeded", rerun.errors
    assert package_locations(sessions) == clean_locations
    assert release_keys_by_location(sessions) == clean_keys
    assert compiled_checksums(sessions) == clean_checksums
    with sessions() as session:
        # The next run marked the killed one abandoned, saying why.
        runs = session.scalars(select(IngestRun).order_by(IngestRun.id)).all()
        assert [run.status for run in runs] == ["abandoned", "succeeded"]
        gone = f"the process that ran it (pid {child.pid} on {socket.gethostname()}) is gone"
        assert runs[0].error == f"abandoned: {gone}"
        assert runs[0].finished_at is not None
    index = tmp_path / "index"
    apply_queue(sessions, index)
    with open_index(index).searcher() as searcher:
        assert {fields["ocid"] for fields in searcher.all_stored_fields()} == set(clean_checksums)
    engine.dispose()
