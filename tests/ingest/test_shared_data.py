"""Every real file in ../shared/data loads, with the publishers' quirks counted rather than hidden."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.models import Process, PublishedRecord, Release


def test_all_shared_ocds_loads_with_its_republished_releases_counted(sessions, load, shared_data, client):
    result = load(shared_data / "ocds")
    assert result.status == "succeeded", result.errors
    # 3 Mexico City pairs (1311264.0 against 1311264, a milestone in one copy) and all 11 ProZorro pairs.
    assert result.counts.conflicts == 14
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Process)) == 40
        assert session.scalar(select(func.count()).select_from(PublishedRecord)) == 25
        ukraine = select(func.count(func.distinct(Release.ocid))).where(Release.ocid.like("ocds-be6bcu%"))
        assert session.scalar(ukraine) == 11
    again = load(shared_data / "ocds")
    assert (again.counts.releases_new, again.counts.conflicts, again.counts.processes_compiled) == (0, 0, 0)
    assert client.get("/search.json?q=Банани").get_json()["total"] == 1
