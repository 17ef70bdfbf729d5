"""What the sources page shows: every source with its licence and attribution, its last run, and how complete
the last run was against the publisher's own count. Plain functions, no Flask."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from portal.models import IngestRun, Package, RejectedRow, Release, Source, SourceItem, SourceState


@dataclass
class SourceView:
    name: str
    kind: str
    location: str
    licence: str | None  # None: loaded with `portal ingest`, not configured (the licence is the files' own)
    licence_url: str | None
    attribution: str | None
    releases: int
    publisher_total: int | None
    rejected_rows: int
    no_longer_published: int
    last_status: str | None
    last_started: datetime | None
    last_error: str | None

    def as_json(self) -> dict:
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
                "status": self.last_status,
                "started_at": self.last_started.isoformat() if self.last_started else None,
                "error": self.last_error,
            },
        }


def list_sources(session: Session) -> list[SourceView]:
    def per_source(query: Select) -> dict[int, int]:
        return {source_id: n for source_id, n in session.execute(query)}

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
    views = []
    for source in session.scalars(select(Source).order_by(Source.name)):
        state = session.get(SourceState, source.id)
        run = session.scalars(
            select(IngestRun).where(IngestRun.source_id == source.id).order_by(IngestRun.id.desc()).limit(1)
        ).first()
        views.append(
            SourceView(
                name=source.name,
                kind=source.kind,
                location=source.location,
                licence=state.licence if state else None,
                licence_url=state.licence_url if state else None,
                attribution=state.attribution if state else None,
                releases=releases.get(source.id, 0),
                publisher_total=state.publisher_total if state else None,
                rejected_rows=rejected.get(source.id, 0),
                no_longer_published=gone.get(source.id, 0),
                last_status=run.status if run else None,
                last_started=run.started_at if run else None,
                last_error=run.error.splitlines()[0] if run and run.error else None,
            )
        )
    return views
