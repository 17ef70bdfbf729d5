"""The public pages in a real Chromium, as a journalist, a resident on a phone, or a screen reader user meets them.

Each test gets the demo data on a fresh SQLite database behind a real HTTP server, with PER_PAGE=5.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import PurePosixPath
from urllib.parse import parse_qs, urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from sqlalchemy import func, select

from portal.models import Package, Party, Process, ProcessParty, Release

pytestmark = pytest.mark.browser

CDMX = "OCDS-87SD3T-AD-SF-DRM-063-2015"  # Mexico City: two releases, each published in two different versions
SEARCHES = [
    pytest.param("entretien", id="montreal-fr"),
    pytest.param("arrendamiento", id="cdmx-es"),
]
FOLDER = {"entretien": "montreal", "arrendamiento": "mexico-city"}  # where each word's processes are published
HOSTILE = [
    "<script>alert(1)</script>",
    '"unclosed (',
    "\"><img src=x onerror=alert(2)> & 'x'",  # breaks out of an attribute, if the value is not escaped
]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# Every form control that a user fills in or picks from (buttons name themselves).
UNLABELLED_CONTROLS_JS = """() =>
  [...document.querySelectorAll('input, select, textarea')]
    .filter(el => !['hidden', 'submit', 'button', 'reset', 'image'].includes(el.type))
    .filter(el => el.labels.length === 0 || [...el.labels].every(l => !l.textContent.trim()))
    .map(el => el.outerHTML)
"""
BROKEN_ARIA_REFERENCES_JS = """() =>
  [...document.querySelectorAll('[aria-labelledby], [aria-describedby]')]
    .flatMap(el => ['aria-labelledby', 'aria-describedby']
      .flatMap(name => (el.getAttribute(name) || '').split(/\\s+/).filter(Boolean))
      .filter(id => !document.getElementById(id))
      .map(id => `${el.tagName.toLowerCase()}#${el.id} -> ${id}`))
"""
DUPLICATE_IDS_JS = """() => {
  const ids = [...document.querySelectorAll('[id]')].map(el => el.id);
  return [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))];
}"""


# ---------------------------------------------------------------------------------------------------------------
# Helpers: read what the page shows, the way a reader would.


def search_from_home(page, words: str):
    """Type into the home page's labelled search box and press Enter; return the results page's response."""
    page.goto("/")
    # The header's search box has the same (visually hidden) label: take the one in the main content.
    box = page.get_by_role("main").get_by_label("Search contracts", exact=True)
    expect(box).to_be_visible()
    box.fill(words)
    with page.expect_navigation() as navigation:
        box.press("Enter")
    return navigation.value


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def shown_count(page) -> tuple[int, int | None, int | None]:
    """The status line "36 processes, page 1 of 8." as (total, page, pages)."""
    text = page.get_by_role("status").inner_text()
    match = re.fullmatch(r"([\d,]+) process(?:es)?(?:, page (\d+) of (\d+))?\.", text.strip())
    assert match, f"unexpected result count {text!r}"
    total, number, pages = match.groups()
    return int(total.replace(",", "")), number and int(number), pages and int(pages)


def result_links(page):
    return page.locator("ol.results > li.result h2 a")


def result_ocids(page) -> list[str]:
    hrefs = result_links(page).evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert all(h.startswith("/process/") for h in hrefs), hrefs
    return [h.removeprefix("/process/") for h in hrefs]


def shown_values(page) -> list[tuple[Decimal | None, str | None]]:
    """Each result's "Value" fact, e.g. "1,311,264.00 MXN", as (amount, currency); "—" (no value) as (None, None)."""
    texts = (
        page.locator("ol.results > li.result dl.facts > div")
        .filter(has=page.locator("dt", has_text=re.compile(r"^Value$")))
        .locator("dd")
    )
    values = []
    for text in texts.all_inner_texts():
        if text.strip() == "—":
            values.append((None, None))
            continue
        match = re.fullmatch(r"([\d,]+\.\d\d) ([A-Z]{3})", text.strip())
        assert match, f"unexpected value {text!r}"
        values.append((Decimal(match[1].replace(",", "")), match[2]))
    return values


def fold(text: str) -> str:
    return text.casefold()


# ---------------------------------------------------------------------------------------------------------------
# 1-2: search from the home page, open a result.


