"""Repeat direct awards: the same buyer directly awarding the same supplier again within a year."""

from __future__ import annotations

from typing import Any

import pandas as pd

from portal.domain.redflags.awards import counted_awards
from portal.domain.redflags.base import Computed, Indicator, combine_outcomes, fired_frame, outcome_series, peers
from portal.domain.redflags.data import FlagData
from portal.vocabulary import FlagOutcome


def compute(data: FlagData, settings: dict[str, Any]) -> Computed:
    p = data.processes
    rows = counted_awards(data)
    direct = rows[rows["method"].isin(settings["methods"]) & rows["date"].notna()]
    direct = direct.sort_values(["buyer_key", "supplier_key", "date"], kind="stable")
    window = pd.Timedelta(days=settings["days"])
    same = (direct["buyer_key"] == direct["buyer_key"].shift()) & (
        direct["supplier_key"] == direct["supplier_key"].shift()
    )
    close_before = same & ((direct["date"] - direct["date"].shift()) <= window)
    same_next = (direct["buyer_key"] == direct["buyer_key"].shift(-1)) & (
        direct["supplier_key"] == direct["supplier_key"].shift(-1)
    )
    close_after = same_next & ((direct["date"].shift(-1) - direct["date"]) <= window)
    repeated = direct[close_before | close_after]
    # A chain: the direct awards of one buyer to one supplier, each within the window of the next.
    chain = (~close_before).cumsum()[close_before | close_after]
    repeated = repeated.assign(chain=chain.to_numpy())
    members = repeated.groupby("chain")["ocid"].agg(lambda o: sorted(set(o)))
    evidence = [
        {
            "buyer": buyer_name,
            "supplier": name,
            "award_date": date.isoformat(),
            "window_days": settings["days"],
            "peers": peers([o for o in members[c] if o != ocid]),
        }
        for ocid, buyer_name, name, date, c in zip(
            repeated["ocid"], repeated["buyer_name"], repeated["name"], repeated["date"], repeated["chain"], strict=True
        )
    ]
    ids = repeated["process_id"].tolist()
    fired = fired_frame(ids, evidence).drop_duplicates("process_id")
    undated = rows[rows["date"].isna()]["process_id"]
    outcomes = combine_outcomes(
        outcome_series(p.index[p["method"].isna()], FlagOutcome.NOT_ENOUGH_DATA),
        outcome_series(
            p.index[p["method"].notna() & ~p["method"].isin(settings["methods"])], FlagOutcome.NOT_APPLICABLE
        ),
        outcome_series(p.index.difference(rows["process_id"]), FlagOutcome.NOT_ENOUGH_DATA),
        outcome_series(pd.Index(undated.unique()).difference(direct["process_id"]), FlagOutcome.NOT_ENOUGH_DATA),
    )
    return Computed(fired=fired, outcomes=outcomes)


INDICATOR = Indicator(
    code="REPEAT_DIRECT",
    title="Repeat direct awards",
    definition="A direct award to a supplier by a buyer (both as entities) within the window (365 days) of "
    "another direct award to the same supplier by the same buyer. The peers shown are the chain of such awards, "
    "each within the window of the next.",
    why="Repeated direct awards to one firm can be a contract split to stay under competition thresholds, or a "
    "favoured supplier.",
    fields=("buyer", "awards/suppliers", "awards/date", "tender/procurementMethod"),
    compute=compute,
    level="buyer and supplier",
    settings_help={"days": "the window, in days", "methods": "the procurement methods counted as direct"},
)
