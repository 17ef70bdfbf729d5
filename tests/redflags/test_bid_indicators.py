"""Bid-based indicators on hand-made releases with `bids.details`; fences computed as Cardinal documents them
(Tukey: Q1 - 1.5 IQR, Q3 + 1.5 IQR), checked against quartiles worked out by hand below."""

from __future__ import annotations

import pytest

from tests.redflags.conftest import award, bid, release

FIRED, NOT_FIRED, NO_DATA = "fired", "not fired", "not enough data"
ORGS = {k: {"id": k, "name": f"{k} Industries"} for k in ("A", "B", "C", "D", "L", "W")}


def priced(n, winner, others, *, winner_amount=100, tender=None, **more):
    """A process won by `winner` with the lowest valid bid; `others` are (org key, amount, status)."""
    bids = [bid(0, ORGS[winner], winner_amount, **more.pop("winner_bid", {}))]
    bids += [bid(i + 1, ORGS[k], amount, status=status) for i, (k, amount, status) in enumerate(others)]
    parts = {"awards": [award(ORGS[winner], winner_amount)], "bids": {"details": bids}}
    if tender:
        parts["tender"] = tender
    return release(n, **parts)


def test_bid_indicators_fire_with_their_evidence(flags):
    # (second - winning) / winning, where a second valid bid exists (1 to 6): 0.10, 0.12, 0.08, 0.11, 0.005, 1.0.
    # Sorted: 0.005 0.08 0.10 0.11 0.12 1.0.
    # Q1 = 0.08 + 0.25 * 0.02 = 0.085; Q3 = 0.11 + 0.75 * 0.01 = 0.1175; IQR = 0.0325;
    # lower fence = 0.085 - 0.04875 = 0.03625, upper fence = 0.1175 + 0.04875 = 0.16625.
    period = {"id": "t", "tenderPeriod": {"startDate": "2024-01-01T00:00:00Z", "endDate": "2024-01-10T00:00:00Z"}}
    outcomes = flags(
        [
            priced(1, "A", [("B", 110, "valid")], tender=period, winner_bid={"date": "2024-01-09T00:00:00Z"}),
            priced(2, "B", [("C", 112, "valid")]),
            priced(3, "C", [("D", 108, "valid")]),
            priced(4, "D", [("A", 111, "valid")]),
            priced(5, "A", [("C", 100.5, "valid")]),
            priced(6, "B", [("D", 200, "valid")]),
            priced(7, "C", [("A", 300, "disqualified"), ("B", 300, "disqualified")]),  # identical prices
            priced(8, "D", [("A", 300, "disqualified")], tender=period, winner_bid={"date": "2024-01-11T12:00:00Z"}),
            priced(9, "A", [("B", 90, "disqualified"), ("C", 95, "disqualified")]),
            release(10, awards=[award(ORGS["A"], 100)]),  # no bids published
        ]
    )
    low = outcomes("5")["R024"]
    assert low.outcome == FIRED
    assert low.evidence["difference"] == 0.005
    assert low.evidence["fence"]["lower"] == pytest.approx(0.03625)
    assert low.evidence["fence"]["q1"] == pytest.approx(0.085)
    assert low.evidence["winning_bid"]["value"] == {"amount": "100.00", "currency": "USD"}
    assert low.evidence["second_lowest_valid_bid"]["tenderer"] == "C Industries"
    high = outcomes("6")["R058"]
    assert high.outcome == FIRED and high.evidence["fence"]["upper"] == pytest.approx(0.16625)
    for n in ("1", "2", "3", "4"):
        assert outcomes(n)["R024"].outcome == NOT_FIRED and outcomes(n)["R058"].outcome == NOT_FIRED
    identical = outcomes("7")["R028"]
    assert identical.outcome == FIRED
    assert identical.evidence["value"] == {"amount": "300.00", "currency": "USD"}
    assert {b["tenderer"] for b in identical.evidence["bids"]} == {"A Industries", "B Industries"}
    assert outcomes("1")["R028"].outcome == NOT_FIRED
    late = outcomes("8")["R030"]
    assert late.outcome == FIRED and late.evidence["tender_period_end"] == "2024-01-10T00:00:00+00:00"
    assert outcomes("1")["R030"].outcome == NOT_FIRED
    assert outcomes("2")["R030"].outcome == NO_DATA  # no bid date, no tender period
    assert outcomes("9")["R035"].evidence == {
        "winning_bid": {"id": "bid0", "tenderer": "A Industries"},
        "bids": 3,
        "disqualified": 2,
    }
    assert outcomes("9")["R036"].evidence["lowest_bid"]["tenderer"] == "B Industries"
    assert outcomes("1")["R035"].outcome == NOT_FIRED and outcomes("1")["R036"].outcome == NOT_FIRED
    for code in ("R024", "R058", "R028", "R030", "R035", "R036", "R038", "R025"):
        assert outcomes("10")[code].outcome == NO_DATA, code


def test_tenderers_always_disqualified_or_never_winning_are_outliers(flags):
    # A, B and C each win 2 of their 4 bids; L bids 6 times, always disqualified, never wins.
    # Win ratios 0, .5, .5, .5: Q1 = .375, Q3 = .5, lower fence = .375 - 1.5 * .125 = .1875: L is flagged (R025).
    # Disqualified ratios 0, 0, 0, 1: Q3 = .25, upper fence = .25 + 1.5 * .25 = .625: L is flagged (R038).
    rounds = [("A", "B"), ("B", "C"), ("C", "A"), ("A", "C"), ("B", "A"), ("C", "B")]
    outcomes = flags(
        [priced(n, w, [(o, 120, "valid"), ("L", 150, "disqualified")]) for n, (w, o) in enumerate(rounds, 1)]
    )
    for n in range(1, 7):
        r025 = outcomes(str(n))["R025"]
        assert r025.outcome == FIRED
        assert r025.evidence["tenderers"] == [{"tenderer": "L Industries", "won": 0, "submitted": 6, "ratio": 0.0}]
        assert r025.evidence["fence"]["lower"] == pytest.approx(0.1875)
        r038 = outcomes(str(n))["R038"]
        assert r038.outcome == FIRED
        assert r038.evidence["tenderers"][0]["ratio"] == 1.0
        assert r038.evidence["tenderers"][0]["fence"]["upper"] == pytest.approx(0.625)
        assert "buyer" not in r038.evidence  # one buyer: no peers, no buyer fence
