"""Compiling processes: read each ocid's current releases, merge them into our record, write what it derives.

Everything written here is derived from the stored releases, so recompiling is always safe and gives the same
rows for the same releases. The pure parts live beside this module: versions.py (which version of a release is
used), derive.py (rows from a compiled release), headline.py (the headline value); store.py writes the rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ocdsmerge.exceptions import OCDSMergeError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from portal.domain.derive import Derived, derive
from portal.domain.ocds import (
    KeyTooLong,
    canonical_json,
    checksum,
    compile_releases,
    loads,
    publisher_of,
    read_date,
    release_content,
)
from portal.domain.store import chunks, queue_for_index, write_processes
from portal.domain.versions import EARLIEST, Version, current
from portal.models import Process, PublishedRecord, Release
from portal.vocabulary import CompiledBy, OcdsVersion


@dataclass
class CompileReport:
    changed: list[str] = field(default_factory=list)  # ocids whose compiled record changed
    notes: list[dict] = field(default_factory=list)  # {"where": ocid, "note": ...}


@dataclass(frozen=True)
class StoredVersion(Version):
    date: datetime | None = None
    date_offset: int | None = None
    digest: str = ""
    ocds_version: str = OcdsVersion.V1_1


@dataclass
class Versions:
    """Per ocid, the version of each release the record uses, and how many releases were republished."""

    releases: dict[str, list[tuple[StoredVersion, dict]]]  # ocid -> [(version, release)]
    conflicts: dict[str, int]


def current_releases(session: Session, ocids: list[str], known: dict[str, dict] | None = None) -> Versions:
    """Read what compiling these ocids needs. `known` maps checksums to releases the caller already holds
    parsed (those it has just stored), so that only the others are read back and parsed."""
    known = known or {}
    query = select(
        Release.id,
        Release.ocid,
        Release.release_id,
        Release.published,
        Release.loaded,
        Release.date,
        Release.date_offset,
        Release.checksum,
        Release.ocds_version,
    )
    rows = [StoredVersion(*row) for row in session.execute(query.where(Release.ocid.in_(ocids)))]
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        counts[(row.ocid, row.release_id)] += 1
    chosen = current(rows)
    unknown = [v.row_id for v in chosen.values() if v.digest not in known]
    texts: dict[int, str] = {}
    for chunk in chunks(unknown, 500):
        texts.update((i, d) for i, d in session.execute(select(Release.id, Release.data).where(Release.id.in_(chunk))))
    releases: dict[str, list] = defaultdict(list)
    for (ocid, _), version in chosen.items():
        release = known[version.digest] if version.digest in known else loads(texts[version.row_id])
        releases[ocid].append((version, release))
    conflicts: dict[str, int] = defaultdict(int)
    for (ocid, _), n in counts.items():
        if n > 1:
            conflicts[ocid] += 1
    return Versions(releases, conflicts)


@dataclass
class Compiled:
    """One process compiled: its record's JSON and checksum, and its derived rows unless the record is unchanged."""

    ocid: str
    text: str | None = None
    digest: str | None = None
    derived: Derived | None = None
    error: str | None = None
    rules: OcdsVersion = OcdsVersion.V1_1


def merge_rules_for(versions: Iterable[str]) -> tuple[OcdsVersion, str | None]:
    """1.0 rules when every release came from a 1.0 package; a mix is merged by 1.1 rules, with a note."""
    found = set(versions)
    if found == {OcdsVersion.V1_0}:
        return OcdsVersion.V1_0, None
    if OcdsVersion.V1_0 in found:
        return OcdsVersion.V1_1, "releases from OCDS 1.0 and 1.1 packages: merged by the 1.1 rules"
    return OcdsVersion.V1_1, None


def compile_one(job: tuple[str, list[dict], str | None, OcdsVersion]) -> Compiled:
    """Merge one process's releases (already in order) and derive its rows.

    Pure: no session, no shared state. `job` is (ocid, releases, checksum of the current compiled record or None,
    the OCDS version whose merge rules apply).
    """
    ocid, releases, previous, rules = job
    try:
        compiled = compile_releases([release_content(release) for release in releases], rules)
    except KeyTooLong:
        raise
    except (OCDSMergeError, ValueError, TypeError) as error:
        return Compiled(ocid, error=f"could not compile: {error}")
    text = canonical_json(compiled)
    digest = checksum(text + rules)
    if digest == previous:
        return Compiled(ocid, digest=digest, rules=rules)
    return Compiled(ocid, text, digest, derive(compiled), rules=rules)


def next_load_number(session: Session) -> int:
    """A number larger than any given before: the `loaded` of everything one file stores or loads again."""
    return (session.scalar(select(func.max(Release.loaded))) or 0) + 1


