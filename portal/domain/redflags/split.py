"""Split purchases: several awards to one supplier by one buyer for one category within a short window, each
under the threshold, together over it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

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
    window = pd.Timedelta(days=settings["days"])
    ids, evidence = [], []
    keys = ["buyer_key", "supplier_key", "category", "currency"]
    sizes = small.groupby(keys)["units"].transform("size")
    for _, group in small[sizes >= settings["minimum_awards"]].groupby(keys, sort=False):
        dates, units = group["date"].tolist(), group["units"].tolist()
        start = 0
        while start < len(group):
            end = start
            while end + 1 < len(group) and dates[end + 1] - dates[start] <= window:
                end += 1
            cluster = group.iloc[start : end + 1]
            total = int(sum(units[start : end + 1]))
            if len(cluster) >= settings["minimum_awards"] and total >= int(cluster["limit"].iloc[0]):
                first = cluster.iloc[0]
                for process_id in cluster["process_id"].unique():
                    ids.append(process_id)
                    evidence.append(
                        {
                            "buyer": first["buyer_name"],
                            "supplier": first["name"],
                            "category": first["category"] or None,
                            "awards": len(cluster),
                            "total": money(total, first["currency"]),
                            "threshold": money(int(first["limit"]), first["currency"]),
                            "from": dates[start].isoformat(),
                            "to": dates[end].isoformat(),
                            "window_days": settings["days"],
                            "peers": peers(cluster["ocid"].unique()),
                        }
                    )
                start = end + 1
            else:
                start += 1
    fired = fired_frame(ids, evidence).drop_duplicates("process_id")
    outcomes = combine_outcomes(
        outcome_series(p.index.difference(rows["process_id"]), FlagOutcome.NOT_ENOUGH_DATA),
        outcome_series(
            pd.Index(rows["process_id"].unique()).difference(known["process_id"]), FlagOutcome.NOT_ENOUGH_DATA
        ),
    )
    return Computed(fired=fired, outcomes=outcomes)


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
