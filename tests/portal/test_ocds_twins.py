"""Where a view lists processes, it has OCDS twins: a release package and a record package, valid against the
shipped schema, holding the view's processes, paged by `links.next`."""

from __future__ import annotations

import json

import jsonschema
import pytest
from sqlalchemy import select

from portal.domain.packages import package_schema
from portal.domain.validation import schema_errors
from portal.models import Release


@pytest.mark.parametrize("kind", ["releases", "records"])
def test_search_packages_hold_the_page_processes_and_validate(demo_client, demo_app, kind):
    page = demo_client.get("/search.json?q=de").get_json()
    package = demo_client.get(f"/search/{kind}.json?q=de").get_json()
    # The envelope is valid; each release is the publisher's, valid wherever the stored one is.
    jsonschema.Draft4Validator(package_schema(kind, releases=False)).validate(package)
    releases = package["releases"] if kind == "releases" else [r["compiledRelease"] for r in package["records"]]
    valid = [r for r in releases if not schema_errors(r)]
    assert valid
    jsonschema.Draft4Validator(package_schema(kind)).validate(
        {**package, kind: [r for r in package[kind] if (r if kind == "releases" else r["compiledRelease"]) in valid]}
    )
    listed = [r["ocid"] for r in page["results"]]
    if kind == "records":
        assert [r["ocid"] for r in package["records"]] == listed
        for record in package["records"]:
            for linked in record["releases"]:
                assert demo_client.get(linked["url"]).get_json()["ocid"] == record["ocid"]
    else:
        assert list(dict.fromkeys(r["ocid"] for r in package["releases"])) == listed
        with demo_app.extensions["portal.sessions"]() as session:
            stored = session.scalars(select(Release.data).where(Release.ocid.in_(listed))).all()
        assert sorted(json.dumps(r, sort_keys=True) for r in package["releases"]) == sorted(
            json.dumps(json.loads(d), sort_keys=True) for d in stored
        )
    # `links.next` leads on as the JSON twin's `next` does.
    following = demo_client.get(package["links"]["next"]).get_json()
    second = demo_client.get(page["next"]).get_json()
    key = "records" if kind == "records" else "releases"
    assert list(dict.fromkeys(r["ocid"] for r in following[key])) == [r["ocid"] for r in second["results"]]


def test_supplier_packages_hold_its_processes(demo_client):
    row = next(r for r in demo_client.get("/search.json").get_json()["results"] if r["supplier_urls"])
    url = row["supplier_urls"][0]
    awards = demo_client.get(url + ".json").get_json()["awards"]
    package = demo_client.get(url + "/records.json").get_json()
    jsonschema.Draft4Validator(package_schema("records", releases=False)).validate(package)
    assert [r["ocid"] for r in package["records"]] == list(dict.fromkeys(a["ocid"] for a in awards))
    assert demo_client.get("/supplier/2147483647/releases.json").status_code == 404
