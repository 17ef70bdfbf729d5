"""What the sources and their runs say: for a sources page, and for the runner deciding a run was abandoned.

A run is committed as "running" before its first file; if its process is killed it never finishes. Such a run
is *abandoned* when its owner (host and pid) is on this host and that pid is gone, or, from another host, when
it has not said it was alive (its heartbeat) for `STALE_AFTER`. The next run marks it so; `list_sources` shows
it so at once.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from portal.models import IngestRun, Package, RejectedRow, Release, Source, SourceItem, SourceState, utcnow
from portal.vocabulary import RunStatus

# A run that has not said it was alive for this long is abandoned (runs beat between files, and on PostgreSQL
# once a minute within a file; a file of the 1M benchmark took 17 minutes on SQLite, where the pid decides).
STALE_AFTER = timedelta(minutes=30)


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def abandoned_reason(run: IngestRun, now: datetime | None = None, stale_after: timedelta = STALE_AFTER) -> str | None:
    """Why a "running" run can no longer finish, or None if it may still be running."""
    if run.status != RunStatus.RUNNING:
        return None
    now = now or utcnow()
    host, _, pid = (run.owner or "").rpartition(" ")
    if host == socket.gethostname() and pid.isdigit():
        if int(pid) != os.getpid() and not pid_alive(int(pid)):
            return f"the process that ran it (pid {pid} on {host}) is gone"
        return None
    last = run.heartbeat_at or run.started_at
    if last is not None and now - last > stale_after:
        return f"no sign of life since {last:%Y-%m-%d %H:%M} UTC"
    return None


@dataclass
class RunStatusLine:
    """One run as a sources page shows it."""

    id: int
    status: str  # RunStatus; ABANDONED for a run that can no longer finish even before another run marks it
    started_at: datetime
    finished_at: datetime | None
    files: int
    releases_seen: int
    releases_new: int
    releases_unchanged: int
    conflicts: int
    processes_compiled: int
    error: str | None
    notes: list[dict]


@dataclass
class SourceStatus:
    """A source with its licence, its counts and its runs, newest run first: what the sources page, its JSON
    twin and `portal sources status` show."""

    id: int
    name: str
    kind: str
    location: str
    created_at: datetime
    packages: int
    releases: int
    licence: str | None = None  # None: loaded with `portal ingest`, not configured (the licence is the files' own)
    licence_url: str | None = None
    attribution: str | None = None
    publisher_total: int | None = None  # the publisher's own count at the last run
    rejected_rows: int = 0
    no_longer_published: int = 0
    runs: list[RunStatusLine] = field(default_factory=list)

    @property
    def last_run(self) -> RunStatusLine | None:
        return self.runs[0] if self.runs else None

    @property
    def last_success(self) -> RunStatusLine | None:
        return next((run for run in self.runs if run.status == RunStatus.SUCCEEDED), None)

    def as_json(self) -> dict:
        last = self.last_run
        return {
            "name": self.name,
            "kind": self.kind,
            "location": self.location,
            "licence": self.licence,
            "licence_url": self.licence_url,
            "attribution": self.attribution,
            "releases": self.releases,
            "publisher_total": self.publisher_total,
            "rejected_rows": self.rejected_rows,
            "no_longer_published": self.no_longer_published,
            "last_run": {
                "status": last.status if last else None,
                "started_at": last.started_at.isoformat() if last else None,
                "error": last.error.splitlines()[0] if last and last.error else None,
            },
            "runs": [
                {
                    "id": run.id,
                    "status": run.status,
                    "started_at": run.started_at,
                    "finished_at": run.finished_at,
                    "files": run.files,
                    "releases_seen": run.releases_seen,
                    "releases_new": run.releases_new,
                    "releases_unchanged": run.releases_unchanged,
                    "conflicts": run.conflicts,
                    "processes_compiled": run.processes_compiled,
                    "error": run.error,
                    "notes": run.notes,
                }
                for run in self.runs
            ],
        }


def list_sources(session: Session, *, runs_per_source: int = 10) -> list[SourceStatus]:
    """Every source by name, with its licence and attribution (configured sources), its package, release,
    rejected-row and no-longer-published counts, and its latest runs (newest first). Each count is one grouped
    query for all sources."""
    now = utcnow()

    def per_source(query: Select) -> dict[int, int]:
        return {source_id: n for source_id, n in session.execute(query)}

    packages = per_source(select(Package.source_id, func.count()).group_by(Package.source_id))
    releases = per_source(
        select(Package.source_id, func.count(Release.id))
        .join(Release, Release.package_id == Package.id)
        .group_by(Package.source_id)
    )
    rejected = per_source(select(RejectedRow.source_id, func.count()).group_by(RejectedRow.source_id))
    gone = per_source(
        select(SourceItem.source_id, func.count())
        .where(SourceItem.gone_since_run_id.is_not(None))
        .group_by(SourceItem.source_id)
    )
    states = {state.source_id: state for state in session.scalars(select(SourceState))}
    sources = []
    for source in session.scalars(select(Source).order_by(Source.name)):
        runs = session.scalars(
            select(IngestRun)
            .where(IngestRun.source_id == source.id)
            .order_by(IngestRun.id.desc())
            .limit(runs_per_source)
        )
        lines = []
        for run in runs:
            reason = abandoned_reason(run, now)
            lines.append(
                RunStatusLine(
                    id=run.id,
                    status=RunStatus.ABANDONED if reason else run.status,
                    started_at=run.started_at,
                    finished_at=run.finished_at,
                    files=run.files,
                    releases_seen=run.releases_seen,
                    releases_new=run.releases_new,
                    releases_unchanged=run.releases_unchanged,
                    conflicts=run.conflicts,
                    processes_compiled=run.processes_compiled,
                    error=f"abandoned: {reason}" if reason else run.error,
                    notes=list(run.notes or []),
                )
            )
        state = states.get(source.id)
        sources.append(
            SourceStatus(
                id=source.id,
                name=source.name,
                kind=source.kind,
                location=source.location,
                created_at=source.created_at,
                packages=packages.get(source.id, 0),
                releases=releases.get(source.id, 0),
                licence=state.licence if state else None,
                licence_url=state.licence_url if state else None,
                attribution=state.attribution if state else None,
                publisher_total=state.publisher_total if state else None,
                rejected_rows=rejected.get(source.id, 0),
                no_longer_published=gone.get(source.id, 0),
                runs=lines,
            )
        )
    return sources
