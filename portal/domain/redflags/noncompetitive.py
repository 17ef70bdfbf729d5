"""Non-competitive share per buyer: a buyer awarding most of its processes by direct or limited procedure."""

from __future__ import annotations

from typing import Any

import pandas as pd

from portal.domain.redflags.base import Computed, Indicator, combine_outcomes, fired_frame, kept, outcome_series
from portal.domain.redflags.data import FlagData
from portal.domain.vendor_figures import methods_of, wins_of
from portal.vocabulary import FlagOutcome


def buyer_shares(data: FlagData, methods: list[str]) -> pd.DataFrame:
    """Per buyer entity: processes awarded and those by a non-competitive method, as the vendor figures count
    a buyer's `processes` and `methods`."""
    awards = data.buyer_awards
    wins = wins_of(awards[awards["first"]].dropna(subset=["vendor_id"]))
    by_method = methods_of(wins).rename("wins").reset_index()
    processes = wins.groupby("vendor_id").size().rename("processes")
    noncompetitive = by_method[by_method["method"].isin(methods)].groupby("vendor_id")["wins"].sum()
    shares = pd.DataFrame({"processes": processes})
    shares["noncompetitive"] = noncompetitive.reindex(shares.index).fillna(0).astype("int64")
    shares["name"] = [data.names.get(int(b), "") for b in shares.index]
    shares.index = shares.index.astype("int64")
    shares["share"] = shares["noncompetitive"] / shares["processes"]
    return shares


def compute(data: FlagData, settings: dict[str, Any]) -> Computed:
    p = data.processes
    shares = buyer_shares(data, settings["methods"])
    enough = shares[shares["processes"] >= settings["minimum_processes"]]
    median = float(enough["share"].median()) if len(enough) else None
    compared = len(enough)
    if data.fences is not None:  # some processes only: the data set's figures as last computed
        stored = kept(data, "NONCOMPETITIVE", "buyers") or {}
        median, compared = stored.get("median_share"), int(stored.get("compared") or 0)
    flagged = enough[enough["share"] >= settings["share"]]
    hit = p[p["buyer"].isin(flagged.index) & p["method"].isin(settings["methods"])]
    evidence = [
        {
            "buyer": {"entity": int(b), "name": flagged.loc[b, "name"]},
            "method": m,
            "share": round(float(flagged.loc[b, "share"]), 4),
            "noncompetitive": int(flagged.loc[b, "noncompetitive"]),
            "processes": int(flagged.loc[b, "processes"]),
            "threshold": settings["share"],
            "peers": {"buyers_compared": compared, "median_share": None if median is None else round(median, 4)},
        }
        for b, m in zip(hit["buyer"], hit["method"], strict=True)
    ]
    return Computed(
        fired=fired_frame(hit.index, evidence),
        outcomes=_outcomes(p, enough),
        fences={"buyers": {"compared": compared, "median_share": median}},
    )


def _outcomes(p: pd.DataFrame, enough: pd.DataFrame) -> pd.Series:
    return combine_outcomes(
        outcome_series(p.index[p["buyer"].isna() | p["method"].isna()], FlagOutcome.NOT_ENOUGH_DATA),
        outcome_series(p.index[~p["buyer"].isin(enough.index)], FlagOutcome.NOT_ENOUGH_DATA),
    )


INDICATOR = Indicator(
    code="NONCOMPETITIVE",
    title="Non-competitive awards are most of a buyer's",
    definition="The buyer's share of processes won by direct or limited procedure (from the vendor figures of "
    "buyers) is at or above the threshold, over enough processes; the flag marks its non-competitive processes.",
    why="Direct and limited procedures need a justification; a buyer using them for most of its purchases avoids "
    "competition as a rule.",
    fields=("buyer", "tender/procurementMethod", "awards"),
    compute=compute,
    level="buyer",
    settings_help={
        "methods": "the procurement methods counted as non-competitive",
        "share": "the share of a buyer's processes at or above which it is flagged",
        "minimum_processes": "a buyer with fewer processes is not enough data",
    },
)
