"""Every buyer and supplier name on a result or process page leads to its page."""

from __future__ import annotations

import re


def test_search_results_link_buyers_and_suppliers_to_their_pages(demo_client):
    body = demo_client.get("/search.json?per_page=20").get_json()
    buyers = [r for r in body["results"] if r["buyer"]]
    assert buyers and all(r["buyer_url"] for r in buyers)
    with_suppliers = [r for r in body["results"] if r["suppliers"]]
    assert with_suppliers
    for row in buyers[:3]:
        page = demo_client.get(row["buyer_url"] + ".json")
        assert page.status_code == 200 and page.get_json()["kind"] == "buyer"
    for row in with_suppliers[:3]:
        assert len(row["supplier_urls"]) == len(row["suppliers"]) and all(row["supplier_urls"])
        page = demo_client.get(row["supplier_urls"][0] + ".json").get_json()
        assert row["suppliers"][0].strip() in [page["name"], *page["spellings"]]
    html = demo_client.get("/search").get_data(as_text=True)
    assert html.count('class="buyer" href="/buyer/') == len(buyers)


def test_process_page_links_its_buyer_and_suppliers(demo_client):
    row = next(r for r in demo_client.get("/search.json").get_json()["results"] if r["buyer"] and r["suppliers"])
    html = demo_client.get(row["url"]).get_data(as_text=True)
    buyer = re.search(r'<a class="buyer" href="(/buyer/\d+)"', html)
    assert buyer and buyer[1] == row["buyer_url"]
    for link in set(re.findall(r'href="(/supplier/\d+)"', html)):
        assert demo_client.get(link).status_code == 200
