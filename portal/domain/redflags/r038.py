"""R038 excessive disqualified bids, per buyer and per tenderer."""

from __future__ import annotations

from typing import Any

import pandas as pd

from portal.domain.redflags.base import Computed, Indicator, combine_outcomes, fence_of, fired_frame, outcome_series
from portal.domain.redflags.bids import submitted_bids, with_bids
from portal.domain.redflags.data import FlagData
from portal.vocabulary import FlagOutcome


def buyer_key(processes: pd.DataFrame) -> pd.Series:
    """The buyer's entity, else its party (a party not yet resolved), as one comparable key."""
    entity = processes["buyer"].astype("Int64").astype(str).radd("entity:")
    party = processes["buyer_party"].astype("Int64").astype(str).radd("party:")
    key = entity.where(processes["buyer"].notna(), party)
    return key.where(processes["buyer"].notna() | processes["buyer_party"].notna())


def compute(data: FlagData, settings: dict[str, Any]) -> Computed:
    p = data.processes
    bids = submitted_bids(data)
    bids = bids[bids["process_id"].isin(p.index)].copy()
    bids["buyer"] = buyer_key(p).reindex(bids["process_id"]).to_numpy()
    bids["disqualified"] = bids["status"] == "disqualified"
    fences: dict[str, Any] = {}
    evidence: dict[int, dict[str, Any]] = {}

    by_buyer = (
        bids.dropna(subset=["buyer"])
        .groupby("buyer")
        .agg(
            submitted=("disqualified", "size"),
            disqualified=("disqualified", "sum"),
            processes=("process_id", "nunique"),
        )
    )
    by_buyer = by_buyer[by_buyer["processes"] >= settings["minimum_processes"]]
    by_buyer["ratio"] = by_buyer["disqualified"] / by_buyer["submitted"]
    fence = fence_of(data, "R038", "buyer_ratio", by_buyer["ratio"], minimum=2, configured=settings["fence"])
    if fence is not None:
        fences["buyer_ratio"] = buyer_fence = fence.as_json()
        flagged = by_buyer[(by_buyer["ratio"] >= fence.upper) & (by_buyer["ratio"] > 0)]
        hit = bids[bids["disqualified"] & bids["buyer"].isin(flagged.index)].drop_duplicates("process_id")
        for process_id, buyer in zip(hit["process_id"], hit["buyer"], strict=True):
            row = flagged.loc[buyer]
            evidence.setdefault(int(process_id), {})["buyer"] = {
                "ratio": round(float(row["ratio"]), 4),
                "disqualified": int(row["disqualified"]),
                "submitted": int(row["submitted"]),
                "fence": buyer_fence,
                "peers": {"buyers_compared": fence.count},
            }

    by_tenderer = (
        bids[bids["single_tenderer"] & (bids["tenderer"] != "")]
        .groupby("tenderer")
        .agg(submitted=("disqualified", "size"), disqualified=("disqualified", "sum"), name=("tenderers", "first"))
    )
    by_tenderer = by_tenderer[by_tenderer["submitted"] >= settings["minimum_submitted_bids"]]
    by_tenderer["ratio"] = by_tenderer["disqualified"] / by_tenderer["submitted"]
    fence = fence_of(data, "R038", "tenderer_ratio", by_tenderer["ratio"], minimum=2, configured=settings["fence"])
    if fence is not None:
        fences["tenderer_ratio"] = tenderer_fence = fence.as_json()
        flagged = by_tenderer[(by_tenderer["ratio"] >= fence.upper) & (by_tenderer["ratio"] > 0)]
        hit = bids[bids["disqualified"] & bids["tenderer"].isin(flagged.index)]
        for process_id, tenderer in zip(hit["process_id"], hit["tenderer"], strict=True):
            row = flagged.loc[tenderer]
            evidence.setdefault(int(process_id), {}).setdefault("tenderers", []).append(
                {
                    "tenderer": row["name"],
                    "ratio": round(float(row["ratio"]), 4),
                    "disqualified": int(row["disqualified"]),
                    "submitted": int(row["submitted"]),
                    "fence": tenderer_fence,
                    "peers": {"tenderers_compared": fence.count},
                }
            )
    outcomes = outcome_series(p.index.difference(with_bids(data)), FlagOutcome.NOT_ENOUGH_DATA)
    if not fences:
        outcomes = combine_outcomes(outcomes, outcome_series(p.index, FlagOutcome.NOT_ENOUGH_DATA))
    ids = sorted(evidence)
    return Computed(fired=fired_frame(ids, [evidence[i] for i in ids]), outcomes=outcomes, fences=fences)


INDICATOR = Indicator(
    code="R038",
    title="Excessive disqualified bids",
    definition="The share of submitted bids that were disqualified, per buyer and per tenderer over the whole "
    "data set, is at or above the upper Tukey fence (Q3 + 1.5 IQR) of that share among buyers (or tenderers); "
    "the flag marks each of their processes with a disqualified bid. A share of 0 never fires.",
    why="A buyer can award chosen firms by disqualifying others; a firm can mimic competition with bids meant "
    "to be disqualified.",
    fields=("bids/details/status", "bids/details/tenderers", "buyer"),
    compute=compute,
    cardinal=True,
    level="buyer and tenderer",
    settings_help={
        "fence": '"computed", or a decimal replacing the upper fence',
        "minimum_submitted_bids": "a tenderer with fewer submitted bids is left out",
        "minimum_processes": "a buyer with fewer processes with bids is left out",
    },
)
