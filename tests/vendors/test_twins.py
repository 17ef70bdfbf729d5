"""The awards a vendor or buyer page lists: a page at a time in HTML and JSON (with `next` links), every one of them
in the CSV twin (streamed, formulas neutralised, with each row's source and licence), and the processes of each
page as OCDS release and record packages that validate and page on with `links.next`."""

from __future__ import annotations

import csv
import io
import json

import jsonschema
import pytest
from sqlalchemy import func, select

from portal.domain import vendor_figures
from portal.domain.packages import package_schema
from portal.models import Award, AwardSupplier, Process, VendorParty
from portal.vocabulary import EntityKind
from tests.vendors.conftest import ACME_A, A, _package, _release, vendor_of
from tests.vendors.test_pages import _ids, invoke

MANY = 57  # ACME's awards in the extra file: with the fixture's, more than one page of ENTITY_AWARDS_PER_PAGE
FORMULA = '=HYPERLINK("http://evil.example","click")'


@pytest.fixture
def many_awards(load, vendors_loaded, tmp_path):
    releases = []
    for i in range(MANY):
        release = _release(A, 100 + i, 2010 + i % 12, method="open", award=(ACME_A, 1000 + i))
        release["tender"]["title"] = FORMULA if i == 3 else f"Road repair lot {i}"
        if i % 10 == 9:
            del release["awards"][0]["date"]  # undated awards come last
        releases.append(release)
    path = tmp_path / "many.json"
    path.write_text(json.dumps(_package(releases)), encoding="utf-8")
    assert load(path).status == "succeeded"
    with vendors_loaded.begin() as session:
        vendor_figures.refresh_totals(session, kind=EntityKind.SUPPLIER)
        vendor_figures.refresh_totals(session, kind=EntityKind.BUYER)
    return vendors_loaded


def _award_count(sessions, vendor_id: int, kind: EntityKind) -> int:
    """The entity's awards counted straight from the tables, each award once."""
    with sessions() as session:
        parties = select(VendorParty.party_id).where(VendorParty.vendor_id == vendor_id, VendorParty.kind == kind)
        if kind == EntityKind.SUPPLIER:
            where = Award.id.in_(select(AwardSupplier.award_id).where(AwardSupplier.party_id.in_(parties)))
        else:
            where = Award.process_id.in_(select(Process.id).where(Process.buyer_id.in_(parties)))
        return session.scalar(select(func.count()).select_from(Award).where(where))


def _json_pages(client, path: str) -> list[dict]:
    pages = []
    url: str | None = path
    while url:
        answer = client.get(url)
        assert answer.status_code == 200, url
        pages.append(answer.get_json())
        url = pages[-1]["next"]
    return pages


def _csv(client, path: str) -> list[dict]:
    answer = client.get(path)
    assert answer.status_code == 200 and answer.mimetype == "text/csv" and answer.is_streamed
    return list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))


