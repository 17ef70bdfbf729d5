"""The ingest contract: idempotent, newest release wins, republished versions kept, provenance on every row."""

from __future__ import annotations

import json
import shutil

from sqlalchemy import func, select

from portal.models import IngestRun, Package, Process, Release
from search_index.indexer import open_index
from tests.conftest import DEMO_DATA

MONTREAL_OCID = "ocds-a1234567-mt-063635891f001755a1637786dd047485f3dcfaf6"
MONTREAL_FILE = DEMO_DATA / "montreal" / f"{MONTREAL_OCID}-{MONTREAL_OCID.rsplit('-', 1)[1]}.json"


def compiled_records(sessions) -> dict[str, str]:
    with sessions() as session:
        return dict(session.execute(select(Process.ocid, Process.compiled)).all())


def index_documents(app) -> dict[str, dict]:
    with open_index(app.config["INDEX_DIR"]).searcher() as searcher:
        return {fields["ocid"]: fields for fields in searcher.all_stored_fields()}


def test_reingesting_same_files_changes_nothing(app, sessions, load):
    first = load(DEMO_DATA)
    records, documents = compiled_records(sessions), index_documents(app)
    second = load(DEMO_DATA)

    assert first.counts.releases_new == 45
    assert second.status == "succeeded"
    assert second.counts.releases_new == 0
    assert second.counts.releases_unchanged == second.counts.releases_seen == first.counts.releases_seen
    assert second.counts.processes_compiled == 0
    assert compiled_records(sessions) == records
    assert index_documents(app) == documents
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Release)) == 45
        assert session.scalar(select(func.count()).select_from(IngestRun)) == 2


def test_a_newer_release_updates_the_compiled_record(app, sessions, load, tmp_path, client):
    load(MONTREAL_FILE)
    before = json.loads(compiled_records(sessions)[MONTREAL_OCID])

    newer = json.loads(MONTREAL_FILE.read_text(encoding="utf-8"))
    newer["id"] = "contract-1"
    newer["date"] = "2017-09-01T00:00:00-04:00"
    newer["tag"] = ["contract"]
    newer["contracts"] = [
        {"id": "c1", "awardID": "1108514", "status": "active", "value": {"amount": 9100.5, "currency": "CAD"}}
    ]
    (tmp_path / "newer.json").write_text(json.dumps(newer), encoding="utf-8")
    result = load(tmp_path / "newer.json")

    assert result.counts.releases_new == 1
    after = json.loads(compiled_records(sessions)[MONTREAL_OCID])
    assert "contracts" not in before
    assert after["contracts"][0]["value"]["amount"] == 9100.5
    assert after["date"] == "2017-09-01T00:00:00-04:00"
    with sessions() as session:
        process = session.scalars(select(Process).where(Process.ocid == MONTREAL_OCID)).one()
        assert (process.value_basis, str(process.value_amount)) == ("contracts", "9100.50")
        assert process.release_count == 2
    found = client.get("/search.json?q=entretien OR évaluation").get_json()
    assert any(hit["value"] == {"amount": "9100.50", "currency": "CAD"} for hit in found["results"])


def test_an_older_release_loaded_later_does_not_override_a_newer_one(sessions, load, tmp_path):
    base = json.loads(MONTREAL_FILE.read_text(encoding="utf-8"))
    older = dict(base, id="earlier", date="2017-01-01T00:00:00-05:00", tender={"status": "active"})
    (tmp_path / "older.json").write_text(json.dumps(older), encoding="utf-8")
    load(MONTREAL_FILE)
    load(tmp_path / "older.json")
    compiled = json.loads(compiled_records(sessions)[MONTREAL_OCID])
    assert compiled["tender"]["status"] == "complete"  # from the May release, merged after January's


def test_republished_release_with_other_content_is_kept_and_counted(sessions, load, tmp_path, client):
    folder = tmp_path / "cdmx"
    folder.mkdir()
    for name in ("OCDS-87SD3T-AD-SF-DRM-063-2015-01.json", "OCDS-87SD3T-AD-SF-DRM-063-2015-02.json"):
        shutil.copy(DEMO_DATA / "mexico-city" / name, folder / name)
    load(folder)
    # The publisher's API package repeats both releases, with 1311264.0 where the files say 1311264.
    result = load(DEMO_DATA / "mexico-city" / "release-package-AD-063-2015.json")

    assert result.counts.conflicts == 2
    assert {n["where"] for n in result.counts.notes} >= {
        "OCDS-87SD3T-AD-SF-DRM-063-2015 release 01",
        "OCDS-87SD3T-AD-SF-DRM-063-2015 release 02",
    }
    with sessions() as session:
        versions = session.execute(
            select(Release.release_id, func.count()).group_by(Release.release_id).order_by(Release.release_id)
        ).all()
        assert versions == [("01", 2), ("02", 2)]
        process = session.scalars(select(Process)).one()
        assert process.conflict_count == 2
        # The record uses the most recently loaded version: the package's.
        latest = session.scalars(select(Release).where(Release.release_id == "02").order_by(Release.id.desc())).first()
        assert latest.package.location == "release-package-AD-063-2015.json"
    assert (
        json.loads(process.compiled)["contracts"][0]["value"]["amount"]
        == json.loads(latest.data)["contracts"][0]["value"]["amount"]
    )
    page = client.get("/process/OCDS-87SD3T-AD-SF-DRM-063-2015").get_data(as_text=True)
    assert "Published more than once with different content" in page
    assert page.count("superseded version") == 2


def test_every_release_knows_its_source_and_package(sessions, load):
    load(DEMO_DATA, "Demo")
    with sessions() as session:
        packages = {p.id: p for p in session.scalars(select(Package))}
        releases = list(session.scalars(select(Release)))
        assert {p.source.name for p in packages.values()} == {"Demo"}
    assert releases
    for release in releases:
        assert (DEMO_DATA / packages[release.package_id].location).is_file()
    latin1 = next(p for p in packages.values() if p.location.endswith("iso-8859-1.json"))
    assert latin1.encoding in ("cp1252", "latin_1", "iso8859_1")
    montreal = next(p for p in packages.values() if p.location.startswith("montreal/"))
    assert montreal.publisher_name == "Ville de Montréal"


def test_single_records_without_top_level_ocid_are_read_from_their_releases(sessions, load, shared_data):
    records = shared_data / "ocds" / "montreal" / "records"
    result = load(records)
    assert result.status == "succeeded"
    with sessions() as session:
        ocids = set(session.scalars(select(Process.ocid)))
    assert ocids == {path.stem for path in records.glob("*.json")}
