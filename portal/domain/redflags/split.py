"""Split purchases: several awards to one supplier by one buyer for one category within a short window, each
under the threshold, together over it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from portal.domain.ocds import to_units
from portal.domain.redflags.awards import counted_awards
from portal.domain.redflags.base import Computed, Indicator, combine_outcomes, fired_frame, money, outcome_series, peers
from portal.domain.redflags.data import FlagData
from portal.vocabulary import FlagOutcome


def compute(data: FlagData, settings: dict[str, Any]) -> Computed:
    p = data.processes
    rows = counted_awards(data)
    limits = {str(c).upper(): to_units(Decimal(str(v))) for c, v in settings["thresholds"].items()}
    priced = rows[rows["units"].notna() & rows["date"].notna() & rows["currency"].notna()].copy()
    priced["limit"] = priced["currency"].str.upper().map(limits)
    known = priced[priced["limit"].notna()]
    small = known[known["units"] < known["limit"]].sort_values(
        ["buyer_key", "supplier_key", "category", "currency", "date"], kind="stable"
    )
    ids, evidence = _windows(small, settings)
    fired = fired_frame(ids, evidence).drop_duplicates("process_id")
    outcomes = combine_outcomes(
        outcome_series(p.index.difference(rows["process_id"]), FlagOutcome.NOT_ENOUGH_DATA),
        outcome_series(
            pd.Index(rows["process_id"].unique()).difference(known["process_id"]), FlagOutcome.NOT_ENOUGH_DATA
        ),
    )
    return Computed(fired=fired, outcomes=outcomes)


def _windows(small: pd.DataFrame, settings: dict[str, Any]) -> tuple[list[int], list[dict[str, Any]]]:
    """For each award, the window of `days` from it within its (buyer, supplier, category, currency): the awards
    in it, their total. A window with enough awards and a total at or above the threshold marks every award in
    it; each is shown with the latest such window starting at or before it (which covers it: windows of sorted
    dates end no earlier than the ones before). Arrays, not a loop over groups: one pass at a million awards."""
    if small.empty:
        return [], []
    small = small.reset_index(drop=True)
    keys = ["buyer_key", "supplier_key", "category", "currency"]
    group = small.groupby(keys, sort=False).ngroup().to_numpy().astype("float64")
    days = ((small["date"] - small["date"].min()) / pd.Timedelta(days=1)).to_numpy()
    # Rows are sorted by group then date: one sorted number per row, groups apart by more than any span.
    position = group * 1e7 + days
    end = np.searchsorted(position, position + settings["days"], side="right")
    units = small["units"].to_numpy().astype("int64")
    running = np.concatenate([[0], np.cumsum(units)])
    index = np.arange(len(small))
    count = end - index
    total = running[end] - running[index]
    limit = small["limit"].to_numpy().astype("int64")
    qualifies = (count >= settings["minimum_awards"]) & (total >= limit)
    if not qualifies.any():
        return [], []
    change = np.zeros(len(small) + 1, dtype="int64")
    np.add.at(change, index[qualifies], 1)
    np.add.at(change, end[qualifies], -1)
    member = np.cumsum(change)[:-1] > 0
    start = pd.Series(np.where(qualifies, index, np.nan)).ffill().to_numpy()
    ocids, dates = small["ocid"].to_numpy(), small["date"]
    ids, evidence = [], []
    for k in index[member]:
        j = int(start[k])
        last = int(end[j]) - 1
        row = small.iloc[j]
        ids.append(int(small.at[k, "process_id"]))
        evidence.append(
            {
                "buyer": row["buyer_name"],
                "supplier": row["name"],
                "category": row["category"] or None,
                "awards": int(count[j]),
                "total": money(int(total[j]), row["currency"]),
                "threshold": money(int(limit[j]), row["currency"]),
                "from": dates.iloc[j].isoformat(),
                "to": dates.iloc[last].isoformat(),
                "window_days": settings["days"],
                "peers": peers(pd.unique(ocids[j : last + 1])),
            }
        )
    return ids, evidence


INDICATOR = Indicator(
    code="SPLIT",
    title="Split purchases",
    definition="Two or more awards to one supplier by one buyer for one category (tender.mainProcurementCategory), "
    "within the window (30 days from the first), each under the currency's threshold and together at or above "
    "it. A currency without a threshold is not enough data.",
    why="Splitting a purchase into pieces under the threshold avoids the competition the whole would need.",
    fields=("buyer", "awards/suppliers", "awards/value", "awards/date", "tender/mainProcurementCategory"),
    compute=compute,
    level="buyer and supplier",
    settings_help={
        "days": "the window, in days from the first award",
        "minimum_awards": "awards that make a split",
        "thresholds": "the competition threshold per currency",
    },
)
