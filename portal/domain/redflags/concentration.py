"""Supplier concentration: one supplier taking most of a buyer's awarded value."""

from __future__ import annotations

from typing import Any

import pandas as pd

from portal.domain.ocds import from_units
from portal.domain.redflags.base import Computed, Indicator, combine_outcomes, fired_frame, outcome_series
from portal.domain.redflags.data import FlagData
from portal.domain.vendor_figures import shares_by_scope
from portal.vocabulary import FlagOutcome


def compute(data: FlagData, settings: dict[str, Any]) -> Computed:
    p = data.processes
    awards = data.supplier_awards
    shares = shares_by_scope(awards, "counterpart")
    judged = shares[shares["awards"] >= settings["minimum_awards"]]
    high = judged[judged["share"] >= settings["share"]]
    won = awards[["vendor_id", "counterpart", "currency", "process_id"]].drop_duplicates()
    hit = high.merge(won, on=["vendor_id", "counterpart", "currency"])
    evidence: dict[int, list[dict[str, Any]]] = {}
    for row in hit.itertuples(index=False):
        evidence.setdefault(int(row.process_id), []).append(
            {
                "buyer": {"entity": int(row.counterpart), "name": data.names.get(int(row.counterpart), "")},
                "supplier": {"entity": int(row.vendor_id), "name": data.names.get(int(row.vendor_id), "")},
                "currency": row.currency,
                "share": round(float(row.share), 4),
                "supplier_awarded": str(from_units(int(row.units))),
                "buyer_total": str(from_units(int(row.total))),
                "hhi": int(row.hhi),
                "threshold": settings["share"],
                "peers": {"suppliers_of_buyer": int(row.vendors)},
            }
        )
    ids = sorted(i for i in evidence if i in p.index)
    scoped = awards[awards["counterpart"].isin(judged["counterpart"].unique())]["process_id"].unique()
    outcomes = combine_outcomes(outcome_series(p.index.difference(pd.Index(scoped)), FlagOutcome.NOT_ENOUGH_DATA))
    return Computed(fired=fired_frame(ids, [{"concentration": evidence[i]} for i in ids]), outcomes=outcomes)


INDICATOR = Indicator(
    code="CONCENTRATION",
    title="Supplier concentration",
    definition="A supplier's share of one buyer's awarded value in a currency (the vendor figures' market shares) "
    "is at or above the threshold, where the buyer made enough awards in that currency; the flag marks the "
    "processes of that buyer the supplier won.",
    why="A buyer spending most of its money with one firm may be captured by it.",
    fields=("buyer", "awards/suppliers", "awards/value", "awards/status"),
    compute=compute,
    level="buyer and supplier",
    settings_help={
        "share": "the share at or above which the flag fires",
        "minimum_awards": "a buyer with fewer awards in the currency is not enough data",
    },
)