@pytest.mark.parametrize("word", SEARCHES)
def test_journalist_searches_from_the_home_page(page, app, word):
    response = search_from_home(page, word)

    assert response.status == 200
    assert urlsplit(page.url).path == "/search"
    assert query_of(page.url)["q"] == [word]
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Results for “{word}”")
    # The query stays in the results page's own search box, ready to refine.
    expect(page.get_by_role("main").get_by_label("Words", exact=True)).to_have_value(word)

    total, number, pages = shown_count(page)
    per_page = app.config["PER_PAGE"]
    assert total >= 3 and number == 1 and pages == -(-total // per_page)
    links = result_links(page)
    expect(links).to_have_count(min(total, per_page))
    for link in links.all():
        expect(link).to_be_visible()

    # Matches are highlighted: in the titles of the result links, and every <mark> is the word searched for.
    marked_links = links.filter(has=page.locator("mark"))
    assert marked_links.count() >= 1
    marks = page.locator("ol.results mark").all_inner_texts()
    assert marks and all(fold(m) == fold(word) for m in marks), marks
    expect(marked_links.first.locator("mark").first).to_be_visible()


@pytest.mark.parametrize("word", SEARCHES)
def test_a_result_opens_its_process_with_stages_and_every_release(page, app, word):
    search_from_home(page, word)
    first = result_links(page).first
    title = first.inner_text()
    first.click()

    assert re.fullmatch(r"/process/[^/]+", urlsplit(page.url).path), page.url
    ocid = urlsplit(page.url).path.removeprefix("/process/")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.locator(".kicker code")).to_have_text(ocid)

    for stage in ("Tender", "Awards", "Contracts", "Amendments"):
        expect(page.get_by_role("heading", level=3, name=re.compile(rf"^{stage}\b"))).to_be_visible()

    with app.extensions["portal.sessions"]() as session:
        stored = session.execute(
            select(Release.release_id, Package.location).join(Package).where(Release.ocid == ocid)
        ).all()
    assert stored

    expect(page.get_by_role("heading", level=2, name="Timeline of releases")).to_be_visible()
    entries = page.locator("ol.timeline > li")
    expect(entries).to_have_count(len(stored))
    shown = []
    for entry in entries.all():
        text = entry.inner_text()
        match = re.search(r"release (\S+).*Source: demo · File: (\S+\.json)", text, re.S)
        assert match, f"timeline entry without its release id, source or file: {text!r}"
        shown.append((match[1], match[2]))
        expect(entry.get_by_role("link", name="release JSON")).to_be_visible()
    assert sorted(shown) == sorted(stored)
    assert {PurePosixPath(location).parent.name for _, location in shown} == {FOLDER[word]}


# ---------------------------------------------------------------------------------------------------------------
# 3-4: a process published more than once; its supplier.


def test_a_release_published_twice_is_flagged_and_its_old_version_marked(page, app):
    page.goto(f"/process/{CDMX}")

    notice = page.get_by_role("note")
    expect(notice).to_be_visible()
    expect(notice.get_by_role("heading")).to_have_text("Published more than once with different content")
    expect(notice).to_contain_text("Releases 01, 02 were published in more than one version")

    with app.extensions["portal.sessions"]() as session:
        versions = session.scalar(select(func.count()).select_from(Release).where(Release.ocid == CDMX))
        distinct = session.scalar(select(func.count(func.distinct(Release.release_id))).where(Release.ocid == CDMX))
    assert versions > distinct
    badges = page.locator("ol.timeline .badge.warn", has_text="superseded version")
    expect(badges).to_have_count(versions - distinct)
    expect(badges.first).to_be_visible()
    # The badge sits on the older versions only: the entry the record uses carries none.
    expect(page.locator("ol.timeline > li.superseded")).to_have_count(versions - distinct)
    expect(page.locator("ol.timeline > li:not(.superseded) .badge.warn")).to_have_count(0)


