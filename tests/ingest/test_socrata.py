"""Socrata: the shipped Chicago configuration against a SODA server on 127.0.0.1 serving the real Chicago rows
(the demo slice) as Socrata serves them — paging, totals, incremental runs, retries, resumes, drift, slowness."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from urllib.parse import unquote_plus

import pytest
from sqlalchemy import func, select

from ingest.jobs import run_source
from ingest.sources import find_source, load_sources
from portal.config import default_settings
from portal.models import Process, Release, SourceState
from portal.resources import demo_data_folder
from tests.ingest.platforms import chicago_soda_fields, chicago_soda_rows, platform_server

PATH = "/resource/rsxa-ify5.json"
SLICE = demo_data_folder() / "registers" / "chicago-contracts-slice.csv"
START = datetime(2025, 1, 1)
FIELDS = chicago_soda_fields(SLICE)


def configured():
    sources = load_sources(default_settings("instance")["SOURCES_FILE"])
    return find_source(sources, "City of Chicago: Contracts")


def soda_rows(start: int = 0, stop: int = 513) -> list[dict]:
    rows = chicago_soda_rows(SLICE, limit=stop)[start:]
    for n, row in enumerate(rows, start):
        row[":id"] = f"row-{n:06d}"
        row[":updated_at"] = (START + timedelta(hours=n)).isoformat(timespec="milliseconds")
    return rows


@pytest.fixture
def server():
    with platform_server() as platform:
        yield platform


@pytest.fixture
def chicago(server, monkeypatch):
    monkeypatch.setenv("CHICAGO_APP_TOKEN", "test-token")
    url = server.socrata(PATH, soda_rows(), fields=FIELDS)
    return dataclasses.replace(configured(), url=url, allow_private=True, rate_limit=0, page_size=100)


def stored(sessions) -> tuple[int, int]:
    with sessions() as session:
        releases = session.scalar(select(func.count()).select_from(Release))
        processes = session.scalar(select(func.count()).select_from(Process))
    return releases, processes


def test_pages_to_the_end_and_compares_with_the_publishers_count(sessions, server, chicago):
    result = run_source(sessions, chicago)
    assert result.status == "succeeded", result.errors
    assert (result.fetched, result.publisher_total, result.shortfall) == (513, 513, 0)
    assert result.counts.releases_new == 513
    assert stored(sessions) == (513, 144)
    assert server.requests[PATH] == 1 + 6  # count(*), then pages of 100
    assert all(h.get("X-App-Token") == "test-token" for h in server.headers)
    assert "fetched 513 of the publisher's 513" in result.counts.notes[-1]["note"]


def test_a_second_run_fetches_only_rows_updated_since_less_the_overlap(sessions, server, chicago):
    server.socrata(PATH, soda_rows(0, 400), fields=FIELDS)
    first = run_source(sessions, chicago)
    assert (first.fetched, first.counts.releases_new) == (400, 400)
    with sessions() as session:
        assert session.scalars(select(SourceState.cursor)).one()["high"] == "2025-01-17T15:00:00.000"
    server.socrata(PATH, soda_rows(0, 513), fields=FIELDS)
    second = run_source(sessions, chicago)
    # rows 375..399 again (updated within 24 hours of the last one seen), then the 113 new ones
    assert (second.fetched, second.publisher_total) == (25 + 113, 25 + 113)
    assert (second.counts.releases_new, second.counts.releases_unchanged) == (113, 25)
    assert any(":updated_at >= '2025-01-16T15:00:00.000'" in unquote_plus(line) for line in server.log)
    assert stored(sessions)[0] == 513


def test_429_then_success(sessions, server, chicago):
    server.fail(PATH, 429, times=2, retry_after="0", after=3)
    result = run_source(sessions, chicago)
    assert result.status == "succeeded", result.errors
    assert result.counts.releases_new == 513
    assert server.requests[PATH] == 1 + 6 + 2


def test_500_mid_run_fails_the_run_then_the_next_run_resumes_where_it_stopped(sessions, server, chicago):
    server.fail(PATH, 500, times=3, after=3)  # count(*) and two pages answered, then three 500s
    config = dataclasses.replace(chicago, retries=2)
    first = run_source(sessions, config)
    assert first.status == "failed"
    assert "still answering 500 after 2 retries" in first.errors[0] and "%24offset=200" in first.errors[0]
    assert stored(sessions)[0] == 200
    with sessions() as session:
        assert session.scalars(select(SourceState.cursor)).one()["offset"] == 200
    before = server.requests[PATH]
    second = run_source(sessions, config)
    assert second.status == "succeeded", second.errors
    assert (second.fetched, second.counts.releases_new, second.counts.releases_unchanged) == (513, 313, 0)
    assert server.requests[PATH] - before == 1 + 4  # count(*), then offsets 200 to 500 only
    assert stored(sessions)[0] == 513


def test_a_page_that_is_not_json_is_rolled_back_whole_and_named(sessions, server, chicago):
    server.garble(PATH, 3)  # the second page
    first = run_source(sessions, chicago)
    assert first.status == "failed"
    assert "the answer is not JSON at line 1" in first.errors[0] and "%24offset=100" in first.errors[0]
    assert stored(sessions)[0] == 100
    second = run_source(sessions, chicago)
    assert second.status == "succeeded" and stored(sessions)[0] == 513


def test_a_renamed_column_stops_the_run_before_anything_is_stored(sessions, server, chicago):
    rows = soda_rows()
    for row in rows:
        row["vendor"] = row.pop("vendor_name", None)
    server.socrata(PATH, rows, fields=[f if f != "vendor_name" else "vendor" for f in FIELDS])
    result = run_source(sessions, chicago)
    assert result.status == "failed"
    assert "supplier → 'vendor_name'" in result.errors[0] and "Update the mapping" in result.errors[0]
    assert stored(sessions) == (0, 0)


def test_a_slow_source_times_out_and_is_reported(sessions, server, chicago):
    server.slow(PATH, 1.5)
    result = run_source(sessions, dataclasses.replace(chicago, timeout=0.3, retries=0))
    assert result.status == "failed"
    assert "no answer within 0.3 s" in result.errors[0]


def test_a_source_on_a_private_address_is_refused_before_any_request(sessions, server, chicago):
    result = run_source(sessions, dataclasses.replace(chicago, allow_private=False))
    assert result.status == "failed"
    assert "127.0.0.1 is 127.0.0.1, a private, loopback or reserved address" in result.errors[0]
    assert server.requests[PATH] == 0
