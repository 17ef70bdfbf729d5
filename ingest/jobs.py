"""Running a configured source: fetch its pages, map them to releases, store each page in one transaction.

Every kind goes through the same steps: the run is recorded before anything is fetched; each page (a CSV file,
an API page of rows or releases) is stored in one transaction together with the source's cursor, so a run
killed at any point resumes after the last committed page with nothing lost and nothing stored twice
(releases are keyed on `(ocid, release id)` and their content hash, so a page fetched again changes nothing);
at the end the run compares what it fetched with the publisher's own total and notes the difference.

What a bad payload loses is per kind: a page of JSON that does not parse is rolled back whole and named in the
run's error; a tabular row that does not map is recorded once (`rejected_row`) with its reason, and the other
rows load; a register whose mapped columns are missing stops the run before any row is stored.
"""

from __future__ import annotations

import gc
import hashlib
import itertools
import json
import tempfile
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from ingest.ocds import Found, IngestError
from ingest.runner import Counts, store_releases
from ingest.sources import SourceConfig
from ingest.tabular import Rejected, TableStats, map_file
from portal.models import IngestRun, RejectedRow, Source, SourceItem, SourceState, utcnow
from portal.vocabulary import RunStatus, SourceKind

SessionFactory = Callable[[], Session]
SCHEDULES = {"hourly": timedelta(hours=1), "daily": timedelta(days=1), "weekly": timedelta(weeks=1)}  # else manual
IN_CHUNKS = 500  # ocids per IN (...) list: well under every backend's bound-parameter limit


@dataclass
class SourceRun:
    """What one run of a configured source did, and how it compares with the publisher's own count."""

    run_id: int
    source: str
    status: str
    counts: Counts
    errors: list[str]
    fetched: int = 0  # rows (tabular) or releases (OCDS) fetched
    publisher_total: int | None = None  # the publisher's own count of the same, where it gives one
    rejected: int = 0  # rows that did not map (new and already recorded)
    duplicates: int = 0  # rows repeated exactly, loaded once
    gone: int = 0  # ocids no longer published, noticed by this run

    @property
    def shortfall(self) -> int | None:
        """How many the publisher counts that this run did not fetch (negative: fetched more than counted)."""
        return None if self.publisher_total is None else self.publisher_total - self.fetched


