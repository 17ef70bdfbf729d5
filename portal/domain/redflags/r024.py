"""R024 price close to winning bid, and what R058 shares with it: the difference between the winning bid and
the second-lowest valid bid, as Cardinal defines it."""

from __future__ import annotations

from typing import Any

import pandas as pd

from portal.domain.redflags.base import (
    Computed,
    Indicator,
    combine_outcomes,
    fence_of,
    fired_frame,
    money,
    outcome_series,
)
from portal.domain.redflags.bids import submitted_bids, winning_bids, with_bids
from portal.domain.redflags.data import FlagData
from portal.vocabulary import FlagOutcome


def differences(data: FlagData) -> pd.DataFrame:
    """Per process: the winning bid, the second-lowest valid bid and (second - winning) / winning. Left out, as
    Cardinal does: a pending or invalid award, several active awards, an award to several suppliers, a bid by
    several tenderers, a winning bid that is not the lowest valid one."""
    bids = submitted_bids(data)
    valid = bids[(bids["status"] == "valid") & bids["units"].notna()]
    several = valid[~valid["single_tenderer"]]["process_id"].unique()
    valid = valid[~valid["process_id"].isin(several)]
    winners = winning_bids(data)
    winners = winners[(winners["status"] == "valid") & winners["units"].notna() & (winners["units"] > 0)]
    rows = winners[["process_id", "winner_name", "bid_id", "units", "currency"]].rename(
        columns={"bid_id": "winning_bid", "units": "winning", "currency": "win_currency"}
    )
    rows = rows[~rows["process_id"].isin(several)]
    others = valid.merge(rows, on="process_id")
    others = others[(others["currency"] == others["win_currency"]) & (others["bid_id"] != others["winning_bid"])]
    # The winning bid must be the lowest: a lower valid bid than the winner's leaves the process out.
    lower = others[others["units"] < others["winning"]]["process_id"].unique()
    others = others[~others["process_id"].isin(lower)]
    second = others.sort_values("units", kind="stable").drop_duplicates("process_id")
    found = rows.merge(
        second[["process_id", "units", "bid_id", "tenderers"]].rename(
            columns={"units": "second", "bid_id": "second_bid", "tenderers": "second_tenderer"}
        ),
        on="process_id",
    )
    found["difference"] = (found["second"] - found["winning"]) / found["winning"]
    return found.set_index("process_id", drop=False)


def outlier(data: FlagData, settings: dict[str, Any], *, side: str, code: str) -> Computed:
    found = data.once("bid_differences", lambda: differences(data))
    fence = fence_of(
        data,
        code,
        "difference",
        found["difference"],
        minimum=settings["minimum_processes"],
        configured=settings["fence"],
        side=side,
    )
    p = data.processes
    bids = with_bids(data)
    missing = outcome_series(p.index.difference(bids), FlagOutcome.NOT_ENOUGH_DATA)
    excluded = outcome_series(bids.difference(found.index).intersection(p.index), FlagOutcome.NOT_APPLICABLE)
    if fence is None:
        return Computed(
            outcomes=combine_outcomes(missing, excluded, outcome_series(found.index, FlagOutcome.NOT_ENOUGH_DATA))
        )
    bound = fence.lower if side == "lower" else fence.upper
    # At the fence, as Cardinal says, and beyond the quartile: with no spread (IQR 0) nothing is an outlier.
    if side == "lower":
        hit = found[(found["difference"] <= bound) & (found["difference"] < fence.q1)]
    else:
        hit = found[(found["difference"] >= bound) & (found["difference"] > fence.q3)]
    evidence = [
        {
            "winning_bid": {"id": w_id, "tenderer": name, "value": money(w, c)},
            "second_lowest_valid_bid": {"id": s_id, "tenderer": s_name, "value": money(s, c)},
            "difference": round(float(d), 6),
            "fence": {"side": side, "value": round(bound, 6), **fence.as_json()},
            "peers": {"processes_compared": fence.count},
        }
        for w_id, name, w, c, s_id, s_name, s, d in zip(
            hit["winning_bid"],
            hit["winner_name"],
            hit["winning"],
            hit["win_currency"],
            hit["second_bid"],
            hit["second_tenderer"],
            hit["second"],
            hit["difference"],
            strict=True,
        )
    ]
    return Computed(
        fired=fired_frame(hit["process_id"], evidence),
        outcomes=combine_outcomes(missing, excluded),
        fences={"difference": fence.as_json()},
    )


def compute(data: FlagData, settings: dict[str, Any]) -> Computed:
    return outlier(data, settings, side="lower", code="R024")


INDICATOR = Indicator(
    code="R024",
    title="Price close to winning bid",
    definition="The difference (second-lowest valid bid - winning bid) / winning bid is at or below the lower "
    "Tukey fence (Q1 - 1.5 IQR) of that difference over every process of the data set where it can be computed, "
    "and below Q1.",
    why="A colluding bidder can mimic competition with a bid just above its partner's.",
    fields=("bids/details/value", "bids/details/status", "bids/details/tenderers", "awards/suppliers", "awards/status"),
    compute=compute,
    cardinal=True,
    settings_help={
        "fence": '"computed", or a decimal replacing the lower fence',
        "minimum_processes": "fewer processes with a difference: no fence, not enough data",
    },
)
