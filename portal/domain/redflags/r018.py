"""R018 single bid in a competitive procedure: one tenderer in an open or selective procedure."""

from __future__ import annotations

from typing import Any

import pandas as pd

from portal.domain.redflags.base import Computed, Indicator, combine_outcomes, fired_frame, outcome_series
from portal.domain.redflags.data import FlagData
from portal.vocabulary import FlagOutcome

SUBMITTED = ("valid", "disqualified", "pending")
# Where the count is read first: the derived tender row counts tender/tenderers when numberOfTenderers is absent.
PUBLISHED_COUNT = "tender/numberOfTenderers, else the number of tender/tenderers"


def tenderer_counts(data: FlagData) -> tuple[pd.Series, pd.Series]:
    """How many tenderers each process had, and where the number was read: `numberOfTenderers` as published,
    else the parties named as tenderers, else the bids submitted."""
    p = data.processes
    bids = data.bids[data.bids["status"].isna() | data.bids["status"].isin(SUBMITTED)]
    bid_counts = bids.groupby("process_id")["tenderers"].nunique()
    counts = pd.to_numeric(p["number_of_tenderers"], errors="coerce")
    source = pd.Series(PUBLISHED_COUNT, index=p.index).where(counts.notna())
    parties = data.tenderers.reindex(p.index)
    use_parties = counts.isna() & parties.notna()
    counts, source = counts.where(~use_parties, parties), source.where(~use_parties, "parties (role tenderer)")
    from_bids = bid_counts.reindex(p.index)
    use_bids = counts.isna() & from_bids.notna()
    counts, source = counts.where(~use_bids, from_bids), source.where(~use_bids, "bids/details")
    return counts, source


def compute(data: FlagData, settings: dict[str, Any]) -> Computed:
    p = data.processes
    counts, source = tenderer_counts(data)
    no_method = p["method"].isna()
    not_applicable = ~no_method & ~p["method"].isin(settings["methods"])
    unknown = counts.isna()
    fired = p[~no_method & ~not_applicable & (counts == 1)]
    evidence = [
        {"method": m, "tenderers": 1, "read_from": s} for m, s in zip(fired["method"], source[fired.index], strict=True)
    ]
    outcomes = combine_outcomes(
        outcome_series(p.index[no_method], FlagOutcome.NOT_ENOUGH_DATA),
        outcome_series(p.index[not_applicable], FlagOutcome.NOT_APPLICABLE),
        outcome_series(p.index[unknown], FlagOutcome.NOT_ENOUGH_DATA),
    )
    return Computed(fired=fired_frame(fired.index, evidence), outcomes=outcomes)


INDICATOR = Indicator(
    code="R018",
    title="Single bid in a competitive procedure",
    definition="An open or selective procedure received one bid. The number of tenderers is read from "
    "tender.numberOfTenderers, else from the parties named in tender.tenderers, else from the bids submitted.",
    why="Competition was expected and did not happen: the tender may have been tailored to one firm or hidden "
    "from others.",
    fields=("tender/procurementMethod", "tender/numberOfTenderers", "tender/tenderers", "bids/details"),
    compute=compute,
    cardinal=True,
    settings_help={"methods": "the procurement methods in which a single bid is a red flag"},
)
