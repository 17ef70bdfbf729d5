"""The public pages and their JSON twins, on the demo data."""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.models import Process, ProcessParty, Release
from tests.conftest import DEMO_DATA

CDMX = "OCDS-87SD3T-AD-SF-DRM-063-2015"
UKRAINE = "ocds-be6bcu-UA-2017-04-12-001619-b"


@pytest.fixture
def sessions(demo_app):
    return demo_app.extensions["portal.sessions"]


@pytest.fixture
def client(demo_client):
    return demo_client


@pytest.fixture
def supplier_id(sessions):
    with sessions() as session:
        return session.scalar(
            select(ProcessParty.party_id)
            .join(Process, Process.id == ProcessParty.process_id)
            .where(Process.ocid == CDMX, ProcessParty.role == "supplier")
        )


def test_home_shows_headline_figures_that_match_the_database(client, sessions):
    data = client.get("/index.json").get_json()
    with sessions() as session:
        assert data["processes"] == session.scalar(select(func.count()).select_from(Process)) == 36
        assert data["releases"] == session.scalar(select(func.count()).select_from(Release)) == 45
    currencies = {row["currency"] for row in data["value_by_currency"]}
    assert currencies == {"CAD", "MXN", "UAH", "USD"}
    page = client.get("/").get_data(as_text=True)
    assert '<dd data-figure="processes">36</dd>' in page


@pytest.mark.parametrize(
    ("query", "expected_ocid"),
    [
        ("arrendamiento", CDMX),  # title
        ('"471 computadora"', CDMX),  # phrase in the description
        ("comunic@rte", CDMX),  # supplier name
        ("suppliers:consulting", CDMX),  # field query
        ("лимони", UKRAINE),  # Ukrainian title
        ("evaluation panneau", "ocds-a1234567-mt-063635891f001755a1637786dd047485f3dcfaf6"),  # accents folded
    ],
)
def test_search_finds_processes_by_words_in_title_description_and_supplier(client, query, expected_ocid):
    data = client.get("/search.json", query_string={"q": query}).get_json()
    assert expected_ocid in [hit["ocid"] for hit in data["results"]], data
    page = client.get("/search", query_string={"q": query}).get_data(as_text=True)
    assert f"/process/{expected_ocid}" in page


