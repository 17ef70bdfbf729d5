"""What every indicator is made of, and the figures several share (Tukey fences, money as numbers).

An indicator is a small module with one `INDICATOR`: its code (Cardinal's where the definition matches, so that
results can be compared), title, definition, the OCDS fields it reads, its thresholds (from
`portal/redflags.toml`), and `compute(data, settings) -> Computed`. `compute` works on the whole data set at
once (pandas over the rows of `portal.domain.redflags.data`), never process by process: a million processes
must be flagged in minutes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from portal.domain.ocds import from_units
from portal.vocabulary import FlagOutcome

if TYPE_CHECKING:
    from portal.domain.redflags.data import FlagData

PEERS_SHOWN = 20  # peers named in a flag's evidence; the count says how many there were in all


@dataclass
class Computed:
    """An indicator's answer over the data set.

    `fired`: one row per process it fired on, with an `evidence` dict. `outcomes`: process id -> outcome for
    processes it could not compute (not enough data, not applicable); a process in neither did not fire.
    `fences`: the data-set figures it compared with (name -> JSON values), stored in `flag_fence`."""

    fired: pd.DataFrame = field(default_factory=lambda: pd.DataFrame({"process_id": [], "evidence": []}))
    outcomes: pd.Series = field(default_factory=lambda: pd.Series(dtype="object"))
    fences: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Indicator:
    code: str
    title: str
    definition: str
    why: str  # why it is a red flag
    fields: tuple[str, ...]  # the OCDS fields it reads
    compute: Callable[[FlagData, dict[str, Any]], Computed]
    cardinal: bool = False  # defined as Cardinal defines it (same code)
    level: str = "process"  # what it judges: process, buyer or supplier (its processes carry the flag)
    settings_help: dict[str, str] = field(default_factory=dict)  # setting -> what it means


@dataclass(frozen=True)
class Fence:
    """Tukey's fences over a set of values: Q1 - 1.5 IQR and Q3 + 1.5 IQR (quartiles by linear interpolation)."""

    q1: float
    q3: float
    lower: float
    upper: float
    count: int
    configured: bool = False  # given in the settings rather than computed

    def as_json(self) -> dict[str, Any]:
        return {
            "q1": _round(self.q1),
            "q3": _round(self.q3),
            "lower": _round(self.lower),
            "upper": _round(self.upper),
            "count": self.count,
            "configured": self.configured,
        }


def _round(value: float) -> float:
    return round(value, 6) if math.isfinite(value) else value


def tukey(values: pd.Series, *, minimum: int, configured: Any = "computed", side: str = "upper") -> Fence | None:
    """The fences of `values` (NaN left out), or None with fewer than `minimum` values. A number configured
    for the indicator replaces the fence on `side`."""
    values = pd.to_numeric(values, errors="coerce").dropna()
    if len(values) < max(1, minimum):
        if isinstance(configured, int | float) and not isinstance(configured, bool):
            bound = float(configured)
            return Fence(math.nan, math.nan, bound, bound, int(len(values)), configured=True)
        return None
    q1, q3 = float(values.quantile(0.25)), float(values.quantile(0.75))
    iqr = q3 - q1
    lower, upper = q1 - 1.5 * iqr, q3 + 1.5 * iqr
    given = isinstance(configured, int | float) and not isinstance(configured, bool)
    if given:
        lower, upper = (float(configured), upper) if side == "lower" else (lower, float(configured))
    return Fence(q1, q3, lower, upper, int(len(values)), configured=given)


def kept(data: FlagData, code: str, name: str) -> dict[str, Any] | None:
    """The fence stored by the last full computation, when the data holds only some processes (an update after
    a load): a fence over part of the data set would not be the data set's. None when no fence was stored."""
    return (data.fences or {}).get(code, {}).get(name)


def fence_of(
    data: FlagData, code: str, name: str, values: pd.Series, *, minimum: int, configured: Any, side: str = "upper"
) -> Fence | None:
    """`tukey` over `values` for a full computation, else the stored fence (see `kept`)."""
    if data.fences is None:
        return tukey(values, minimum=minimum, configured=configured, side=side)
    stored = kept(data, code, name)
    if not stored:
        return None

    def number(key: str) -> float:
        value = stored.get(key)
        return math.nan if value is None else float(value)

    return Fence(
        number("q1"),
        number("q3"),
        number("lower"),
        number("upper"),
        int(stored.get("count") or 0),
        configured=bool(stored.get("configured")),
    )


def money(units: Any, currency: Any) -> dict[str, str] | None:
    """An amount in units of 10^-4 as evidence: its exact text and currency."""
    if units is None or (isinstance(units, float) and math.isnan(units)) or pd.isna(units):
        return None
    return {"amount": str(from_units(int(units))), "currency": str(currency or "")}


def fired_frame(process_ids: Any, evidence: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame({"process_id": [int(p) for p in process_ids], "evidence": evidence})


def outcome_series(process_ids: Any, outcome: FlagOutcome) -> pd.Series:
    ids = pd.Index(np.asarray(process_ids, dtype="int64")).unique()
    return pd.Series(str(outcome), index=ids, dtype="object")


def combine_outcomes(*parts: pd.Series) -> pd.Series:
    """Outcomes from several rules, the first one given winning for a process named twice."""
    kept = [p for p in parts if len(p)]
    if not kept:
        return pd.Series(dtype="object")
    joined = pd.concat(kept)
    return joined[~joined.index.duplicated(keep="first")]


def peers(ocids: pd.Series | list[str]) -> dict[str, Any]:
    listed = sorted(str(o) for o in ocids)
    return {"count": len(listed), "ocids": listed[:PEERS_SHOWN]}
