"""Running an ingest: the only place that opens transactions.

Each file is one transaction: its releases are stored, the processes they touch recompiled and queued for the
search index, and all of it commits together or not at all. The run itself is committed before any file is
read, so a crash leaves a "running" run behind as evidence rather than nothing.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import socket
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import requests
from ocdsmerge.exceptions import OCDSMergeWarning
from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from ingest.fetch import clean_temporary_folders, download, temporary_folder
from ingest.limits import DEFAULT_LIMITS, Deadline, Limits
from ingest.ocds import (
    FILE_SUFFIXES,
    NESTING_HINT,
    Found,
    IngestError,
    NotUTF8,
    PackageInfo,
    accepted_suffix,
    read_file,
)
from ingest.status import abandoned_reason
from portal.domain.ocds import (
    KeyTooLong,
    canonical_json,
    check_key,
    checksum,
    ocds_version,
    read_date,
    release_content,
    release_stages,
)
from portal.domain.records import compile_processes, next_load_number
from portal.domain.validation import schema_errors
from portal.models import KEY_LENGTH, IngestRun, Package, PublishedRecord, Release, Source, utcnow
from portal.vocabulary import FoundKind, OcdsVersion, RunStatus

__all__ = ["FILE_SUFFIXES", "RunResult", "load_file", "record_index_failure", "run_ingest"]

BATCH = 2000  # releases stored and compiled together; bounds memory whatever the file size
ANALYZE_AFTER = 1000  # new releases in a file after which PostgreSQL's planner statistics are refreshed
MAX_NOTES = 500  # data-quality notes kept per run; beyond this only the count grows
HEARTBEAT_SECONDS = 60  # a run says it is alive at most this often within a file (see ingest.status.STALE_AFTER)


class RunTimeLimit(IngestError):
    """The run's time limit passed while a file was being loaded."""


SessionFactory = Callable[[], Session]


@dataclass
class Counts:
    files: int = 0
    releases_seen: int = 0
    releases_new: int = 0
    releases_unchanged: int = 0
    conflicts: int = 0
    releases_invalid: int = 0  # new releases with OCDS schema errors (noted on each release)
    processes_compiled: int = 0
    notes: list[dict] = field(default_factory=list)
    notes_dropped: int = 0

    def note(self, where: str, note: str) -> None:
        if len(self.notes) < MAX_NOTES:
            self.notes.append({"where": where, "note": note})
        else:
            self.notes_dropped += 1

    def add(self, other: Counts) -> None:
        for name in ("files", "releases_seen", "releases_new", "releases_unchanged", "conflicts", "releases_invalid"):
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
            if child.is_file() and accepted_suffix(child.name):
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


@dataclass
class Loading:
    """What every release of one file is stored with: the file's load number, its package's date and version."""

    number: int
    info: PackageInfo


