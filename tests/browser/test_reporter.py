"""A reporter's session in Chromium: every contract of one supplier above 100,000 signed in one year, the year
before for comparison, the export of it, and the feed to follow it (the same session through the API is
tests/portal/test_reporter_api.py)."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET

import pytest
from playwright.sync_api import expect

from tests.portal.test_reporter_api import ATOM, reporter_case

pytestmark = pytest.mark.browser


def shown_ocids(page) -> set[str]:
    """The processes the results list, across its pages."""
    found: set[str] = set()
    while True:
        for link in page.locator("li.result h2 a").all():
            found.add(page.evaluate("(a) => decodeURIComponent(a.pathname)", link.element_handle()))
        following = page.locator("nav.pagination a[rel=next]")
        if not following.count():
            return {re.sub(r"~([0-9A-F]{2})", lambda m: chr(int(m[1], 16)), o.removeprefix("/process/")) for o in found}
        following.click()


def test_a_reporter_follows_one_suppliers_large_contracts(page, app, demo_loaded):
    with app.extensions["portal.sessions"]() as session:
        case = reporter_case(session)
    page.goto("/search")
    form = page.get_by_role("search", name="Search and filter")
    form.get_by_label("Words").fill(case.supplier)
    form.get_by_label("Currency").fill(case.currency)
    form.get_by_label("Amount from").fill("100 000")
    form.get_by_label("Dates", exact=True).select_option("signed")
    page.locator("#date_from").fill(f"{case.year}-01-01")
    page.locator("#date_to").fill(f"{case.year}-12-31")
    page.get_by_role("search", name="Search and filter").get_by_role("button", name="Search").click()
    # The supplier, from the facet counted with these results.
    page.locator("section.facets summary").click()
    page.locator("section.facets a", has_text=re.compile(rf"^{re.escape(case.supplier)}$")).first.click()
    expect(page.locator("p.count")).to_contain_text(f"{len(case.expected)} process")
    this_year = page.url  # the permalink of this view
    assert shown_ocids(page) == case.expected

    # The year before, the supplier still chosen.
    page.goto(this_year)
    page.locator("#date_from").fill(f"{case.year - 1}-01-01")
    page.locator("#date_to").fill(f"{case.year - 1}-12-31")
    page.get_by_role("search", name="Search and filter").get_by_role("button", name="Search").click()
    expect(page.locator("p.count")).to_contain_text(f"{len(case.year_before)} process")
    assert shown_ocids(page) == case.year_before
    page.goto(this_year)
    expect(page.locator("#date_from")).to_have_value(f"{case.year}-01-01")

    # The export holds every one of them, not a page.
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV", exact=True).click()
    with open(download.value.path(), encoding="utf-8") as exported:
        rows = list(csv.DictReader(io.StringIO(exported.read())))
    assert {r["ocid"] for r in rows} == case.expected
    assert all(case.supplier in [s.strip() for s in r["suppliers"].split(";")] for r in rows)

    # Subscribe: the feed a reader's feed reader would take.
    feed_url = page.get_by_role("link", name="Follow this search (Atom feed)").get_attribute("href")
    assert feed_url and page.locator('link[rel=alternate][type="application/atom+xml"]').count() == 1
    feed = ET.fromstring(page.request.get(feed_url).body())
    assert {e.findtext(f"{ATOM}id") for e in feed.iter(f"{ATOM}entry")} == {f"urn:ocid:{o}" for o in case.expected}
