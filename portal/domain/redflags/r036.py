"""R036 lowest bid disqualified."""

from __future__ import annotations

from typing import Any

from portal.domain.redflags.base import Computed, Indicator, combine_outcomes, fired_frame, money, outcome_series
from portal.domain.redflags.bids import submitted_bids, with_bids
from portal.domain.redflags.data import FlagData
from portal.vocabulary import FlagOutcome


def compute(data: FlagData, settings: dict[str, Any]) -> Computed:
    p = data.processes
    bids = submitted_bids(data)
    bids = bids[bids["units"].notna() & bids["status"].isin(("valid", "disqualified"))]
    # One currency per process, or the lowest bid cannot be told.
    currencies = bids.groupby("process_id")["currency"].nunique()
    comparable = bids[bids["process_id"].isin(currencies[currencies == 1].index)]
    valid = comparable[comparable["status"] == "valid"]["process_id"].unique()
    comparable = comparable[comparable["process_id"].isin(valid)]
    lowest = comparable.sort_values(["units"], kind="stable").drop_duplicates("process_id")
    hit = lowest[lowest["status"] == "disqualified"]
    evidence = [
        {"lowest_bid": {"id": b, "tenderer": t, "value": money(u, c), "status": "disqualified"}}
        for b, t, u, c in zip(hit["bid_id"], hit["tenderers"], hit["units"], hit["currency"], strict=True)
    ]
    outcomes = combine_outcomes(
        outcome_series(p.index.difference(with_bids(data)), FlagOutcome.NOT_ENOUGH_DATA),
        outcome_series(p.index.difference(lowest["process_id"]), FlagOutcome.NOT_ENOUGH_DATA),
    )
    return Computed(fired=fired_frame(hit["process_id"], evidence), outcomes=outcomes)


INDICATOR = Indicator(
    code="R036",
    title="Lowest bid disqualified",
    definition="The lowest priced bid (among valid and disqualified bids in one currency, with at least one valid "
    "bid) was disqualified.",
    why="Disqualifying the cheapest bid on a technicality can hand the contract to a dearer, chosen firm.",
    fields=("bids/details/value", "bids/details/status", "bids/details/tenderers"),
    compute=compute,
    cardinal=True,
)
