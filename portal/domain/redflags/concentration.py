"""Supplier concentration: one supplier taking most of a buyer's awarded value."""

from __future__ import annotations

from typing import Any

import pandas as pd

from portal.domain.redflags.base import Computed, Indicator, combine_outcomes, fired_frame, outcome_series
from portal.domain.redflags.data import FlagData
from portal.domain.vendor_figures import concentration_of
from portal.vocabulary import FlagOutcome


def compute(data: FlagData, settings: dict[str, Any]) -> Computed:
    p = data.processes
    awards = data.supplier_awards
    awards = awards[awards["counterpart"].notna()]
    counted = awards[awards["first"] & awards["counted"] & awards["units"].notna() & (awards["currency"] != "")]
    sizes = counted.groupby(["counterpart", "currency"]).size()
    large = sizes[sizes >= settings["minimum_awards"]].reset_index()["counterpart"].unique()
    evidence: dict[int, list[dict[str, Any]]] = {}
    for buyer, mine in awards[awards["counterpart"].isin(large)].groupby("counterpart", sort=True):
        for c in concentration_of(mine, data.names):
            if int(sizes.get((buyer, c.currency), 0)) < settings["minimum_awards"]:
                continue
            for share in c.shares:
                if share.share < settings["share"]:
                    break
                won = mine[(mine["vendor_id"] == share.vendor_id) & (mine["currency"] == c.currency)]
                for process_id in won["process_id"].unique():
                    evidence.setdefault(int(process_id), []).append(
                        {
                            "buyer": {"entity": int(buyer), "name": data.names.get(int(buyer), "")},
                            "supplier": {"entity": share.vendor_id, "name": share.name},
                            "currency": c.currency,
                            "share": round(share.share, 4),
                            "supplier_awarded": str(share.awarded),
                            "buyer_total": str(c.total),
                            "hhi": c.hhi,
                            "threshold": settings["share"],
                            "peers": {"suppliers_of_buyer": c.vendors},
                        }
                    )
    ids = sorted(i for i in evidence if i in p.index)
    judged = pd.Index(awards[awards["counterpart"].isin(large)]["process_id"].unique())
    outcomes = combine_outcomes(outcome_series(p.index.difference(judged), FlagOutcome.NOT_ENOUGH_DATA))
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
