"""One bad file never aborts a run: whatever fails while a file is read or stored (the reader, decompression, the
database refusing a value) is that file's error, named with its reason, and the next file still loads, in a
session that the failure left usable. Each case runs on SQLite and PostgreSQL; some values only PostgreSQL
refuses (SQLite keeps text of any length and any number), and there the file simply loads."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ingest.runner import run_ingest
from portal.models import IngestRun, Package, Process, Release
from tests.conftest import DEMO_DATA

MONTREAL_ID = "479ed54d04ef57f019dab7e6439d1f12871709a8"
MONTREAL_FILE = DEMO_DATA / "montreal" / f"ocds-a1234567-mt-{MONTREAL_ID}-{MONTREAL_ID}.json"
GOOD_PACKAGE = DEMO_DATA / "mexico-city" / "release-package-AD-065-2015.json"
GOOD_OCID = "OCDS-87SD3T-AD-SF-DRM-065-2015"


@pytest.fixture
def load(sessions):
    """Store and compile only: the search index is not what these tests are about (and an amount of 1e30 is
    more than it can hold, which is its own question)."""
    return lambda location: run_ingest(sessions, str(location))


def montreal(**changes) -> dict:
    release = json.loads(MONTREAL_FILE.read_text(encoding="utf-8"))
    release.update(changes)
    return release


def folder_with(tmp_path: Path, name: str, content: bytes) -> Path:
    folder = tmp_path / "feed"
    folder.mkdir()
    (folder / name).write_bytes(content)
    (folder / "z-good.json").write_bytes(GOOD_PACKAGE.read_bytes())
    return folder


def assert_only_the_good_file_loaded(sessions, result, message: str) -> None:
    assert result.status == "failed"
    with sessions() as session:
        run = session.get(IngestRun, result.run_id)
        assert run.error == message
        assert run.files == 1
        assert session.scalars(select(Package.location)).all() == ["z-good.json"]
        assert set(session.scalars(select(Process.ocid))) == {GOOD_OCID}


def is_postgres(sessions) -> bool:
    with sessions() as session:
        return session.get_bind().dialect.name == "postgresql"


def test_ten_thousand_levels_of_nesting_fail_that_file_only(sessions, load, tmp_path):
    deep = b'{"releases": [' + b"[" * 10_000 + b"]" * 10_000 + b"]}"
    result = load(folder_with(tmp_path, "a-deep.json", deep))
    assert_only_the_good_file_loaded(
        sessions, result, "a-deep.json: nested too deeply to read (thousands of levels of arrays or objects)"
    )


def test_deep_nesting_in_json_lines_fails_that_file_only(sessions, load, tmp_path):
    lines = json.dumps(montreal()).encode() + b"\n" + b"[" * 10_000 + b"]" * 10_000 + b"\n"
    result = load(folder_with(tmp_path, "a-deep.jsonl", lines))
    assert_only_the_good_file_loaded(
        sessions, result, "a-deep.jsonl: line 2: nested too deeply to read (thousands of levels of arrays or objects)"
    )


def test_a_truncated_gzip_fails_that_file_only(sessions, load, tmp_path):
    whole = gzip.compress(json.dumps(montreal()).encode() * 1)
    result = load(folder_with(tmp_path, "a-cut.json.gz", whole[: len(whole) - 12]))
    assert_only_the_good_file_loaded(
        sessions,
        result,
        "a-cut.json.gz: the compressed data ends before its end marker (a truncated or partly copied file)",
    )


def test_corrupt_gzip_data_fails_that_file_only(sessions, load, tmp_path):
    whole = bytearray(gzip.compress(json.dumps(montreal()).encode()))
    whole[20:30] = b"\xff" * 10
    result = load(folder_with(tmp_path, "a-corrupt.json.gz", bytes(whole)))
    assert result.status == "failed"
    assert result.errors[0].startswith("a-corrupt.json.gz: corrupt compressed data (")
    with sessions() as session:
        assert set(session.scalars(select(Process.ocid))) == {GOOD_OCID}


# Values a database could refuse. Keys have one length limit on both databases (a longer one fails its file with
# the reason); other text is unlimited and amounts beyond range are kept as published, so those load on both. A
# NUL byte is the one value only PostgreSQL refuses: the file fails there, and the run goes on.
REFUSED = {
    "ocid-too-long": (
        montreal(ocid="ocds-a1234567-mt-" + "x" * 300),
        {"sqlite": "keys are limited to 200", "postgresql": "keys are limited to 200"},
    ),
    "currency-too-long": (
        montreal(awards=[{"id": "1", "status": "active", "value": {"amount": 10, "currency": "DOLLARS"}}]),
        {},
    ),
    "status-too-long": (
        montreal(tender={"id": "t", "status": "active but only until the end of the month, as the notice said"}),
        {},
    ),
    "nul-byte": (
        montreal(tender={"id": "t", "title": "before\u0000after"}),
        {"postgresql": "the database refused a value ("},
    ),
    "numeric-overflow": (
        montreal(awards=[{"id": "1", "status": "active", "value": {"amount": 1e30, "currency": "CAD"}}]),
        {},
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_value_the_database_refuses_fails_that_file_and_the_next_one_loads(sessions, load, tmp_path, case):
    release, refused = REFUSED[case]
    result = load(folder_with(tmp_path, "a-bad.json", json.dumps(release).encode()))

    with sessions() as session:
        ocids = set(session.scalars(select(Process.ocid)))
        releases = session.scalar(select(func.count()).select_from(Release))
    reason = refused.get("postgresql" if is_postgres(sessions) else "sqlite")
    if reason:
        assert result.status == "failed"
        [error] = result.errors
        assert error.startswith("a-bad.json: "), error
        assert reason in error
        assert ocids == {GOOD_OCID}  # nothing of the bad file, all of the good one after it
        assert releases == 2
    else:
        assert result.status == "succeeded", result.errors
        assert ocids == {GOOD_OCID, release["ocid"]}
        assert releases == 3


def test_after_a_refused_file_the_next_run_still_works(sessions, load, tmp_path):
    release, _ = REFUSED["ocid-too-long"]
    (tmp_path / "bad.json").write_text(json.dumps(release), encoding="utf-8")
    load(tmp_path / "bad.json")
    again = load(GOOD_PACKAGE)
    assert again.status == "succeeded", again.errors
    with sessions() as session:
        assert GOOD_OCID in set(session.scalars(select(Process.ocid)))
