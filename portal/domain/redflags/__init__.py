"""Red flags: integrity indicators computed on every process, each fired flag stored with its evidence.

`recompute_flags` reads the data set once (`data.load_data`), runs every indicator of the registry over it
(set-wise, in pandas) and stores what fired (`FlagResult`), what could not be computed (`FlagCoverage`) and the
data-set fences (`FlagFence`). After a load only the processes it changed are rewritten, with those that share
a buyer, supplier or tenderer with them (their buyer- and supplier-level flags may have moved), unless a fence
moved, which rewrites every process. Thresholds are in `portal/redflags.toml`.
"""

from __future__ import annotations

import json
import math
import time
import tomllib
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from portal.domain.redflags import (
    concentration,
    cost_overrun,
    estimate,
    noncompetitive,
    r003,
    r018,
    r024,
    r025,
    r028,
    r030,
    r035,
    r036,
    r038,
    r048,
    r058,
    repeat_direct,
    split,
    transparency,
)
from portal.domain.redflags.awards import counted_awards
from portal.domain.redflags.base import Computed, Indicator
from portal.domain.redflags.bids import normalised
from portal.domain.redflags.data import FlagData, load_data
from portal.models import FlagCoverage, FlagFence, FlagResult, IndexQueue, Process, Release, utcnow
from portal.vocabulary import FlagOutcome

SETTINGS_FILE = Path(__file__).resolve().parents[2] / "redflags.toml"
# In the order the methodology page lists them: process-level first, then bids, then buyers and suppliers.
INDICATORS: dict[str, Indicator] = {
    m.INDICATOR.code: m.INDICATOR
    for m in (
        r003,
        r018,
        cost_overrun,
        estimate,
        transparency,
        r024,
        r058,
        r028,
        r030,
        r035,
        r036,
        r038,
        r025,
        r048,
        noncompetitive,
        repeat_direct,
        split,
        concentration,
    )
}
SHORT = {FlagOutcome.NOT_ENOUGH_DATA: "n", FlagOutcome.NOT_APPLICABLE: "a"}  # outcomes as FlagCoverage spells them
LONG = {v: k for k, v in SHORT.items()}
SHORT_TEXT = {str(k): v for k, v in SHORT.items()}
CHUNK = 5000  # ids per IN list and rows per insert


def load_settings(path: Path | None = None) -> dict[str, dict[str, Any]]:
    with (path or SETTINGS_FILE).open("rb") as f:
        return tomllib.load(f)


@dataclass
class FlagReport:
    processes: int = 0
    written: int = 0  # processes whose flags were rewritten
    fired: dict[str, int] = field(default_factory=dict)  # code -> processes it fired on (in the whole data set)
    seconds: dict[str, float] = field(default_factory=dict)  # code -> seconds to compute; "load", "write"
    fences_moved: bool = False


