"""R035 all except winning bid disqualified."""

from __future__ import annotations

from typing import Any

from portal.domain.redflags.base import Computed, Indicator, combine_outcomes, fired_frame, outcome_series
from portal.domain.redflags.bids import submitted_bids, winning_bids, with_bids
from portal.domain.redflags.data import FlagData
from portal.vocabulary import FlagOutcome


def compute(data: FlagData, settings: dict[str, Any]) -> Computed:
    p = data.processes
    bids = submitted_bids(data)
    winners = winning_bids(data)
    winners = winners[winners["status"] == "valid"][["process_id", "bid_id", "winner_name"]]
    counts = (
        bids.assign(disqualified=bids["status"] == "disqualified")
        .groupby("process_id")
        .agg(bids=("status", "size"), disqualified=("disqualified", "sum"))
    )
    found = winners.merge(counts, left_on="process_id", right_index=True)
    hit = found[(found["bids"] >= settings["minimum_bids"]) & (found["disqualified"] == found["bids"] - 1)]
    evidence = [
        {"winning_bid": {"id": b, "tenderer": t}, "bids": int(n), "disqualified": int(d)}
        for b, t, n, d in zip(hit["bid_id"], hit["winner_name"], hit["bids"], hit["disqualified"], strict=True)
    ]
    outcomes = combine_outcomes(
        outcome_series(p.index.difference(with_bids(data)), FlagOutcome.NOT_ENOUGH_DATA),
        outcome_series(p.index.difference(found["process_id"]), FlagOutcome.NOT_ENOUGH_DATA),
    )
    return Computed(fired=fired_frame(hit["process_id"], evidence), outcomes=outcomes)


INDICATOR = Indicator(
    code="R035",
    title="All except winning bid disqualified",
    definition="Of two or more submitted bids, every one but the winner's was disqualified.",
    why="A buyer can steer a contract to a chosen firm by disqualifying everyone else.",
    fields=("bids/details/status", "bids/details/tenderers", "awards/suppliers", "awards/status"),
    compute=compute,
    cardinal=True,
    settings_help={"minimum_bids": "submitted bids a process needs for the indicator to apply"},
)
