"""Bounded memory, disk and time: decompression bombs, oversized downloads, servers that trickle or ask to be
retried in a day, and runs that go on too long all end with an error naming the limit, in bounded time and
memory, and the other files still load. Downloads killed mid-way leave no folder behind for long."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from ingest import fetch
from ingest.fetch import clean_temporary_folders, download, http_session
from ingest.limits import GiB, Limits
from ingest.ocds import IngestError, read_file
from ingest.runner import run_ingest
from portal.models import Process
from tests.conftest import DEMO_DATA, ROOT
from tests.ingest.http_server import running_server

SMALL_PACKAGE = DEMO_DATA / "mexico-city" / "release-package-AD-065-2015.json"
SMALL_OCID = "OCDS-87SD3T-AD-SF-DRM-065-2015"
MiB = 1 << 20


@pytest.fixture
def server():
    with running_server() as running:
        yield running


def gzip_bomb(path: Path, gigabytes: int) -> Path:
    """A gzip file of a few MB that decompresses to `gigabytes` GB of a JSON package's white space: valid JSON
    as far as anyone reads it, so that only a limit can stop it. Built from one compressed member of 64 MB of
    spaces repeated (gzip members concatenated decompress as one stream)."""
    spaces = gzip.compress(b" " * (64 * MiB), compresslevel=9)
    with open(path, "wb") as out:
        out.write(gzip.compress(b'{"releases": ['))
        for _ in range(gigabytes * 16):
            out.write(spaces)
        out.write(gzip.compress(b"]}"))
    return path


MEASURE = r"""
import json, re, sys
from pathlib import Path
from ingest.runner import run_ingest
from portal.database import make_engine, make_session_factory
from portal.models import Base