def json_safe(value: Any) -> Any:
    """Evidence as JSON both databases take: numpy scalars as Python numbers, NaN and NaT as null."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    raise TypeError(f"no JSON form for {type(value).__name__}")


def evidence_json(evidence: dict[str, Any]) -> str:
    """Evidence as JSON text; the slower `json_safe` walk only for evidence holding a NaN."""
    try:
        return json.dumps(evidence, ensure_ascii=False, allow_nan=False, default=_plain)
    except ValueError:
        return json.dumps(json_safe(evidence), ensure_ascii=False)


def compute_all(data: FlagData, settings: dict[str, dict[str, Any]], report: FlagReport) -> dict[str, Computed]:
    found = {}
    for code, indicator in INDICATORS.items():
        started = time.perf_counter()
        found[code] = indicator.compute(data, settings.get(code, {}))
        report.seconds[code] = round(time.perf_counter() - started, 3)
        report.fired[code] = int(found[code].fired["process_id"].nunique())
    return found


def _related(data: FlagData, changed: Collection[int]) -> set[int]:
    """The changed processes and those sharing a buyer, a supplier or a tenderer with them."""
    p = data.processes
    wanted = set(int(i) for i in changed)
    changed_index = p.index.intersection(list(wanted))
    buyers = p.loc[changed_index, "buyer"].dropna().unique()
    wanted |= set(p.index[p["buyer"].isin(buyers)].tolist())
    awards = counted_awards(data)
    suppliers = awards[awards["process_id"].isin(changed_index)]["supplier_key"].unique()
    wanted |= set(awards[awards["supplier_key"].isin(suppliers)]["process_id"].tolist())
    bids = data.bids.assign(tenderer=normalised(data.bids["tenderers"]))
    tenderers = bids[bids["process_id"].isin(changed_index)]["tenderer"].unique()
    wanted |= set(bids[bids["tenderer"].isin(tenderers)]["process_id"].tolist())
    return {int(i) for i in wanted}


def _coverage(results: dict[str, Computed], ids: pd.Index) -> pd.Series:
    """Per process, "CODE=n;CODE=a;" for the indicators it could not be judged by."""
    text = pd.Series("", index=ids, dtype="object")
    for code, computed in results.items():
        outcomes = computed.outcomes
        if not len(outcomes):
            continue
        fired = set(computed.fired["process_id"].tolist())
        outcomes = outcomes[~outcomes.index.isin(fired) & outcomes.index.isin(ids)]
        short = outcomes.map(SHORT_TEXT).reindex(ids).fillna("")
        text = text + (code + "=" + short + ";").where(short != "", "")
    return text


def _stored_fences(session: Session) -> dict[tuple[str, str], Any]:
    return {(c, n): v for c, n, v in session.execute(select(FlagFence.code, FlagFence.name, FlagFence.value))}


def _chunks(values: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# Rows are written through the driver's executemany: at a million rows, SQLAlchemy's per-row type processing
# (JSON, dates) took most of the write. Evidence is serialised here; the stamp is written as the column type
# writes it on each database.
SQLITE_STAMP = "%Y-%m-%d %H:%M:%S.%f"


def _stamp(session: Session, now: datetime) -> Any:
    if session.get_bind().dialect.name == "sqlite":
        return now.astimezone(timezone.utc).replace(tzinfo=None).strftime(SQLITE_STAMP)
    return now


def _insert(session: Session, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    if not rows:
        return
    dialect = session.get_bind().dialect
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    values = ", ".join(
        f"CAST({marker} AS JSON)" if c == "evidence" and dialect.name != "sqlite" else marker for c in columns
    )
    statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})"
    connection = session.connection()
    for chunk in _chunks(rows, 20_000):
        connection.exec_driver_sql(statement, chunk)


def recompute_flags(
    session: Session, *, changed: Collection[int] | None = None, settings: dict[str, dict[str, Any]] | None = None
) -> FlagReport:
    """Compute every indicator over the data set and store the results: of every process (`changed` None), or
    of the changed processes and those related to them (all of them if a data-set fence moved)."""
    report = FlagReport()
    settings = settings if settings is not None else load_settings()
    started = time.perf_counter()
    data = load_data(session)
    report.seconds["load"] = round(time.perf_counter() - started, 3)
    report.processes = len(data.processes)
    results = compute_all(data, settings, report)
    now = utcnow()

    fences = {
        (code, name): json_safe(value) for code, computed in results.items() for name, value in computed.fences.items()
    }
    if changed is not None and fences != _stored_fences(session):
        report.fences_moved = True
        changed = None
    started = time.perf_counter()
    session.execute(delete(FlagFence))
    if fences:
        session.execute(
            insert(FlagFence),
            [{"code": c, "name": n, "value": v, "computed_at": now} for (c, n), v in fences.items()],
        )
    ids = data.processes.index
    if changed is None:
        session.execute(delete(FlagResult))
        session.execute(delete(FlagCoverage))
        written = ids
    else:
        chosen = sorted(_related(data, changed))
        for chunk in _chunks(chosen):
            session.execute(delete(FlagResult).where(FlagResult.process_id.in_(chunk)))
            session.execute(delete(FlagCoverage).where(FlagCoverage.process_id.in_(chunk)))
        written = ids.intersection(chosen)
    chosen_set = set(written.tolist()) if changed is not None else None
    stamp = _stamp(session, now)
    fired_rows = []
    for code, computed in results.items():
        fired = computed.fired.drop_duplicates("process_id")
        for process_id, evidence in zip(fired["process_id"], fired["evidence"], strict=True):
            if chosen_set is None or int(process_id) in chosen_set:
                text = evidence_json(evidence)
                fired_rows.append((int(process_id), code, str(FlagOutcome.FIRED), text, stamp))
    _insert(session, "flag_result", ("process_id", "code", "outcome", "evidence", "computed_at"), fired_rows)
    coverage = _coverage(results, written)
    scores = transparency.scores(data).reindex(written).round(4)
    coverage_rows = [
        (int(i), text, float(score), stamp)
        for i, text, score in zip(coverage.index, coverage.to_numpy(), scores.to_numpy(), strict=True)
    ]
    _insert(session, "flag_coverage", ("process_id", "outcomes", "transparency", "computed_at"), coverage_rows)
    report.written = len(written)
    report.seconds["write"] = round(time.perf_counter() - started, 3)
    return report


# ---------------------------------------------------------------------------------------------------------------
# Reading.


@dataclass
class FiredFlag:
    code: str
    title: str
    evidence: dict[str, Any]
    computed_at: datetime
    releases: list[str]  # the release ids of the process's record, which the indicator read


@dataclass
class FlagLine:
    """One indicator as a process page shows it."""

    code: str
    title: str
    outcome: str  # FlagOutcome
    evidence: dict[str, Any] | None


def fired_flags_of(session: Session, ocid: str) -> list[FiredFlag]:
    """`fired_flags` of the process with this ocid (none for an unknown one)."""
    process_id = session.scalar(select(Process.id).where(Process.ocid == ocid))
    return [] if process_id is None else fired_flags(session, process_id)


def fired_flags(session: Session, process_id: int) -> list[FiredFlag]:
    """The flags that fired on a process, with their evidence (for the process page and residents' concerns)."""
    rows = session.execute(
        select(FlagResult.code, FlagResult.evidence, FlagResult.computed_at)
        .where(FlagResult.process_id == process_id)
        .order_by(FlagResult.code)
    ).all()
    if not rows:
        return []
    ocid = session.scalar(select(Process.ocid).where(Process.id == process_id))
    releases = sorted(set(session.scalars(select(Release.release_id).where(Release.ocid == ocid))))
    order = list(INDICATORS)
    found = [
        FiredFlag(
            code=code,
            title=INDICATORS[code].title if code in INDICATORS else code,
            evidence=evidence,
            computed_at=computed_at,
            releases=releases,
        )
        for code, evidence, computed_at in rows
    ]
    return sorted(found, key=lambda f: order.index(f.code) if f.code in order else len(order))


def process_flags(session: Session, process_id: int) -> tuple[list[FlagLine], datetime | None]:
    """Every indicator's outcome on a process, and when they were computed (None: not yet)."""
    coverage = session.get(FlagCoverage, process_id)
    fired = {f.code: f for f in fired_flags(session, process_id)}
    if coverage is None and not fired:
        return [], None
    judged = {}
    for part in (coverage.outcomes if coverage else "").split(";"):
        if "=" in part:
            code, short = part.split("=", 1)
            judged[code] = str(LONG.get(short, FlagOutcome.NOT_ENOUGH_DATA))
    lines = [
        FlagLine(
            code=code,
            title=indicator.title,
            outcome=str(FlagOutcome.FIRED) if code in fired else judged.get(code, str(FlagOutcome.NOT_FIRED)),
            evidence=fired[code].evidence if code in fired else None,
        )
        for code, indicator in INDICATORS.items()
    ]
    when = coverage.computed_at if coverage else next(iter(fired.values())).computed_at
    return lines, when


def flag_codes(session: Session, process_ids: Collection[int]) -> dict[int, list[str]]:
    """Process id -> the codes that fired on it (for the search index's facet)."""
    found: dict[int, list[str]] = {}
    for chunk in _chunks(sorted(process_ids)):
        for process_id, code in session.execute(
            select(FlagResult.process_id, FlagResult.code).where(FlagResult.process_id.in_(chunk))
        ):
            found.setdefault(process_id, []).append(code)
    return found


def fences(session: Session) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for code, name, value in session.execute(select(FlagFence.code, FlagFence.name, FlagFence.value)):
        found.setdefault(code, {})[name] = value
    return found


def recompute_changed_flags(session: Session) -> FlagReport | None:
    """After a load: the flags of the processes waiting for the search index (those the load changed), so
    that the index takes them with the flags they now have. None when nothing changed."""
    changed = list(
        session.scalars(select(Process.id).join(IndexQueue, IndexQueue.ocid == Process.ocid).order_by(Process.id))
    )
    if not changed:
        return None
    return recompute_flags(session, changed=changed)


# ---------------------------------------------------------------------------------------------------------------
# Methodology and entity pages.


class UnknownIndicator(Exception):
    """No indicator under this code; views answer 404."""


@dataclass
class IndicatorSummary:
    indicator: Indicator
    settings: dict[str, Any]
    fired: int  # processes it fires on now
    fences: dict[str, Any]
    examples: list[str] = field(default_factory=list)  # ocids it fired on, a few


EXAMPLES = 20  # processes listed on an indicator's page


def fired_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(FlagResult.code, func.count()).group_by(FlagResult.code)).all()
    return {code: int(count) for code, count in rows}


