"""`portal sources check`: one probe per source says up, down, slow, moved, short, drifted or refused."""

from __future__ import annotations

import dataclasses

import pytest

from ingest.health import probe_source
from ingest.sources import find_source, load_sources
from portal.config import default_settings
from portal.resources import demo_sources_file
from portal.vocabulary import Health
from tests.ingest.platforms import platform_server
from tests.ingest.test_socrata import FIELDS, PATH, soda_rows


@pytest.fixture
def server():
    with platform_server() as platform:
        yield platform


@pytest.fixture
def chicago(server, monkeypatch):
    monkeypatch.setenv("CHICAGO_APP_TOKEN", "t")
    url = server.socrata(PATH, soda_rows(), fields=FIELDS)
    config = find_source(load_sources(default_settings("instance")["SOURCES_FILE"]), "City of Chicago: Contracts")
    return dataclasses.replace(config, url=url, allow_private=True, rate_limit=0, retries=0, timeout=2)


def test_a_source_that_answers_is_up_with_its_total(chicago):
    probe = probe_source(chicago)
    assert (probe.health, probe.total) == (Health.UP, 513)


def test_a_source_that_answers_slowly_is_slow(server, chicago):
    server.slow(PATH, 1.2)
    assert probe_source(chicago).health == Health.SLOW


def test_a_source_that_fails_is_down(server, chicago):
    server.fail(PATH, 503, times=5)
    probe = probe_source(chicago)
    assert probe.health == Health.DOWN and "503" in probe.detail


def test_a_source_that_redirects_or_is_gone_has_moved(server, chicago):
    target = server.socrata("/resource/new-id.json", soda_rows(), fields=FIELDS)
    server.redirect("/resource/old-id.json", target)
    assert probe_source(dataclasses.replace(chicago, url=server.url("/resource/old-id.json"))).health == Health.MOVED
    assert probe_source(dataclasses.replace(chicago, url=server.url("/resource/gone.json"))).health == Health.MOVED


def test_a_publisher_counting_fewer_rows_than_last_time_is_short(chicago):
    probe = probe_source(chicago, last_total=600)
    assert probe.health == Health.SHORT and "fewer than 600" in probe.detail


def test_a_renamed_column_is_drift(server, chicago):
    server.socrata(PATH, soda_rows(), fields=[f for f in FIELDS if f != "award_amount"])
    probe = probe_source(chicago)
    assert probe.health == Health.DRIFTED and "amount → 'award_amount'" in probe.detail


def test_a_private_address_is_refused_without_a_request(server, chicago):
    assert probe_source(dataclasses.replace(chicago, allow_private=False)).health == Health.REFUSED
    assert server.requests[PATH] == 0


def test_local_registers_are_checked_for_their_columns(tmp_path):
    demo = load_sources(demo_sources_file())
    assert [probe_source(config).health for config in demo] == [Health.UP] * 3
    missing = dataclasses.replace(demo[0], url=str(tmp_path / "nothing.csv"))
    assert probe_source(missing).health == Health.DOWN
