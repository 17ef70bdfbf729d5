"""R048 heterogeneous supplier: a supplier winning items of unusually many kinds."""

from __future__ import annotations

from typing import Any

import pandas as pd

from portal.domain.redflags.base import Computed, Indicator, combine_outcomes, fence_of, fired_frame, outcome_series
from portal.domain.redflags.data import FlagData
from portal.vocabulary import FlagOutcome


def supplier_key(suppliers: pd.DataFrame) -> pd.Series:
    entity = suppliers["supplier"].astype("Int64").astype(str).radd("entity:")
    party = suppliers["party_id"].astype("Int64").astype(str).radd("party:")
    return entity.where(suppliers["supplier"].notna(), party)


def varieties(data: FlagData, digits: int) -> pd.DataFrame:
    """(supplier, process, first level) of every item a supplier was awarded alone: the award's own items,
    else the tender's items of the process it won."""
    awards = data.awards[data.awards["status"].isna() | (data.awards["status"] == "active")]
    suppliers = data.suppliers[data.suppliers["award_row"].isin(awards["award_row"])]
    alone = suppliers.groupby("award_row")["party_id"].transform("size") == 1
    won = suppliers[alone].merge(awards[["award_row", "award_id"]], on="award_row")
    won["key"] = supplier_key(won)
    items = data.items[data.items["classification"].notna()].copy()
    code = items["classification"].astype(str).str.strip()
    items = items[code.str.match(rf"^\d{{{digits}}}")]
    items["level"] = items["classification"].astype(str).str.strip().str[:digits]
    of_award = items[items["parent"] == "award"].merge(
        won, left_on=["process_id", "parent_id"], right_on=["process_id", "award_id"]
    )
    tender_items = items[(items["parent"] == "tender") & ~items["process_id"].isin(of_award["process_id"])]
    of_tender = tender_items.merge(won, on="process_id")
    return pd.concat([of_award, of_tender])[["key", "name", "process_id", "level"]]


def compute(data: FlagData, settings: dict[str, Any]) -> Computed:
    p = data.processes
    found = varieties(data, int(settings["digits"]))
    per = found.groupby("key").agg(variety=("level", "nunique"), name=("name", "first"))
    fence = fence_of(
        data, "R048", "variety", per["variety"], minimum=settings["minimum_suppliers"], configured=settings["fence"]
    )
    classified = found["process_id"].unique()
    missing = outcome_series(p.index.difference(classified), FlagOutcome.NOT_ENOUGH_DATA)
    if fence is None:
        return Computed(outcomes=combine_outcomes(missing, outcome_series(p.index, FlagOutcome.NOT_ENOUGH_DATA)))
    flagged = per[(per["variety"] >= fence.upper) & (per["variety"] > fence.q3)]
    hit = found[found["key"].isin(flagged.index)].drop_duplicates(["process_id", "key"])
    levels_of = found[found["key"].isin(flagged.index)].groupby("key")["level"].unique()
    entries = {
        key: {
            "supplier": row["name"],
            "entity": key,
            "variety": int(row["variety"]),
            "first_levels": sorted(levels_of[key])[:50],
        }
        for key, row in flagged.iterrows()
    }
    evidence: dict[int, list] = {}
    for process_id, key in zip(hit["process_id"], hit["key"], strict=True):
        evidence.setdefault(int(process_id), []).append(entries[key])
    ids = sorted(evidence)
    fence_json, compared = fence.as_json(), {"suppliers_compared": fence.count}
    return Computed(
        fired=fired_frame(
            ids,
            [{"suppliers": evidence[i], "fence": fence_json, "peers": compared} for i in ids],
        ),
        outcomes=missing,
        fences={"variety": fence.as_json()},
    )


INDICATOR = Indicator(
    code="R048",
    title="Heterogeneous supplier",
    definition="The number of distinct first-level item classifications (the first two digits of a UNSPSC or "
    "CPV code) a supplier was awarded, over the whole data set, is at or above the upper Tukey fence (Q3 + "
    "1.5 IQR) of that number among suppliers, and above Q3; the flag marks the processes it won.",
    why="A supplier of everything is more likely a front or an intermediary than a specialist.",
    fields=("awards/items/classification", "tender/items/classification", "awards/suppliers"),
    compute=compute,
    cardinal=True,
    level="supplier",
    settings_help={
        "fence": '"computed", or a number replacing the upper fence',
        "digits": "digits of the classification code that make its first level",
        "minimum_suppliers": "fewer suppliers with classified items: no fence, not enough data",
    },
)
