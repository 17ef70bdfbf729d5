"""What the bid-based indicators share: which bid won, and the bids each tenderer submitted.

Bids name their tenderers by name (`Bid.tenderers`, joined by "; "); a bid is the winner's when its tenderer's
name is the name of the active award's supplier (case and surrounding spaces ignored). Processes without
published bids are not enough data for every bid-based indicator.
"""

from __future__ import annotations

import pandas as pd

from portal.domain.redflags.data import FlagData

SUBMITTED = ("valid", "disqualified", "pending")  # bidStatus codes of a bid that was submitted and priced
SEPARATOR = "; "


def normalised(names: pd.Series) -> pd.Series:
    return names.fillna("").astype(str).str.strip().str.casefold()


def with_bids(data: FlagData) -> pd.Index:
    return data.once("with_bids", lambda: pd.Index(data.bids["process_id"].unique()))


def submitted_bids(data: FlagData) -> pd.DataFrame:
    """The submitted bids, with the tenderer's name as compared and whether one tenderer made the bid. Shared
    by the indicators: never modify the frame returned."""
    return data.once("submitted_bids", lambda: _submitted(data))


def _submitted(data: FlagData) -> pd.DataFrame:
    bids = data.bids[data.bids["status"].isin(SUBMITTED)].copy()
    bids["tenderer"] = normalised(bids["tenderers"])
    bids["single_tenderer"] = ~bids["tenderers"].fillna("").str.contains(SEPARATOR, regex=False)
    return bids


def winning_bids(data: FlagData) -> pd.DataFrame:
    """Shared by the indicators (never modify the frame returned): see `_winning`."""
    return data.once("winning_bids", lambda: _winning(data))


def _winning(data: FlagData) -> pd.DataFrame:
    """One row per process with exactly one active award made to one supplier, and that supplier's bid:
    process_id, winner (normalised name), and the bid's columns (NaN where no bid of the winner is found).
    Processes with a pending or invalid award are left out, as Cardinal does."""
    awards = data.awards
    unsure = awards[awards["status"].isin(("pending", "invalid"))]["process_id"].unique()
    active = awards[(awards["status"] == "active") & ~awards["process_id"].isin(unsure)]
    one_award = active[active.groupby("process_id")["award_row"].transform("size") == 1]
    suppliers = data.suppliers[data.suppliers["award_row"].isin(one_award["award_row"])]
    per_award = suppliers.groupby("award_row")["name"].agg(["count", "first"])
    single = per_award[per_award["count"] == 1]
    winners = one_award.merge(single["first"].rename("winner_name"), left_on="award_row", right_index=True)
    winners = winners[["process_id", "winner_name"]].copy()
    winners["winner"] = normalised(winners["winner_name"])
    bids = submitted_bids(data)
    found = winners.merge(bids, how="left", left_on=["process_id", "winner"], right_on=["process_id", "tenderer"])
    return found.drop_duplicates("process_id")
