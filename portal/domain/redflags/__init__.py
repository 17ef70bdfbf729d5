"""Red flags: integrity indicators computed on every process, each fired flag stored with its evidence.

`recompute_flags` reads the data set once (`data.load_data`), runs every indicator of the registry over it
(set-wise, in pandas) and stores what fired (`FlagResult`), what could not be computed (`FlagCoverage`) and the
data-set fences (`FlagFence`). Thresholds are in `portal/redflags.toml`.

After a load (`recompute_flags(changed=...)`) only the rows of the changed processes are read, with those of
every process sharing a buyer, a supplier or a tenderer with them (the groups the buyer-, supplier- and
tenderer-level indicators compare within, `GROUPS`), and the indicators compare with the stored fences rather
than fences over the part read. Only the rows whose outcome or evidence changed are written: of the changed
processes, every indicator; of the others, the indicators whose group they share with a changed process (when
all their groups of that kind were read). The fences stay as the last full computation left them; when more
than `DRIFT` of the processes were rewritten since, the report says a full computation (`portal flags
recompute`, nightly) is due.
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
from sqlalchemy import Text, cast, delete, func, insert, select
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
from portal.domain.redflags.base import Computed, Indicator
from portal.domain.redflags.bids import normalised
from portal.domain.redflags.data import FlagData, load_data
from portal.domain.redflags.r038 import buyer_key
from portal.domain.redflags.r048 import supplier_key
from portal.models import (
    Award,
    AwardSupplier,
    Bid,
    FlagCoverage,
    FlagFence,
    FlagResult,
    FlagSummary,
    IndexQueue,
    Process,
    Release,
    VendorParty,
    utcnow,
)
from portal.vocabulary import EntityKind, FlagOutcome

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
# The groups an indicator compares a process within, beyond its own rows (the others read only their process's
# rows and the stored fences): its buyer's processes, its suppliers', its tenderers'.
GROUPS: dict[str, tuple[str, ...]] = {
    "R038": ("buyer", "tenderer"),
    "R025": ("tenderer",),
    "R048": ("supplier",),
    "NONCOMPETITIVE": ("buyer",),
    "REPEAT_DIRECT": ("buyer",),
    "SPLIT": ("buyer",),
    "CONCENTRATION": ("buyer",),
}
DRIFT = 0.05  # processes rewritten since the fences were computed, as a share of all, before a full one is due


def load_settings(path: Path | None = None) -> dict[str, dict[str, Any]]:
    with (path or SETTINGS_FILE).open("rb") as f:
        return tomllib.load(f)


@dataclass
class FlagReport:
    processes: int = 0
    written_ids: set[int] = field(default_factory=set)  # processes whose flags were rewritten
    fired: dict[str, int] = field(default_factory=dict)  # code -> processes it fired on (in the whole data set)
    seconds: dict[str, float] = field(default_factory=dict)  # code -> seconds to compute; "load", "write"
    fences_moved: bool = False  # an update kept fences computed before more than DRIFT of the processes changed
    update: bool = False  # an update after a load, not a full computation
    read: int = 0  # processes whose rows were read (all of them for a full computation)
    rows: int = 0  # flag rows written (fired and coverage)
    fences_at: datetime | None = None  # an update: when the fences it compared with were computed
    since: float = 0.0  # an update: the share of processes rewritten since the fences were computed

    @property
    def written(self) -> int:
        return len(self.written_ids)


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


def compute_all(
    data: FlagData,
    settings: dict[str, dict[str, Any]],
    report: FlagReport,
    *,
    alone: FlagData | None = None,
) -> dict[str, Computed]:
    """Every indicator over `data`; with `alone`, those that judge a process by its own rows over it."""
    found = {}
    for code, indicator in INDICATORS.items():
        started = time.perf_counter()
        over = alone if alone is not None and code not in GROUPS else data
        found[code] = indicator.compute(over, settings.get(code, {}))
        report.seconds[code] = round(time.perf_counter() - started, 3)
        report.fired[code] = int(found[code].fired["process_id"].nunique())
    return found


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
    after a load, of the changed processes and of those whose groups they changed (see the module's text)."""
    report = FlagReport()
    settings = settings if settings is not None else load_settings()
    if changed is not None and session.scalar(select(FlagCoverage.process_id).limit(1)) is not None:
        return _update(session, sorted({int(i) for i in changed}), settings, report)
    changed = None  # nothing computed yet: the whole data set
    started = time.perf_counter()
    data = load_data(session)
    report.seconds["load"] = round(time.perf_counter() - started, 3)
    report.processes = report.read = len(data.processes)
    results = compute_all(data, settings, report)
    now = utcnow()

    fences = {
        (code, name): json_safe(value) for code, computed in results.items() for name, value in computed.fences.items()
    }
    started = time.perf_counter()
    session.execute(delete(FlagFence))
    if fences:
        session.execute(
            insert(FlagFence),
            [{"code": c, "name": n, "value": v, "computed_at": now} for (c, n), v in fences.items()],
        )
    written = data.processes.index
    session.execute(delete(FlagResult))
    session.execute(delete(FlagCoverage))
    stamp = _stamp(session, now)
    fired_rows = []
    for code, computed in results.items():
        fired = computed.fired.drop_duplicates("process_id")
        for process_id, evidence in zip(fired["process_id"], fired["evidence"], strict=True):
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
    report.written_ids = {int(i) for i in written}
    report.rows = len(fired_rows) + len(coverage_rows)
    write_summary(session, now)
    report.seconds["write"] = round(time.perf_counter() - started, 3)
    return report