@dataclass
class Job:
    """One run in progress: where it stores, what it has counted so far."""

    sessions: SessionFactory
    config: SourceConfig
    source_id: int
    run_id: int
    result: SourceRun
    cursor: dict = field(default_factory=dict)

    def note(self, where: str, note: str) -> None:
        self.result.counts.note(where, note)

    def take_notes(self, stats: TableStats) -> None:
        """A table's notes into the run's, and its duplicates into the run's count."""
        self.result.duplicates += stats.duplicates
        for where, note in stats.notes:
            self.note(where, note)
        if stats.notes_dropped:
            self.note(self.config.name, f"{stats.notes_dropped} more notes about rows not kept")

    def store_page(
        self,
        items: Iterable[Found | Rejected],
        *,
        location: str,
        digest: str,
        cursor: dict | None = None,
        encoding: str = "utf-8",
        snapshot: bool = False,
        track: bool = False,
    ) -> Counts:
        """Store one page's releases and record its rejected rows and the cursor after it, in one transaction.

        `snapshot`: the page is the whole register, so ocids stored before and absent now are marked as no
        longer published (kept, never deleted). `track`: the page is part of a full pass; its ocids are stamped
        as seen, and the pass marks the unseen ones at its end (`save_cursor`)."""
        ocids: set[str] = set()
        with self.sessions() as session, session.begin():
            source = session.get_one(Source, self.source_id)

            def releases() -> Iterator[Found]:
                for item in items:
                    if isinstance(item, Rejected):
                        self._reject(session, item)
                        continue
                    if snapshot or track:
                        ocids.add(item.data["ocid"])
                    yield item

            counts = store_releases(
                session, source, self.run_id, releases(), location=location, digest=digest, encoding=encoding
            )
            if snapshot or track:
                gone_before = self.run_id if snapshot else None
                self.result.gone += self._mark_published(session, ocids, gone_before=gone_before)
            if cursor is not None:
                state = session.get_one(SourceState, self.source_id)
                state.cursor, state.updated_at = dict(cursor), utcnow()
                self.cursor = dict(cursor)
        self.result.counts.add(counts)
        return counts

    def _reject(self, session: Session, row: Rejected) -> None:
        self.result.rejected += 1
        fingerprint = row.fingerprint
        known = session.scalar(
            select(RejectedRow.id).where(
                RejectedRow.source_id == self.source_id, RejectedRow.fingerprint == fingerprint
            )
        )
        if known is None:
            session.add(
                RejectedRow(
                    source_id=self.source_id,
                    fingerprint=fingerprint,
                    first_run_id=self.run_id,
                    location=row.location,
                    row_number=row.number,
                    reason=row.reason,
                    data=json.dumps(row.values, ensure_ascii=False),
                )
            )
            session.flush()
            self.note(f"{row.location} row {row.number}", f"not loaded: {row.reason}")

    def _mark_published(self, session: Session, ocids: set[str], *, gone_before: int | None = None) -> int:
        """Stamp these ocids as seen by this run; with `gone_before`, mark every ocid of the source last seen
        before that run as no longer published (a crash-resumed window started at an earlier run)."""
        wanted, known = sorted(ocids), set[str]()
        for start in range(0, len(wanted), IN_CHUNKS):
            chunk = wanted[start : start + IN_CHUNKS]
            known.update(
                session.scalars(
                    select(SourceItem.ocid).where(SourceItem.source_id == self.source_id, SourceItem.ocid.in_(chunk))
                )
            )
        # A register's million ocids as a million dicts held at once took a third of the run's peak memory.
        new = (o for o in wanted if o not in known)
        while chunk := list(itertools.islice(new, IN_CHUNKS)):
            rows = [{"source_id": self.source_id, "ocid": o, "last_seen_run_id": self.run_id} for o in chunk]
            session.execute(insert(SourceItem), rows)
        again = [o for o in wanted if o in known]
        for start in range(0, len(again), IN_CHUNKS):
            session.execute(
                update(SourceItem)
                .where(SourceItem.source_id == self.source_id, SourceItem.ocid.in_(again[start : start + IN_CHUNKS]))
                .values(last_seen_run_id=self.run_id, gone_since_run_id=None)
            )
        if gone_before is None:
            return 0
        gone: int = session.execute(  # type: ignore[attr-defined]  # an UPDATE's CursorResult
            update(SourceItem)
            .where(
                SourceItem.source_id == self.source_id,
                SourceItem.last_seen_run_id < gone_before,
                SourceItem.gone_since_run_id.is_(None),
            )
            .values(gone_since_run_id=self.run_id)
        ).rowcount
        if gone:
            self.note(self.config.name, f"{gone} contracts no longer published: kept, marked by this run")
        return gone

    def save_cursor(self, cursor: dict, *, gone_before: int | None = None) -> None:
        """Move the cursor without a page (the end of a window); optionally mark what the window did not see."""
        with self.sessions() as session, session.begin():
            if gone_before is not None:
                self.result.gone += self._mark_published(session, set(), gone_before=gone_before)
            state = session.get_one(SourceState, self.source_id)
            state.cursor, state.updated_at = dict(cursor), utcnow()
        self.cursor = dict(cursor)


def file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---- kinds --------------------------------------------------------------------------------------------------


def load_register(job: Job, path: Path, *, location: str) -> None:
    """A whole CSV or XLSX register: one package, one transaction; its row count is the publisher's total."""
    stats = TableStats()
    items = map_file(path, job.config, stats, location=location)
    job.store_page(items, location=location, digest=file_checksum(path), encoding=stats.encoding, snapshot=True)
    job.take_notes(stats)
    job.result.fetched += stats.rows
    job.result.publisher_total = (job.result.publisher_total or 0) + stats.rows + stats.unread
    if stats.encoding not in ("utf-8", "utf-8-sig", "xlsx"):
        job.note(location, f"not UTF-8: read as {stats.encoding}")


def run_register(job: Job) -> None:
    config = job.config
    if config.is_local:
        path = config.local_path()
        if not path.is_file():
            raise IngestError(f"{config.name}: no such file {path}")
        load_register(job, path, location=config.url)
        return
    from ingest.endpoints import Client

    client = Client(config)
    with tempfile.TemporaryDirectory(prefix="portal-source-") as folder:
        path = client.download(config.url, Path(folder) / f"register.{config.kind}")
        load_register(job, path, location=config.url)


def job_for(kind: SourceKind) -> Callable[[Job], None]:
    if kind in (SourceKind.CSV, SourceKind.XLSX):
        return run_register
    if kind == SourceKind.SOCRATA:
        from ingest.socrata import run_socrata

        return run_socrata
    if kind == SourceKind.CKAN:
        from ingest.ckan import run_ckan

        return run_ckan
    from ingest.ocds_api import run_ocds_api

    return run_ocds_api


