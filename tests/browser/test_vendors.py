"""A reader compares three suppliers in Chromium and exports the table; vendor, buyer and comparison pages pass
axe-core and keep their value column on a phone's screen."""

from __future__ import annotations

import csv
import io

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from sqlalchemy import func, select

from portal.domain.vendors import resolve_all
from portal.models import Award, AwardSupplier, Vendor, VendorParty

pytestmark = pytest.mark.browser


@pytest.fixture
def resolved(app, demo_loaded):
    """The demo set resolved into entities (as `portal demo` does after its ingest); three suppliers with awards
    whose names start with distinct words, and a buyer."""
    with app.extensions["portal.sessions"].begin() as session:
        resolve_all(session)
    with app.extensions["portal.sessions"]() as session:
        rows = session.execute(
            select(Vendor.id, Vendor.name)
            .join(VendorParty, VendorParty.vendor_id == Vendor.id)
            .join(AwardSupplier, AwardSupplier.party_id == VendorParty.party_id)
            .join(Award, Award.id == AwardSupplier.award_id)
            .where(Vendor.kind == "supplier", Award.value_units.is_not(None))
            .group_by(Vendor.id, Vendor.name)
            .order_by(func.count().desc(), Vendor.id)
        ).all()
        buyer = session.scalar(select(Vendor.id).where(Vendor.kind == "buyer").order_by(Vendor.id))
    chosen, words = [], set()
    for vendor_id, name in rows:
        word = max(name.split(), key=len)
        if len(word) >= 5 and word.lower() not in words:
            chosen.append((vendor_id, name, word))
            words.add(word.lower())
        if len(chosen) == 3:
            break
    assert len(chosen) == 3
    return chosen, buyer


def test_a_reader_compares_three_suppliers_and_exports_the_table(page, resolved):
    (first, first_name, _), (_, second_name, second_word), (_, third_name, third_word) = resolved[0]
    page.goto(f"/vendor/{first}")
    expect(page.locator("h1")).to_have_text(first_name)
    page.get_by_label("Compare with").fill(second_word)
    page.get_by_role("button", name="Compare").click()
    page.get_by_role("link", name=f"Add {second_name}").click()
    page.get_by_label("Add a supplier").fill(third_word)
    page.get_by_role("button", name="Look up and compare").click()
    page.get_by_role("link", name=f"Add {third_name}").click()

    table = page.locator("table.compare-table tbody tr")
    expect(table).to_have_count(3)
    expect(page.locator("table.compare-table")).to_contain_text(first_name)
    assert page.locator("figure.chart svg[role=img]").count() >= 1
    permalink = page.get_by_role("link", name="Permalink to this comparison").get_attribute("href")
    assert permalink and permalink.count("vendor=") == 3

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the table (CSV)").click()
    with open(download.value.path(), encoding="utf-8") as exported:
        text = exported.read()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["vendor"] for r in rows} == {first_name, second_name, third_name}
    assert all(r["processes"] for r in rows)


def test_search_results_lead_to_a_comparison(page, resolved):
    page.goto("/search?q=entretien")
    page.get_by_role("link", name="Compare the suppliers winning most in these results").click()
    expect(page.locator("h1")).to_have_text("Compare suppliers")
    expect(page.locator("table.compare-table tbody tr").first).to_be_visible()


def test_vendor_buyer_and_comparison_pages_pass_axe_and_fit_a_phone(new_page, resolved):
    chosen, buyer = resolved
    ids = [vendor_id for vendor_id, _, _ in chosen]
    paths = [
        f"/vendor/{ids[0]}",
        f"/buyer/{buyer}",
        f"/compare?vendor={ids[0]}&vendor={ids[1]}&vendor={ids[2]}",
        f"/compare?buyer={buyer}",
        f"/compare?vendor={ids[0]}&add=zzzz",
    ]
    axe = Axe()
    phone = new_page(viewport={"width": 375, "height": 800}, is_mobile=True, has_touch=True)
    found, cut = {}, {}
    for path in paths:
        assert phone.goto(path).status == 200, path
        results = axe.run(phone)
        if results.violations_count:
            found[path] = [v["id"] for v in results.response["violations"]]
        # Every money cell is on screen without scrolling the page or its table sideways.
        overflowing = phone.evaluate(
            "() => [...document.querySelectorAll('.table-scroll')]"
            ".filter(d => d.scrollWidth > d.clientWidth + 1).map(d => d.textContent.trim().slice(0, 40))"
        )
        beyond = overflowing or phone.evaluate(
            "() => [...document.querySelectorAll('td.num')]"
            ".filter(td => td.getBoundingClientRect().right > window.innerWidth + 1).length"
        )
        if beyond or phone.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1"):
            cut[path] = beyond
    assert not cut, cut
    assert not found, found