@pytest.mark.parametrize("kind", [EntityKind.SUPPLIER, EntityKind.BUYER])
def test_the_json_pages_join_to_exactly_the_csv_rows(client, many_awards, kind):
    ids = _ids(many_awards)
    vendor_id, stem = (ids["acme"], "vendor") if kind == EntityKind.SUPPLIER else (ids["works"], "buyer")
    expected = _award_count(many_awards, vendor_id, kind)
    assert expected > vendor_figures.ENTITY_AWARDS_PER_PAGE
    pages = _json_pages(client, f"/{stem}/{vendor_id}.json")
    assert len(pages) == pages[0]["pages"] == -(-expected // vendor_figures.ENTITY_AWARDS_PER_PAGE) >= 2
    assert [p["page"] for p in pages] == list(range(1, len(pages) + 1))
    listed = [row for p in pages for row in p["award_list"]]
    assert all(len(p["award_list"]) == vendor_figures.ENTITY_AWARDS_PER_PAGE for p in pages[:-1])
    assert len(listed) == pages[0]["award_count"] == expected
    assert pages[0]["processes"] == pages[-1]["processes"]  # the figures are the same on every page
    rows = _csv(client, f"/{stem}/{vendor_id}.csv")
    assert len(rows) == expected
    for row, award in zip(rows, listed, strict=True):
        assert row["ocid"] == award["ocid"] and row["award_id"] == award["award_id"]
        assert row["date"] == (award["date"] or "")
        assert row["value.amount"] == award["value"]["amount"] and row["value.currency"] == award["value"]["currency"]
        assert row["suppliers"] == award["suppliers"] and row["url"] == award["url"]
        assert (row["source"], row["licence"], row["attribution"]) == (
            award["source"] or "",
            award["licence"] or "",
            award["attribution"] or "",
        )
        assert row["source"]  # every award came from a named source
    dates = [row["date"] for row in rows]
    dated = [d for d in dates if d]
    assert dated == sorted(dated, reverse=True) and dates[: len(dated)] == dated  # newest first, undated last


def test_the_csv_streams_every_award_a_chunk_at_a_time_with_formulas_neutralised(client, many_awards, monkeypatch):
    monkeypatch.setattr(vendor_figures, "ENTITY_EXPORT_CHUNK", 7)  # several chunks, the last one short
    acme = _ids(many_awards)["acme"]
    rows = _csv(client, f"/vendor/{acme}.csv")
    assert len(rows) == _award_count(many_awards, acme, EntityKind.SUPPLIER) == MANY + 5
    assert len({(r["ocid"], r["award_id"]) for r in rows}) == len(rows)  # each award once
    formula = [r for r in rows if "HYPERLINK" in r["title"]]
    assert [r["title"] for r in formula] == ["'" + FORMULA]
    assert {r["suppliers"] for r in rows} >= {"ACME Corp.", "Acme Corporation", "ACME CORP"}


def test_the_page_lists_one_page_of_awards_with_links(client, many_awards):
    acme = _ids(many_awards)["acme"]
    html = client.get(f"/vendor/{acme}").get_data(as_text=True)
    assert html.count("<tr data-ocid=") == vendor_figures.ENTITY_AWARDS_PER_PAGE
    assert f'href="/vendor/{acme}?page=2"' in html and "Page 1 of 2" in html
    last = client.get(f"/vendor/{acme}?page=2").get_data(as_text=True)
    assert last.count("<tr data-ocid=") == MANY + 5 - vendor_figures.ENTITY_AWARDS_PER_PAGE
    assert 'rel="next"' not in last and f'href="/vendor/{acme}?page=1"' in last
    for link in (f"/vendor/{acme}.csv", f"/vendor/{acme}/by-year.csv", f"/vendor/{acme}/releases.json?page=2"):
        assert f'href="{link}"' in last, link
    assert client.get(f"/vendor/{acme}?page=3").status_code == 404
    assert client.get(f"/vendor/{acme}.json?page=0").status_code == 404


@pytest.mark.parametrize("stem", ["vendor", "buyer"])
def test_the_ocds_packages_hold_each_pages_processes_and_validate(client, many_awards, stem):
    ids = _ids(many_awards)
    vendor_id = ids["acme"] if stem == "vendor" else ids["works"]
    pages = _json_pages(client, f"/{stem}/{vendor_id}.json")
    for kind, key in (("releases", "releases"), ("records", "records")):
        url: str | None = f"/{stem}/{vendor_id}/{kind}.json"
        packages = []
        while url:
            answer = client.get(url)
            assert answer.status_code == 200 and answer.mimetype == "application/json", url
            packages.append(answer.get_json())
            url = packages[-1].get("links", {}).get("next")
        assert len(packages) == len(pages)
        for package, page in zip(packages, pages, strict=True):
            jsonschema.Draft4Validator(package_schema(kind, releases=kind == "releases")).validate(package)
            ocids = list(dict.fromkeys(row["ocid"] for row in page["award_list"]))
            assert list(dict.fromkeys(r["ocid"] for r in package[key])) == ocids
    assert client.get(f"/{stem}/2147483647/releases.json").status_code == 404
    assert client.get(f"/{stem}/{vendor_id}/records.json?page=99").status_code == 404
    other = ids["works"] if stem == "vendor" else ids["acme"]
    assert client.get(f"/{stem}/{other}/records.json").status_code == 404  # a buyer is not a supplier


def test_every_twin_of_a_merged_entity_leads_to_where_its_parties_went(app, client, many_awards):
    ids = _ids(many_awards)
    merged = invoke(app, "vendors", "merge", str(ids["beta"]), str(ids["beta_llc"]), "--by", "A. Official")
    assert merged.exit_code == 0, merged.output
    with many_awards() as session:
        survivor = vendor_of(session, A, "Beta Builders Inc").vendor_id
    gone = ids["beta_llc"] if survivor == ids["beta"] else ids["beta"]
    for suffix in (".csv", ".json?page=1", "/releases.json?page=1", "/records.json", "/by-year.csv"):
        answer = client.get(f"/vendor/{gone}{suffix}")
        assert answer.status_code == 301, suffix
        assert answer.headers["Location"].endswith(f"/vendor/{survivor}{suffix}"), suffix
    rows = _csv(client, f"/vendor/{survivor}.csv")
    assert len(rows) == _award_count(many_awards, survivor, EntityKind.SUPPLIER) == 2  # Beta's and Beta LLC's
