"""The search page's facets: counts with the results, links that narrow the search, combinable filters."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit


def test_the_json_twin_lists_facets_with_counts_and_links(demo_client):
    body = demo_client.get("/search.json?q=entretien").get_json()
    assert set(body["facets"]) == {"buyer", "supplier", "method", "status", "currency", "year", "amount_band", "flag"}
    buyer = body["facets"]["buyer"][0]
    assert buyer["count"] > 0 and parse_qs(urlsplit(buyer["url"]).query) == {
        "q": ["entretien"],
        "buyer": [buyer["value"]],
    }
    narrowed = demo_client.get(buyer["url"].replace("/search?", "/search.json?")).get_json()
    assert narrowed["total"] == buyer["count"]
    assert {hit["buyer"] for hit in narrowed["results"]} == {buyer["value"]}


def test_facet_filters_combine_and_are_kept_by_links(demo_client):
    every = demo_client.get("/search.json").get_json()
    year = every["facets"]["year"][0]
    status = every["facets"]["status"][0]["value"]
    both = demo_client.get("/search.json", query_string={"year": year["value"], "status": status}).get_json()
    assert 0 < both["total"] <= year["count"]
    assert all(hit["status"] == status and hit["last_updated"].startswith(year["value"]) for hit in both["results"])
    page = demo_client.get("/search", query_string={"year": year["value"], "status": status}).get_data(as_text=True)
    assert "remove this filter" in page


def test_a_year_that_is_not_one_is_said_and_left_out(demo_client):
    body = demo_client.get("/search.json?year=20x4").get_json()
    assert body["notes"][0]["parameter"] == "year" and body["total"] > 0


def test_dates_names_the_date_the_filters_apply_to(demo_client):
    signed = demo_client.get("/search.json?dates=signed&date_from=1900").get_json()
    updated = demo_client.get("/search.json?date_from=1900").get_json()
    assert 0 < signed["total"] < updated["total"]  # not every process has a signed contract
    odd = demo_client.get("/search.json?dates=whenever&date_from=1900").get_json()
    assert odd["total"] == updated["total"] and "dates" in [note["parameter"] for note in odd["notes"]]
    assert 'name="dates"' in demo_client.get("/search?dates=signed").get_data(as_text=True)


def test_an_amount_band_narrows_the_search_and_a_band_not_offered_is_said(demo_client):
    every = demo_client.get("/search.json").get_json()
    band = every["facets"]["amount_band"][0]
    narrowed = demo_client.get(band["url"].replace("/search?", "/search.json?")).get_json()
    assert narrowed["total"] == band["count"] > 0
    assert "amount_band=" in narrowed["facets"]["status"][0]["url"]  # kept by every other facet's links
    odd = demo_client.get("/search.json?amount_band=1-2").get_json()
    assert odd["total"] == every["total"] and odd["notes"][0]["problem"] == "not an amount band"
    page = demo_client.get(band["url"]).get_data(as_text=True)
    assert "remove this filter" in page and "is not one of the bands offered" in demo_client.get(
        "/search?amount_band=1-2"
    ).get_data(as_text=True)