# ---- runs ---------------------------------------------------------------------------------------------------


def start_run(sessions: SessionFactory, config: SourceConfig) -> Job:
    """Record the source (with its licence) and a running run, committed before anything is fetched."""
    with sessions() as session, session.begin():
        source = session.scalars(select(Source).where(Source.name == config.name)).first()
        if source is None:
            source = Source(name=config.name, kind=config.kind.value, location=config.url)
            session.add(source)
            session.flush()
        source.kind, source.location = config.kind.value, config.url
        state = session.get(SourceState, source.id)
        if state is None:
            state = SourceState(source_id=source.id, cursor={})
            session.add(state)
        state.kind, state.url, state.licence = config.kind.value, config.url, config.licence
        state.licence_url, state.attribution = config.licence_url or None, config.attribution or None
        run = IngestRun(source_id=source.id, notes=[])
        session.add(run)
        session.flush()
        result = SourceRun(run.id, config.name, RunStatus.RUNNING, Counts(), [])
        return Job(sessions, config, source.id, run.id, result, cursor=dict(state.cursor or {}))


def finish_run(job: Job, status: str) -> SourceRun:
    result = job.result
    result.status = status
    if result.publisher_total is not None:
        difference = result.shortfall or 0
        job.note(
            job.config.name,
            f"fetched {result.fetched} of the publisher's {result.publisher_total}"
            + (f": {difference} short" if difference > 0 else f": {-difference} more" if difference < 0 else ""),
        )
    counts = result.counts
    with job.sessions() as session, session.begin():
        run = session.get_one(IngestRun, job.run_id)
        run.status, run.finished_at = status, utcnow()
        run.files, run.releases_seen, run.releases_new = counts.files, counts.releases_seen, counts.releases_new
        run.releases_unchanged, run.conflicts = counts.releases_unchanged, counts.conflicts
        run.processes_compiled = counts.processes_compiled
        notes = list(counts.notes)
        if counts.notes_dropped:
            notes.append({"where": "run", "note": f"{counts.notes_dropped} more notes not kept"})
        run.notes = notes
        run.error = "\n".join(result.errors) or None
        if result.publisher_total is not None:
            session.get_one(SourceState, job.source_id).publisher_total = result.publisher_total
    return result


GC_FIRST_THRESHOLD = 10_000  # allocations between young-generation collections while a source runs (Python: 700)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect cyclic garbage less often while a source runs. A page builds tens of thousands of small dicts
    that live until it is stored, and with Python's default thresholds the collector walked them again and
    again: a tenth of the CPU time of storing the Chicago register. Nearly all of them are freed by reference
    counting; the collector still runs, 14 times less often."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], GC_FIRST_THRESHOLD), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def run_source(sessions: SessionFactory, config: SourceConfig) -> SourceRun:
    """Run one configured source to its end (or its first unrecoverable error), resuming from its cursor."""
    with fewer_collections():
        return _run_source(sessions, config)


def _run_source(sessions: SessionFactory, config: SourceConfig) -> SourceRun:
    job = start_run(sessions, config)
    try:
        job_for(config.kind)(job)
    except IngestError as error:
        job.result.errors.append(str(error))
    except BaseException:
        job.result.errors.append(traceback.format_exc(limit=3))
        finish_run(job, RunStatus.FAILED)
        raise
    return finish_run(job, RunStatus.FAILED if job.result.errors else RunStatus.SUCCEEDED)


def gone_count(session: Session, source_id: int) -> int:
    return session.scalar(  # type: ignore[return-value]  # COUNT is never NULL
        select(func.count())
        .select_from(SourceItem)
        .where(SourceItem.source_id == source_id, SourceItem.gone_since_run_id.is_not(None))
    )


def due_sources(session: Session, sources: list[SourceConfig], *, now: datetime | None = None) -> list[SourceConfig]:
    """The sources whose schedule says they should run now: never run, or last started longer ago than their
    interval. A `manual` source (or an unknown schedule) is never due; a run still going is not started twice
    unless it has been going for longer than its interval (then it was killed)."""
    now = now or utcnow()
    last = {
        name: started
        for name, started in session.execute(
            select(Source.name, func.max(IngestRun.started_at)).join(IngestRun).group_by(Source.name)
        )
    }
    due = []
    for config in sources:
        interval = SCHEDULES.get(config.schedule)
        if interval is None:
            continue
        started = last.get(config.name)
        if started is None or now - started >= interval:
            due.append(config)
    return due