engine = make_engine(sys.argv[1])
Base.metadata.create_all(engine)
result = run_ingest(make_session_factory(engine), sys.argv[2])
# VmHWM, this process's own peak: ru_maxrss would carry the size of the pytest process it was forked from.
peak = int(re.search(r"VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text()).group(1)) * 1024
print(json.dumps({"status": result.status, "errors": result.errors, "files": result.counts.files, "peak": peak}))
"""


def test_a_gzip_bomb_fails_its_file_in_bounded_memory_and_the_next_file_loads(tmp_path):
    folder = tmp_path / "feed"
    folder.mkdir()
    bomb = gzip_bomb(folder / "a-bomb.json.gz", gigabytes=4)
    assert bomb.stat().st_size < 8 * MiB
    (folder / "b-good.json").write_bytes(SMALL_PACKAGE.read_bytes())

    started = time.monotonic()
    child = subprocess.run(
        [sys.executable, "-c", MEASURE, f"sqlite:///{tmp_path / 'portal.sqlite'}", str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == 0, child.stderr
    result = json.loads(child.stdout)

    assert result["status"] == "failed"
    [error] = result["errors"]
    assert error.startswith("a-bomb.json.gz: decompresses to more than 100 times its compressed size"), error
    assert error.endswith("stopped as a likely decompression bomb")
    assert result["files"] == 1  # b-good.json
    assert result["peak"] < 300 * MiB, f"peak RSS {result['peak'] / MiB:.0f} MiB"
    assert time.monotonic() - started < 120


def test_the_decompressed_size_limit_stops_a_member(tmp_path):
    path = tmp_path / "big.jsonl.gz"
    line = json.dumps({"ocid": "ocds-x-1", "id": "1", "tag": ["planning"], "padding": "x" * 1000}) + "\n"
    path.write_bytes(gzip.compress(line.encode() * 3000))  # about 3 MB once decompressed
    _, found = read_file(path, limits=Limits(decompressed_bytes=2 * MiB))
    with pytest.raises(IngestError, match=r"big\.jsonl\.gz: more than 2\.0 MiB once decompressed; stopped"):
        list(found)
    _, found = read_file(path)
    assert len(list(found)) == 3000


def test_a_zip_member_is_held_to_the_same_ratio(tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ok.json", SMALL_PACKAGE.read_bytes())
        archive.writestr("bomb.json", b'{"releases": [' + b" " * (8 * MiB) + b"]}")
    _, found = read_file(path, limits=Limits(ratio_grace_bytes=MiB))
    with pytest.raises(IngestError, match=r"bomb\.zip!bomb\.json: decompresses to more than 100 times"):
        list(found)


def test_a_line_longer_than_the_limit_is_refused_without_holding_it(tmp_path):
    path = tmp_path / "long.jsonl"
    path.write_bytes(json.dumps({"ocid": "a", "id": "1"}).encode() + b"\n" + b'{"ocid": "' + b"x" * (3 * MiB))
    _, found = read_file(path, limits=Limits(line_bytes=MiB))
    with pytest.raises(IngestError, match=r"long\.jsonl: line 2 is longer than 1\.0 MiB"):
        list(found)


def test_a_download_over_the_limit_is_refused_from_its_content_length(server, tmp_path):
    url = server.serve("/big.json", SMALL_PACKAGE.read_bytes())
    size = SMALL_PACKAGE.stat().st_size
    with pytest.raises(IngestError) as error:
        download(url, tmp_path, limits=Limits(download_bytes=size - 1))
    assert str(error.value).startswith(f"{url}: announces ")
    assert "more than the download limit of" in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_a_download_without_content_length_stops_at_the_limit(server, tmp_path):
    url = server.serve("/endless.json", b" " * (3 * MiB), no_length=True)
    with pytest.raises(IngestError, match=r"stopped at the download limit of 1\.0 MiB"):
        download(url, tmp_path, limits=Limits(download_bytes=MiB))
    assert list(tmp_path.iterdir()) == []  # the partial file is removed


def test_a_trickling_server_is_stopped_by_the_download_time_limit(server, tmp_path):
    url = server.serve("/slow.json", SMALL_PACKAGE.read_bytes(), trickle=0.1)
    started = time.monotonic()
    with pytest.raises(IngestError) as error:
        download(url, tmp_path, limits=Limits(download_seconds=1.5, read_timeout=1))
    assert time.monotonic() - started < 5
    assert "stopped by the download time limit (1.5 s)" in str(error.value)
    assert "the server sends too slowly" in str(error.value)


def test_a_huge_retry_after_gives_up_at_once_with_a_clear_error(server, sessions):
    url = server.serve(
        "/later.json", SMALL_PACKAGE.read_bytes(), always_fail=True, fail_status=429, retry_after="100000"
    )
    started = time.monotonic()
    result = run_ingest(sessions, url, http=http_session(backoff=0))
    assert time.monotonic() - started < 5
    assert result.status == "failed"
    assert result.errors == [
        f"{url}: the server answered 429 and asked to be retried after 100000 s, more than the 120 s a run waits"
    ]
    assert server.requests("/later.json") == 1


def test_a_short_retry_after_is_still_waited_for(server, sessions):
    url = server.serve("/soon.json", SMALL_PACKAGE.read_bytes(), fail_first=1, fail_status=503, retry_after="1")
    result = run_ingest(sessions, url, http=http_session(backoff=0))
    assert result.status == "succeeded", result.errors
    assert server.requests("/soon.json") == 2


def test_the_run_time_limit_stops_a_run_and_says_how_many_files_were_not_read(sessions, tmp_path):
    for name in ("a.json", "b.json", "c.json"):
        (tmp_path / name).write_bytes(SMALL_PACKAGE.read_bytes())
    result = run_ingest(sessions, str(tmp_path), limits=Limits(run_seconds=0))
    assert result.status == "failed"
    assert result.errors == ["the run's time limit (0 s) was reached; the run stopped there (3 more files not read)"]
    with sessions() as session:
        assert session.scalars(select(Process.ocid)).all() == []


def test_download_folders_left_by_a_killed_process_are_removed_on_start(server, sessions, tmp_path):
    tmp_path = tmp_path / "temporary"
    tmp_path.mkdir()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    left = tmp_path / f"{fetch.TEMPORARY_PREFIX}{int(gone.stdout)}-abc"
    left.mkdir()
    (left / "half.json").write_bytes(b"x" * 1000)
    mine = tmp_path / f"{fetch.TEMPORARY_PREFIX}{os.getpid()}-def"
    mine.mkdir()
    other = tmp_path / "something-else"
    other.mkdir()

    url = server.serve("/package.json", SMALL_PACKAGE.read_bytes())
    result = run_ingest(sessions, url, temp_dir=tmp_path)

    assert result.status == "succeeded", result.errors
    assert not left.exists()
    assert mine.exists() and other.exists()  # a live process's folder, and what is not ours, stay
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([mine.name, other.name])  # none left by us
    assert clean_temporary_folders(tmp_path) == []


def test_limits_have_sane_defaults():
    limits = Limits()
    assert limits.decompressed_bytes >= GiB
    assert limits.download_bytes >= GiB
    assert limits.retry_after_seconds < limits.download_seconds < limits.run_seconds