def test_a_supplier_link_opens_the_supplier_page_listing_the_process(page, app):
    page.goto(f"/process/{CDMX}")
    process_title = page.get_by_role("heading", level=1).inner_text()
    awards = page.locator("ol.stages > li.stage").filter(has=page.get_by_role("heading", name=re.compile("^Awards")))
    supplier = awards.get_by_role("link").first
    published_as = supplier.inner_text()
    assert "&amp;" not in published_as  # "COMUNIC@RTE & CONSULTING ...": escaped once, so shown as "&"
    supplier.click()

    match = re.fullmatch(r"/supplier/(\d+)", urlsplit(page.url).path)
    assert match, page.url
    with app.extensions["portal.sessions"]() as session:
        party = session.get(Party, int(match[1]))
        suppliers = set(
            session.scalars(
                select(ProcessParty.party_id)
                .join(Process, Process.id == ProcessParty.process_id)
                .where(Process.ocid == CDMX, ProcessParty.role == "supplier")
            )
        )
    assert party is not None and party.id in suppliers
    expect(page.get_by_role("heading", level=1)).to_have_text(party.name)
    if published_as != party.name:
        # The award names the supplier as its publisher spelled it; the supplier page says so.
        expect(page.get_by_text("Published under these names:")).to_contain_text(published_as)
    listed = page.get_by_role("table").get_by_role("link", name=process_title, exact=True)
    expect(listed).to_have_attribute("href", f"/process/{CDMX}")
    listed.click()
    assert urlsplit(page.url).path == f"/process/{CDMX}"


# ---------------------------------------------------------------------------------------------------------------
# 5-6: sort and paginate.


def test_sorting_by_amount_orders_results_largest_first(page):
    search_from_home(page, "entretien")
    relevance = shown_values(page)
    page.get_by_label("Sort by").select_option("amount")
    with page.expect_navigation():
        page.get_by_role("main").get_by_role("button", name="Search").click()

    assert query_of(page.url)["sort"] == ["amount"] and query_of(page.url)["q"] == ["entretien"]
    expect(page.get_by_label("Sort by")).to_have_value("amount")
    values = shown_values(page)
    assert len(values) == 5 and {currency for _, currency in values} == {"CAD"}
    amounts = [amount for amount, _ in values]
    assert amounts == sorted(amounts, reverse=True), amounts
    assert amounts != [amount for amount, _ in relevance]  # the order did change

    # The order carries on across pages: page 2 starts below where page 1 ended.
    page.get_by_role("link", name="Next").click()
    assert query_of(page.url)["sort"] == ["amount"]
    rest = [amount for amount, _ in shown_values(page)]
    assert rest and max(rest) <= amounts[-1]


def test_sorting_by_amount_groups_currencies_over_all_processes(page, app):
    page.goto("/search")
    page.get_by_label("Sort by").select_option("amount")
    with page.expect_navigation():
        page.get_by_role("main").get_by_role("button", name="Search").click()
    seen: list[tuple[Decimal, str]] = []
    while True:
        seen += shown_values(page)
        following = page.get_by_role("link", name="Next")
        if not following.count():
            break
        following.click()
    with app.extensions["portal.sessions"]() as session:
        stored = session.execute(select(Process.value_currency, Process.value_amount)).all()
    total, _, _ = shown_count(page)
    assert len(seen) == total == len(stored)
    # A process without a headline value (ProzorRo's unsuccessful tender) is listed, and left out of the order.
    valued = [(amount, currency) for amount, currency in seen if currency is not None]
    stored = [(currency, amount) for currency, amount in stored if currency is not None]
    seen = valued
    currencies = [currency for _, currency in seen]
    assert currencies == sorted(currencies)  # one block per currency, never interleaved
    for currency in set(currencies):
        amounts = [amount for amount, c in seen if c == currency]
        # Largest first, and the very amounts the database holds for that currency.
        assert amounts == sorted((a for c, a in stored if c == currency), reverse=True), (currency, amounts)


