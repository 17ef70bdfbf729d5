"""Accessibility by measure: axe-core on every page type, and what axe cannot see (focus rings, the contrast of
controls against the header) measured in Chromium.

axe-core comes bundled in `axe-playwright-python`; nothing is fetched.
"""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from sqlalchemy import select

from portal.models import ProcessParty

pytestmark = pytest.mark.browser

CDMX = "OCDS-87SD3T-AD-SF-DRM-063-2015"  # Spanish, with a release published in two versions
UKRAINE = "ocds-be6bcu-UA-2017-04-12-001619-b"  # Ukrainian
MONTREAL = "ocds-a1234567-mt-063635891f001755a1637786dd047485f3dcfaf6"  # French

# Every page type, and the states of a page that add markup: notes on filters, no results, several pages, a
# locale with other number formats, an error page.
PAGES = [
    "/",
    "/?lang=fr",
    "/search",
    "/search?q=entretien",
    "/search?q=arrendamiento&sort=amount&currency=mxn&min_amount=1+000&max_amount=abc&date_from=2015",
    "/search?q=zzzzqqq",
    f"/process/{CDMX}",
    f"/process/{UKRAINE}",
    f"/process/{MONTREAL}",
    "/supplier/{supplier}",
    "/sources",
    "/no/such/page",
]

# WCAG's relative luminance and contrast ratio, computed in the page from computed styles.
CONTRAST_JS = """
(() => {
  const rgb = text => (text.match(/[\\d.]+/g) || []).map(Number);
  const channel = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const backdrop = el => {
    for (let node = el; node; node = node.parentElement) {
      const [r, g, b, a] = rgb(getComputedStyle(node).backgroundColor);
      if (a === undefined || a > 0) return [r, g, b];
    }
    return [255, 255, 255];
  };
  const ratio = (x, y) => {
    const [a, b] = [luminance(x), luminance(y)].sort((p, q) => q - p);
    return (a + 0.05) / (b + 0.05);
  };
  window.portalContrast = { rgb, backdrop, ratio };
})()
"""


@pytest.fixture
def supplier_id(app):
    with app.extensions["portal.sessions"]() as session:
        return session.scalar(select(ProcessParty.party_id).where(ProcessParty.role == "supplier"))


def test_axe_finds_no_violation_on_any_page_type(new_page, supplier_id, problems):
    page = new_page()
    axe = Axe()
    found = {}
    for path in PAGES:
        path = path.format(supplier=supplier_id)
        response = page.goto(path)
        assert response.status == (404 if path.startswith("/no/") else 200), path
        results = axe.run(page)
        if results.violations_count:
            found[path] = [
                f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
                for v in results.response["violations"]
            ]
        # The probe ran: axe looked at the page (a run that checked nothing would also report no violation).
        assert results.response["passes"] or results.response["inapplicable"], path
    # The error page's own 404 is expected; nothing else failed.
    problems.failed_responses = [r for r in problems.failed_responses if "/no/such/page" not in r]
    problems.console_errors = [e for e in problems.console_errors if "/no/such/page" not in e]
    assert not found, found


def test_the_axe_probe_sees_a_violation(new_page):
    """The check is live: an image without alt text, put into a page, is reported."""
    page = new_page()
    page.goto("/")
    page.evaluate("() => document.querySelector('main').append(Object.assign(new Image(), {src: 'data:,'}))")
    ids = [v["id"] for v in Axe().run(page).response["violations"]]
    assert "image-alt" in ids


def focus_ring(page, selector: str) -> dict:
    """Tab to the element matching `selector` and measure its focus ring against what lies behind it."""
    page.evaluate(CONTRAST_JS)
    target = page.locator(selector).first
    page.locator("body").focus()
    for _ in range(60):  # keyboard focus, as a keyboard user moves it
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            break
    else:
        raise AssertionError(f"Tab never reached {selector}")
    return target.evaluate(
        """el => {
          const style = getComputedStyle(el);
          const {rgb, backdrop, ratio} = window.portalContrast;
          return {
            style: style.outlineStyle,
            width: parseFloat(style.outlineWidth),
            contrast: ratio(rgb(style.outlineColor), backdrop(el.parentElement)),
          };
        }"""
    )


@pytest.mark.parametrize(
    "selector",
    [
        "a.skip",
        "header.site a.brand",
        "header.site input",
        "header.site button",
        "main input#home-q",
        "main button",
        "main a",
        "footer.site nav.languages a",
    ],
)
def test_focus_rings_stand_out_at_three_to_one(page, selector):
    page.goto("/")
    ring = focus_ring(page, selector)
    assert ring["style"] != "none" and ring["width"] >= 2, ring
    assert ring["contrast"] >= 3, ring


def test_the_header_search_button_stands_out_from_the_header(page):
    page.goto("/")
    page.evaluate(CONTRAST_JS)
    contrast = page.locator("header.site button").evaluate(
        """el => {
          const {rgb, backdrop, ratio} = window.portalContrast;
          return ratio(rgb(getComputedStyle(el).backgroundColor), backdrop(el.parentElement));
        }"""
    )
    assert contrast >= 3, contrast


def test_the_language_switch_changes_number_formats_and_stays(page):
    page.goto("/")
    switch = page.get_by_role("navigation", name="Language")
    expect(switch.get_by_role("link", name="English")).to_have_attribute("aria-current", "true")
    switch.get_by_role("link", name="Français").click()
    expect(page.get_by_role("navigation", name="Language").get_by_role("link", name="Français")).to_have_attribute(
        "aria-current", "true"
    )
    # French groups thousands with a narrow space and writes a decimal comma.
    expect(page.locator("td.num").first).to_have_text(re.compile(r"^[\d\u202f]+,\d\d [A-Z]{3}$"))
    page.goto("/search?q=entretien")  # no ?lang= here: the choice was remembered
    expect(page.get_by_role("navigation", name="Language").get_by_role("link", name="Français")).to_have_attribute(
        "aria-current", "true"
    )


def test_titles_are_read_in_their_own_language(page):
    page.goto(f"/process/{UKRAINE}")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_attribute("lang", "uk")
    page.goto("/search?q=entretien")
    titles = page.locator("ol.results h2 a")
    assert titles.count() >= 1
    assert set(titles.evaluate_all("links => links.map(a => a.lang)")) == {"fr"}