def methodology(session: Session) -> list[IndicatorSummary]:
    settings = load_settings()
    counts = fired_counts(session)
    stored = fences(session)
    return [
        IndicatorSummary(i, settings.get(code, {}), counts.get(code, 0), stored.get(code, {}))
        for code, i in INDICATORS.items()
    ]


def indicator_summary(session: Session, code: str) -> IndicatorSummary:
    if code not in INDICATORS:
        raise UnknownIndicator(f"no indicator {code!r}")
    examples = list(
        session.scalars(
            select(Process.ocid)
            .join(FlagResult, FlagResult.process_id == Process.id)
            .where(FlagResult.code == code)
            .order_by(Process.ocid)
            .limit(EXAMPLES)
        )
    )
    return IndicatorSummary(
        INDICATORS[code],
        load_settings().get(code, {}),
        fired_counts(session).get(code, 0),
        fences(session).get(code, {}),
        examples,
    )


@dataclass
class EntityFlags:
    """A buyer's or supplier's flags against its peers: per code, how many of its processes carry it, its rate
    and the rate among all processes of entities of its kind."""

    processes: int
    flagged: int  # its processes with at least one flag
    codes: list[tuple[str, str, int, float, float]]  # code, title, processes, rate, peers' rate
    transparency: float | None  # its mean transparency score
    peers_transparency: float | None


