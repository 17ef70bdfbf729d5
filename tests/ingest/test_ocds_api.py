"""OCDS publisher APIs: release packages paged by `links.next`, served on 127.0.0.1 from the demo set's real
releases; a since-date cursor; a page that does not parse is rolled back whole and named."""

from __future__ import annotations

import dataclasses
import json

import pytest
from sqlalchemy import func, select

from ingest.jobs import run_source
from ingest.ocds import IngestError
from ingest.ocds_api import page_releases
from ingest.sources import find_source, load_sources
from portal.config import default_settings
from portal.models import Process, Release
from tests.conftest import DEMO_DATA
from tests.ingest.platforms import platform_server

PATH = "/api/releases.json"


def demo_releases() -> list[dict]:
    """The demo set's single releases (Montréal, Mexico City, ProZorro), in date order as an API lists them."""
    releases = []
    for path in sorted(DEMO_DATA.rglob("*.json")):
        document = json.loads(path.read_bytes().decode("utf-8", errors="replace"))
        if "ocid" in document and "id" in document:
            releases.append(document)
    return sorted(releases, key=lambda r: r["date"])


@pytest.fixture
def server():
    with platform_server() as platform:
        yield platform


@pytest.fixture
def api(server):
    config = find_source(load_sources(default_settings("instance")["SOURCES_FILE"]), "Ville de Montréal: OCDS releases")
    url = server.ocds_api(PATH, demo_releases(), per_page=5)
    return dataclasses.replace(config, url=url, allow_private=True, rate_limit=0)


def counts(sessions) -> tuple[int, int]:
    with sessions() as session:
        return (
            session.scalar(select(func.count()).select_from(Release)),
            session.scalar(select(func.count()).select_from(Process)),
        )


def test_follows_links_next_to_the_last_page(sessions, server, api):
    releases = demo_releases()
    result = run_source(sessions, api)
    assert result.status == "succeeded", result.errors
    assert result.fetched == len(releases) == 38
    assert server.requests[PATH] == 8  # 38 releases, 5 a page
    assert counts(sessions) == (38, len({r["ocid"] for r in releases}))
    again = run_source(sessions, api)
    assert (again.counts.releases_new, again.counts.releases_unchanged) == (0, 38)


def test_a_since_date_cursor_asks_only_for_newer_releases(sessions, server, api):
    config = dataclasses.replace(api, incremental_field="since", overlap_hours=0)
    run_source(sessions, config)
    second = run_source(sessions, config)
    latest = demo_releases()[-1]["date"]
    assert any(f"since={latest[:10]}" in line for line in server.log)
    assert second.fetched == sum(1 for r in demo_releases() if r["date"] >= latest)


def test_a_page_that_does_not_parse_is_rolled_back_whole_and_named(sessions, server, api):
    server.garble(PATH, 3)
    first = run_source(sessions, api)
    assert first.status == "failed"
    assert "page=3" in first.errors[0] and "is not JSON at line 1" in first.errors[0]
    assert counts(sessions)[0] == 10  # two whole pages, nothing of the third
    second = run_source(sessions, api)
    assert second.status == "succeeded" and counts(sessions)[0] == 38
    assert server.requests[PATH] == 3 + 6  # resumed at page 3, not from the start


def test_429_with_an_http_date_retry_after_then_success(sessions, server, api):
    server.fail(PATH, 429, times=1, retry_after="Wed, 21 Oct 2015 07:28:00 GMT", after=1)
    result = run_source(sessions, api)
    assert result.status == "succeeded", result.errors
    assert server.requests[PATH] == 9


def test_record_packages_yield_their_embedded_releases(shared_data):
    records = [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((shared_data / "ocds/montreal/records").glob("*.json"))
    ]
    found, notes = page_releases(
        {"records": records + [{"ocid": "x", "releases": [{"url": "https://x/1.json"}]}]}, "page"
    )
    assert len(found) == 10 and all(item.from_record for item in found)
    assert notes == ["1 linked releases (a url only) not fetched"]
    with pytest.raises(IngestError, match="not a release or record package"):
        page_releases({"data": []}, "page")