def _store_releases(
    session: Session, package: Package, batch: list, counts: Counts, loading: Loading
) -> tuple[dict[str, dict], set[str]]:
    """Insert the releases not already stored, and mark those stored before as loaded again. Return the new ones
    by checksum and the ocids to recompile (the new releases', and those whose used version may have changed)."""
    published = read_date(loading.info.published_date).utc
    rows: dict[tuple[str, str, str], dict] = {}
    for found in batch:
        release = found.data
        ocid, release_id = release.get("ocid"), release.get("id")
        counts.releases_seen += 1
        if not isinstance(ocid, str) or not ocid.strip() or release_id in (None, ""):
            counts.note(found.where, "release without an ocid or id: skipped")
            continue
        check_key("ocid", ocid, KEY_LENGTH)
        check_key("release id", str(release_id), KEY_LENGTH)
        text = canonical_json(release)
        content = release_content(release)
        # Most releases carry no collection-script keys: then the stored text is also the content hashed.
        key = (ocid, str(release_id), checksum(text if content.keys() == release.keys() else canonical_json(content)))
        if key in rows:
            counts.releases_unchanged += 1
            continue
        date = read_date(release.get("date"))
        if date.note:
            counts.note(found.where, date.note)
        if loading.info.is_package:
            version = ocds_version(loading.info.version)
        else:  # no package: the release's own `version` if it has one, else 1.1
            version = ocds_version(release["version"]) if release.get("version") is not None else OcdsVersion.V1_1
        rows[key] = {
            "ocid": ocid,
            "release_id": str(release_id),
            "checksum": key[2],
            "package_id": package.id,
            "last_package_id": package.id,
            "published": published,
            "loaded": loading.number,
            "ocds_version": version,
            "date": date.utc,
            "date_offset": date.offset,
            "date_published": str(release.get("date")) if release.get("date") is not None else None,
            "tag": json.dumps(release.get("tag"), ensure_ascii=False) if "tag" in release else None,
            "stages": " ".join(release_stages(release)),
            "from_record": found.from_record,
            "data": text,
            "_release": release,
            "_valid": found.valid,
        }
    ocids = sorted({key[0] for key in rows})
    stored: dict[tuple[str, str, str], tuple[int, datetime | None]] = {}
    for start in range(0, len(ocids), 500):
        chunk = ocids[start : start + 500]
        query = select(Release.ocid, Release.release_id, Release.checksum, Release.id, Release.published)
        stored.update(((o, r, d), (i, p)) for o, r, d, i, p in session.execute(query.where(Release.ocid.in_(chunk))))
    versions: dict[tuple[str, str], int] = {}
    for key in stored:
        versions[key[:2]] = versions.get(key[:2], 0) + 1
    new_rows, again, recompile = [], [], set()
    for key, row in rows.items():
        if key in stored:
            counts.releases_unchanged += 1
            # Loading identical content again counts as loading it: it may become the version used.
            row_id, was = stored[key]
            again.append(
                {
                    "id": row_id,
                    "loaded": loading.number,
                    "last_package_id": package.id,
                    "published": max((p for p in (was, published) if p is not None), default=None),
                }
            )
            if versions[key[:2]] > 1:
                recompile.add(key[0])
            continue
        if key[:2] in versions:
            counts.conflicts += 1
            counts.note(f"{key[0]} release {key[1]}", "published again with different content: both kept")
        versions[key[:2]] = versions.get(key[:2], 0) + 1
        row["notes"] = None if row.pop("_valid") else schema_errors(release_content(row["_release"])) or None
        if row["notes"]:
            counts.releases_invalid += 1
            counts.note(f"{key[0]} release {key[1]}", f"OCDS schema: {row['notes'][0]}")
        new_rows.append(row)
    parsed = {row["checksum"]: row.pop("_release") for row in new_rows}
    if new_rows:
        session.execute(insert(Release.__table__), new_rows)  # Core: no ORM bookkeeping per row
    if again:
        session.execute(update(Release), again)
    counts.releases_new += len(new_rows)
    return parsed, recompile | {row["ocid"] for row in new_rows}


def _store_record(session: Session, package: Package, record: dict) -> str | None:
    """Keep a publisher's record; return its ocid when its releases are linked, not embedded (it then stands in)."""
    ocid = record.get("ocid")
    if not isinstance(ocid, str):
        return None
    check_key("ocid", ocid, KEY_LENGTH)
    text = canonical_json(record)
    digest = checksum(text)
    exists = session.scalar(
        select(PublishedRecord.id).where(PublishedRecord.ocid == ocid, PublishedRecord.checksum == digest)
    )
    if exists is None:
        session.add(PublishedRecord(ocid=ocid, checksum=digest, package_id=package.id, data=text))
    releases = record.get("releases")
    if not isinstance(releases, list):
        releases = []
    linked = any(isinstance(r, dict) and "url" in r and "id" not in r for r in releases)
    return ocid if linked else None


def _flush_batch(
    session: Session,
    package: Package,
    batch: list,
    counts: Counts,
    loading: Loading,
    extra: frozenset[str] | set[str] = frozenset(),
    merge_warnings: Counter[str] | None = None,
) -> None:
    stored, ocids = _store_releases(session, package, batch, counts, loading)
    if ocids or extra:
        session.flush()
        # ocdsmerge warns (duplicate ids in an array, ...) through `warnings`: they become notes of the run.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", OCDSMergeWarning)
            report = compile_processes(session, ocids | extra, known=stored)
        for warning in caught:
            if issubclass(warning.category, OCDSMergeWarning):
                if merge_warnings is not None:
                    merge_warnings[str(warning.message)] += 1
            else:
                warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
        counts.processes_compiled += len(report.changed)
        for entry in report.notes:
            counts.note(entry["where"], entry["note"])
    batch.clear()


