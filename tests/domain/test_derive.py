"""From a compiled release to rows, on its own: no database, no merge."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.domain.derive import derive, party_key, translated
from portal.domain.ocds import KeyTooLong
from portal.vocabulary import PartyRole, ValueBasis


def test_values_keep_the_published_amount_and_units_and_upper_case_currency():
    derived = derive({"awards": [{"id": "a", "status": "active", "value": {"amount": 400.1, "currency": "cad"}}]})
    award, _ = derived.awards[0]
    assert (award["value_published"], award["value_units"], award["value_currency"]) == ("400.1", 4_001_000, "CAD")
    assert derived.fields["value_units"] == 4_001_000 and derived.fields["value_basis"] == ValueBasis.AWARDS
    assert "currency 'cad' read as 'CAD'" in derived.notes


def test_dates_keep_their_offset():
    derived = derive({"contracts": [{"id": "c", "dateSigned": "2016-09-30T00:00:00+04:00"}]})
    contract = derived.contracts[0]
    assert contract["date_signed_offset"] == 240
    assert contract["date_signed"].utcoffset() == timedelta(0)
    assert contract["date_signed"].isoformat() == "2016-09-29T20:00:00+00:00"


def test_a_procuring_entity_stands_in_for_a_missing_buyer():
    derived = derive({"tender": {"id": "t", "procuringEntity": {"name": "Works"}}})
    assert derived.fields["buyer_role"] == PartyRole.PROCURING_ENTITY
    assert derived.buyer == "name:works"
    with_buyer = derive({"buyer": {"name": "City"}, "tender": {"procuringEntity": {"name": "Works"}}})
    assert (with_buyer.fields["buyer_role"], with_buyer.buyer) == (PartyRole.BUYER, "name:city")


def test_translations_fill_missing_fields_and_name_their_language():
    assert translated({"title_en": "Roads", "title_fr": "Routes"}, "title") == ("Roads", "en")
    assert translated({"title": "Rues", "title_en": "Streets"}, "title") == ("Rues", None)
    assert translated({"titles_en": "x"}, "title") == (None, None)
    derived = derive({"tender": {"description_es": "Obras"}})
    assert (derived.fields["title"], derived.fields["language"]) == ("Obras", None)


def test_empty_amendments_are_not_amendments():
    derived = derive({"contracts": [{"id": "c", "amendments": [{}, {"rationale": "  "}, {"rationale": "More"}]}]})
    assert [a["rationale"] for a in derived.amendments] == ["More"]


def test_tenderers_documents_and_bids():
    derived = derive(
        {
            "tender": {
                "id": "t",
                "tenderers": [{"name": "A"}, {"name": "B"}],
                "documents": [{"id": "d", "title": "ToR"}],
            },
            "bids": {"details": [{"id": "b", "tenderers": [{"name": "A"}], "value": {"amount": 3, "currency": "EUR"}}]},
        }
    )
    assert derived.tender["number_of_tenderers"] == 2
    assert [(d["parent"], d["title"]) for d in derived.documents] == [("tender", "ToR")]
    assert [(b["bid_id"], b["tenderers"], b["value_units"]) for b in derived.bids] == [("b", "A", 30_000)]
    assert {role for _, role in derived.roles} == {PartyRole.TENDERER}


def test_an_array_published_as_an_object_is_read_as_one_entry_and_noted():
    derived = derive({"awards": {"id": "a"}, "contracts": "c1"})
    assert [award["award_id"] for award, _ in derived.awards] == ["a"]
    assert "`awards` is an object, not an array: read as one entry" in derived.notes
    assert derived.contracts == []
    assert "`contracts` is str, not an array: its entries cannot be read" in derived.notes


def test_party_keys_are_bounded_and_identifiers_are_keys():
    key = party_key({"name": "n", "identifier": {"scheme": "s" * 1000, "id": "1"}}, {})
    assert key[0].startswith("sha256:") and len(key[0]) <= 400
    with pytest.raises(KeyTooLong):
        party_key({"identifier": {"id": "x" * 201}}, {})


def test_a_supplier_that_cannot_be_named_is_noted_not_shown_as_an_id():
    derived = derive(
        {"awards": [{"id": "a1", "suppliers": [{"id": "S9"}, {"identifier": {"scheme": "X", "id": "77"}}]}]}
    )
    assert derived.awards[0][1] == [("id:X/77", "77")]
    assert derived.notes == [
        "a supplier 'S9' of award a1 has neither a name nor an identifier, in the award or in `parties`: not shown",
        "a supplier of award a1 has no name: shown by its identifier",
    ]
