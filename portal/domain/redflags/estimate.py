"""Award far from the tender's estimate."""

from __future__ import annotations

from typing import Any

from portal.domain.redflags.base import Computed, Indicator, combine_outcomes, fired_frame, money, outcome_series
from portal.domain.redflags.data import FlagData
from portal.vocabulary import FlagOutcome


def compute(data: FlagData, settings: dict[str, Any]) -> Computed:
    p = data.processes
    tenders = p[p["tender_units"].notna() & (p["tender_units"] > 0) & p["tender_currency"].notna()]
    awards = data.awards[
        (data.awards["status"].isna() | (data.awards["status"] == "active")) & data.awards["units"].notna()
    ]
    awarded = awards.groupby(["process_id", "currency"])["units"].sum().rename("awarded").reset_index()
    rows = tenders[["process_id", "tender_units", "tender_currency"]].merge(
        awarded, left_on=["process_id", "tender_currency"], right_on=["process_id", "currency"]
    )
    rows["ratio"] = rows["awarded"] / rows["tender_units"]
    far = rows[(rows["ratio"] < settings["low"]) | (rows["ratio"] > settings["high"])]
    evidence = [
        {
            "estimate": money(t, c),
            "awarded": money(a, c),
            "ratio": round(float(r), 4),
            "low": settings["low"],
            "high": settings["high"],
        }
        for t, a, c, r in zip(far["tender_units"], far["awarded"], far["tender_currency"], far["ratio"], strict=True)
    ]
    outcomes = combine_outcomes(outcome_series(p.index.difference(rows["process_id"]), FlagOutcome.NOT_ENOUGH_DATA))
    return Computed(fired=fired_frame(far["process_id"], evidence), outcomes=outcomes)


INDICATOR = Indicator(
    code="ESTIMATE",
    title="Award far from the estimate",
    definition="The sum of the process's active awards, in the tender's currency, is below half or above one and "
    "a half times the tender's estimated value (tender.value).",
    why="An award far above the estimate can be an inflated price; far below, an estimate inflated to justify "
    "the procedure, or a bid priced to be raised later.",
    fields=("tender/value", "awards/value", "awards/status"),
    compute=compute,
    settings_help={
        "low": "the lowest acceptable awarded / estimate",
        "high": "the highest acceptable awarded / estimate",
    },
)
