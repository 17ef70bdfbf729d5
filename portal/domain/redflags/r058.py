"""R058 heavily discounted bid: the winning bid is far below the second-lowest valid bid."""

from __future__ import annotations

from typing import Any

from portal.domain.redflags.base import Computed, Indicator
from portal.domain.redflags.data import FlagData
from portal.domain.redflags.r024 import outlier


def compute(data: FlagData, settings: dict[str, Any]) -> Computed:
    return outlier(data, settings, side="upper", code="R058")


INDICATOR = Indicator(
    code="R058",
    title="Heavily discounted bid",
    definition="The difference (second-lowest valid bid - winning bid) / winning bid is at or above the upper "
    "Tukey fence (Q3 + 1.5 IQR) of that difference over every process of the data set where it can be computed, "
    "and above Q3.",
    why="A bid far below every other can win with goods or works of a quality the buyer did not check.",
    fields=("bids/details/value", "bids/details/status", "bids/details/tenderers", "awards/suppliers", "awards/status"),
    compute=compute,
    cardinal=True,
    settings_help={
        "fence": '"computed", or a decimal replacing the upper fence',
        "minimum_processes": "fewer processes with a difference: no fence, not enough data",
    },
)