def test_search_highlights_matches_and_paginates(demo_app, client, monkeypatch):
    monkeypatch.setitem(demo_app.config, "PER_PAGE", 2)
    first = client.get("/search.json?q=entretien").get_json()
    second = client.get("/search.json?q=entretien&page=2").get_json()
    assert first["total"] == second["total"] >= 4
    assert first["pages"] == -(-first["total"] // 2)
    assert not {h["ocid"] for h in first["results"]} & {h["ocid"] for h in second["results"]}
    page = client.get("/search?q=entretien").get_data(as_text=True)
    assert re.search(r'<mark class="hl t\d+">[Ee]ntretien</mark>', page)
    assert 'rel="next"' in page


def test_sort_by_amount_compares_within_a_currency(client):
    results = client.get("/search.json?sort=amount&currency=CAD").get_json()["results"]
    amounts = [Decimal(hit["value"]["amount"]) for hit in results]
    assert len(amounts) == 20  # a full page: an empty one would pass any order
    assert amounts == sorted(amounts, reverse=True)
    assert amounts != sorted(amounts)  # and not all equal
    assert {hit["value"]["currency"] for hit in results} == {"CAD"}


def test_sort_by_date_puts_the_newest_first(client):
    results = client.get("/search.json?sort=date").get_json()["results"]
    dates = [datetime.fromisoformat(hit["last_updated"]) for hit in results]
    assert len(dates) == 20  # a full page: an empty one would pass any order
    assert dates == sorted(dates, reverse=True)
    assert dates[0] > dates[-1]


def test_process_page_shows_the_timeline_with_every_release_and_its_source(client, sessions):
    page = client.get(f"/process/{CDMX}").get_data(as_text=True)
    with sessions() as session:
        stored = list(session.scalars(select(Release).where(Release.ocid == CDMX)))
    assert len(stored) == 4  # two releases, each published in two versions
    for release in stored:
        assert f"/process/{CDMX}/releases/{release.id}.json" in page
        assert release.checksum[:12] in page
    for heading in ("Tender", "Awards (1)", "Contracts (1)", "Amendments (0)", "Timeline of releases"):
        assert heading in page
    assert "release-package-AD-063-2015.json" in page
    assert "sum of its active contracts" in page
    raw = client.get(f"/process/{CDMX}/releases/{stored[0].id}.json")
    assert raw.mimetype == "application/json"
    assert json.loads(raw.data) == json.loads(stored[0].data)


def test_supplier_page_lists_the_suppliers_awards(client, supplier_id):
    data = client.get(f"/supplier/{supplier_id}.json").get_json()
    assert data["name"].startswith("COMUNIC@RTE & CONSULTING")
    assert [a["ocid"] for a in data["awards"]] == [CDMX]
    assert data["totals"] == [{"currency": "MXN", "amount": "1311264.00", "awards": 1}]
    page = client.get(f"/supplier/{supplier_id}").get_data(as_text=True)
    assert f"/process/{CDMX}" in page
    assert "1,311,264.00 MXN" in page


def shown_figures(path: str, html: str) -> dict:
    """What the HTML page shows, read back from its markup: the figures its JSON twin must hold too."""
    links = re.findall(r'<a href="(/process/[^"?#]+)"', html)
    if path == "/":
        return {
            **{name: int(value.replace(",", "")) for name, value in re.findall(r'data-figure="(\w+)">([\d,]+)<', html)},
            "value_by_currency": [
                {"currency": c, "amount": Decimal(a.replace(",", "")), "processes": int(n)}
                for c, a, n in re.findall(
                    r'<tr data-currency="(\w+)"><td>\w+</td><td class="num">([\d,.]+) \w+</td><td class="num">(\d+)<',
                    html,
                )
            ],
            "latest": links,
        }
    if path.startswith("/search"):
        total = re.search(r'role="status">([\d,]+) process', html)[1]
        return {"total": int(total.replace(",", "")), "results": links}
    if path.startswith("/process/"):
        value = re.search(r'data-figure="value">([^<]+)<', html)[1]
        return {
            "releases": int(re.search(r'data-figure="releases">(\d+)<', html)[1]),
            "release_urls": re.findall(r'<a href="(/process/[^"]+/releases/\d+\.json)">', html),
            "value": None if value == "—" else Decimal(value.split()[0].replace(",", "")),
        }
    return {
        "awards": int(re.search(r'data-figure="awards">(\d+)<', html)[1]),
        "award_ocids": re.findall(r'<tr data-ocid="([^"]+)">', html),
        "totals": [
            {"currency": c, "amount": Decimal(a.replace(",", ""))}
            for c, a in re.findall(r'<dd data-currency="(\w+)">([\d,.]+) ', html)
        ],
    }


def twin_figures(path: str, data: dict) -> dict:
    """The same figures, as the JSON twin states them."""
    if path == "/":
        return {
            **{name: data[name] for name in ("processes", "releases", "buyers", "suppliers")},
            "value_by_currency": [
                {"currency": row["currency"], "amount": Decimal(row["amount"]), "processes": row["processes"]}
                for row in data["value_by_currency"]
            ],
            "latest": [row["url"] for row in data["latest"]],
        }
    if path.startswith("/search"):
        return {"total": data["total"], "results": [row["url"] for row in data["results"]]}
    if path.startswith("/process/"):
        return {
            "releases": data["release_count"],
            "release_urls": [row["url"] for row in data["releases"]],
            "value": Decimal(data["value"]["amount"]).quantize(Decimal("0.01")) if data["value"] else None,
        }
    return {
        "awards": len(data["awards"]),
        "award_ocids": [row["ocid"] for row in data["awards"]],
        "totals": [
            {"currency": row["currency"], "amount": Decimal(row["amount"]).quantize(Decimal("0.01"))}
            for row in data["totals"]
        ],
    }


@pytest.mark.parametrize(
    "path",
    ["/", "/search", "/search?q=entretien", f"/process/{CDMX}", f"/process/{UKRAINE}", "/supplier/{supplier}"],
)
def test_every_page_has_a_json_twin_with_the_same_figures(client, supplier_id, path):
    path = path.format(supplier=supplier_id)
    html = client.get(path)
    base, _, query = path.partition("?")
    twin = client.get(("/index" if base == "/" else base) + ".json" + (f"?{query}" if query else ""))
    assert html.status_code == twin.status_code == 200
    assert html.mimetype == "text/html"
    assert twin.mimetype == "application/json"
    shown, stated = shown_figures(base, html.get_data(as_text=True)), twin_figures(base, twin.get_json())
    assert shown == stated
    # Not an empty comparison: each page shows something to compare.
    assert all(value not in (None, [], 0) for value in shown.values()), shown


@pytest.mark.parametrize("path", ["/process/nope", "/process/nope.json", "/supplier/999999", "/supplier/999999.json"])
def test_unknown_things_are_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert (
        ("error" in response.get_json()) if path.endswith(".json") else ("Not found" in response.get_data(as_text=True))
    )


@pytest.mark.parametrize(
    "query",
    [
        "<script>alert(1)</script>",
        '"unclosed phrase',
        "title:",
        "((((",
        "*",
        "a" * 5000,
        "AND OR NOT",
        "amount:[0 TO",
        "\x00\x01",
        "' OR 1=1 --",
    ],
)
def test_hostile_queries_get_an_ordinary_answer(client, query):
    response = client.get("/search", query_string={"q": query, "page": "-3", "sort": "DROP"})
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.get_data(as_text=True)
    assert client.get("/search.json", query_string={"q": query, "page": "x"}).status_code == 200


def test_published_text_is_escaped_in_highlights(app, load, tmp_path):
    client = app.test_client()
    hostile = {
        "ocid": "ocds-test00-x",
        "id": "1",
        "date": "2020-01-01T00:00:00Z",
        "tender": {"title": "Snow <img src=x onerror=alert(1)> removal", "description": "<b>snow</b> & ice"},
    }
    (tmp_path / "x.json").write_text(json.dumps(hostile), encoding="utf-8")
    load(tmp_path / "x.json")
    page = client.get("/search?q=snow").get_data(as_text=True)
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<b>snow</b>" not in page
    process_page = client.get("/process/ocds-test00-x").get_data(as_text=True)
    assert "<img src=x" not in process_page


def test_security_headers_are_on_every_response(client):
    for path in ("/", "/search.json", "/process/nope"):
        headers = client.get(path).headers
        assert "default-src 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_amount_and_date_filters_narrow_the_results(client):
    everything = client.get("/search.json?currency=CAD").get_json()
    assert everything["total"] == 20
    narrowed = client.get("/search.json?currency=CAD&min_amount=5000&max_amount=10000.50").get_json()
    amounts = sorted(float(h["value"]["amount"]) for h in narrowed["results"])
    assert amounts and all(5000 <= a <= 10000.50 for a in amounts)
    assert narrowed["total"] == len(amounts) < everything["total"]
    with_words = client.get("/search.json?q=entretien&currency=CAD&max_amount=3000").get_json()
    assert with_words["total"] >= 1
    assert all(float(h["value"]["amount"]) <= 3000 for h in with_words["results"])
    in_june = client.get("/search.json?date_from=2017-06-01&date_to=2017-06-30").get_json()
    assert in_june["total"] >= 1
    assert all(h["last_updated"][:7] == "2017-06" for h in in_june["results"])


def test_amount_bounds_without_a_currency_are_not_applied_across_currencies(client):
    assert client.get("/search.json?min_amount=1000000").get_json()["total"] == 36


@pytest.mark.parametrize(
    ("query_string", "total"),
    [
        ("currency=<x>", 36),
        ("min_amount=abc&currency=CAD", 20),
        ("min_amount=1e999&currency=CAD", 20),
        ("date_from=2017-02-31", 36),
        ("max_amount=NaN&currency=CAD", 20),
    ],
)
def test_malformed_filters_are_ignored(client, query_string, total):
    response = client.get(f"/search.json?{query_string}")
    assert response.status_code == 200
    assert response.get_json()["total"] == total


@pytest.mark.parametrize(
    ("query_string", "summary"),
    [
        ("", "Filters"),
        ("currency=CAD&min_amount=5000", "Filters (2 in use)"),
        ("min_amount=5000", "Filters"),  # without a currency the bound does not apply
        ("currency=CAD&date_from=2016&date_to=2017-02-31&max_amount=10k", "Filters (3 in use)"),
        ("buyer=Ville+de+Montr%C3%A9al", "Filters"),  # a facet is shown with the facets, not counted here
    ],
)
def test_the_folded_filters_say_how_many_apply(client, query_string, summary):
    """On a phone only the summary of the filters shows: it must not hide that some apply."""
    page = client.get(f"/search?{query_string}").get_data(as_text=True)
    assert re.search(r'<details class="filters">\s*<summary>(.*?)</summary>', page)[1] == summary


def test_home_figures_follow_each_ingest(app, load):
    client = app.test_client()
    load(DEMO_DATA / "montreal")
    assert client.get("/index.json").get_json()["processes"] == 20
    load(DEMO_DATA / "ukraine-prozorro")
    assert client.get("/index.json").get_json()["processes"] == 31


def test_a_buyer_has_no_supplier_page(client, sessions):
    with sessions() as session:
        buyer_id = session.scalar(select(Process.buyer_id).where(Process.ocid == CDMX))
    assert client.get(f"/supplier/{buyer_id}").status_code == 404
    assert client.get(f"/supplier/{buyer_id}.json").status_code == 404
