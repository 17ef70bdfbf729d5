"""The search's twins: the JSON page holds the HTML page's rows, keyset `next` links walk the whole result, and
the CSV is that whole result, streamed."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from flask import url_for
from sqlalchemy import select

from portal.db import get_session
from portal.domain.attribution import terms_of
from portal.domain.languages import content_languages
from portal.domain.processes import name_pages
from portal.models import Source, SourceState
from portal.public import views
from portal.public.params import search_filters
from portal.public.views import SEARCH_COLUMNS, result_row
from portal.render import MAX_ID, csv_rows, encode_ocid, url_maker
from search_index.query import hits_at, ordered_matches

QUERIES = [{}, {"q": "de"}, {"sort": "amount"}, {"sort": "date_asc", "status": "complete"}]


def html_ocids(client, query: dict) -> list[str]:
    html = client.get("/search", query_string=query).get_data(as_text=True)
    ocids = re.findall(r'<li class="result">\s*<h2><a href="/process/([^"]+)"', html)
    return [re.sub(r"~([0-9A-F]{2})", lambda m: chr(int(m[1], 16)), o) for o in ocids]


def json_pages(client, query: dict) -> list[dict]:
    pages = [client.get("/search.json", query_string=query).get_json()]
    while pages[-1]["next"]:
        assert len(pages) < 200
        pages.append(client.get(pages[-1]["next"]).get_json())
    return pages


@pytest.mark.parametrize("query", QUERIES)
def test_the_json_twin_holds_exactly_the_rows_of_the_html_page(demo_client, query):
    for page in (1, 2):
        asked = {**query, "page": page}
        rows = demo_client.get("/search.json", query_string=asked).get_json()["results"]
        assert rows and [r["ocid"] for r in rows] == html_ocids(demo_client, asked)


@pytest.mark.parametrize("query", QUERIES)
def test_the_csv_holds_exactly_the_rows_of_all_json_pages_joined(demo_client, query):
    pages = json_pages(demo_client, query)
    joined = [row for page in pages for row in page["results"]]
    assert len(pages) > 1 and len(joined) == pages[0]["total"] == len({r["ocid"] for r in joined})
    # The keyset pages are the numbered ones.
    assert [r["ocid"] for r in pages[1]["results"]] == html_ocids(demo_client, {**query, "page": 2})
    response = demo_client.get("/search.csv", query_string=query)
    assert response.mimetype == "text/csv"
    table = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["ocid"] for row in table] == [r["ocid"] for r in joined]
    for row, given in zip(table, joined, strict=True):
        assert row["title"].lstrip("'") == given["title"]
        assert row["value.amount"] == ((given["value"] or {}).get("amount") or "")
        assert row["buyer_url"] == (given["buyer_url"] or "")


def test_json_never_cuts_a_title(demo_client):
    rows = [row for page in json_pages(demo_client, {}) for row in page["results"]]
    assert not [row["title"] for row in rows if row["title"].endswith("…")]
    html = demo_client.get("/search").get_data(as_text=True)
    assert "…" in html  # the page still shows titles made from descriptions cut short


def test_a_cursor_not_written_by_the_site_is_a_plain_400(demo_client):
    response = demo_client.get("/search.json?cursor=not-a-cursor")
    assert response.status_code == 400 and "start the search again" in response.get_json()["detail"]


def test_every_export_cell_a_spreadsheet_would_run_is_neutralised():
    rows = [{"a": "=HYPERLINK(1)", "b": "+1+2", "c": "@SUM", "d": "\tx", "e": "\rx", "f": "-5", "g": "-x", "h": "ok"}]
    table = list(csv.reader(io.StringIO("".join(csv_rows(rows, "abcdefgh")))))
    assert table[1] == ["'=HYPERLINK(1)", "'+1+2", "'@SUM", "'\tx", "'\rx", "-5", "'-x", "ok"]


def test_a_supplier_csv_holds_every_award_of_all_its_json_pages(demo_client):
    row = next(r for r in json_pages(demo_client, {}) for r in r["results"] if r["supplier_urls"])
    url = row["supplier_urls"][0]
    pages = [demo_client.get(url + ".json").get_json()]
    while pages[-1]["next"]:
        pages.append(demo_client.get(pages[-1]["next"]).get_json())
    joined = [a for page in pages for a in page["awards"]]
    assert len(joined) == pages[0]["award_count"] > 0
    table = list(csv.DictReader(io.StringIO(demo_client.get(url + ".csv").get_data(as_text=True))))
    assert [(r["ocid"], r["award_id"]) for r in table] == [(a["ocid"], a["award_id"] or "") for a in joined]


# -- The export's own writer against the generic path -----------------------------------------------------------

AWKWARD = "ocds-x1y2z3"
QUOTED_BUYER = {"id": "B", "name": 'Ville de Québec, Service "Achats"'}
SUPPLIERS = [
    {"id": "S1", "name": "+Plus Services"},
    {"id": "S2", "name": '@Home, "Quoted" Ltd'},
    {"id": "S3", "name": "-Minus Co"},
    {"id": "S4", "name": "Żółw\nSp. z o.o."},
]


def _awkward_release(ocid: str, title: str | None, *, amount=None, suppliers=(), language=None, description=None):
    # A second award names the first supplier again as another party (an identifier of its own): one name, two
    # pages to choose from.
    again = [{"id": f"{s['id']}-again", "name": s["name"]} for s in suppliers[:1]]
    identified = [{**s, "identifier": {"scheme": "XX-REG", "id": s["id"]}} for s in again]
    release: dict = {
        "ocid": ocid,
        "id": "1",
        "date": "2024-03-01T10:00:00Z",
        "tag": ["award"],
        "initiationType": "tender",
        "parties": [{**QUOTED_BUYER, "roles": ["buyer"]}]
        + [{**s, "roles": ["supplier"]} for s in [*suppliers, *identified]],
        "buyer": QUOTED_BUYER,
        "tender": {"id": "t", "status": "complete", "description": description},
        "awards": [
            {"id": "a1", "status": "active", "suppliers": [{"id": s["id"], "name": s["name"]} for s in suppliers]},
            {"id": "a2", "status": "active", "suppliers": again},
        ],
    }
    if title is not None:
        release["tender"]["title"] = title
    if language is not None:
        release["language"] = language
    if amount is not None:
        release["awards"][0]["value"] = {"amount": amount, "currency": "CAD"}
    return release


def _awkward_processes() -> list[dict]:
    return [
        _awkward_release(
            f"{AWKWARD}-a/b%c?d#e f", '=HYPERLINK("http://x","click")', amount=1234.5, suppliers=SUPPLIERS
        ),
        _awkward_release(f"{AWKWARD}-ümlaut-ñ", 'Road, "repairs"\nphase 2', suppliers=SUPPLIERS[1:3], language="fr"),
        _awkward_release(f"{AWKWARD}-minus", "-5", amount=-5, suppliers=SUPPLIERS[2:], language="EN_gb"),
        _awkward_release(f"{AWKWARD}-at", "@SUM(1), plus", amount=0, language="not a tag!"),
        _awkward_release(
            f"{AWKWARD}-untitled", None, description="Snow removal " * 30 + '\non three roads, "urgent"', amount=7
        ),
        _awkward_release(f"{AWKWARD}-plain", "Plain title", suppliers=SUPPLIERS[:2]),
    ]


@pytest.fixture
def awkward_client(app, load, tmp_path):
    """Processes whose every cell is awkward for CSV, loaded from two sources (one process from both)."""
    releases = _awkward_processes()
    later = [{**release, "id": "2", "date": "2024-04-01T10:00:00Z"} for release in releases[:2]]
    for name, chosen in (("first source", releases), ("second, source", later)):
        folder = tmp_path / name.replace(",", "").replace(" ", "-")
        folder.mkdir()
        package = {"version": "1.1", "publishedDate": "2024-03-01T00:00:00Z", "uri": "x", "releases": chosen}
        (folder / "package.json").write_text(json.dumps(package, ensure_ascii=False), encoding="utf-8")
        result = load(folder, name)
        assert result.status == "succeeded", result.errors
    with app.extensions["portal.sessions"].begin() as session:
        for source in session.scalars(select(Source)):
            attribution = '=Data from "Ville", 2024' if source.name == "first source" else "Second; with thanks"
            session.add(
                SourceState(source_id=source.id, kind="ocds", url="x", licence="CC-BY-4.0", attribution=attribution)
            )
    return app.test_client()


def generic_search_csv(app, query: dict) -> str:
    """The export as it was written before its own writer: every row a `result_row`, flattened by `csv_rows`."""
    with app.test_request_context("/search.csv", query_string=query):
        filters, _ = search_filters(query)
        ordered = ordered_matches(
            app.extensions["portal.search"], q=query.get("q", ""), sort=query.get("sort", "relevance"), filters=filters
        )
        session, rows = get_session(), []
        for start in range(0, len(ordered), views.EXPORT_CHUNK):
            hits = hits_at(ordered, start, start + views.EXPORT_CHUNK)
            ocids = [hit.ocid for hit in hits]
            languages = content_languages(session, ocids=ocids)
            pages = name_pages(session, ocids=ocids)
            terms = terms_of(session, ocids)
            rows.extend(result_row(hit, languages, pages, terms) for hit in hits)
        return "".join(csv_rows(rows, SEARCH_COLUMNS))


@pytest.mark.parametrize("chunk", [500, 2])
@pytest.mark.parametrize("query", [{}, {"sort": "amount"}, {"q": "title"}, {"q": "nothing-matches-this"}])
def test_the_exports_own_writer_writes_what_the_generic_path_writes(app, awkward_client, monkeypatch, query, chunk):
    monkeypatch.setattr(views, "EXPORT_CHUNK", chunk)  # rows across chunks, as a long export has
    expected = generic_search_csv(app, query)
    response = awkward_client.get("/search.csv", query_string=query)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.get_data(as_text=True) == expected
    if not query.get("q"):
        table = list(csv.DictReader(io.StringIO(expected)))
        assert len(table) == 6
        cells = "\n".join(value for row in table for value in row.values())
        # The fixture holds what it is meant to: neutralised formulas, escaped ocids, names with pages, terms.
        for needle in ("'=HYPERLINK", "'+Plus Services", "'-Minus Co", "'@SUM", "~2F", "~25", "~3F", "~23"):
            assert needle in cells
        assert {row["language"] for row in table} == {"", "fr", "en-gb"}
        assert any(row["source"] == "first source; second, source" for row in table)
        assert any(row["attribution"] == '\'=Data from "Ville", 2024; Second; with thanks' for row in table)
        assert {row["licence"] for row in table} == {"CC-BY-4.0"}
        assert all(row["buyer_url"] for row in table) and any(";" in row["supplier_urls"] for row in table)
        assert any(row["value.amount"] == "-5.00" for row in table)  # a negative amount stays a number


def test_url_maker_writes_what_url_for_writes(app):
    with app.test_request_context("/search.csv"):
        process = url_maker("public.process", "ocid", "stand-in", encode_ocid)
        for ocid in (f"{AWKWARD}-a/b%c?d#e f", "ümlaut-ñ", "a/b/../../c", "=x", "", "x~2Fy", "stand-in"):
            assert process(ocid) == url_for("public.process", ocid=ocid)
        supplier = url_maker("public.supplier", "party_id", MAX_ID, str)
        for party_id in (1, 42, MAX_ID):
            assert supplier(party_id) == url_for("public.supplier", party_id=party_id)
