"""Resolution reruns incrementally after each ingest (as `portal ingest` does): new parties join the entities they
belong to, and a party renamed by a newer release moves to the entity its new name belongs to, leaving its old
entity to the parties that stay, or pointing to where it went."""

from __future__ import annotations

import json

from portal.domain.vendors import resolve_all
from portal.models import Party, Vendor, VendorParty
from portal.vocabulary import EntityKind

A, B = "ocds-ren00a", "ocds-ren00b"
BUYER = {"id": "city", "name": "City Hall", "roles": ["buyer"]}


def _release(ocid: str, date: str, supplier: dict) -> dict:
    return {
        "ocid": ocid,
        "id": date[:10],
        "date": date,
        "tag": ["award"],
        "parties": [BUYER, {**supplier, "roles": ["supplier"]}],
        "buyer": {"id": "city"},
        "awards": [
            {
                "id": "a1",
                "status": "active",
                "value": {"amount": 10, "currency": "USD"},
                "suppliers": [{"id": supplier["id"], "name": supplier["name"]}],
            }
        ],
    }


def _load(load, tmp_path, name: str, *releases: dict) -> None:
    path = tmp_path / name
    package = {"uri": name, "version": "1.1", "publishedDate": "2024-01-01T00:00:00Z", "releases": list(releases)}
    path.write_text(json.dumps(package), encoding="utf-8")
    assert load(path).status == "succeeded"


def _vendor(session, publisher: str, party_id: str | None = None, name: str | None = None) -> int:
    query = session.query(Party).filter_by(publisher=publisher)
    party = query.filter_by(name=name).one() if name else query.filter(Party.key.contains(party_id)).one()
    return session.query(VendorParty).filter_by(party_id=party.id, kind=EntityKind.SUPPLIER).one().vendor_id


NORTHWIND = {"id": "nw", "name": "Northwind Traders Inc", "identifier": {"scheme": "XX-REG", "id": "NW-1"}}
TAILSPIN = {"id": "ts", "name": "Tailspin Toys Inc", "identifier": {"scheme": "XX-REG", "id": "TS-1"}}


def test_new_parties_join_their_entities_on_each_ingest(load, sessions, tmp_path):
    _load(load, tmp_path, "1.json", _release(f"{A}-1", "2024-01-01T00:00:00Z", NORTHWIND))
    _load(
        load,
        tmp_path,
        "2.json",
        _release(f"{B}-1", "2024-02-01T00:00:00Z", {"id": "n", "name": "NORTHWIND TRADERS, INC."}),
    )
    with sessions() as session:
        assert _vendor(session, A, "NW-1") == _vendor(session, B, name="NORTHWIND TRADERS, INC.")
        assert session.query(Vendor).filter_by(kind=EntityKind.SUPPLIER).count() == 1
    with sessions.begin() as session:  # nothing new since: an incremental run has nothing to do
        assert all(report.parties == 0 for report in resolve_all(session, incremental=True))


def test_a_renamed_party_moves_to_the_entity_of_its_new_name(load, sessions, client, tmp_path):
    _load(
        load,
        tmp_path,
        "before.json",
        _release(f"{A}-1", "2024-01-01T00:00:00Z", NORTHWIND),
        _release(f"{A}-2", "2024-01-01T00:00:00Z", TAILSPIN),
        _release(f"{B}-1", "2024-01-01T00:00:00Z", {"id": "n", "name": "Northwind Traders, Inc."}),
        _release(f"{B}-2", "2024-01-01T00:00:00Z", {"id": "c", "name": "Contoso Paving LLC"}),
    )
    with sessions() as session:
        northwind = _vendor(session, A, "NW-1")
        assert _vendor(session, B, name="Northwind Traders, Inc.") == northwind
        tailspin, contoso = _vendor(session, A, "TS-1"), _vendor(session, B, name="Contoso Paving LLC")
        assert len({northwind, tailspin, contoso}) == 3

    # Newer releases: both of A's suppliers now publish as Contoso (the same identifiers, new names).
    renamed = [
        _release(f"{A}-1", "2024-06-01T00:00:00Z", {**NORTHWIND, "name": "CONTOSO PAVING, LLC"}),
        _release(f"{A}-2", "2024-06-01T00:00:00Z", {**TAILSPIN, "name": "Contoso Paving L.L.C."}),
    ]
    _load(load, tmp_path, "after.json", *renamed)
    with sessions() as session:
        assert session.query(Party).filter_by(publisher=A, name="CONTOSO PAVING, LLC").count() == 1  # the same row
        assert _vendor(session, A, "NW-1") == contoso
        assert _vendor(session, A, "TS-1") == contoso
        # Northwind's entity stays with the party still called Northwind; Tailspin's, left empty, points on.
        assert _vendor(session, B, name="Northwind Traders, Inc.") == northwind
        assert session.get(Vendor, northwind).merged_into_id is None
        assert session.get(Vendor, tailspin).merged_into_id == contoso
        assert not session.query(VendorParty).filter_by(renamed=True).count()
    moved = client.get(f"/vendor/{tailspin}")
    assert moved.status_code == 301 and moved.headers["Location"].endswith(f"/vendor/{contoso}")
    names = {p["name"] for p in client.get(f"/vendor/{contoso}.json").get_json()["parties"]}
    assert names == {"Contoso Paving LLC", "CONTOSO PAVING, LLC", "Contoso Paving L.L.C."}

    # A full run finds what the incremental ones did.
    with sessions.begin() as session:
        resolve_all(session)
    with sessions() as session:
        assert _vendor(session, A, "NW-1") == _vendor(session, A, "TS-1") == contoso
        assert _vendor(session, B, name="Northwind Traders, Inc.") == northwind
