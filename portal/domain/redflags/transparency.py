"""Key fields missing: a transparency score per process (and, on buyer pages, per buyer)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from portal.domain.redflags.base import Computed, Indicator, fired_frame, kept
from portal.domain.redflags.data import FlagData
from portal.domain.redflags.r018 import tenderer_counts

# Field (as OCDS names it) -> whether each process publishes it.
KEY_FIELDS = (
    "buyer",
    "tender/procurementMethod",
    "tender/tenderPeriod",
    "tender/value",
    "tender/numberOfTenderers",
    "awards/value",
    "awards/date",
    "awards/suppliers",
    "contracts/value",
    "contracts/dateSigned",
    "items/classification",
)


def presence(data: FlagData) -> pd.DataFrame:
    """One row per process, one boolean column per key field."""
    p = data.processes
    ids = p.index
    awards, contracts = data.awards, data.contracts

    def having(frame: pd.DataFrame, column: str) -> pd.Series:
        return pd.Series(ids.isin(frame[frame[column].notna()]["process_id"]), index=ids)

    counts, _ = tenderer_counts(data)
    return pd.DataFrame(
        {
            "buyer": p["buyer_party"].notna(),
            "tender/procurementMethod": p["method"].notna(),
            "tender/tenderPeriod": p["period_start"].notna() & p["period_end"].notna(),
            "tender/value": p["tender_units"].notna(),
            "tender/numberOfTenderers": counts.notna(),
            "awards/value": having(awards, "units"),
            "awards/date": having(awards, "date"),
            "awards/suppliers": pd.Series(ids.isin(data.suppliers["process_id"]), index=ids),
            "contracts/value": having(contracts, "units"),
            "contracts/dateSigned": having(contracts, "date_signed"),
            "items/classification": having(data.items, "classification"),
        },
        index=ids,
    )


def scores(data: FlagData) -> pd.Series:
    return presence(data).mean(axis=1)


def compute(data: FlagData, settings: dict[str, Any]) -> Computed:
    present = presence(data)
    score = present.mean(axis=1)
    mean = float(score.mean()) if len(score) else None
    processes = int(len(score))
    if data.fences is not None:  # some processes only: the data set's figures as last computed
        stored = kept(data, "TRANSPARENCY", "score") or {}
        mean, processes = stored.get("mean"), int(stored.get("processes") or 0)
    low = present[score < settings["score"]]
    fields = list(KEY_FIELDS)
    evidence = [
        {
            "score": round(float(score[i]), 4),
            "missing": [f for f, has in zip(fields, row, strict=True) if not has],
            "present": [f for f, has in zip(fields, row, strict=True) if has],
            "threshold": settings["score"],
            "peers": {"processes": processes, "mean_score": None if mean is None else round(mean, 4)},
        }
        for i, row in zip(low.index, low.itertuples(index=False), strict=True)
    ]
    return Computed(fired=fired_frame(low.index, evidence), fences={"score": {"mean": mean, "processes": processes}})


INDICATOR = Indicator(
    code="TRANSPARENCY",
    title="Key fields missing",
    definition="The transparency score, the share of these key fields a process publishes, is below the "
    "threshold: " + ", ".join(KEY_FIELDS) + ".",
    why="What is not published cannot be checked: missing fields hide who bought what, how and for how much.",
    fields=KEY_FIELDS,
    compute=compute,
    settings_help={"score": "the score (0 to 1) below which the flag fires"},
)
