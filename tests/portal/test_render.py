"""One renderer: formats and their links, JSON that keeps text and money as published, CSV, error pages; any ocid
as a URL; parameters that never steer a link."""

from __future__ import annotations

import csv
import io
import json
import re
from urllib.parse import urljoin, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.render import decode_ocid, encode_ocid, flatten, jsonable
from tests.conftest import DEMO_DATA

CDMX = "OCDS-87SD3T-AD-SF-DRM-063-2015"
UKRAINE = "ocds-be6bcu-UA-2017-04-12-001619-b"


@pytest.fixture
def client(demo_client):
    return demo_client


def links_of(response) -> dict[str, str]:
    """`Link` headers as {type: url}."""
    found = {}
    for header in response.headers.getlist("Link"):
        match = re.fullmatch(r'<([^>]*)>; rel="alternate"; type="([^"]+)"', header)
        assert match, header
        found[match[2]] = match[1]
    return found


@pytest.mark.parametrize(
    ("path", "table"),
    [
        ("/", "value_by_currency"),
        ("/search?q=entretien&sort=amount", "results"),
        (f"/process/{CDMX}", "releases"),
        ("/supplier/{supplier}", "awards"),
    ],
)
def test_each_format_links_to_the_others_and_they_agree(client, path, table):
    if "{supplier}" in path:
        party = client.get(f"/process/{CDMX}").get_data(as_text=True)
        path = path.format(supplier=re.search(r'href="/supplier/(\d+)"', party)[1])
    html = client.get(path)
    assert html.status_code == 200 and html.mimetype == "text/html"
    alternates = links_of(html)
    assert set(alternates) == {"application/json", "text/csv"}
    twin = client.get(alternates["application/json"])
    assert twin.mimetype == "application/json"
    assert set(links_of(twin)) == {"text/html", "text/csv"}
    assert links_of(twin)["text/html"] == path
    spreadsheet = client.get(alternates["text/csv"])
    assert spreadsheet.status_code == 200 and spreadsheet.mimetype == "text/csv"
    assert spreadsheet.is_streamed
    rows = list(csv.DictReader(io.StringIO(spreadsheet.get_data(as_text=True))))
    assert rows, path
    # The CSV's rows are the twin's table, cell for cell.
    data = twin.get_json()
    assert rows == [{k: "" if v is None else str(v) for k, v in flatten(row).items()} for row in data[table]]


def test_accept_json_gets_the_twin_at_the_pages_own_url(client):
    response = client.get("/search?q=entretien", headers={"Accept": "application/json"})
    assert response.mimetype == "application/json"
    assert response.get_json() == client.get("/search.json?q=entretien").get_json()
    assert "Accept" in response.headers["Vary"]
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert client.get("/search?q=entretien", headers={"Accept": browser}).mimetype == "text/html"


def test_json_keeps_text_readable_and_money_as_strings(client):
    raw = client.get(f"/process/{UKRAINE}.json").get_data(as_text=True)
    assert "\\u04" not in raw  # Cyrillic as itself, not escaped
    data = json.loads(raw)
    assert re.search("[а-яіїє]", data["title"])
    assert isinstance(data["value"]["amount"], str)
    search = client.get("/search.json?q=entretien").get_data(as_text=True)
    assert "réparation" in search.lower() or "é" in search
    for hit in json.loads(search)["results"]:
        assert hit["value"] is None or isinstance(hit["value"]["amount"], str)


def test_domain_values_become_json_in_one_place():
    from datetime import datetime, timedelta, timezone
    from decimal import Decimal

    from markupsafe import Markup

    from portal.vocabulary import PartyRole

    value = {
        "amount": Decimal("1311264.00"),
        "when": datetime(2016, 9, 30, tzinfo=timezone(timedelta(hours=4))),
        "role": PartyRole.SUPPLIER,
        "title": Markup("<mark>Entretien</mark> &amp; réparation"),
        "ids": ("01", "02"),
    }
    assert jsonable(value) == {
        "amount": "1311264.00",
        "when": "2016-09-30T00:00:00+04:00",
        "role": "supplier",
        "title": "Entretien & réparation",
        "ids": ["01", "02"],
    }


def test_csv_cells_never_start_a_formula():
    from portal.render import csv_lines

    text = "".join(csv_lines([{"title": '=HYPERLINK("http://x")', "amount": "-5.00", "n": "@SUM(1)"}]))
    row = next(csv.DictReader(io.StringIO(text)))
    assert row == {"title": '\'=HYPERLINK("http://x")', "amount": "-5.00", "n": "'@SUM(1)"}


# ---------------------------------------------------------------------------------------------------------------
# Errors.


