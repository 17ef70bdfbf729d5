"""Compiling processes: the headline value rules, stages from content, parties in 1.0 and 1.1 forms, amendments."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import select

from portal.domain.ocds import parse_date, release_stages
from portal.models import Amendment, AwardSupplier, Party, Process, ProcessParty
from tests.conftest import DEMO_DATA


def release(ocid="ocds-test00-1", rid="1", date="2020-01-01T00:00:00Z", **content):
    return {"ocid": ocid, "id": rid, "date": date, "tag": ["tender"], "initiationType": "tender", **content}


def write(tmp_path, name, *releases):
    path = tmp_path / name
    path.write_text(json.dumps({"uri": "test", "releases": list(releases)}), encoding="utf-8")
    return path


def process(sessions, ocid="ocds-test00-1") -> Process:
    with sessions() as session:
        return session.scalars(select(Process).where(Process.ocid == ocid)).one()


def test_headline_value_prefers_active_contracts_then_awards_then_tender(sessions, load, tmp_path):
    tender = {"value": {"amount": 1000, "currency": "CAD"}}
    awards = [
        {"id": "a1", "status": "active", "value": {"amount": 400.10, "currency": "CAD"}},
        {"id": "a2", "status": "cancelled", "value": {"amount": 999, "currency": "CAD"}},
        {"id": "a3", "value": {"amount": 100, "currency": "CAD"}},  # no status, as Montréal publishes
    ]
    contracts = [
        {"id": "c1", "status": "active", "value": {"amount": "250.25", "currency": "CAD"}},
        {"id": "c2", "status": "pending", "value": {"amount": 50, "currency": "CAD"}},
    ]
    load(write(tmp_path, "t.json", release(ocid="ocds-test00-t", tender=tender)))
    load(write(tmp_path, "a.json", release(ocid="ocds-test00-a", tender=tender, awards=awards)))
    load(write(tmp_path, "c.json", release(ocid="ocds-test00-c", tender=tender, awards=awards, contracts=contracts)))
    load(
        write(
            tmp_path,
            "m.json",
            release(ocid="ocds-test00-m", awards=[awards[0], {"id": "x", "value": {"amount": 5, "currency": "USD"}}]),
        )
    )
    assert (process(sessions, "ocds-test00-t").value_amount, process(sessions, "ocds-test00-t").value_basis) == (
        Decimal("1000.00"),
        "tender",
    )
    assert (process(sessions, "ocds-test00-a").value_amount, process(sessions, "ocds-test00-a").value_basis) == (
        Decimal("500.10"),
        "awards",
    )
    assert (process(sessions, "ocds-test00-c").value_amount, process(sessions, "ocds-test00-c").value_basis) == (
        Decimal("250.25"),
        "contracts",
    )
    mixed = process(sessions, "ocds-test00-m")
    assert (mixed.value_amount, mixed.value_basis) == (None, "mixed currencies")


def test_amendments_are_read_from_contracts_and_shown_on_the_timeline(sessions, load, tmp_path, client):
    contract = {"id": "c1", "awardID": "a1", "status": "active", "value": {"amount": 100, "currency": "CAD"}}
    amended = dict(
        contract,
        value={"amount": 130, "currency": "CAD"},
        amendments=[{"id": "am1", "date": "2020-03-01T00:00:00Z", "rationale": "Extra snow removal"}],
    )
    load(
        write(
            tmp_path,
            "p.json",
            release(rid="1", tender={"title": "Déneigement"}),
            release(rid="2", date="2020-02-01T00:00:00Z", contracts=[contract]),
            release(rid="3", date="2020-03-01T00:00:00Z", contracts=[amended]),
        )
    )
    with sessions() as session:
        amendments = list(session.scalars(select(Amendment)))
    assert [(a.parent, a.parent_id, a.amendment_id, a.rationale) for a in amendments] == [
        ("contract", "c1", "am1", "Extra snow removal")
    ]
    assert process(sessions).value_amount == Decimal("130.00")
    page = client.get("/process/ocds-test00-1").get_data(as_text=True)
    assert "Extra snow removal" in page
    assert page.index("Amendments (1)") > page.index("Contracts (1)") > page.index("Awards (0)")


def test_stages_come_from_content_not_the_tag():
    assert release_stages({"tag": "award", "awards": [{"id": "1"}]}) == ["award"]
    assert release_stages({"tag": ["tender"], "tender": {"id": "t"}, "contracts": [{"implementation": {"x": 1}}]}) == [
        "tender",
        "contract",
        "implementation",
    ]
    assert release_stages({"contracts": [{"amendments": [{"id": "1"}]}]}) == ["contract", "amendment"]


def test_timestamps_without_offset_are_read_as_utc_and_noted():
    value, note = parse_date("2017-06-30T06:32:13.512560")
    assert value.isoformat() == "2017-06-30T06:32:13.512560+00:00"
    assert "no time-zone offset" in note
    value, note = parse_date("2017-05-27T00:00:00-04:00")
    assert (value.isoformat(), note) == ("2017-05-27T04:00:00+00:00", None)
    assert parse_date("27/05/2017") == (None, "date '27/05/2017' is not ISO 8601")


def test_ocds_1_0_inline_suppliers_and_1_1_parties_both_give_suppliers(sessions, load):
    load(DEMO_DATA / "montreal")
    with sessions() as session:
        with_parties = session.scalars(
            select(Process).where(Process.ocid == "ocds-a1234567-mt-063635891f001755a1637786dd047485f3dcfaf6")
        ).one()
        inline = session.scalars(
            select(Process).where(Process.ocid == "ocds-a1234567-mt-f1347447f284615c35a8380225723d11acf691aa")
        ).one()
        for p in (with_parties, inline):
            roles = {
                role for (role,) in session.execute(select(ProcessParty.role).where(ProcessParty.process_id == p.id))
            }
            assert {"buyer", "supplier"} <= roles, p.ocid
            assert p.buyer is not None
        names = set(session.scalars(select(AwardSupplier.name)))
    assert "CENTRE DE TECHNOLOGIE PHYSIQUE ET PHOTONIQUE DE MONTREAL" in names


def test_parties_are_keyed_by_identifier_within_a_publisher(sessions, load, tmp_path):
    supplier = {
        "id": "S1",
        "name": "ACME Corp.",
        "identifier": {"scheme": "CA-REG", "id": "123"},
        "roles": ["supplier"],
    }
    respelled = dict(supplier, name="Acme Corporation")
    award = {"id": "a1", "suppliers": [{"id": "S1", "name": "ACME Corp."}]}
    load(
        write(
            tmp_path,
            "p.json",
            release(ocid="ocds-test00-1", parties=[supplier], awards=[award]),
            release(ocid="ocds-test00-2", parties=[respelled], awards=[dict(award, suppliers=[{"id": "S1"}])]),
            release(ocid="ocds-other-3", parties=[supplier], awards=[award]),
        )
    )
    with sessions() as session:
        parties = session.execute(select(Party.publisher, Party.key)).all()
    assert sorted(parties) == [("ocds-other", "id:CA-REG/123"), ("ocds-test00", "id:CA-REG/123")]


def test_dates_come_back_in_their_published_offset_on_every_backend(sessions, load):
    load(DEMO_DATA / "montreal")
    with sessions() as session:
        process = session.scalars(
            select(Process).where(Process.ocid == "ocds-a1234567-mt-063635891f001755a1637786dd047485f3dcfaf6")
        ).one()
    # Published as 2017-05-27T00:00:00-04:00: stored as 04:00 UTC, read back in the offset it was published with.
    assert process.last_date.isoformat() == "2017-05-27T00:00:00-04:00"
    assert process.last_date == datetime(2017, 5, 27, 4, tzinfo=timezone.utc)