# ---------------------------------------------------------------------------------------------------------------
# The update after a load.


def _ascii_lower(text: str) -> str:
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def _same_entity(session: Session, parties: set[int], kind: EntityKind) -> set[int]:
    """The parties resolved to the same entity (of this kind) as one of `parties`, with them."""
    found = set(parties)
    for chunk in _chunks(sorted(parties)):
        entities = select(VendorParty.vendor_id).where(VendorParty.party_id.in_(chunk), VendorParty.kind == kind)
        found |= set(
            session.scalars(
                select(VendorParty.party_id).where(VendorParty.vendor_id.in_(entities), VendorParty.kind == kind)
            )
        )
    return found


def _by_buyer(session: Session, processes: list[int]) -> set[int]:
    """The processes whose buyer is one of theirs (by entity, else by party)."""
    buyers: set[int] = set()
    for chunk in _chunks(processes):
        buyers |= {b for b in session.scalars(select(Process.buyer_id).where(Process.id.in_(chunk))) if b is not None}
    found: set[int] = set()
    for chunk in _chunks(sorted(_same_entity(session, buyers, EntityKind.BUYER))):
        found |= set(session.scalars(select(Process.id).where(Process.buyer_id.in_(chunk))))
    return found


def _by_supplier(session: Session, processes: list[int]) -> set[int]:
    """The processes awarded to one of their suppliers (by entity, else by party)."""
    suppliers: set[int] = set()
    nameless = False  # a supplier without a party: such suppliers are one group (supplier_key)
    for chunk in _chunks(processes):
        for party in session.scalars(
            select(AwardSupplier.party_id)
            .join(Award, Award.id == AwardSupplier.award_id)
            .where(Award.process_id.in_(chunk))
        ):
            if party is None:
                nameless = True
            else:
                suppliers.add(party)
    by_supplier = select(Award.process_id).join(AwardSupplier, AwardSupplier.award_id == Award.id)
    found: set[int] = set()
    for chunk in _chunks(sorted(_same_entity(session, suppliers, EntityKind.SUPPLIER))):
        found |= set(session.scalars(by_supplier.where(AwardSupplier.party_id.in_(chunk))))
    if nameless:
        found |= set(session.scalars(by_supplier.where(AwardSupplier.party_id.is_(None))))
    return found


