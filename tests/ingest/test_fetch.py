"""Ingest over real HTTP: a threaded server on 127.0.0.1 serves the real demo files, and misbehaves on purpose
(429 with Retry-After, 500s, a body cut off before its Content-Length, bad JSON, a Latin-1 charset)."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import func, select

from ingest import fetch
from ingest.runner import run_ingest
from portal.models import IndexQueue, IngestRun, Package, Process, PublishedRecord, Release
from search_index.indexer import apply_queue
from tests.conftest import DEMO_DATA
from tests.ingest.http_server import running_server

PACKAGE = DEMO_DATA / "mexico-city" / "release-package-AD-063-2015.json"
SMALL_PACKAGE = DEMO_DATA / "mexico-city" / "release-package-AD-065-2015.json"
LATIN1_PACKAGE = DEMO_DATA / "mexico-city" / "release-package-AD-024-2016_iso-8859-1.json"
LATIN1_OCID = "OCDS-87SD3T-SEFIN-DRM-AD-024-2016"
MONTREAL_ID = "063635891f001755a1637786dd047485f3dcfaf6"
MONTREAL_FILE = DEMO_DATA / "montreal" / f"ocds-a1234567-mt-{MONTREAL_ID}-{MONTREAL_ID}.json"


@pytest.fixture
def server():
    with running_server() as running:
        yield running


@pytest.fixture
def load(app):
    """Ingest through the real retry policy (same statuses, same number of retries, Retry-After honoured)
    without the exponential sleeps between attempts, which would make a persistent 500 take seconds."""

    def load(location):
        sessions = app.extensions["portal.sessions"]
        result = run_ingest(sessions, str(location), http=fetch.http_session(backoff=0))
        apply_queue(sessions, app.config["INDEX_DIR"])
        return result

    return load


def releases_in(path) -> set[tuple[str, str]]:
    document = json.loads(path.read_bytes().decode("latin-1" if path == LATIN1_PACKAGE else "utf-8"))
    return {(release["ocid"], release["id"]) for release in document["releases"]}


def stored_releases(sessions) -> set[tuple[str, str]]:
    with sessions() as session:
        return set(session.execute(select(Release.ocid, Release.release_id)).all())


def compiled_checksums(sessions) -> dict[str, str]:
    with sessions() as session:
        return dict(session.execute(select(Process.ocid, Process.compiled_checksum)).all())


def count(sessions, model) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def the_run(sessions, run_id: int) -> IngestRun:
    with sessions() as session:
        return session.get(IngestRun, run_id)


def assert_nothing_stored(sessions) -> None:
    for model in (Package, Release, PublishedRecord, Process, IndexQueue):
        assert count(sessions, model) == 0, model.__name__


def test_a_release_package_over_http_loads_with_its_url_as_provenance(server, sessions, load):
    body = PACKAGE.read_bytes()
    url = server.serve("/api/contrato/AD-063-2015.json", body)

    result = load(url)

    assert result.status == "succeeded", result.errors
    assert stored_releases(sessions) == releases_in(PACKAGE)
    assert set(compiled_checksums(sessions)) == {"OCDS-87SD3T-AD-SF-DRM-063-2015"}
    with sessions() as session:
        package = session.scalars(select(Package)).one()
        assert package.location == url
        assert package.checksum == hashlib.sha256(body).hexdigest()
        assert package.uri == "http://www.contratosabiertos.cdmx.gob.mx/api/contrato/OCDS-87SD3T-AD-SF-DRM-063-2015"
        assert package.publisher_name == "CDMX-SEFIN"
        assert set(session.scalars(select(Release.package_id))) == {package.id}
        assert package.source.name == url
    assert server.requests("/api/contrato/AD-063-2015.json") == 1


def test_429_with_retry_after_is_retried_until_the_file_loads(server, sessions, load):
    url = server.serve("/busy.json", SMALL_PACKAGE.read_bytes(), fail_first=2, fail_status=429, retry_after="0")

    result = load(url)

    assert result.status == "succeeded", result.errors
    assert server.requests("/busy.json") == 3  # two 429s, then the file
    assert stored_releases(sessions) == releases_in(SMALL_PACKAGE)
    assert the_run(sessions, result.run_id).error is None


def test_a_single_500_is_retried_and_the_file_loads(server, sessions, load):
    url = server.serve("/flaky.json", SMALL_PACKAGE.read_bytes(), fail_first=1, fail_status=500)

    result = load(url)

    assert result.status == "succeeded", result.errors
    assert server.requests("/flaky.json") == 2
    assert stored_releases(sessions) == releases_in(SMALL_PACKAGE)


def test_persistent_500_fails_the_run_and_stores_nothing(server, sessions, load):
    url = server.serve("/broken.json", PACKAGE.read_bytes(), always_fail=True, fail_status=500)

    result = load(url)

    assert result.status == "failed"
    run = the_run(sessions, result.run_id)
    assert run.status == "failed"
    assert run.finished_at is not None
    assert url in run.error
    assert f"still failing after {fetch.RETRIES} retries" in run.error
    assert "500" in run.error
    assert_nothing_stored(sessions)
    # Bounded: the first attempt and the configured retries, then it gives up.
    assert server.requests("/broken.json") == fetch.RETRIES + 1


def test_a_truncated_download_fails_the_run_and_stores_nothing(server, sessions, load):
    body = PACKAGE.read_bytes()
    url = server.serve("/cut.json", body, truncate=True)

    result = load(url)

    assert result.status == "failed"
    run = the_run(sessions, result.run_id)
    assert run.status == "failed"
    assert url in run.error
    assert "cut off before its end" in run.error
    assert f"{len(body) - len(body) // 2} more expected" in run.error
    assert_nothing_stored(sessions)


def test_malformed_json_over_http_is_reported_with_url_line_and_column(server, sessions, load):
    lines = MONTREAL_FILE.read_bytes().split(b"\n")
    assert lines[1].startswith(b'  "ocid": ') and lines[1].endswith(b",")
    lines[1] = lines[1][:-1]  # drop the comma after "ocid": the parser stops at the next key, line 3, column 3
    url = server.serve("/montreal/broken.json", b"\n".join(lines))

    result = load(url)

    assert result.status == "failed"
    run = the_run(sessions, result.run_id)
    assert run.error == f"{url}: invalid JSON at line 3, column 3: Expecting ',' delimiter"
    assert_nothing_stored(sessions)


def test_the_latin1_package_over_http_is_decoded_with_the_declared_charset(server, sessions, load):
    url = server.serve(
        "/AD-024-2016.json", LATIN1_PACKAGE.read_bytes(), content_type="application/json; charset=ISO-8859-1"
    )

    result = load(url)

    assert result.status == "succeeded", result.errors
    with sessions() as session:
        process = session.scalars(select(Process).where(Process.ocid == LATIN1_OCID)).one()
        assert process.title == "MANTENIMIENTO A MÁQUINA CORTADORA"
        assert process.buyer.name == "SECRETARÍA DE FINANZAS"
        assert "\ufffd" not in process.compiled
        assert "AUTORIZACIÓN PRESUPUESTAL SPP/051/2016" in process.compiled
        assert session.scalars(select(Package.encoding)).one() == "ISO-8859-1"
    note = {"where": url, "note": "not UTF-8: read as ISO-8859-1 (declared by the server)"}
    assert note in the_run(sessions, result.run_id).notes
    checksums = compiled_checksums(sessions)

    # The same bytes read from disk (no declared charset, so the encoding is guessed) are the same releases.
    from_disk = load(LATIN1_PACKAGE)

    assert from_disk.status == "succeeded", from_disk.errors
    assert from_disk.counts.releases_new == 0
    assert from_disk.counts.conflicts == 0
    assert from_disk.counts.releases_unchanged == len(releases_in(LATIN1_PACKAGE)) == 3
    assert compiled_checksums(sessions) == checksums


def test_loading_the_same_url_twice_changes_nothing(server, sessions, load):
    url = server.serve("/AD-063-2015.json", PACKAGE.read_bytes())

    first = load(url)
    checksums, releases = compiled_checksums(sessions), count(sessions, Release)
    second = load(url)

    assert first.status == second.status == "succeeded"
    assert first.counts.releases_new == releases == len(releases_in(PACKAGE))
    assert second.counts.releases_new == 0
    assert second.counts.releases_unchanged == second.counts.releases_seen == first.counts.releases_seen
    assert second.counts.processes_compiled == 0
    assert compiled_checksums(sessions) == checksums
    assert count(sessions, Release) == releases
    assert count(sessions, Package) == 1
    assert count(sessions, IngestRun) == 2
    assert server.requests("/AD-063-2015.json") == 2
