"""Vendor figures equal a hand computation on a small fixture of two publishers; shares and HHI are right; one
supplier published under three spellings and one buyer under two are one entity each, and a trap (the same words
under another legal form) stays apart."""

from __future__ import annotations

from decimal import Decimal

import pytest

from portal.domain.vendor_figures import compare_vendors, get_entity, hhi
from portal.vocabulary import EntityKind, Evidence
from tests.vendors.conftest import A, B
from tests.vendors.conftest import vendor_of as _vendor_of


def test_three_spellings_over_two_publishers_are_one_supplier(vendors_loaded):
    with vendors_loaded() as session:
        first = _vendor_of(session, A, "ACME Corp.")
        by_id = _vendor_of(session, B, "Acme Corporation")
        by_name = _vendor_of(session, B, "ACME CORP")
        assert first.vendor_id == by_id.vendor_id == by_name.vendor_id
        assert by_id.evidence == Evidence.IDENTIFIER and by_id.detail == "XX-REG/111"
        assert by_name.evidence == Evidence.NAME
        assert (
            _vendor_of(session, A, "Beta Builders Inc").vendor_id
            != _vendor_of(session, B, "Beta Builders LLC").vendor_id
        )
        works_a = _vendor_of(session, A, "Public Works Department", EntityKind.BUYER)
        works_b = _vendor_of(session, B, "PUBLIC WORKS DEPARTMENT", EntityKind.BUYER)
        assert works_a.vendor_id == works_b.vendor_id


def test_vendor_figures_equal_a_hand_computation(vendors_loaded):
    with vendors_loaded() as session:
        acme = _vendor_of(session, A, "ACME Corp.").vendor_id
        f = get_entity(session, acme).figures
    # Awards named: p1 (100, contract 120), p2 (50), p4 (30), p7 (999, cancelled: not counted), p8 (0, pending).
    assert (f.processes, f.awards, f.buyers) == (5, 5, 1)
    usd = f.currency("USD")
    assert usd is not None
    assert usd.awarded == Decimal("180.00")  # 100 + 50 + 30
    assert usd.contracted == Decimal("120.00")
    assert usd.awards == 3
    assert usd.mean == Decimal("66.67")  # per award: 120 (contracted), 50, 30
    assert usd.median == Decimal("50.00")
    assert (usd.value_increases, usd.increase) == (1, Decimal("20.00"))
    assert [(y.year, y.awarded, y.contracted) for y in f.years] == [
        (2020, Decimal("100.00"), Decimal("120.00")),
        (2021, Decimal("50.00"), Decimal("0")),
        (2022, Decimal("30.00"), Decimal("0")),
    ]
    assert f.methods == {"open": 3, "direct": 1, "limited": 1}
    assert (f.single_bid, f.direct, f.single_bid_or_direct) == (2, 1, 2)  # p2 (direct, one bid), p4 (one bid)
    assert f.single_bid_or_direct_share == pytest.approx(2 / 5)
    assert f.amendments == 1


def test_shares_and_hhi_within_a_buyer(vendors_loaded):
    with vendors_loaded() as session:
        works = _vendor_of(session, A, "Public Works Department", EntityKind.BUYER).vendor_id
        comparison = compare_vendors(session, buyer_id=works)
        acme = _vendor_of(session, A, "ACME Corp.").vendor_id
    usd = next(c for c in comparison.concentration if c.currency == "USD")
    assert usd.total == Decimal("680.00")  # ACME 180, Beta Inc 200, Gamma 300
    assert [s.awarded for s in usd.shares] == [Decimal("300.00"), Decimal("200.00"), Decimal("180.00")]
    assert usd.hhi == round((300 / 6.8) ** 2 + (200 / 6.8) ** 2 + (180 / 6.8) ** 2) == 3512
    assert next(s for s in usd.shares if s.vendor_id == acme).share == pytest.approx(180 / 680)
    eur = next(c for c in comparison.concentration if c.currency == "EUR")
    assert eur.hhi == 10_000  # one supplier takes it all
    assert comparison.scope == "buyer"


def test_hhi_of_equal_shares():
    assert hhi([0.25] * 4) == 2500
    assert hhi([1.0]) == 10_000
    assert hhi([]) == 0


def test_who_competed_against_whom(vendors_loaded):
    with vendors_loaded() as session:
        acme = _vendor_of(session, A, "ACME Corp.").vendor_id
        beta = _vendor_of(session, A, "Beta Builders Inc").vendor_id
        gamma = _vendor_of(session, B, "Gamma Paving LLC").vendor_id
        comparison = compare_vendors(session, vendor_ids=[acme, beta, gamma])
    found = {(r.a, r.b): (r.processes, r.a_won, r.b_won) for r in comparison.rivalries}
    assert found[tuple(sorted((acme, beta)))] == (2, 1, 1)  # p1 won by ACME, p5 by Beta
    pair = tuple(sorted((acme, gamma)))
    assert found[pair] == ((1, 0, 1) if pair[0] == acme else (1, 1, 0))  # p3, won by Gamma
    assert (beta, gamma) not in found and (gamma, beta) not in found
