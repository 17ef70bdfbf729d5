"""Process-level indicators on hand-made releases: each fires, does not fire, or says why it cannot judge,
including shapes the OCDS schema allows beyond the demo data (no tenderPeriod, dates with offsets, no method,
a method outside the codelist)."""

from __future__ import annotations

from tests.redflags.conftest import award, release

ACME = {"id": "S1", "name": "Acme Paving"}
FIRED, NOT_FIRED, NO_DATA, NOT_APPLICABLE = "fired", "not fired", "not enough data", "not applicable"
PUBLISHED = "tender/numberOfTenderers, else the number of tender/tenderers"


def tender(method: str | None = "open", start: str | None = None, end: str | None = None, **more) -> dict:
    found = {"id": "t1", "status": "active", **more}
    if method is not None:
        found["procurementMethod"] = method
    if start or end:
        found["tenderPeriod"] = {k: v for k, v in (("startDate", start), ("endDate", end)) if v}
    return found


def test_short_submission_period_r003(flags):
    outcomes = flags(
        [
            release(1, tender=tender("open", "2024-01-01T09:00:00Z", "2024-01-03T09:00:00Z")),
            release(2, tender=tender("open", "2024-01-01T00:00:00Z", "2024-01-25T00:00:00Z")),
            release(3, tender=tender("open")),  # no tenderPeriod
            release(4, tender=tender(None, "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z")),  # no method
            release(5, tender=tender("competitive", "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z")),
            # 14 days 20 hours on the clock faces, 15 days 4 hours between the instants: not short.
            release(6, tender=tender("open", "2024-01-01T00:00:00+05:00", "2024-01-15T20:00:00-03:00")),
            release(7, tender=tender("selective", "2024-01-01T00:00:00Z", "2024-01-08T00:00:00Z")),
            release(8, tender=tender("open", "2024-01-01T00:00:00Z")),  # no end date
        ]
    )
    first = outcomes("1")["R003"]
    assert first.outcome == FIRED
    assert first.evidence == {
        "method": "open",
        "tender_period": {"start": "2024-01-01T09:00:00+00:00", "end": "2024-01-03T09:00:00+00:00"},
        "days": 2.0,
        "threshold_days": 15.0,
    }
    assert outcomes("2")["R003"].outcome == NOT_FIRED
    assert outcomes("3")["R003"].outcome == NO_DATA
    assert outcomes("4")["R003"].outcome == NO_DATA
    assert outcomes("5")["R003"].outcome == NOT_APPLICABLE
    assert outcomes("6")["R003"].outcome == NOT_FIRED
    seventh = outcomes("7")["R003"]
    assert seventh.outcome == FIRED and seventh.evidence["threshold_days"] == 10.0
    assert outcomes("8")["R003"].outcome == NO_DATA


def test_single_bid_in_a_competitive_procedure_r018(flags):
    beta = {"id": "S2", "name": "Beta Builders"}
    outcomes = flags(
        [
            release(1, tender=tender("open", numberOfTenderers=1)),
            release(2, tender=tender("open", numberOfTenderers=3)),
            release(3, tender=tender("direct", numberOfTenderers=1)),
            release(4, tender=tender("open")),  # nothing says how many bid
            release(5, tender=tender("selective", tenderers=[ACME]), parties=[{**ACME, "roles": ["tenderer"]}]),
            release(6, tender=tender(None, numberOfTenderers=1)),
            release(
                7,
                tender=tender("open", tenderers=[ACME, beta]),
                parties=[{**ACME, "roles": ["tenderer"]}, {**beta, "roles": ["tenderer"]}],
            ),
        ]
    )
    assert outcomes("1")["R018"].evidence == {"method": "open", "tenderers": 1, "read_from": PUBLISHED}
    assert outcomes("2")["R018"].outcome == NOT_FIRED
    assert outcomes("3")["R018"].outcome == NOT_APPLICABLE
    assert outcomes("4")["R018"].outcome == NO_DATA
    assert outcomes("5")["R018"].evidence["read_from"] == PUBLISHED
    assert outcomes("6")["R018"].outcome == NO_DATA
    assert outcomes("7")["R018"].outcome == NOT_FIRED