def _by_tenderer(session: Session, processes: list[int]) -> set[int]:
    """The processes with a bid by one of their tenderers (by name, case and surrounding spaces ignored)."""
    tenderers: set[str] = set()
    for chunk in _chunks(processes):
        for names in session.scalars(
            select(Bid.tenderers).where(Bid.process_id.in_(chunk), Bid.tenderers.is_not(None))
        ):
            name = (names or "").strip()
            # as each database lowers it: PostgreSQL every letter, SQLite those of ASCII
            tenderers |= {name.lower(), _ascii_lower(name), name.casefold()}
    found: set[int] = set()
    for chunk in _chunks(sorted(tenderers)):
        found |= set(session.scalars(select(Bid.process_id).where(func.lower(func.trim(Bid.tenderers)).in_(chunk))))
    return found


def _scope(session: Session, changed: list[int]) -> dict[str, set[int]]:
    """Per group kind, the processes sharing a buyer, a supplier or a tenderer with a changed process, found in
    SQL; and ("supplier+", "tenderer+") those sharing a supplier or a tenderer with one of those, so that every
    group of a process sharing one with a changed process is read whole (a process has one buyer, but may have
    several suppliers and tenderers)."""
    wanted = {
        "buyer": _by_buyer(session, changed),
        "supplier": _by_supplier(session, changed),
        "tenderer": _by_tenderer(session, changed),
    }
    wanted["supplier+"] = _by_supplier(session, sorted(wanted["supplier"]))
    wanted["tenderer+"] = _by_tenderer(session, sorted(wanted["tenderer"]))
    return wanted


def _group_keys(data: FlagData) -> dict[str, pd.DataFrame]:
    """Per group kind, (process_id, key) of every process read: its buyer, its suppliers, its tenderers."""
    p = data.processes
    buyers = pd.DataFrame({"process_id": p.index.to_numpy(), "key": buyer_key(p).to_numpy()}).dropna()
    suppliers = pd.DataFrame(
        {"process_id": data.suppliers["process_id"].to_numpy(), "key": supplier_key(data.suppliers).to_numpy()}
    )
    tenderers = pd.DataFrame(
        {"process_id": data.bids["process_id"].to_numpy(), "key": normalised(data.bids["tenderers"]).to_numpy()}
    )
    return {"buyer": buyers, "supplier": suppliers, "tenderer": tenderers}


def _owned(data: FlagData, changed: list[int]) -> dict[str, set[int]]:
    """Per indicator, the processes whose result is to be written: the changed ones, and for an indicator that
    compares within groups, the processes with a group of a changed process and no group that was not read
    whole. Read whole are the changed processes' groups and, for suppliers and tenderers, the other groups of
    the processes sharing one with them (`_scope`); a process left out (R038's, sharing a changed buyer but no
    changed tenderer) keeps its stored result until the next full computation."""
    keys = _group_keys(data)
    changed_set = set(changed)
    touched: dict[str, set[int]] = {}
    partial: dict[str, set[int]] = {}
    for kind, rows in keys.items():
        rows = rows.astype({"process_id": "int64"})
        affected = set(rows[rows["process_id"].isin(changed_set)]["key"])
        touched[kind] = set(rows[rows["key"].isin(affected)]["process_id"].tolist())
        # Read whole: the groups of the processes sharing one with a changed process (`_scope`).
        whole = set(rows[rows["process_id"].isin(touched[kind])]["key"])
        partial[kind] = set(rows[~rows["key"].isin(whole)]["process_id"].tolist())
    owned: dict[str, set[int]] = {}
    for code in INDICATORS:
        kinds = GROUPS.get(code, ())
        found = set().union(*(touched[k] for k in kinds)) if kinds else set()
        found -= set().union(*(partial[k] for k in kinds)) if kinds else set()
        owned[code] = found | changed_set
    return owned


def _only(data: FlagData, ids: list[int]) -> FlagData:
    """The rows of these processes (read whole), for the indicators judging a process by its own rows."""
    wanted = pd.Index(ids)

    def rows(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame["process_id"].isin(wanted)]

    return FlagData(
        processes=data.processes[data.processes.index.isin(wanted)],
        awards=rows(data.awards),
        suppliers=rows(data.suppliers),
        contracts=rows(data.contracts),
        amendments=rows(data.amendments),
        bids=rows(data.bids),
        items=rows(data.items),
        tenderers=data.tenderers[data.tenderers.index.isin(wanted)],
        buyer_awards=rows(data.buyer_awards),
        supplier_awards=rows(data.supplier_awards),
        names=data.names,
        fences=data.fences,
    )