def _note_merge_warnings(counts: Counts, location: str, merge_warnings: Counter[str]) -> None:
    """ocdsmerge's warnings of one file as run notes, each once with how often it came."""
    for message, times in merge_warnings.items():
        counts.note(location, f"ocdsmerge: {message}" + (f" ({times} times)" if times > 1 else ""))


def load_file(
    session: Session,
    source: Source,
    run_id: int,
    path: Path,
    *,
    location: str,
    charset: str | None = None,
    encoding: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    encodings: dict[str, str] | None = None,
    tick: Callable[[], None] | None = None,
) -> Counts:
    """Store, compile and queue everything in one file, inside the caller's transaction.

    `charset` is what a server declared, `encoding` the source's setting (both for files that are not UTF-8);
    `tick` is called between batches (the runner's time limit and heartbeat).
    """
    counts = Counts(files=1)
    info, found = read_file(
        path, declared_encoding=charset, encoding=encoding, name=location, limits=limits, encodings=encodings
    )
    package = _package(session, source, run_id, location, _file_checksum(path))
    loading = Loading(next_load_number(session), info)
    batch: list = []
    merge_warnings: Counter[str] = Counter()
    linked: set[str] = set()
    try:
        for item in found:
            if item.kind == FoundKind.RELEASE:
                batch.append(item)
                if len(batch) >= BATCH:
                    _flush_batch(session, package, batch, counts, loading, merge_warnings=merge_warnings)
                    if tick is not None:
                        tick()
            elif item.kind == FoundKind.RECORD and (ocid := _store_record(session, package, item.data)):
                linked.add(ocid)
            for note in item.notes:
                counts.note(item.where, note)
        _flush_batch(session, package, batch, counts, loading, linked, merge_warnings)
    except KeyTooLong as error:
        raise IngestError(f"{location}: {error}") from None
    # Package metadata is only complete once the whole file has been read.
    package.uri, package.published_date, package.version = info.uri, info.published_date, info.version
    package.publisher_name, package.encoding = info.publisher_name, info.encoding[:40]
    for where, note in info.notes:
        counts.note(where, note)
    _note_merge_warnings(counts, location, merge_warnings)
    if counts.releases_seen == 0:
        counts.note(location, "no releases found")
    return counts


def run_ingest(
    session_factory: SessionFactory,
    location: str,
    *,
    source_name: str | None = None,
    http: requests.Session | None = None,
    encoding: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    temp_dir: Path | None = None,
) -> RunResult:
    """Load every file a location names, one transaction each, and record the run with its counts and notes.

    A file that fails, for whatever reason (bad JSON, a limit reached, a value the database refuses, a source
    that keeps answering 500, ...), is rolled back whole and named in the run's error with its reason; the other
    files still load. Only a reason that would fail every file after it (the disk is full, the run's time is up)
    stops the run, saying how many files were left unread. `encoding` is the source's encoding, used for files
    that are not UTF-8 and declare none. The search index is updated afterwards from the index queue.
    """
    deadline = Deadline(limits.run_seconds)
    if not is_url(location):
        location = str(Path(location).expanduser().resolve())
    clean_temporary_folders(temp_dir)
    with session_factory() as session, session.begin():
        mark_abandoned_runs(session)
        if source_name:
            source = session.scalars(select(Source).where(Source.name == source_name)).first()
        else:
            source = session.scalars(
                select(Source).where((Source.location == location) | (Source.name == location)).order_by(Source.id)
            ).first()
        if source is None:
            source = Source(name=source_name or location, kind="ocds", location=location)
            session.add(source)
            session.flush()
        run = IngestRun(source_id=source.id, notes=[], owner=this_owner(), heartbeat_at=utcnow())
        session.add(run)
        session.flush()
        run_id, source_id = run.id, source.id

    counts, errors = Counts(), []
    heartbeat = Heartbeat(session_factory, run_id)
    try:
        files = list(expand(location))
        if not files:
            errors.append(f"{location}: no loadable file (looked for names ending in {', '.join(FILE_SUFFIXES)})")
        for number, (file, label) in enumerate(files):
            if deadline.expired:
                errors.append(_stopped(f"the run's time limit ({limits.run_seconds:g} s) was reached", files, number))
                break
            heartbeat.beat()
            options = LoadOptions(http, encoding, limits, deadline, temp_dir, heartbeat)
            try:
                loaded = _load_one(session_factory, source_id, run_id, file, label, options)
                counts.add(loaded)
                _refresh_statistics(session_factory, loaded)
            except Exception as error:  # one file's failure, whatever it is, is that file's error
                message, fatal = describe_failure(label, error)
                errors.append(_stopped(message, files, number + 1) if fatal else message)
                if fatal:
                    break
    except IngestError as error:
        errors.append(str(error))
    except BaseException:
        _finish(session_factory, run_id, counts, [traceback.format_exc(limit=3)], RunStatus.FAILED)
        raise
    status = RunStatus.FAILED if errors else RunStatus.SUCCEEDED
    try:
        _finish(session_factory, run_id, counts, errors, status)
    except Exception as error:  # a full disk, say: the caller still learns what happened to each file
        message, _ = describe_failure("run", error)
        errors.append(f"the run's outcome could not be recorded ({message}); the next run will mark it abandoned")
        status = RunStatus.FAILED
    return RunResult(run_id, status, counts, errors)


