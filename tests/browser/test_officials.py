"""The officials' round trip in Chromium: an administrator (made by the command the README gives) creates a
publisher; the publisher publishes an award notice for their own department, is refused for another, finds the
notice in the search at once and in the OCDS output, valid against the release schema, and amends it with the
earlier version kept; then a row altered in the audit table is found by `portal audit verify`."""

from __future__ import annotations

import json

import jsonschema
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from sqlalchemy import select, text

from portal.cli import cli
from portal.models import Department, PublishedNotice
from tests.conftest import ROOT, SHARED_DATA

pytestmark = pytest.mark.browser

PASSWORD = "a passphrase long enough"
SCHEMAS = [ROOT / "portal" / "schema" / "release-schema.json", SHARED_DATA / "schema" / "release-schema.json"]


def sign_in(page, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/officials/sign-in")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("nav.official")).to_contain_text(username)


def no_axe_violation(page) -> None:  # type: ignore[no-untyped-def]
    results = Axe().run(page)
    assert not results.violations_count, [
        (v["id"], [n["target"] for n in v["nodes"]][:3]) for v in results.response["violations"]
    ]


def fill_notice(page) -> None:  # type: ignore[no-untyped-def]
    page.fill("#f-title", "Resurfacing of rue Sainte-Catherine")
    page.fill("#f-amount", "1250000.50")
    page.fill("#f-currency", "CAD")
    page.fill("#f-award_date", "2026-10-01")
    page.fill("#f-supplier_name_1", "Pavages Laurentiens inc.")
    page.fill("#f-supplier_scheme_1", "CA-BN")
    page.fill("#f-supplier_id_1", "123456789")
    page.fill("#f-contract_amount", "1250000.50")
    page.fill("#f-contract_signed", "2026-10-15")
    page.fill("#f-document_title_1", "Award decision")
    page.fill("#f-document_url_1", "https://example.org/decisions/2026-10-01.pdf")


def test_an_administrator_creates_a_publisher_who_publishes_and_amends(new_page, app, problems):
    made = app.test_cli_runner().invoke(
        cli, ["accounts", "create-admin", "alice", "--name", "Alice Martin", "--password", PASSWORD]
    )
    assert made.exit_code == 0, made.output

    # The administrator: two departments, a publisher in one.
    admin = new_page()
    sign_in(admin, "alice")
    assert admin.url.endswith("/officials/")
    admin.get_by_role("link", name="Accounts and departments").click()
    for name in ("Roads", "Parks"):
        admin.fill("#department-name", name)
        admin.fill("#department-scheme", "CITY-ORG")
        admin.fill("#department-identifier", name.lower())
        admin.get_by_role("button", name="Create department").click()
        expect(admin.locator(".notice[role=status]")).to_contain_text(f"Department {name} created")
    admin.fill("#account-username", "roads")
    admin.fill("#account-name", "Roads publisher")
    admin.select_option("#account-role", "publisher")
    admin.select_option("#account-department", label="Roads")
    admin.fill("#account-password", PASSWORD)
    admin.get_by_role("button", name="Create account").click()
    expect(admin.locator("tr[data-username=roads]")).to_contain_text("Publisher")
    no_axe_violation(admin)
    admin.get_by_role("button", name="Sign out everywhere").click()
    expect(admin.locator("nav.official")).to_have_count(0)

    # The publisher: a preview, then the notice published for their own department.
    publisher = new_page()
    sign_in(publisher, "roads")
    publisher.get_by_role("link", name="Publish an award notice").click()
    no_axe_violation(publisher)
    fill_notice(publisher)
    publisher.get_by_role("button", name="Preview").click()
    expect(publisher.locator("pre[data-preview]")).to_contain_text('"awardNotice"')
    publisher.get_by_role("button", name="Publish", exact=True).click()
    expect(publisher.locator(".notice[role=status]")).to_contain_text("Published.")
    with app.extensions["portal.sessions"]() as session:
        [notice] = session.scalars(select(PublishedNotice)).all()
        parks = session.scalars(select(Department.id).where(Department.name == "Parks")).one()

    # Another department's buyer, forged into the form, is refused.
    publisher.goto("/officials/notices/new")
    fill_notice(publisher)
    publisher.eval_on_selector("input[name=department_id]", f"el => el.value = '{parks}'")
    publisher.get_by_role("button", name="Publish", exact=True).click()
    expect(publisher.locator("h1")).to_have_text("Error 403")
    problems.failed_responses = [r for r in problems.failed_responses if not r.startswith("403 ")]
    problems.console_errors = [e for e in problems.console_errors if "403" not in e]

    # Searchable at once, and in the OCDS output, valid against the release schema.
    publisher.goto("/search?q=Sainte-Catherine")
    expect(publisher.locator("ol.results")).to_contain_text("Resurfacing of rue Sainte-Catherine")
    package = publisher.request.get("/published/releases.json").json()
    [release] = package["releases"]
    assert release["buyer"]["name"] == "Roads" and release["tag"] == ["award", "contract"]
    for path in SCHEMAS:
        if path.is_file():
            jsonschema.Draft4Validator(json.loads(path.read_text(encoding="utf-8"))).validate(release)

    # An amendment: the earlier version stays visible, with the reason.
    publisher.goto("/officials/")
    publisher.get_by_role("link", name="amend").click()
    expect(publisher.locator("#f-amount")).to_have_value("1250000.5")
    publisher.fill("#f-amount", "1190000")
    publisher.fill("#f-contract_amount", "1190000")
    publisher.fill("#f-reason", "Typo in the amount")
    publisher.get_by_role("button", name="Publish amendment").click()
    expect(publisher.locator("[data-reason]")).to_have_text("Typo in the amount")
    expect(publisher.locator("li.release.superseded")).to_have_count(1)
    publisher.goto(f"/process/{notice.ocid}")
    expect(publisher.locator("ol.timeline > li")).to_have_count(2)
    expect(publisher.locator("ol.stages")).to_contain_text("Typo in the amount")
    expect(publisher.locator("[data-figure=value]")).to_contain_text("1,190,000.00")

    # The audit trail verifies, until a row is altered in the database.
    publisher.goto("/audit")
    expect(publisher.locator("[data-chain=intact]")).to_be_visible()
    no_axe_violation(publisher)
    assert app.test_cli_runner().invoke(cli, ["audit", "verify"]).exit_code == 0
    with app.extensions["portal.sessions"]() as session, session.begin():
        session.execute(text("UPDATE audit_entry SET actor_id = 1 WHERE action = 'notice published'"))
    verified = app.test_cli_runner().invoke(cli, ["audit", "verify"])
    assert verified.exit_code == 1 and "the row was altered" in verified.output
    publisher.goto("/audit")
    expect(publisher.locator("[data-chain=broken]")).to_be_visible()
