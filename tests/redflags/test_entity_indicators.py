"""Buyer- and supplier-level indicators on hand-made releases: two buyers, five suppliers, worked by hand."""

from __future__ import annotations

from tests.redflags.conftest import award, release

FIRED, NOT_FIRED, NOT_APPLICABLE = "fired", "not fired", "not applicable"
PARKS = {"id": "B2", "name": "Parks Office", "identifier": {"scheme": "XX-CITY", "id": "B2"}}
ORG = {k: {"id": k, "name": f"{k} Ltd"} for k in ("ACME", "BETA", "GAMMA", "DELTA", "OMNI")}


def item(code: str, n: int = 1) -> dict:
    return {"id": str(n), "classification": {"scheme": "UNSPSC", "id": code}}


def bought(n, supplier, amount, date, *, method="open", category="goods", buyer=None, codes=("43211500",)):
    awarded = award(ORG[supplier], amount, date=f"{date}T00:00:00Z", items=[item(c, i) for i, c in enumerate(codes)])
    tender = {"id": "t", "procurementMethod": method, "mainProcurementCategory": category}
    extra = {"buyer": buyer} if buyer else {}
    return release(n, tender=tender, awards=[awarded], **extra)


def test_buyer_and_supplier_indicators(flags):
    outcomes = flags(
        [
            # Department of Works: 4 of its 6 processes direct (67%); three small direct awards to ACME for
            # works within 19 days, 27,000 USD together, each under the 25,000 USD threshold.
            bought("d1", "ACME", 10_000, "2024-01-01", method="direct", category="works", codes=("72101500",)),
            bought("d2", "ACME", 9_000, "2024-01-15", method="direct", category="works", codes=("72101500",)),
            bought("d3", "ACME", 8_000, "2024-01-20", method="direct", category="works", codes=("72101500",)),
            bought("d4", "BETA", 500, "2024-05-01", method="direct"),
            bought("o1", "BETA", 100_000, "2024-03-01"),
            bought("o2", "BETA", 100_000, "2024-04-01"),
            # Parks Office: all open; GAMMA takes 4,000 of 5,000 USD (80%) over 5 awards.
            *[bought(f"g{i}", "GAMMA", 1_000, f"2024-0{i}-01", buyer=PARKS, codes=("80101500",)) for i in range(1, 5)],
            bought("e1", "DELTA", 1_000, "2024-06-01", buyer=PARKS, codes=("81101500",)),
            # OMNI supplies items of five segments (a supplier of everything); its award has no value.
            bought(
                "x1",
                "OMNI",
                None,
                "2024-07-01",
                buyer=PARKS,
                codes=("10101500", "20101500", "30101500", "40101500", "50101500"),
            ),
        ]
    )
    share = outcomes("d1")["NONCOMPETITIVE"]
    assert share.outcome == FIRED
    assert share.evidence["share"] == 0.6667
    assert (share.evidence["noncompetitive"], share.evidence["processes"]) == (4, 6)
    assert share.evidence["buyer"]["name"] == "Department of Works"
    assert outcomes("o1")["NONCOMPETITIVE"].outcome == NOT_FIRED  # an open process of that buyer
    assert outcomes("g1")["NONCOMPETITIVE"].outcome == NOT_FIRED  # Parks Office: 0%

    repeat = outcomes("d1")["REPEAT_DIRECT"]
    assert repeat.outcome == FIRED
    assert repeat.evidence["peers"] == {"count": 2, "ocids": ["ocds-flags0-d2", "ocds-flags0-d3"]}
    assert outcomes("d4")["REPEAT_DIRECT"].outcome == NOT_FIRED  # BETA's only direct award
    assert outcomes("o1")["REPEAT_DIRECT"].outcome == NOT_APPLICABLE

    split = outcomes("d2")["SPLIT"]
    assert split.outcome == FIRED
    assert split.evidence["total"] == {"amount": "27000.00", "currency": "USD"}
    assert split.evidence["threshold"] == {"amount": "25000.00", "currency": "USD"}
    assert split.evidence["awards"] == 3 and split.evidence["category"] == "works"
    assert outcomes("d4")["SPLIT"].outcome == NOT_FIRED
    assert outcomes("o1")["SPLIT"].outcome == NOT_FIRED  # above the threshold on its own

    concentration = outcomes("g2")["CONCENTRATION"]
    assert concentration.outcome == FIRED
    (entry,) = concentration.evidence["concentration"]
    assert entry["supplier"]["name"] == "GAMMA Ltd" and entry["share"] == 0.8
    assert entry["buyer_total"] == "5000.00" and entry["hhi"] == 6800
    assert outcomes("e1")["CONCENTRATION"].outcome == NOT_FIRED

    # Varieties: ACME, BETA, GAMMA, DELTA 1 segment each, OMNI 5. Q1 = Q3 = 1, upper fence 1: OMNI only.
    hetero = outcomes("x1")["R048"]
    assert hetero.outcome == FIRED
    assert hetero.evidence["suppliers"][0]["variety"] == 5
    assert hetero.evidence["suppliers"][0]["first_levels"] == ["10", "20", "30", "40", "50"]
    assert hetero.evidence["fence"]["upper"] == 1
    assert outcomes("g1")["R048"].outcome == NOT_FIRED
