"""R003 short submission period: the tender period is shorter than the method's threshold."""

from __future__ import annotations

from typing import Any

import pandas as pd

from portal.domain.redflags.base import Computed, Indicator, combine_outcomes, fired_frame, outcome_series
from portal.domain.redflags.data import FlagData
from portal.vocabulary import FlagOutcome


def compute(data: FlagData, settings: dict[str, Any]) -> Computed:
    p = data.processes
    days: dict[str, float] = settings["days"]
    minimum = p["method"].map(days)
    no_method = p["method"].isna()
    not_applicable = ~no_method & minimum.isna()
    no_period = p["period_start"].isna() | p["period_end"].isna()
    length = (p["period_end"] - p["period_start"]) / pd.Timedelta(days=1)
    measured = ~no_method & ~not_applicable & ~no_period
    fired = p[measured & (length < minimum)]
    evidence = [
        {
            "method": method,
            "tender_period": {"start": start.isoformat(), "end": end.isoformat()},
            "days": round(float(n), 2),
            "threshold_days": float(limit),
        }
        for method, start, end, n, limit in zip(
            fired["method"],
            fired["period_start"],
            fired["period_end"],
            length[fired.index],
            minimum[fired.index],
            strict=True,
        )
    ]
    outcomes = combine_outcomes(
        outcome_series(p.index[no_method], FlagOutcome.NOT_ENOUGH_DATA),
        outcome_series(p.index[not_applicable], FlagOutcome.NOT_APPLICABLE),
        outcome_series(p.index[no_period], FlagOutcome.NOT_ENOUGH_DATA),
    )
    return Computed(fired=fired_frame(fired.index, evidence), outcomes=outcomes)


INDICATOR = Indicator(
    code="R003",
    title="Short submission period",
    definition="The tender period (from tenderPeriod.startDate to tenderPeriod.endDate, in days) is shorter than "
    "the threshold for the procurement method. Methods without a threshold are not applicable.",
    why="A short period leaves less time to prepare a bid, which favours firms that knew of the tender in advance.",
    fields=("tender/procurementMethod", "tender/tenderPeriod/startDate", "tender/tenderPeriod/endDate"),
    compute=compute,
    cardinal=True,
    settings_help={"days": "shortest acceptable tender period in days, per procurement method"},
)
