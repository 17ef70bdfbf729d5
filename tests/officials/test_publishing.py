"""Publishing award notices: only for one's own department, checked before publishing, stored as OCDS releases
through ingest's store path (searchable at once, valid against the release schema), and corrected only by
amendments that keep the earlier version visible."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import jsonschema
import pytest
from sqlalchemy import select

from portal.domain.publishing import Notice, Supplier, check_notice
from portal.models import Amendment, IngestRun, Process, PublishedNotice, Release
from portal.vocabulary import Check, ProcurementMethod
from tests.conftest import ROOT, SHARED_DATA
from tests.officials.conftest import csrf_token, notice_form, publish

SCHEMAS = [ROOT / "portal" / "schema" / "release-schema.json", SHARED_DATA / "schema" / "release-schema.json"]


def _published(sessions) -> list[PublishedNotice]:
    with sessions() as session:
        return list(session.scalars(select(PublishedNotice).order_by(PublishedNotice.id)))


def test_a_publisher_publishes_for_their_department_and_it_is_searchable_at_once(app, signed_in, officials, sessions):
    client = signed_in("roads")
    response = publish(client, officials.roads)
    assert response.status_code == 302, response.get_data(as_text=True)
    [notice] = _published(sessions)
    assert response.headers["Location"] == f"/officials/notices/{notice.id}"
    assert notice.department_id == officials.roads and notice.ocid.startswith("ocds-city00-")
    found = app.test_client().get("/search.json?q=Sainte-Catherine").get_json()
    assert [hit["ocid"] for hit in found["results"]] == [notice.ocid]
    assert found["results"][0]["buyer"] == "Roads"
    page = app.test_client().get(f"/process/{notice.ocid}.json").get_json()
    assert page["buyer"] == "Roads" and page["value"] == {"amount": "1250000.50", "currency": "CAD"}
    assert page["compiledRelease"]["awards"][0]["suppliers"][0]["name"] == "Pavages Laurentiens inc."
    with sessions() as session:
        run = session.scalars(select(IngestRun)).one()  # recorded like any ingest
        assert run.status == "succeeded" and run.releases_new == 1


def test_the_published_release_validates_against_the_ocds_release_schema(app, signed_in, officials):
    client = signed_in("roads")
    assert publish(client, officials.roads, method="limited", justification="Emergency repair").status_code == 302
    package = app.test_client().get("/published/releases.json").get_json()
    [release] = package["releases"]
    assert release["tag"] == ["award", "contract"]
    assert release["tender"]["procurementMethodRationale"] == "Emergency repair"
    assert {p["id"] for p in release["parties"]} >= {release["buyer"]["id"], release["awards"][0]["suppliers"][0]["id"]}
    for path in SCHEMAS:
        if path.is_file():
            jsonschema.Draft4Validator(json.loads(path.read_text(encoding="utf-8"))).validate(release)
    # Exact money: the amount is the number typed, not a float's neighbour.
    text = app.test_client().get("/published/releases.json").get_data(as_text=True)
    exact = json.loads(text, parse_float=Decimal)["releases"][0]["awards"][0]["value"]["amount"]
    assert exact == Decimal("1250000.50")


def test_a_publisher_cannot_publish_for_another_department_through_the_form(signed_in, officials, sessions):
    client = signed_in("roads")
    page = client.get("/officials/notices/new").get_data(as_text=True)
    assert f'name="department_id" value="{officials.roads}"' in page and f'value="{officials.parks}"' not in page
    assert publish(client, officials.parks).status_code == 403  # the hidden field, forged
    assert publish(client, "not a number").status_code == 403
    assert _published(sessions) == []


def test_a_publisher_cannot_publish_into_or_amend_another_departments_process(signed_in, officials, sessions):
    parks = signed_in("parks")
    assert publish(parks, officials.parks, title="Playground equipment").status_code == 302
    [theirs] = _published(sessions)
    roads = signed_in("roads")
    assert publish(roads, officials.roads, ocid=theirs.ocid).status_code == 403
    assert roads.get(f"/officials/notices/{theirs.id}/amend").status_code == 403
    token = csrf_token(roads, "/officials/notices/new")
    form = notice_form(token, officials.roads, reason="Wrong amount", amount="1")
    assert roads.post(f"/officials/notices/{theirs.id}/amend", data=form).status_code == 403
    assert roads.get(f"/officials/notices/{theirs.id}").status_code == 403
    assert publish(roads, officials.roads, ocid="ocds-be6bcu-not-ours").status_code == 404
    assert len(_published(sessions)) == 1


@pytest.mark.parametrize("username", ["admin", "moderator"])
def test_only_publishers_publish(signed_in, officials, username):
    client = signed_in(username)
    assert client.get("/officials/notices/new").status_code == 403
    token = csrf_token(client, "/officials/")
    assert client.post("/officials/notices/new", data=notice_form(token, officials.roads)).status_code == 403


def test_a_second_award_joins_the_departments_own_process(app, signed_in, officials, sessions):
    client = signed_in("roads")
    publish(client, officials.roads)
    [first] = _published(sessions)
    assert (
        publish(
            client, officials.roads, ocid=first.ocid, title="Line markings", amount="50000", contract_amount="50000"
        ).status_code
        == 302
    )
    page = app.test_client().get(f"/process/{first.ocid}.json").get_json()
    assert len(page["compiledRelease"]["awards"]) == 2 and page["release_count"] == 2


def test_preview_shows_the_release_and_publishes_nothing(signed_in, officials, sessions):
    client = signed_in("roads")
    response = publish(client, officials.roads, action="preview")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "data-preview" in text and "Pavages Laurentiens inc." in text and "&#34;award&#34;" in text
    assert _published(sessions) == []


@pytest.mark.parametrize(
    ("changes", "check"),
    [
        ({"method": "direct", "justification": ""}, Check.METHOD_NOT_JUSTIFIED),
        ({"contract_signed": "2026-09-01"}, Check.DATES_IN_ORDER),  # signed before the award
        ({"supplier_id_1": ""}, Check.SUPPLIER_INCOMPLETE),
        ({"supplier_name_1": "", "supplier_scheme_1": "", "supplier_id_1": ""}, Check.NO_SUPPLIER),
        ({"document_url_1": "javascript:alert(1)"}, Check.DOCUMENT_LINK),
    ],
)
def test_incoherent_notices_are_blocked(signed_in, officials, sessions, changes, check):
    response = publish(signed_in("roads"), officials.roads, **changes)
    assert response.status_code == 422
    assert f'data-check="{check}" data-blocking="yes"' in response.get_data(as_text=True)
    assert _published(sessions) == []


def test_a_warning_needs_confirming(signed_in, officials, sessions):
    client = signed_in("roads")
    over = {"contract_amount": "1300000"}
    response = publish(client, officials.roads, **over)
    assert response.status_code == 200 and 'data-blocking="no"' in response.get_data(as_text=True)
    assert _published(sessions) == []
    assert publish(client, officials.roads, confirm="yes", **over).status_code == 302
    assert len(_published(sessions)) == 1


def test_fields_that_cannot_be_read_are_named(signed_in, officials):
    response = publish(signed_in("roads"), officials.roads, amount="a lot", award_date="yesterday", currency="dollars")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert text.count('aria-invalid="true"') == 3


def test_an_amendment_keeps_the_old_version_visible_with_its_reason(app, signed_in, officials, sessions):
    client = signed_in("roads")
    publish(client, officials.roads)
    [original] = _published(sessions)
    form_page = client.get(f"/officials/notices/{original.id}/amend").get_data(as_text=True)
    assert 'value="1250000.5"' in form_page  # the form starts from the published notice
    token = csrf_token(client, f"/officials/notices/{original.id}/amend")
    same = notice_form(token, officials.roads, reason="Nothing really")
    assert client.post(f"/officials/notices/{original.id}/amend", data=same).status_code == 422  # changes nothing
    form = notice_form(token, officials.roads, amount="1190000", contract_amount="1190000", reason="Typo in the amount")
    no_reason = {**form, "reason": ""}
    assert client.post(f"/officials/notices/{original.id}/amend", data=no_reason).status_code == 422
    response = client.post(f"/officials/notices/{original.id}/amend", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    original_again, amendment = _published(sessions)
    assert amendment.amends_id == original.id and amendment.reason == "Typo in the amount"
    assert amendment.award_id == original.award_id and amendment.ocid == original.ocid
    # A notice already amended is amended through its latest version only.
    assert client.get(f"/officials/notices/{original.id}/amend").status_code == 404

    public = app.test_client()
    page = public.get(f"/process/{original.ocid}.json").get_json()
    assert page["value"]["amount"] == "1190000.00"
    assert {r["id"] for r in page["releases"]} == {original.release_id, amendment.release_id}
    award = page["compiledRelease"]["awards"][0]
    assert award["amendments"][0]["rationale"] == "Typo in the amount"
    assert award["amendments"][0]["amendsReleaseID"] == original.release_id
    html = public.get(f"/process/{original.ocid}").get_data(as_text=True)
    assert "Typo in the amount" in html
    # The earlier release is still served as published.
    with sessions() as session:
        row = session.scalars(select(Release).where(Release.release_id == original.release_id)).one()
        assert session.scalars(select(Amendment.rationale)).all() == ["Typo in the amount", "Typo in the amount"]
    old = json.loads(public.get(f"/process/{original.ocid}/releases/{row.id}.json").get_data(as_text=True))
    assert old["awards"][0]["value"]["amount"] == 1250000.50
    history = client.get(f"/officials/notices/{amendment.id}").get_data(as_text=True)
    assert "superseded version" in history and "Typo in the amount" in history
    tags = [r["tag"] for r in public.get("/published/releases.json").get_json()["releases"]]
    assert tags == [["award", "contract"], ["awardUpdate", "contractAmendment"]]
    with sessions() as session:
        assert session.scalar(select(Process.release_count).where(Process.ocid == original.ocid)) == 2


def test_the_checks_themselves():
    notice = Notice(
        title="t",
        suppliers=(Supplier("S", "CA-BN", "1"),),
        amount=Decimal("100"),
        currency="CAD",
        award_date=date(2026, 1, 10),
        contract_amount=Decimal("100"),
        contract_signed=date(2026, 1, 20),
        contract_start=date(2026, 2, 1),
        contract_end=date(2026, 1, 31),
    )
    today = date(2026, 3, 1)
    assert [f.check for f in check_notice(notice, today=today)] == [Check.DATES_IN_ORDER]
    fine = Notice(**{**notice.__dict__, "contract_end": date(2026, 12, 31)})
    assert check_notice(fine, today=today) == []
    assert [f.check for f in check_notice(fine, today=date(2026, 1, 1))] == [Check.DATE_IN_FUTURE]
    selective = Notice(**{**fine.__dict__, "method": ProcurementMethod.SELECTIVE})
    assert [f.check for f in check_notice(selective, today=today)] == [Check.METHOD_NOT_JUSTIFIED]
    assert [f.check for f in check_notice(fine, today=today, previous=fine, reason="")] == [
        Check.REASON_MISSING,
        Check.NOTHING_CHANGED,
    ]


def test_publishing_refreshes_the_stored_vendor_totals_of_its_supplier(signed_in, officials, sessions):
    from portal.domain.vendor_figures import refresh_totals, stored_figures
    from portal.domain.vendors import resolve_all
    from portal.models import Party, Vendor, VendorParty
    from portal.vocabulary import EntityKind

    client = signed_in("roads")
    assert publish(client, officials.roads).status_code == 302
    with sessions.begin() as session:
        resolve_all(session)
        refresh_totals(session, kind=EntityKind.SUPPLIER)
    assert publish(client, officials.roads).status_code == 302  # a second award to the same supplier
    with sessions() as session:
        party = session.scalars(select(Party).where(Party.name == "Pavages Laurentiens inc.")).one()
        vendor = session.get(
            Vendor, session.scalar(select(VendorParty.vendor_id).where(VendorParty.party_id == party.id))
        )
        parties = session.scalars(select(VendorParty.party_id).where(VendorParty.vendor_id == vendor.id)).all()
        stored = stored_figures(session, vendor, parties)
        assert stored is not None and stored.awards == 2
