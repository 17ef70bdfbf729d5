"""R028 identical bid prices: bids by different tenderers with the same price."""

from __future__ import annotations

from typing import Any

from portal.domain.redflags.base import Computed, Indicator, combine_outcomes, fired_frame, money, outcome_series
from portal.domain.redflags.bids import normalised, with_bids
from portal.domain.redflags.data import FlagData
from portal.vocabulary import FlagOutcome


def compute(data: FlagData, settings: dict[str, Any]) -> Computed:
    p = data.processes
    bids = data.bids[data.bids["status"].isin(settings["statuses"]) & data.bids["units"].notna()].copy()
    bids["tenderer"] = normalised(bids["tenderers"])
    same = bids.groupby(["process_id", "units", "currency"], dropna=False)["tenderer"].transform("nunique")
    identical = bids[same > 1]
    evidence = []
    fired_ids = []
    for process_id, group in identical.groupby("process_id", sort=True):
        first = group.iloc[0]
        evidence.append(
            {
                "value": money(first["units"], first["currency"]),
                "bids": [{"id": b, "tenderer": t} for b, t in zip(group["bid_id"], group["tenderers"], strict=True)],
            }
        )
        fired_ids.append(process_id)
    priced = bids["process_id"].unique()
    outcomes = combine_outcomes(
        outcome_series(p.index.difference(with_bids(data)), FlagOutcome.NOT_ENOUGH_DATA),
        outcome_series(with_bids(data).difference(priced).intersection(p.index), FlagOutcome.NOT_ENOUGH_DATA),
    )
    return Computed(fired=fired_frame(fired_ids, evidence), outcomes=outcomes)


INDICATOR = Indicator(
    code="R028",
    title="Identical bid prices",
    definition="Two or more tenderers submitted bids with exactly the same price (and currency).",
    why="Identical prices from independent firms are unlikely; they can betray bids prepared together.",
    fields=("bids/details/value", "bids/details/tenderers", "bids/details/status"),
    compute=compute,
    cardinal=True,
    settings_help={"statuses": "the bid statuses that count as submitted and priced"},
)
