"""A small fixture of two publishers, written as release packages: one supplier under three spellings (two
identifiers' worth of evidence and a name rule), a buyer under two, and a trap (the same words, another legal
form). The figures in test_figures.py are computed by hand from it."""

from __future__ import annotations

import json

import pytest

from portal.domain.vendors import resolve_all
from portal.models import Party, VendorParty
from portal.vocabulary import EntityKind

A, B = "ocds-aaaaaa", "ocds-bbbbbb"
WORKS = {"id": "PW", "name": "Public Works Department", "identifier": {"scheme": "XX-CITY", "id": "PW-1"}}
WORKS_B = {"id": "PW", "name": "PUBLIC WORKS DEPARTMENT", "identifier": {"scheme": "XX-CITY", "id": "PW-1"}}
ACME_A = {"id": "acme", "name": "ACME Corp.", "identifier": {"scheme": "XX-REG", "id": "111"}}
ACME_B = {"id": "acme", "name": "Acme Corporation", "identifier": {"scheme": "XX-REG", "id": "111"}}
ACME_B2 = {"id": "acme2", "name": "ACME CORP"}  # no identifier: joins by name
BETA = {"id": "beta", "name": "Beta Builders Inc"}
BETA_LLC = {"id": "beta-llc", "name": "Beta Builders LLC"}  # another legal form: another company
GAMMA = {"id": "gamma", "name": "Gamma Paving LLC"}


def _release(
    prefix, n, year, *, method, award, tenderers=(), number=None, contract=None, status="active", currency="USD"
):
    supplier, amount = award
    parties = [{**(WORKS_B if prefix == B else WORKS), "roles": ["buyer"]}]
    for org in {o["id"]: o for o in [*tenderers, supplier]}.values():
        roles = ["supplier"] if org is supplier else []
        roles += ["tenderer"] if org in tenderers else []
        parties.append({**org, "roles": roles})
    tender = {"id": f"t{n}", "status": "complete", "procurementMethod": method, "mainProcurementCategory": "works"}
    if tenderers:
        tender["tenderers"] = [{"id": o["id"], "name": o["name"]} for o in tenderers]
    if number is not None:
        tender["numberOfTenderers"] = number
    release = {
        "ocid": f"{prefix}-p{n}",
        "id": "1",
        "date": f"{year}-06-01T00:00:00Z",
        "tag": ["award"],
        "initiationType": "tender",
        "parties": parties,
        "buyer": {"id": "PW", "name": parties[0]["name"]},
        "tender": tender,
        "awards": [
            {
                "id": f"a{n}",
                "status": status,
                "date": f"{year}-06-01T00:00:00Z",
                "value": {"amount": amount, "currency": currency},
                "suppliers": [{"id": supplier["id"], "name": supplier["name"]}],
            }
        ],
    }
    if contract is not None:
        release["contracts"] = [
            {
                "id": f"c{n}",
                "awardID": f"a{n}",
                "status": "active",
                "value": {"amount": contract, "currency": currency},
                "amendments": [{"id": "m1", "date": f"{year}-09-01T00:00:00Z", "description": "more"}],
            }
        ]
    return release


def _package(releases):
    return {"version": "1.1", "publishedDate": "2023-01-01T00:00:00Z", "uri": "x", "releases": releases}


@pytest.fixture
def vendors_loaded(load, sessions, tmp_path):
    a = [
        _release(A, 1, 2020, method="open", award=(ACME_A, 100), tenderers=(ACME_A, BETA), contract=120),
        _release(A, 2, 2021, method="direct", award=(ACME_A, 50), number=1),
        _release(A, 5, 2022, method="open", award=(BETA, 200), tenderers=(ACME_A, BETA)),
        _release(A, 7, 2022, method="open", award=(ACME_A, 999), status="cancelled"),
    ]
    b = [
        _release(B, 3, 2021, method="open", award=(GAMMA, 300), tenderers=(ACME_B, GAMMA), contract=300),
        _release(B, 4, 2022, method="limited", award=(ACME_B2, 30), number=1),
        _release(B, 6, 2022, method="selective", award=(BETA_LLC, 10), currency="EUR"),
        _release(B, 8, 2022, method="open", award=(ACME_B, 0), status="pending"),  # names ACME_B as a supplier
    ]
    for name, releases in (("a.json", a), ("b.json", b)):
        (tmp_path / name).write_text(json.dumps(_package(releases)), encoding="utf-8")
        assert load(tmp_path / name).status == "succeeded"
    with sessions.begin() as session:
        resolve_all(session)
    return sessions


def vendor_of(session, publisher, name, kind=EntityKind.SUPPLIER):
    party = session.query(Party).filter_by(publisher=publisher, name=name).one()
    return session.query(VendorParty).filter_by(party_id=party.id, kind=kind).one()