def _stopped(message: str, files: list, unread_from: int) -> str:
    unread = len(files) - unread_from
    return f"{message}; the run stopped there ({unread} more file{'s' if unread != 1 else ''} not read)"


_STORAGE_FAILURES = ("disk is full", "disk i/o error", "no space left", "could not extend file", "read-only")


def describe_failure(label: str, error: BaseException) -> tuple[str, bool]:
    """A failed file's error, naming it and the reason, and whether the run must stop: a full or failing disk
    and the run's time limit fail every file after them too."""
    if isinstance(error, RunTimeLimit):
        return f"{label}: {error}", True
    if isinstance(error, IngestError):
        return str(error), False
    if isinstance(error, RecursionError):
        return f"{label}: {NESTING_HINT}", False
    if isinstance(error, DBAPIError):
        reason = str(error.orig).strip().splitlines()[0] if error.orig is not None else str(error)
        if any(word in reason.lower() for word in _STORAGE_FAILURES):
            return f"{label}: the database could not write ({reason})", True
        if isinstance(error, DataError | IntegrityError):
            return f"{label}: the database refused a value ({reason})", False
        return f"{label}: the database failed ({reason})", False
    if isinstance(error, OSError):
        if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
            return f"{label}: could not write to disk ({error.strerror})", True
        return f"{label}: {error.strerror or error}", False
    return f"{label}: {type(error).__name__}: {error}", False


def record_index_failure(session_factory: SessionFactory, run_id: int, message: str) -> None:
    """Record in a run that the search index was not updated after its commit. What it stored stays stored and
    queued, so the next index update picks it up; the run is failed, not "succeeded", until then."""
    with session_factory() as session, session.begin():
        run = session.get(IngestRun, run_id)
        if run is None:
            return
        line = f"search index not updated: {message} (the changed processes stay queued for the next update)"
        run.status = RunStatus.FAILED
        run.error = f"{run.error}\n{line}" if run.error else line
        run.finished_at = run.finished_at or utcnow()


def this_owner() -> str:
    """How a run names the process running it: host and pid."""
    return f"{socket.gethostname()} {os.getpid()}"


class Heartbeat:
    """Tells the database the run is alive, at most every HEARTBEAT_SECONDS: between files, and on PostgreSQL
    between batches too (on SQLite a second writer would wait for the file's transaction, so there the owner's
    pid is what shows a run alive; see ingest.status)."""

    def __init__(self, session_factory: SessionFactory, run_id: int) -> None:
        self.session_factory, self.run_id = session_factory, run_id
        self.last = time.monotonic()  # the run was created with a heartbeat
        self.sqlite: bool | None = None

    def beat(self, *, within_file: bool = False) -> None:
        now = time.monotonic()
        if now - self.last < HEARTBEAT_SECONDS or (within_file and self.sqlite):
            return
        with self.session_factory() as session, session.begin():
            self.sqlite = session.get_bind().dialect.name == "sqlite"
            if within_file and self.sqlite:
                return
            session.execute(update(IngestRun).where(IngestRun.id == self.run_id).values(heartbeat_at=utcnow()))
        self.last = now