def test_next_page_shows_the_following_results(page, app):
    per_page = app.config["PER_PAGE"]
    search_from_home(page, "entretien")
    total, number, pages = shown_count(page)
    assert number == 1 and pages == -(-total // per_page) >= 2
    first = result_ocids(page)
    assert len(first) == per_page
    expect(page.get_by_role("link", name="Previous")).to_have_count(0)

    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Next").click()
    assert query_of(page.url)["page"] == ["2"] and query_of(page.url)["q"] == ["entretien"]
    assert shown_count(page) == (total, 2, pages)
    second = result_ocids(page)
    assert len(second) == min(per_page, total - per_page)
    assert not set(first) & set(second)
    expect(page.locator("ol.results")).to_have_attribute("start", str(per_page + 1))
    expect(page.get_by_role("link", name="Next")).to_have_count(1 if pages > 2 else 0)

    page.get_by_role("link", name="Previous").click()
    assert result_ocids(page) == first


# ---------------------------------------------------------------------------------------------------------------
# 7: without JavaScript; on a phone.


def test_search_works_without_javascript(new_page):
    page = new_page(java_script_enabled=False)
    search_from_home(page, "arrendamiento")
    assert query_of(page.url)["q"] == ["arrendamiento"]
    assert shown_count(page)[0] >= 2
    expect(page.locator("ol.results mark").first).to_have_text(re.compile("arrendamiento", re.I))
    page.get_by_role("main").get_by_label("Sort by").select_option("amount")
    with page.expect_navigation():
        page.get_by_role("main").get_by_role("button", name="Search").click()
    assert query_of(page.url)["sort"] == ["amount"]
    result_links(page).first.click()
    expect(page.get_by_role("heading", name="Timeline of releases")).to_be_visible()
    # The compiled release is a plain link to the JSON twin: no script needed.
    with page.expect_navigation():
        page.get_by_role("link", name="The compiled release").click()
    assert page.url.endswith(".json")
    expect(page.locator("body")).to_contain_text('"compiledRelease"')


OVERFLOWING_JS = """() => {
  const width = document.documentElement.clientWidth;
  return {
    scroll: document.documentElement.scrollWidth,
    client: width,
    // The innermost elements sticking out past the right edge, to say what to fix.
    culprits: [...document.querySelectorAll('body *')]
      .filter(el => el.getBoundingClientRect().right > width + 1)
      .filter(el => ![...el.children].some(child => child.getBoundingClientRect().right > width + 1))
      .map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className.replaceAll(' ', '.') : '')
                 + ' "' + el.textContent.trim().slice(0, 40) + '"'),
  };
}"""


def overflow_on_a_phone(new_page, paths) -> dict:
    """Pages, among `paths`, that need sideways scrolling 375 px wide, with what sticks out."""
    page = new_page(viewport={"width": 375, "height": 800}, is_mobile=True, has_touch=True)
    overflowing = {}
    for path in paths:
        assert page.goto(path).status == 200, path
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        widths = page.evaluate(OVERFLOWING_JS)
        assert widths["client"] <= 375, widths
        if widths["scroll"] > widths["client"]:
            overflowing[path] = widths
    return overflowing


PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def test_on_a_phone_the_results_come_first_and_the_filters_fold_away(new_page):
    page = new_page(**PHONE)
    page.goto("/search")
    total = shown_count(page)[0]
    summary = page.locator("main details.filters > summary")
    currency = page.get_by_role("main").get_by_label("Currency", exact=True)
    expect(summary).to_have_text("Filters")
    expect(currency).to_be_hidden()
    expect(page.get_by_role("group", name="Filters", exact=True)).to_be_hidden()
    first = result_links(page).first.bounding_box()
    assert first and first["y"] + first["height"] <= PHONE["viewport"]["height"], first  # on the first screen
    assert not Axe().run(page).violations_count

    summary.click()
    expect(currency).to_be_visible()
    assert page.evaluate(OVERFLOWING_JS)["scroll"] <= PHONE["viewport"]["width"]
    currency.fill("mxn")
    with page.expect_navigation():
        page.get_by_role("main").get_by_role("button", name="Search").click()
    assert query_of(page.url)["currency"] == ["mxn"]
    assert 0 < shown_count(page)[0] < total
    assert {currency for _, currency in shown_values(page)} == {"MXN"}

    # Folded again, saying a filter applies; the keyboard unfolds it.
    expect(summary).to_have_text("Filters (1 in use)")
    expect(currency).to_be_hidden()
    summary.focus()
    page.keyboard.press("Enter")
    expect(currency).to_be_visible()
    expect(currency).to_have_value("MXN")


def test_on_a_wide_screen_the_filters_stand_open_above_the_results(new_page):
    page = new_page(viewport={"width": 1280, "height": 800})
    page.goto("/search")
    filters = page.get_by_role("group", name="Filters", exact=True)
    expect(filters).to_be_visible()
    expect(page.get_by_role("main").get_by_label("Currency", exact=True)).to_be_visible()
    expect(page.locator("main details.filters > summary")).to_be_hidden()  # the legend names them, as before
    fieldset, first = filters.bounding_box(), result_links(page).first.bounding_box()
    assert fieldset and first and fieldset["y"] + fieldset["height"] < first["y"]


def test_pages_fit_a_phone_screen(new_page):
    """375 px wide: no sideways scrolling on the pages where people start and search."""
    paths = ["/", "/search", "/search?q=entretien", "/search?q=arrendamiento&sort=amount"]
    assert overflow_on_a_phone(new_page, paths) == {}


def test_pages_with_tables_fit_a_phone_screen(new_page, app):
    with app.extensions["portal.sessions"]() as session:
        party_id = session.scalar(select(ProcessParty.party_id).where(ProcessParty.role == "supplier"))
    assert overflow_on_a_phone(new_page, [f"/process/{CDMX}", f"/supplier/{party_id}"]) == {}


# ---------------------------------------------------------------------------------------------------------------
# 8: accessibility basics.


def accessibility_problems(page) -> list[str]:
    found = []
    if unlabelled := page.evaluate(UNLABELLED_CONTROLS_JS):
        found.append(f"controls without a <label>: {unlabelled}")
    if (h1 := page.locator("h1").count()) != 1:
        found.append(f"{h1} h1 elements")
    elif not page.locator("h1").inner_text().strip():
        found.append("an empty h1")
    lang = page.locator("html").get_attribute("lang") or ""
    if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]+)*", lang):
        found.append(f"html lang={lang!r}")
    if not page.title().endswith("Open procurement portal"):
        found.append(f"title {page.title()!r}")
    if broken := page.evaluate(BROKEN_ARIA_REFERENCES_JS):
        found.append(f"aria references to missing ids: {broken}")
    if duplicates := page.evaluate(DUPLICATE_IDS_JS):
        found.append(f"duplicate ids: {duplicates}")
    # Each field's label must tell it apart from the others: a screen reader lists fields by label alone.
    labels = page.locator("main input:not([type=hidden]), main select").evaluate_all(
        "els => els.map(el => el.labels.length ? el.labels[0].textContent.trim() : '')"
    )
    if ambiguous := sorted({label for label in labels if label and labels.count(label) > 1}):
        found.append(f"several fields labelled {ambiguous}")
    return found