def entity_flags(session: Session, *, process_ids: Collection[int]) -> EntityFlags:
    """Counts and rates of an entity's processes (`process_ids`: a supplier's wins, a buyer's awards) against
    every process of the data set."""
    mine = sorted({int(i) for i in process_ids})
    per_code: dict[str, set[int]] = {}
    for chunk in _chunks(mine):
        for process_id, code in session.execute(
            select(FlagResult.process_id, FlagResult.code).where(FlagResult.process_id.in_(chunk))
        ):
            per_code.setdefault(code, set()).add(process_id)
    peers_count = session.scalar(select(func.count()).select_from(FlagCoverage)) or 1
    all_counts = fired_counts(session)
    total = max(1, len(mine))
    codes = [
        (
            code,
            INDICATORS[code].title,
            len(per_code[code]),
            len(per_code[code]) / total,
            all_counts.get(code, 0) / peers_count,
        )
        for code in INDICATORS
        if code in per_code
    ]
    flagged = len(set().union(*per_code.values())) if per_code else 0
    scores = _transparency_scores(session, mine)
    return EntityFlags(
        processes=len(mine),
        flagged=flagged,
        codes=codes,
        transparency=scores,
        peers_transparency=_mean_score(session),
    )


def _transparency_scores(session: Session, process_ids: list[int]) -> float | None:
    """The mean transparency score of these processes."""
    total, count = 0.0, 0
    for chunk in _chunks(process_ids):
        part_sum, part_count = session.execute(
            select(func.sum(FlagCoverage.transparency), func.count(FlagCoverage.transparency)).where(
                FlagCoverage.process_id.in_(chunk)
            )
        ).one()
        total, count = total + float(part_sum or 0), count + int(part_count or 0)
    return total / count if count else None


def _mean_score(session: Session) -> float | None:
    value = session.scalar(select(func.avg(FlagCoverage.transparency)))
    return None if value is None else float(value)
