"""R025 excessive unsuccessful bids: a tenderer that almost never wins."""

from __future__ import annotations

from typing import Any

from portal.domain.redflags.base import Computed, Indicator, combine_outcomes, fence_of, fired_frame, outcome_series
from portal.domain.redflags.bids import submitted_bids, winning_bids, with_bids
from portal.domain.redflags.data import FlagData
from portal.vocabulary import FlagOutcome


def compute(data: FlagData, settings: dict[str, Any]) -> Computed:
    p = data.processes
    bids = submitted_bids(data)
    bids = bids[bids["single_tenderer"] & (bids["tenderer"] != "") & bids["process_id"].isin(p.index)].copy()
    winners = winning_bids(data)[["process_id", "winner"]]
    bids = bids.merge(winners, on="process_id", how="left")
    bids["won"] = bids["tenderer"] == bids["winner"]
    per = bids.groupby("tenderer").agg(submitted=("won", "size"), won=("won", "sum"), name=("tenderers", "first"))
    per = per[per["submitted"] >= settings["minimum_submitted_bids"]]
    per["ratio"] = per["won"] / per["submitted"]
    fence = fence_of(data, "R025", "win_ratio", per["ratio"], minimum=2, configured=settings["fence"], side="lower")
    missing = outcome_series(p.index.difference(with_bids(data)), FlagOutcome.NOT_ENOUGH_DATA)
    if fence is None:
        return Computed(outcomes=combine_outcomes(missing, outcome_series(p.index, FlagOutcome.NOT_ENOUGH_DATA)))
    flagged = per[per["ratio"] <= fence.lower]
    hit = bids[~bids["won"] & bids["tenderer"].isin(flagged.index)]
    evidence: dict[int, list] = {}
    for process_id, tenderer in zip(hit["process_id"], hit["tenderer"], strict=True):
        row = flagged.loc[tenderer]
        evidence.setdefault(int(process_id), []).append(
            {
                "tenderer": row["name"],
                "won": int(row["won"]),
                "submitted": int(row["submitted"]),
                "ratio": round(float(row["ratio"]), 4),
            }
        )
    ids = sorted(evidence)
    shared = {"fence": {"side": "lower", "value": round(fence.lower, 6), **fence.as_json()}}
    return Computed(
        fired=fired_frame(
            ids, [{"tenderers": evidence[i], **shared, "peers": {"tenderers_compared": fence.count}} for i in ids]
        ),
        outcomes=missing,
        fences={"win_ratio": fence.as_json()},
    )


INDICATOR = Indicator(
    code="R025",
    title="Excessive unsuccessful bids",
    definition="A tenderer's share of winning bids among its submitted bids, over the whole data set, is at or "
    "below the lower Tukey fence (Q1 - 1.5 IQR) of that share among tenderers; the flag marks the processes "
    "where it bid and lost.",
    why="A firm that bids often and never wins may be submitting cover bids for others.",
    fields=("bids/details/status", "bids/details/tenderers", "awards/suppliers", "awards/status"),
    compute=compute,
    cardinal=True,
    level="tenderer",
    settings_help={
        "fence": '"computed", or a decimal replacing the lower fence',
        "minimum_submitted_bids": "a tenderer with fewer submitted bids is left out",
    },
)
