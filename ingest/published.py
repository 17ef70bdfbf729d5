"""Releases published by the city's officials enter the store the way an ingested file does.

Each published release is one package of one release, stored by the runner's own store path (the release kept as
published, keyed by ocid, release id and checksum; its process recompiled; the process queued for the search
index), inside the caller's transaction, and recorded as an ingest run of its own source. So a published notice
is in the OCDS outputs and, once the caller has drained the index queue after committing, searchable at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.ocds import Found, PackageInfo
from ingest.runner import Counts, Loading, _flush_batch, this_owner
from portal.domain.ocds import canonical_json, checksum, loads, release_content
from portal.domain.records import next_load_number
from portal.models import IngestRun, Package, Source, utcnow
from portal.vocabulary import FoundKind, OcdsVersion, RunStatus

SOURCE_NAME = "Published on this portal"  # the source every release published here belongs to
SOURCE_KIND = "published"


@dataclass(frozen=True)
class Stored:
    run_id: int
    checksum: str  # the release's checksum, as the store keys it
    processes_compiled: int
    notes: list[dict]


def publication_source(session: Session) -> Source:
    source = session.scalars(select(Source).where(Source.name == SOURCE_NAME)).first()
    if source is None:
        source = Source(name=SOURCE_NAME, kind=SOURCE_KIND, location="published/")
        session.add(source)
        session.flush()
    return source


def store_release(session: Session, release: dict[str, Any], *, publisher_name: str) -> Stored:
    """Store one release published here, in the caller's transaction. Numbers are written exactly (Decimal
    amounts as their text) and read back as ingest reads a file, so the stored release is what a download of
    it would load."""
    text = canonical_json(release)
    parsed = loads(text)
    source = publication_source(session)
    run = IngestRun(source_id=source.id, notes=[], owner=this_owner(), heartbeat_at=utcnow())
    session.add(run)
    session.flush()
    location = f"published/{parsed['ocid']}/{parsed['id']}.json"
    package = Package(source_id=source.id, first_run_id=run.id, location=location, checksum=checksum(text))
    package.published_date, package.publisher_name, package.version = parsed["date"], publisher_name, "1.1"
    session.add(package)
    session.flush()
    info = PackageInfo(published_date=parsed["date"], publisher_name=publisher_name, version=OcdsVersion.V1_1)
    info.is_package = True
    counts = Counts(files=1)
    batch = [Found(FoundKind.RELEASE, parsed, location)]
    _flush_batch(session, package, batch, counts, Loading(next_load_number(session), info))
    run.status, run.finished_at = RunStatus.SUCCEEDED, utcnow()
    run.files, run.releases_seen, run.releases_new = counts.files, counts.releases_seen, counts.releases_new
    run.releases_unchanged, run.conflicts = counts.releases_unchanged, counts.conflicts
    run.releases_invalid, run.processes_compiled = counts.releases_invalid, counts.processes_compiled
    run.notes = list(counts.notes)
    return Stored(run.id, checksum(canonical_json(release_content(parsed))), counts.processes_compiled, counts.notes)