@pytest.mark.parametrize(
    "path",
    [
        "/nowhere",
        "/process/nope",
        "/supplier/999999",
        "/supplier/99999999999999999999",  # beyond 64 bits
        "/supplier/2147483648",  # beyond the 32-bit INTEGER ids of PostgreSQL
        f"/process/{CDMX}/releases/99999999999999999999.json",
        f"/process/{CDMX}/published-record/18446744073709551616.json",
        "/search?page=999",
        "/search?q=entretien&page=3",
    ],
)
def test_unknown_addresses_get_the_sites_404_and_json_ones_a_json_error(client, path):
    base, _, query = path.partition("?")
    page = client.get(path)
    assert page.status_code == 404
    if base.endswith(".json"):
        assert page.mimetype == "application/json" and page.get_json()["status"] == 404
        return
    text = page.get_data(as_text=True)
    assert page.mimetype == "text/html" and "<h1>Not found</h1>" in text
    assert 'class="site"' in text  # the site's own page, header and all
    twin_path = ("/index" if base == "/" else base) + ".json" + (f"?{query}" if query else "")
    twin = client.get(twin_path)
    assert twin.status_code == 404 and twin.mimetype == "application/json"
    assert set(twin.get_json()) == {"error", "status", "detail"}


def test_a_page_cannot_be_posted_to_and_says_so(client):
    for path in ("/search", "/search.json"):
        response = client.post(path)
        assert response.status_code == 405
        assert set(response.headers["Allow"].split(", ")) >= {"GET", "HEAD"}
    assert client.post("/search.json").get_json()["status"] == 405


def test_a_page_past_the_last_says_how_many_there_are(client, demo_app, monkeypatch):
    monkeypatch.setitem(demo_app.config, "PER_PAGE", 2)
    last = client.get("/search.json?q=entretien").get_json()["pages"]
    assert client.get(f"/search.json?q=entretien&page={last}").status_code == 200
    beyond = client.get(f"/search.json?q=entretien&page={last + 1}")
    assert beyond.status_code == 404
    assert f"There are {last} pages of results, not {last + 1}." == beyond.get_json()["detail"]
    page = client.get("/search?page=999").get_data(as_text=True)
    assert "page 500 of" not in page.lower()
    assert "not 999" in page


# ---------------------------------------------------------------------------------------------------------------
# Parameters never steer links nor reach a 500.


def test_url_parameters_do_not_steer_the_pages_links(client, demo_app, monkeypatch):
    monkeypatch.setitem(demo_app.config, "PER_PAGE", 2)
    query = "q=entretien&_external=1&_anchor=%22%3E%3Cscript%3Eevil&_scheme=javascript&endpoint=x&_method=POST&values=1"
    response = client.get(f"/search?{query}", headers={"Host": "evil.example"})
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    hrefs = re.findall(r'href="([^"]*)"', text)
    assert hrefs and all(not h.startswith(("http", "//", "javascript")) for h in hrefs), hrefs
    assert "evil" not in text and "_external" not in text and "_method" not in text
    assert 'rel="next" href="/search?q=entretien&amp;page=2"' in text


def test_json_urls_are_relative_whatever_the_host_header(client):
    for path in ("/index.json", "/search.json?q=entretien", f"/process/{CDMX}.json"):
        response = client.get(path, headers={"Host": "evil.example"})
        assert "evil.example" not in response.get_data(as_text=True), path
        assert "evil.example" not in str(response.headers)


@pytest.mark.parametrize(
    ("query", "note"),
    [
        ("date_to=9999-12-31", "is outside the dates this site can search"),
        ("date_from=2017-02-31", "is not a date"),
        ("min_amount=1e999&currency=CAD", "is larger than any contract"),
        ("min_amount=abc&currency=CAD", "is not an amount"),
        ("min_amount=5000", "amounts are only compared within one currency"),
        ("currency=<x>", "is not a currency code"),
        ("sort=DROP", "is not one of the orders offered"),
        ("min_amount=5+000&currency=CAD", "“5 000” was read as 5000"),
        ("max_amount=10000,50&currency=CAD", "“10000,50” was read as 10000.50"),
        ("min_amount=2k&max_amount=1k&currency=CAD", "were the wrong way round"),
    ],
)
def test_the_page_says_what_was_not_understood(client, query, note):
    response = client.get(f"/search?{query}")
    assert response.status_code == 200
    text = response.get_data(as_text=True).replace("&#34;", '"').replace("&lt;", "<").replace("&gt;", ">")
    assert "How the search was read" in text
    assert note in text


def test_amounts_typed_with_separators_find_what_plain_digits_find(client):
    plain = client.get("/search.json?currency=CAD&min_amount=5000&max_amount=10000.50").get_json()
    for low, high in [("5 000", "10 000,50"), ("5,000", "10,000.50"), ("5.000", "10.000,50"), ("5k", "10000.5")]:
        typed = client.get("/search.json", query_string={"currency": "CAD", "min_amount": low, "max_amount": high})
        assert typed.get_json()["total"] == plain["total"] >= 1, (low, high)
    with_code = client.get("/search.json", query_string={"min_amount": "CAD 5000", "max_amount": "10000.50"})
    assert with_code.get_json()["total"] == plain["total"]


