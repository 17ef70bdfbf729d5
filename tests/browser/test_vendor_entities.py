"""An administrator merges two vendors on the vendor page in Chromium, follows the old vendor address to where its
parties went, and undoes the merge; the audit trail records both and still verifies."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.cli import cli
from portal.domain.audit import verify_chain
from portal.models import AuditEntry, Vendor, VendorDecision
from tests.browser.test_officials import PASSWORD, no_axe_violation, sign_in

pytestmark = pytest.mark.browser

NAMES = ("LE GROUPE BLH INC.", "LE GROUPE KEBECSON  INC.")  # two Montréal suppliers of the demo set


def test_an_administrator_merges_two_vendors_and_undoes_it(new_page, app):
    made = app.test_cli_runner().invoke(
        cli, ["accounts", "create-admin", "alice", "--name", "Alice", "--password", PASSWORD]
    )
    assert made.exit_code == 0, made.output
    sessions = app.extensions["portal.sessions"]
    with sessions() as session:
        ids = [session.scalars(select(Vendor.id).where(Vendor.name == name)).one() for name in NAMES]

    page = new_page()
    sign_in(page, "alice")
    page.get_by_role("link", name="Vendor entities: merge, split, review").click()
    page.fill("#vendors-q", "groupe")
    page.get_by_role("button", name="Find").click()
    for name in NAMES:
        page.get_by_label(f"Merge {name}").check()
    page.fill("#merge-reason", "one firm under two names")
    no_axe_violation(page)
    page.get_by_role("button", name="Merge the chosen entities").click()
    expect(page.locator(".notice[role=status]")).to_contain_text("Merged (decision")
    with sessions() as session:
        decision = session.scalars(select(VendorDecision)).one()
        assert (decision.action, decision.by, decision.reason) == ("merge", "alice", "one firm under two names")
        survivor = next(v for v in ids if session.get(Vendor, v).merged_into_id is None)
        gone = next(v for v in ids if v != survivor)
        assert session.get(Vendor, gone).merged_into_id == survivor

    # The old address leads to the merged vendor, which lists both spellings.
    page.goto(f"/vendor/{gone}")
    assert page.url.endswith(f"/vendor/{survivor}")
    for name in NAMES:
        expect(page.locator("main")).to_contain_text(name.split()[-2])

    page.goto("/officials/vendors")
    row = page.locator(f"tr[data-decision='{decision.id}']")
    row.get_by_role("button", name=f"Undo decision {decision.id}").click()
    expect(page.locator(".notice[role=status]")).to_contain_text(f"Decision {decision.id} undone")
    expect(page.locator(f"tr[data-decision='{decision.id}']")).to_contain_text("undone")
    no_axe_violation(page)
    page.goto(f"/vendor/{gone}")
    assert page.url.endswith(f"/vendor/{gone}")
    with sessions() as session:
        assert session.get(Vendor, gone).merged_into_id is None
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
        assert actions[-2:] == ["vendors merged", "vendor decision undone"]
        assert verify_chain(session).intact