def mark_abandoned_runs(session: Session) -> list[int]:
    """Mark "running" runs whose process is gone, or silent too long, as abandoned; return their ids."""
    marked = []
    now = utcnow()
    for run in session.scalars(select(IngestRun).where(IngestRun.status == RunStatus.RUNNING)):
        reason = abandoned_reason(run, now)
        if reason:
            run.status, run.finished_at = RunStatus.ABANDONED, now
            run.error = f"abandoned: {reason}" + (f"\n{run.error}" if run.error else "")
            marked.append(run.id)
    return marked


def _refresh_statistics(session_factory: SessionFactory, counts: Counts) -> None:
    """PostgreSQL plans from table statistics, and a table that grew from empty in one run has none: the planner
    then scans every release to find a batch's few hundred (measured at 100k: 600 releases/s, and falling)."""
    if counts.releases_new < ANALYZE_AFTER:
        return
    with session_factory() as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("ANALYZE release, process, party, award, index_queue"))


@dataclass
class LoadOptions:
    http: requests.Session | None = None
    encoding: str | None = None
    limits: Limits = DEFAULT_LIMITS
    deadline: Deadline | None = None
    temp_dir: Path | None = None
    heartbeat: Heartbeat | None = None


def _load_one(
    session_factory: SessionFactory,
    source_id: int,
    run_id: int,
    file: str,
    label: str,
    options: LoadOptions,
) -> Counts:
    if not is_url(file):
        return _load_path(session_factory, source_id, run_id, Path(file), label, None, options)
    folder = temporary_folder(options.temp_dir)
    try:
        fetched = download(file, folder, session=options.http, limits=options.limits, deadline=options.deadline)
        return _load_path(session_factory, source_id, run_id, fetched.path, label, fetched.charset, options)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _load_path(
    session_factory: SessionFactory,
    source_id: int,
    run_id: int,
    path: Path,
    label: str,
    charset: str | None,
    options: LoadOptions,
) -> Counts:
    """One file in one transaction; read again from the start, in a new transaction, when a member turns out
    not to be UTF-8 after part of it was stored."""
    encodings: dict[str, str] = {}
    while True:
        try:
            with session_factory() as session, session.begin():
                source = session.get(Source, source_id)
                if source is None:
                    raise IngestError(f"source {source_id} no longer exists")
                return load_file(
                    session,
                    source,
                    run_id,
                    path,
                    location=label,
                    charset=charset,
                    encoding=options.encoding,
                    limits=options.limits,
                    encodings=encodings,
                    tick=lambda: _tick(options),
                )
        except NotUTF8 as again:
            if again.where in encodings:
                raise IngestError(f"{again.where}: could not be decoded as {again.encoding}") from None
            encodings[again.where] = again.encoding


def _tick(options: LoadOptions) -> None:
    """Between batches: stop at the run's time limit, and say the run is alive."""
    if options.deadline is not None and options.deadline.expired:
        raise RunTimeLimit(f"stopped by the run's time limit ({options.deadline.seconds:g} s)")
    if options.heartbeat is not None:
        options.heartbeat.beat(within_file=True)


def _finish(session_factory: SessionFactory, run_id: int, counts: Counts, errors: list[str], status: str) -> None:
    with session_factory() as session, session.begin():
        run = session.get(IngestRun, run_id)
        if run is None:
            raise IngestError(f"ingest run {run_id} no longer exists")
        run.status, run.finished_at, run.heartbeat_at = status, utcnow(), utcnow()
        run.files, run.releases_seen, run.releases_new = counts.files, counts.releases_seen, counts.releases_new
        run.releases_unchanged, run.conflicts = counts.releases_unchanged, counts.conflicts
        run.releases_invalid = counts.releases_invalid
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
    # No package around them: no publishedDate to rank versions by, and OCDS 1.1 rules unless a release says.
    loading = Loading(next_load_number(session), PackageInfo(encoding=encoding))
    merge_warnings: Counter[str] = Counter()
    batch: list = []
    for item in releases:
        batch.append(item)
        for note in item.notes:
            counts.note(item.where, note)
        if len(batch) >= BATCH:
            _flush_batch(session, package, batch, counts, loading, merge_warnings=merge_warnings)
    _flush_batch(session, package, batch, counts, loading, merge_warnings=merge_warnings)
    _note_merge_warnings(counts, location, merge_warnings)
    return counts