def test_pages_have_labels_one_h1_and_a_language(page, app):
    with app.extensions["portal.sessions"]() as session:
        party_id = session.scalar(select(ProcessParty.party_id).where(ProcessParty.role == "supplier"))
    by_page = {}
    for path in ("/", "/search", "/search?q=entretien", f"/process/{CDMX}", f"/supplier/{party_id}"):
        assert page.goto(path).status == 200, path
        if found := accessibility_problems(page):
            by_page[path] = found
    assert not by_page, by_page
    # The home page's search box is found by its label, as assistive technology finds it.
    page.goto("/")
    expect(page.get_by_role("main").get_by_label("Search contracts", exact=True)).to_have_attribute("type", "search")


# ---------------------------------------------------------------------------------------------------------------
# 9: hostile input.


def test_hostile_queries_are_shown_escaped_and_run_nothing(page, problems):
    for words in HOSTILE:
        response = search_from_home(page, words)

        assert response.status == 200, words
        body = response.text()
        assert words not in body, words  # never echoed raw ...
        assert "<script" not in body.lower() and "<img" not in body.lower(), words
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Results for “{words}”")  # ... but shown as typed
        expect(page.get_by_role("main").get_by_label("Words", exact=True)).to_have_value(words)
        assert page.title() == f"Search: {words} · Open procurement portal"
        assert shown_count(page) == (0, None, None), words
        expect(result_links(page)).to_have_count(0)
        assert page.locator("script, img").count() == 0, words
        assert problems.dialogs == [], words
    # The watch is live: a dialog, had one opened, would have been caught.
    page.evaluate("() => alert('probe')")
    assert problems.dialogs == ["alert: probe"]
    problems.dialogs.clear()


# ---------------------------------------------------------------------------------------------------------------
# Screenshots, for whoever debugs a failure here.


def test_screenshots_of_search_and_process_pages(page, tmp_path):
    search_from_home(page, "arrendamiento")
    search_png = tmp_path / "search.png"
    page.screenshot(path=str(search_png), full_page=True)
    result_links(page).first.click()
    expect(page.get_by_role("heading", name="Timeline of releases")).to_be_visible()
    process_png = tmp_path / "process.png"
    page.screenshot(path=str(process_png), full_page=True)
    for png in (search_png, process_png):
        data = png.read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5_000, png