def _parse(outcomes: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in outcomes.split(";") if "=" in part)


def _update(
    session: Session, changed: list[int], settings: dict[str, dict[str, Any]], report: FlagReport
) -> FlagReport:
    report.update = True
    started = time.perf_counter()
    scope = _scope(session, changed)
    every = set(changed).union(*scope.values())
    data = load_data(session, every, whole=changed, items=scope["supplier+"])
    stored_fences = _stored_fences(session)
    data.fences = {}
    for (code, name), value in stored_fences.items():
        data.fences.setdefault(code, {})[name] = value
    report.seconds["load"] = round(time.perf_counter() - started, 3)
    report.read = len(data.processes)
    changed = [i for i in changed if i in data.processes.index]
    results = compute_all(data, settings, report, alone=_only(data, changed))
    report.fired = {}  # of the processes read only: not the data set's counts

    started = time.perf_counter()
    owned = _owned(data, changed)
    read = sorted(set().union(*owned.values()))  # the processes whose rows may be written
    old_fired: dict[tuple[int, str], str] = {}
    old_coverage: dict[int, tuple[str, float | None]] = {}
    for chunk in _chunks(read):
        for process_id, code, evidence in session.connection().execute(
            select(FlagResult.process_id, FlagResult.code, cast(FlagResult.evidence, Text)).where(
                FlagResult.process_id.in_(chunk)
            )
        ):
            old_fired[(process_id, code)] = evidence  # as text: parsed only when the new text differs
        for process_id, outcomes, score in session.connection().execute(
            select(FlagCoverage.process_id, FlagCoverage.outcomes, FlagCoverage.transparency).where(
                FlagCoverage.process_id.in_(chunk)
            )
        ):
            old_coverage[process_id] = (outcomes, score)
    stamp = _stamp(session, utcnow())

    gone: dict[str, list[int]] = {}
    fired_rows = []
    for code, computed in results.items():
        fired = computed.fired.drop_duplicates("process_id")
        new = {int(i): e for i, e in zip(fired["process_id"], fired["evidence"], strict=True) if int(i) in owned[code]}
        for process_id in owned[code]:
            found = new.get(process_id)
            text = None if found is None else evidence_json(found)
            old = old_fired.get((process_id, code))
            if old is None and text is None:
                continue
            if old is not None and text is not None and (text == old or json.loads(text) == json.loads(old)):
                continue
            if old is not None:
                gone.setdefault(code, []).append(process_id)
            if text is not None:
                fired_rows.append((process_id, code, str(FlagOutcome.FIRED), text, stamp))

    coverage = _coverage(results, pd.Index(read))
    scores = transparency.scores(_only(data, changed)).reindex(pd.Index(read)).round(4)  # kept for the others
    changed_set = set(changed)
    coverage_rows = []
    for process_id, text, score in zip(read, coverage.to_numpy(), scores.to_numpy(), strict=True):
        old_text, old_score = old_coverage.get(process_id, (None, None))
        if process_id not in changed_set:
            if old_text is None:
                continue  # never computed: left to the next full computation
            if text == old_text:  # the same outcomes for every indicator, so for those it owns
                continue
            judged, computed_now = _parse(old_text), _parse(text)
            for code in INDICATORS:
                if process_id in owned[code]:
                    judged.pop(code, None)
                    if code in computed_now:
                        judged[code] = computed_now[code]
            text = "".join(f"{code}={judged[code]};" for code in INDICATORS if code in judged)
            score = old_score
        score = None if score is None or pd.isna(score) else float(score)
        if process_id in changed_set or text != old_text or score != old_score:  # the changed: a new stamp
            coverage_rows.append((process_id, text, score, stamp))

    for code, ids in gone.items():
        for chunk in _chunks(sorted(ids)):
            session.execute(delete(FlagResult).where(FlagResult.code == code, FlagResult.process_id.in_(chunk)))
    for chunk in _chunks(sorted(r[0] for r in coverage_rows)):
        session.execute(delete(FlagCoverage).where(FlagCoverage.process_id.in_(chunk)))
    _insert(session, "flag_result", ("process_id", "code", "outcome", "evidence", "computed_at"), fired_rows)
    _insert(session, "flag_coverage", ("process_id", "outcomes", "transparency", "computed_at"), coverage_rows)
    report.written_ids = (
        {r[0] for r in fired_rows} | {r[0] for r in coverage_rows} | {i for ids in gone.values() for i in ids}
    )
    report.rows = len(fired_rows) + len(coverage_rows) + sum(len(ids) for ids in gone.values())
    report.processes = int(session.scalar(select(func.count()).select_from(Process)) or 0)
    _drift(session, report)
    write_summary(session, utcnow())
    report.seconds["write"] = round(time.perf_counter() - started, 3)
    return report