def _published_records(session: Session, ocids: list[str]) -> dict[str, dict]:
    """Per ocid, the latest publisher's record whose compiledRelease can stand in for releases we do not have."""
    found: dict[str, dict] = {}
    query = select(PublishedRecord.ocid, PublishedRecord.data).where(PublishedRecord.ocid.in_(ocids))
    for ocid, data in session.execute(query.order_by(PublishedRecord.id)):
        record = loads(data)
        if isinstance(record.get("compiledRelease"), dict):
            found[ocid] = record
    return found


def linked_releases(record: dict) -> list[dict]:
    """The releases a record links to (`url`, `date`, `tag`) rather than embeds: what fetching them would read."""
    releases = record.get("releases")
    if not isinstance(releases, list):
        return []
    return [r for r in releases if isinstance(r, dict) and "url" in r and "id" not in r]


def compile_processes(session: Session, ocids: Iterable[str], known: dict[str, dict] | None = None) -> CompileReport:
    """Recompile these processes from their stored releases and queue the changed ones for the search index.

    A process whose compiled record comes out the same is left untouched, which is what makes re-ingesting a
    file a no-op. A process the merge rules cannot compile keeps its previous record and is reported. A process
    with no stored release but a publisher's record (its releases linked, not embedded) uses that record's
    `compiledRelease`, marked as compiled by the publisher. `known`: see current_releases.
    """
    report = CompileReport()
    for chunk in chunks(sorted(set(ocids)), 500):
        versions = current_releases(session, chunk, known)
        existing, checksums = {}, {}
        for ocid, process_id, digest in session.execute(
            select(Process.ocid, Process.id, Process.compiled_checksum).where(Process.ocid.in_(chunk))
        ):
            existing[ocid], checksums[ocid] = process_id, digest
        ordered = {
            ocid: sorted(versions.releases[ocid], key=lambda v: (v[0].date or EARLIEST, v[0].row_id))
            for ocid in chunk
            if versions.releases.get(ocid)
        }
        now = datetime.now(timezone.utc)
        changed: dict[str, tuple[dict[str, object], Derived]] = {}
        recount = []
        results: list[tuple[Compiled, dict]] = []
        for ocid, releases in ordered.items():
            rules, rules_note = merge_rules_for(v.ocds_version for v, _ in releases)
            result = compile_one((ocid, [release for _, release in releases], checksums.get(ocid), rules))
            dated = [(v.date, v.date_offset) for v, _ in releases if v.date is not None]
            first = min(dated, key=lambda d: d[0]) if dated else (None, None)
            last = max(dated, key=lambda d: d[0]) if dated else (None, None)
            row: dict[str, object] = {
                "first_date": first[0],
                "first_date_offset": first[1],
                "last_date": last[0],
                "last_date_offset": last[1],
                "release_count": len(releases),
                "merge_rules": rules,
                "compiled_by": CompiledBy.PORTAL,
            }
            if rules_note and result.derived:
                result.derived.notes.append(rules_note)
            results.append((result, row))
        linked = [ocid for ocid in chunk if ocid not in ordered]
        for ocid, record in _published_records(session, linked).items() if linked else ():
            compiled = record["compiledRelease"]
            text = canonical_json(compiled)
            digest = checksum(text + CompiledBy.PUBLISHER)
            derived = None if digest == checksums.get(ocid) else derive(compiled)
            result = Compiled(ocid, text if derived else None, digest, derived)
            linked_count = len(linked_releases(record))
            date = read_date(compiled.get("date"))
            row = {
                "first_date": date.utc,
                "first_date_offset": date.offset,
                "last_date": date.utc,
                "last_date_offset": date.offset,
                "release_count": 0,
                "merge_rules": OcdsVersion.V1_1,
                "compiled_by": CompiledBy.PUBLISHER,
            }
            if derived is not None:
                derived.notes.append(
                    f"{linked_count} linked release(s) not fetched: "
                    "the record shown is the one compiled by the publisher"
                )
            results.append((result, row))
        for result, extra in results:
            ocid = result.ocid
            if result.error:
                report.notes.append({"where": ocid, "note": result.error})
                continue
            conflicts = versions.conflicts.get(ocid, 0)
            if result.derived is None:
                recount.append({"id": existing[ocid], "conflict_count": conflicts})
                continue
            values: dict[str, object] = {
                "ocid": ocid,
                "publisher": publisher_of(ocid),
                "compiled": result.text,
                "compiled_checksum": result.digest,
                "conflict_count": conflicts,
                "compiled_at": now,
                **extra,
                **result.derived.fields,
            }
            values["notes"] = list(dict.fromkeys(result.derived.notes)) or None
            changed[ocid] = (values, result.derived)
            report.notes.extend({"where": ocid, "note": n} for n in dict.fromkeys(result.derived.notes))
        if recount:
            session.execute(update(Process), recount)
        if not changed:
            continue
        write_processes(session, existing, changed)
        report.changed.extend(changed)
        queue_for_index(session, list(changed))
    return report
