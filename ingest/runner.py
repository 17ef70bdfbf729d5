"""Running an ingest: the only place that opens transactions.

Each file is one transaction: its releases are stored, the processes they touch recompiled and queued for the
search index, and all of it commits together or not at all. The run itself is committed before any file is
read, so a crash leaves a "running" run behind as evidence rather than nothing.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from ingest.fetch import download
from ingest.ocds import Found, IngestError, read_file
from portal.domain.ocds import canonical_json, checksum, parse_date, release_content, release_stages
from portal.domain.records import compile_processes
from portal.models import IngestRun, Package, PublishedRecord, Release, Source, utcnow
from portal.vocabulary import FoundKind, RunStatus

BATCH = 2000  # releases stored and compiled together; bounds memory whatever the file size
ANALYZE_AFTER = 1000  # new releases in a file after which PostgreSQL's planner statistics are refreshed
MAX_NOTES = 500  # data-quality notes kept per run; beyond this only the count grows
FILE_SUFFIXES = (".json", ".jsonl", ".ndjson", ".gz", ".zip")

SessionFactory = Callable[[], Session]


@dataclass
class Counts:
    files: int = 0
    releases_seen: int = 0
    releases_new: int = 0
    releases_unchanged: int = 0
    conflicts: int = 0
    processes_compiled: int = 0
    notes: list[dict] = field(default_factory=list)
    notes_dropped: int = 0

    def note(self, where: str, note: str) -> None:
        if len(self.notes) < MAX_NOTES:
            self.notes.append({"where": where, "note": note})
        else:
            self.notes_dropped += 1

    def add(self, other: Counts) -> None:
        for name in ("files", "releases_seen", "releases_new", "releases_unchanged", "conflicts"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.processes_compiled += other.processes_compiled
        for entry in other.notes:
            self.note(entry["where"], entry["note"])
        self.notes_dropped += other.notes_dropped


@dataclass
class RunResult:
    run_id: int
    status: str
    counts: Counts
    errors: list[str]


def is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def expand(location: str) -> Iterator[tuple[str, str]]:
    """(file, label) for each file a location names: a URL, a file, or every OCDS file below a folder in name
    order, labelled by its path inside the folder so that provenance does not depend on where a copy sits."""
    if is_url(location):
        yield location, location
        return
    path = Path(location)
    if path.is_dir():
        for child in sorted(path.rglob("*")):
            if child.is_file() and child.name.lower().endswith(FILE_SUFFIXES):
                yield str(child), child.relative_to(path).as_posix()
    elif path.is_file():
        yield str(path), path.name
    else:
        raise IngestError(f"{location}: no such file or folder")


def _file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _package(session: Session, source: Source, run_id: int, location: str, digest: str) -> Package:
    """The package row for these bytes from this location; its metadata is filled in once the file is read."""
    package = session.scalars(
        select(Package).where(Package.source_id == source.id, Package.location == location, Package.checksum == digest)
    ).first()
    if package is None:
        package = Package(source_id=source.id, first_run_id=run_id, location=location, checksum=digest)
        session.add(package)
        session.flush()
    return package


def _store_releases(session: Session, package: Package, batch: list, counts: Counts) -> dict[str, dict]:
    """Insert the releases not already stored; return them by checksum (their ocids need recompiling)."""
    rows: dict[tuple[str, str, str], dict] = {}
    for found in batch:
        release = found.data
        ocid, release_id = release.get("ocid"), release.get("id")
        counts.releases_seen += 1
        if not isinstance(ocid, str) or not ocid.strip() or release_id in (None, ""):
            counts.note(found.where, "release without an ocid or id: skipped")
            continue
        text = canonical_json(release)
        content = release_content(release)
        # Most releases carry no collection-script keys: then the stored text is also the content hashed.
        key = (ocid, str(release_id), checksum(text if content.keys() == release.keys() else canonical_json(content)))
        if key in rows:
            counts.releases_unchanged += 1
            continue
        date, date_note = parse_date(release.get("date"))
        if date_note:
            counts.note(found.where, date_note)
        rows[key] = {
            "ocid": ocid,
            "release_id": str(release_id),
            "checksum": key[2],
            "package_id": package.id,
            "date": date,
            "date_published": str(release.get("date"))[:64] if release.get("date") is not None else None,
            "tag": json.dumps(release.get("tag"), ensure_ascii=False) if "tag" in release else None,
            "stages": " ".join(release_stages(release)),
            "from_record": found.from_record,
            "data": text,
            "_release": release,
        }
    ocids = sorted({key[0] for key in rows})
    stored: set[tuple[str, str, str]] = set()
    for start in range(0, len(ocids), 500):
        chunk = ocids[start : start + 500]
        query = select(Release.ocid, Release.release_id, Release.checksum).where(Release.ocid.in_(chunk))
        stored.update((ocid, release_id, digest) for ocid, release_id, digest in session.execute(query))
    known_ids = {(ocid, release_id) for ocid, release_id, _ in stored}
    new_rows = []
    for key, row in rows.items():
        if key in stored:
            counts.releases_unchanged += 1
            continue
        if key[:2] in known_ids:
            counts.conflicts += 1
            counts.note(f"{key[0]} release {key[1]}", "published again with different content: both kept")
        known_ids.add(key[:2])
        new_rows.append(row)
    parsed = {row["checksum"]: row.pop("_release") for row in new_rows}
    if new_rows:
        session.execute(insert(Release.__table__), new_rows)  # Core: no ORM bookkeeping per row
    counts.releases_new += len(new_rows)
    return parsed


def _store_record(session: Session, package: Package, record: dict) -> None:
    ocid = record.get("ocid")
    if not isinstance(ocid, str):
        return
    text = canonical_json(record)
    digest = checksum(text)
    exists = session.scalar(
        select(PublishedRecord.id).where(PublishedRecord.ocid == ocid, PublishedRecord.checksum == digest)
    )
    if exists is None:
        session.add(PublishedRecord(ocid=ocid, checksum=digest, package_id=package.id, data=text))


def _flush_batch(session: Session, package: Package, batch: list, counts: Counts) -> None:
    stored = _store_releases(session, package, batch, counts)
    if stored:
        report = compile_processes(session, {release["ocid"] for release in stored.values()}, known=stored)
        counts.processes_compiled += len(report.changed)
        for entry in report.notes:
            counts.note(entry["where"], entry["note"])
    batch.clear()


def load_file(
    session: Session,
    source: Source,
    run_id: int,
    path: Path,
    *,
    location: str,
    charset: str | None = None,
) -> Counts:
    """Store, compile and queue everything in one file, inside the caller's transaction."""
    counts = Counts(files=1)
    info, found = read_file(path, declared_encoding=charset, name=location)
    package = _package(session, source, run_id, location, _file_checksum(path))
    batch: list = []
    for item in found:
        if item.kind == FoundKind.RELEASE:
            batch.append(item)
            if len(batch) >= BATCH:
                _flush_batch(session, package, batch, counts)
        elif item.kind == FoundKind.RECORD:
            _store_record(session, package, item.data)
        for note in item.notes:
            counts.note(item.where, note)
    _flush_batch(session, package, batch, counts)
    # Package metadata is only complete once the whole file has been read.
    package.uri, package.published_date = info.uri, info.published_date
    package.publisher_name, package.encoding = info.publisher_name, info.encoding
    if info.encoding not in ("utf-8", "utf-8-sig"):
        counts.note(location, f"not UTF-8: read as {info.encoding}")
    if counts.releases_seen == 0:
        counts.note(location, "no releases found")
    return counts