def _contract(amount: float, amendments: int = 0) -> dict:
    found = {"id": "c1", "awardID": "a1", "status": "active", "value": {"amount": amount, "currency": "USD"}}
    if amendments:
        found["amendments"] = [{"id": f"m{i}", "date": "2024-05-01T00:00:00Z"} for i in range(amendments)]
    return found


def test_cost_overrun(flags):
    outcomes = flags(
        [
            release(1, awards=[award(ACME, 100)], contracts=[_contract(130)]),
            release(2, awards=[award(ACME, 100)], contracts=[_contract(110)]),
            release(3, awards=[award(ACME, 100)], contracts=[_contract(100, amendments=3)]),
            release(4, tender=tender("open")),  # no award nor contract
            release(5, awards=[award(ACME, 100)], contracts=[_contract(120)]),  # exactly 20%: not above
        ]
    )
    first = outcomes("1")["COST_OVERRUN"]
    assert first.outcome == FIRED
    assert first.evidence["contracts"][0]["increase"] == 0.3
    assert first.evidence["contracts"][0]["contract_value"] == {"amount": "130.00", "currency": "USD"}
    assert outcomes("2")["COST_OVERRUN"].outcome == NOT_FIRED
    assert outcomes("3")["COST_OVERRUN"].evidence == {"amendments": {"count": 3, "threshold": 3}}
    assert outcomes("4")["COST_OVERRUN"].outcome == NO_DATA
    assert outcomes("5")["COST_OVERRUN"].outcome == NOT_FIRED


def test_award_far_from_the_estimate(flags):
    estimate = {"value": {"amount": 1000, "currency": "USD"}}
    outcomes = flags(
        [
            release(1, tender=tender(**estimate), awards=[award(ACME, 1600)]),
            release(2, tender=tender(**estimate), awards=[award(ACME, 900)]),
            release(3, tender=tender(**estimate), awards=[award(ACME, 400)]),
            release(4, tender=tender(**estimate), awards=[award(ACME, 400, currency="CAD")]),  # other currency
            release(5, tender=tender(), awards=[award(ACME, 400)]),  # no estimate
        ]
    )
    assert outcomes("1")["ESTIMATE"].evidence["ratio"] == 1.6
    assert outcomes("2")["ESTIMATE"].outcome == NOT_FIRED
    assert outcomes("3")["ESTIMATE"].evidence["awarded"] == {"amount": "400.00", "currency": "USD"}
    assert outcomes("4")["ESTIMATE"].outcome == NO_DATA
    assert outcomes("5")["ESTIMATE"].outcome == NO_DATA


def test_transparency_score_counts_the_key_fields_published(flags):
    full = release(
        1,
        tender=tender(
            "open",
            "2024-01-01T00:00:00Z",
            "2024-02-01T00:00:00Z",
            value={"amount": 10, "currency": "USD"},
            numberOfTenderers=2,
            items=[{"id": "i1", "classification": {"scheme": "UNSPSC", "id": "72101500"}}],
        ),
        awards=[award(ACME, 10, date="2024-02-10T00:00:00Z")],
        contracts=[{**_contract(10), "dateSigned": "2024-02-20T00:00:00Z"}],
    )
    bare = release(2, buyer=None, tender={"id": "t1"})
    outcomes = flags([full, bare])
    assert outcomes("1")["TRANSPARENCY"].outcome == NOT_FIRED
    evidence = outcomes("2")["TRANSPARENCY"].evidence
    assert evidence["score"] == 0.0
    assert "buyer" in evidence["missing"] and evidence["present"] == []
    assert evidence["peers"] == {"processes": 2, "mean_score": 0.5}