def test_a_doubled_not_is_an_ordinary_search(client):
    assert client.get("/search?q=NOT+NOT+a").status_code == 200


# ---------------------------------------------------------------------------------------------------------------
# Any ocid works as a URL.

ODD_OCIDS = [
    "ocds-test00-a/b",
    "ocds-test00-a/b/../../c",
    "ocds-test00-with space",
    "ocds-test00-100%",
    "ocds-test00-#1",
    "ocds-test00-?x=1&y",
    "ocds-test00-réfection-київ",
    "ocds-test00-x.json",
    "ocds-test00-~7E",
]


@settings(derandomize=True, max_examples=300)  # the same examples on every run
@given(st.text(min_size=1, max_size=40))
def test_an_ocid_survives_its_url(ocid):
    segment = encode_ocid(ocid)
    assert "/" not in segment and "." not in segment and "%" not in segment and "?" not in segment
    assert decode_ocid(segment) == ocid


@pytest.fixture
def odd(app, load, tmp_path):
    for number, ocid in enumerate(ODD_OCIDS):
        release = {
            "ocid": ocid,
            "id": "1",
            "date": "2020-01-01T00:00:00+02:00",
            "language": "fr",
            "tag": ["tender"],
            "tender": {"title": f"Oddity {number} déneigement", "value": {"amount": 100 + number, "currency": "CAD"}},
            "awards": [{"id": "a", "status": "active", "suppliers": [{"name": "Odd Supplier"}]}],
        }
        (tmp_path / f"odd-{number}.json").write_text(json.dumps(release, ensure_ascii=False), encoding="utf-8")
    result = load(tmp_path)
    assert result.status == "succeeded", result.errors
    return app.test_client()


def test_any_ocid_gets_a_working_page_twin_and_links(odd):
    search = odd.get("/search.json?q=oddity").get_json()
    assert sorted(hit["ocid"] for hit in search["results"]) == sorted(ODD_OCIDS)
    page = odd.get("/search?q=oddity").get_data(as_text=True)
    hrefs = re.findall(r'<h2><a href="([^"]+)"', page)
    assert len(hrefs) == len(ODD_OCIDS)
    for hit in search["results"]:
        ocid = hit["ocid"]
        # The link, resolved as a browser resolves it, stays a process page and opens this process.
        resolved = urlsplit(urljoin("http://portal.test/search?q=oddity", hit["url"]))
        assert resolved.path.startswith("/process/") and resolved.path.count("/") == 2, hit["url"]
        assert hit["url"] in hrefs
        html = odd.get(hit["url"])
        assert html.status_code == 200, (ocid, hit["url"])
        assert f"<code>{ocid}</code>".replace("&", "&amp;") in html.get_data(as_text=True)
        twin = odd.get(links_of(html)["application/json"])
        assert twin.status_code == 200 and twin.get_json()["ocid"] == ocid
        for release in twin.get_json()["releases"]:
            assert json.loads(odd.get(release["url"]).data)["ocid"] == ocid
        assert odd.get(links_of(html)["text/csv"]).status_code == 200
    home = odd.get("/index.json").get_json()
    for row in home["latest"]:
        assert odd.get(row["url"]).status_code == 200


def test_a_hand_typed_ocid_url_still_works(odd):
    assert odd.get("/process/ocds-test00-x.json.json").get_json()["ocid"] == "ocds-test00-x.json"
    assert odd.get("/process/ocds-test00-100%25").status_code == 200  # percent-encoded by hand


def test_demo_ocids_keep_their_plain_urls(client):
    assert encode_ocid(CDMX) == CDMX
    assert f'href="/process/{CDMX}"' in client.get("/search?q=arrendamiento").get_data(as_text=True)
    assert DEMO_DATA.is_dir()


def test_csv_columns_come_from_every_row():
    from portal.render import csv_lines

    rows = [{"ocid": "a", "value": None}, {"ocid": "b", "value": {"amount": "5.00", "currency": "CAD"}}]
    text = "".join(csv_lines(rows))
    assert list(csv.DictReader(io.StringIO(text))) == [
        {"ocid": "a", "value.amount": "", "value.currency": ""},
        {"ocid": "b", "value.amount": "5.00", "value.currency": "CAD"},
    ]


def test_an_ocid_holding_a_nul_is_no_page(client):
    # PostgreSQL text cannot hold a NUL, so no stored ocid has one: a 404, not a database error.
    assert client.get("/process/~00").status_code == 404
    assert client.get("/process/a~00b.json").get_json()["status"] == 404