def write_summary(session: Session, now: datetime) -> None:
    """The data set's figures that entity pages compare with, counted once per computation of the flags."""
    session.execute(delete(FlagSummary))
    session.execute(
        insert(FlagSummary).values(
            id=1,
            processes=int(session.scalar(select(func.count()).select_from(FlagCoverage)) or 0),
            fired=fired_counts(session),
            transparency=_mean_score(session),
            computed_at=now,
        )
    )


def _drift(session: Session, report: FlagReport) -> None:
    """How many processes were rewritten since the fences were computed (the full computation stamps them all
    alike): beyond DRIFT of them, `fences_moved` says a full computation is due."""
    report.fences_at = session.scalar(select(func.min(FlagFence.computed_at)))
    if report.fences_at is None or not report.processes:
        return
    since = session.scalar(
        select(func.count()).select_from(FlagCoverage).where(FlagCoverage.computed_at > report.fences_at)
    )
    report.since = round(int(since or 0) / report.processes, 4)
    report.fences_moved = report.since > DRIFT


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


@dataclass
class DataSetFlags:
    """What entity pages compare with: processes computed, processes per fired code, mean transparency."""

    processes: int
    fired: dict[str, int]
    transparency: float | None
    computed_at: datetime | None = None  # of the stored summary; None when counted now


def data_set_flags(session: Session) -> DataSetFlags:
    """The summary written with the flags, or counted now where there is none (flags never computed here)."""
    stored = session.get(FlagSummary, 1)
    if stored is not None:
        return DataSetFlags(stored.processes, dict(stored.fired), stored.transparency, stored.computed_at)
    processes = int(session.scalar(select(func.count()).select_from(FlagCoverage)) or 0)
    return DataSetFlags(processes, fired_counts(session), _mean_score(session))


def entity_flags_of(
    data_set: DataSetFlags, *, processes: int, flagged: int, codes: dict[str, int], transparency: float | None
) -> EntityFlags:
    """An entity's counts (per code: how many of its `processes` carry it) set beside the data set's rates."""
    total, peers = max(1, processes), data_set.processes or 1
    return EntityFlags(
        processes=processes,
        flagged=flagged,
        codes=[
            (code, INDICATORS[code].title, codes[code], codes[code] / total, data_set.fired.get(code, 0) / peers)
            for code in INDICATORS
            if codes.get(code)
        ],
        transparency=transparency,
        peers_transparency=data_set.transparency,
    )


def entity_flags(session: Session, *, process_ids: Collection[int]) -> EntityFlags:
    """Counts and rates of an entity's processes (`process_ids`: a supplier's wins, a buyer's awards) against
    every process of the data set, counted now (pages read the counts stored after each computation:
    `portal.domain.vendor_figures.stored_entity_flags`)."""
    mine = sorted({int(i) for i in process_ids})
    per_code: dict[str, set[int]] = {}
    for chunk in _chunks(mine):
        for process_id, code in session.execute(
            select(FlagResult.process_id, FlagResult.code).where(FlagResult.process_id.in_(chunk))
        ):
            per_code.setdefault(code, set()).add(process_id)
    return entity_flags_of(
        data_set_flags(session),
        processes=len(mine),
        flagged=len(set().union(*per_code.values())) if per_code else 0,
        codes={code: len(ids) for code, ids in per_code.items()},
        transparency=_transparency_scores(session, mine),
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
