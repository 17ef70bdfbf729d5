"""A supplier page holds its figures over every award and its awards a page at a time, however many it won."""

from __future__ import annotations

import json

from sqlalchemy import select

from portal.domain.processes import SUPPLIER_AWARDS_PER_PAGE
from portal.models import AwardSupplier

AWARDS = SUPPLIER_AWARDS_PER_PAGE + 50


def test_a_supplier_with_many_awards_is_paginated_and_totalled_over_all(client, load, sessions, tmp_path):
    supplier = {"id": "S1", "name": "Acme Paving", "identifier": {"scheme": "XX-REG", "id": "111"}}
    releases = [
        {
            "ocid": f"ocds-test00-{n:04d}",
            "id": "1",
            "date": f"2020-01-{1 + n % 28:02d}T00:00:00Z",
            "tag": ["award"],
            "initiationType": "tender",
            "parties": [{**supplier, "roles": ["supplier"]}],
            "awards": [
                {
                    "id": "a",
                    "status": "active" if n % 10 else "cancelled",  # every tenth is not summed
                    "value": {"amount": 100, "currency": "EUR"},
                    "suppliers": [{"id": "S1", "name": "Acme Paving"}],
                }
            ],
        }
        for n in range(AWARDS)
    ]
    package = {"uri": "x", "publishedDate": "2020-02-01T00:00:00Z", "version": "1.1", "releases": releases}
    (tmp_path / "p.json").write_text(json.dumps(package), encoding="utf-8")
    assert load(tmp_path / "p.json").status == "succeeded"
    with sessions() as session:
        party_id = session.scalars(select(AwardSupplier.party_id)).first()

    first = client.get(f"/supplier/{party_id}.json").get_json()
    assert (first["award_count"], first["page"], first["pages"]) == (AWARDS, 1, 2)
    assert len(first["awards"]) == SUPPLIER_AWARDS_PER_PAGE
    assert first["totals"] == [{"currency": "EUR", "amount": "13500.00", "awards": 135}]  # 150 less 15 cancelled
    second = client.get(first["next"]).get_json()
    assert len(second["awards"]) == 50 and second["next"] is None
    assert {a["ocid"] for a in first["awards"]}.isdisjoint(a["ocid"] for a in second["awards"])
    assert client.get(f"/supplier/{party_id}?page=3").status_code == 404
    page = client.get(f"/supplier/{party_id}").get_data(as_text=True)
    assert 'rel="next"' in page and f'data-figure="awards">{AWARDS}<' in page
