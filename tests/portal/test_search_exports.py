"""The search's twins: the JSON page holds the HTML page's rows, keyset `next` links walk the whole result, and
the CSV is that whole result, streamed."""

from __future__ import annotations

import csv
import io
import re

import pytest

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
    from portal.render import csv_rows

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
