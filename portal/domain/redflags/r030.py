"""R030 late bid won: the winning bid was received after the tender period ended."""

from __future__ import annotations

from typing import Any

from portal.domain.redflags.base import Computed, Indicator, combine_outcomes, fired_frame, outcome_series
from portal.domain.redflags.bids import winning_bids, with_bids
from portal.domain.redflags.data import FlagData
from portal.vocabulary import FlagOutcome


def compute(data: FlagData, settings: dict[str, Any]) -> Computed:
    p = data.processes
    winners = winning_bids(data).set_index("process_id", drop=False)
    winners = winners[winners.index.isin(p.index)]
    end = p["period_end"].reindex(winners.index)
    known = winners["date"].notna() & end.notna()
    late = winners[known & (winners["date"] > end)]
    evidence = [
        {"winning_bid": {"id": b, "tenderer": t, "date": d.isoformat()}, "tender_period_end": e.isoformat()}
        for b, t, d, e in zip(late["bid_id"], late["winner_name"], late["date"], end[late.index], strict=True)
    ]
    outcomes = combine_outcomes(
        outcome_series(p.index.difference(with_bids(data)), FlagOutcome.NOT_ENOUGH_DATA),
        outcome_series(p.index.difference(winners.index[known]), FlagOutcome.NOT_ENOUGH_DATA),
    )
    return Computed(fired=fired_frame(late.index, evidence), outcomes=outcomes)


INDICATOR = Indicator(
    code="R030",
    title="Late bid won",
    definition="The winning bid's date is after tender.tenderPeriod.endDate.",
    why="Accepting a bid after the deadline can let one firm bid knowing the others' prices.",
    fields=("bids/details/date", "bids/details/tenderers", "tender/tenderPeriod/endDate", "awards/suppliers"),
    compute=compute,
    cardinal=True,
)