def run_ingest(
    session_factory: SessionFactory,
    location: str,
    *,
    source_name: str | None = None,
    http: requests.Session | None = None,
) -> RunResult:
    """Load every file a location names, one transaction each, and record the run with its counts and notes.

    A file that fails (bad JSON, a source that keeps answering 500, ...) is rolled back whole and named in the
    run's error; the other files still load. The search index is updated afterwards from the index queue.
    """
    with session_factory() as session, session.begin():
        source = session.scalars(select(Source).where(Source.name == (source_name or location))).first()
        if source is None:
            source = Source(name=source_name or location, kind="ocds", location=location)
            session.add(source)
            session.flush()
        run = IngestRun(source_id=source.id, notes=[])
        session.add(run)
        session.flush()
        run_id, source_id = run.id, source.id

    counts, errors = Counts(), []
    try:
        for file, label in expand(location):
            try:
                loaded = _load_one(session_factory, source_id, run_id, file, label, http)
                counts.add(loaded)
                _refresh_statistics(session_factory, loaded)
            except IngestError as error:
                errors.append(str(error))
    except IngestError as error:
        errors.append(str(error))
    except BaseException:
        _finish(session_factory, run_id, counts, [traceback.format_exc(limit=3)], RunStatus.FAILED)
        raise
    status = RunStatus.FAILED if errors else RunStatus.SUCCEEDED
    _finish(session_factory, run_id, counts, errors, status)
    return RunResult(run_id, status, counts, errors)


def _refresh_statistics(session_factory: SessionFactory, counts: Counts) -> None:
    """PostgreSQL plans from table statistics, and a table that grew from empty in one run has none: the planner
    then scans every release to find a batch's few hundred (measured at 100k: 600 releases/s, and falling)."""
    if counts.releases_new < ANALYZE_AFTER:
        return
    with session_factory() as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("ANALYZE release, process, party, award, index_queue"))


def _load_one(
    session_factory: SessionFactory,
    source_id: int,
    run_id: int,
    file: str,
    label: str,
    http: requests.Session | None,
) -> Counts:
    if not is_url(file):
        with session_factory() as session, session.begin():
            return load_file(session, session.get(Source, source_id), run_id, Path(file), location=label)
    with tempfile.TemporaryDirectory(prefix="portal-ingest-") as directory:
        fetched = download(file, Path(directory), session=http)
        with session_factory() as session, session.begin():
            return load_file(
                session,
                session.get(Source, source_id),
                run_id,
                fetched.path,
                location=label,
                charset=fetched.charset,
            )


def _finish(session_factory: SessionFactory, run_id: int, counts: Counts, errors: list[str], status: str) -> None:
    with session_factory() as session, session.begin():
        run = session.get(IngestRun, run_id)
        run.status, run.finished_at = status, utcnow()
        run.files, run.releases_seen, run.releases_new = counts.files, counts.releases_seen, counts.releases_new
        run.releases_unchanged, run.conflicts = counts.releases_unchanged, counts.conflicts
        run.processes_compiled = counts.processes_compiled
        notes = list(counts.notes)
        if counts.notes_dropped:
            notes.append({"where": "run", "note": f"{counts.notes_dropped} more notes not kept"})
        run.notes = notes
        run.error = "\n".join(errors) or None


# ---- Releases built in memory (tabular rows, API pages): the same store path, one package per call ----------


def store_releases(
    session: Session,
    source: Source,
    run_id: int,
    releases: Iterable[Found],
    *,
    location: str,
    digest: str,
    encoding: str = "utf-8",
) -> Counts:
    """Store, compile and queue releases that were not read from an OCDS file (ingest/jobs.py), as one package
    named `location` with content checksum `digest`, inside the caller's transaction."""
    counts = Counts(files=1)
    package = _package(session, source, run_id, location, digest)
    package.encoding = encoding
    batch: list = []
    for item in releases:
        batch.append(item)
        for note in item.notes:
            counts.note(item.where, note)
        if len(batch) >= BATCH:
            _flush_batch(session, package, batch, counts)
    _flush_batch(session, package, batch, counts)
    return counts
