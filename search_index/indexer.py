"""Keeping the Whoosh index in step with the database.

The database is the truth; the index is a projection of it. Ingest queues changed processes in its own
transaction; `apply_queue` indexes them afterwards, and `rebuild` recreates the whole index beside the old one
and swaps it in, so searches never see a half-built index.

One writer at a time: `apply_queue` and the end of a `rebuild` hold a lock file beside the index folder
(`<index>.lock`); a second writer waits for it, up to a timeout, then raises `IndexBusy`. While a rebuild
builds, `apply_queue` still updates the live index but leaves the queue entries in place; the rebuild replays
every queued entry into the new index just before the swap, under the lock, so nothing ingested meanwhile is
lost with the old folder.

One document never stops the rest: a value a column cannot hold (an amount of 1e17 overflows 64-bit cents) is
left out of that column, the document is indexed without it; a document that fails for any other reason is
skipped and reported, and stays queued for the next run.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session
from whoosh import index as whoosh_index
from whoosh.fields import NUMERIC, Schema
from whoosh.index import Index

from portal.domain.languages import language_tag
from portal.domain.redflags import flag_codes
from portal.models import Award, AwardSupplier, Contract, IndexQueue, Item, Party, Process, Tender
from search_index.schema import looks_like_id, process_schema, stem_language, stemmed_text
from search_index.whoosh_internals import writer as fixed_writer

log = logging.getLogger(__name__)

CHUNK = 2000  # processes read from the database per query
WRITER_MEMORY_MB = 256  # Whoosh's buffer before it spills a segment; larger builds fewer, bigger segments
# Segments as separate files, not one compound file: opening a compound segment copies much of it into memory
# (measured: 330 MB per searcher at 100k documents, against a few MB), and every server thread opens one.
WRITER_OPTIONS: dict[str, Any] = {"limitmb": WRITER_MEMORY_MB, "compound": False}
LOCK_TIMEOUT = 600.0  # seconds a writer waits for another to finish before giving up with IndexBusy


class IndexBusy(Exception):
    """Another process is writing the index; what is queued stays queued for the next run."""


@dataclass
class IndexReport:
    indexed: int = 0
    deleted: int = 0
    values_left_out: dict[str, int] = field(default_factory=dict)  # field -> documents without that column value
    skipped: dict[str, str] = field(default_factory=dict)  # ocid -> why
    kept_queued: bool = False  # a rebuild was running: entries left for it to replay


def open_index(directory: str | Path, *, create: bool = True) -> Index:
    """The index in `directory`; with create=False (the web path) a missing index raises FileNotFoundError."""
    path = Path(directory)
    if whoosh_index.exists_in(path):
        return whoosh_index.open_dir(path)
    if not create:
        raise FileNotFoundError(f"no search index in {path}: run `portal reindex`")
    path.mkdir(parents=True, exist_ok=True)
    return whoosh_index.create_in(path, process_schema())


# Locks ------------------------------------------------------------------------------------------------------


def _sibling(directory: str | Path, suffix: str) -> Path:
    target = Path(directory)
    return target.with_name(target.name + suffix)


@contextmanager
def _flock(path: Path, timeout: float, what: str) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        waited = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IndexBusy(
                        f"{what}: another process is writing the search index ({path} is locked); "
                        "what is queued stays queued and the next ingest or `portal reindex` indexes it"
                    ) from None
                if not waited:
                    log.info("%s: waiting for another process writing the search index", what)
                    waited = True
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def writing(directory: str | Path, timeout: float = LOCK_TIMEOUT, what: str = "index update"):
    """The lock every writer of the live index holds."""
    return _flock(_sibling(directory, ".lock"), timeout, what)


def rebuilding(directory: str | Path) -> bool:
    """Whether a rebuild of this index is under way (in any process)."""
    path = _sibling(directory, ".rebuild.lock")
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


# Documents --------------------------------------------------------------------------------------------------


def _cents(amount: Decimal | None) -> int | Decimal | None:
    """Cents, for the amount column; an infinite amount (a float column's reading of "1e400") is returned as
    it is, for `_clean` to leave out and count like any other value the column cannot hold."""
    if amount is None or not Decimal(amount).is_finite():
        return amount
    return int((amount * 100).to_integral_value())


# Keys whose text a reader searches for, wherever they sit in a compiled release (tender, awards, contracts,
# items, parties, amendments...), with their translations ("title_fr", "description_es-MX").
_SEARCHED_KEY = re.compile(
    r"(title|description|name|legalName|procurementMethodDetails|procurementMethodRationale|rationale)"
    r"(?:_([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*))?"
)
_UNSEARCHED = frozenset({"documents", "relatedProcesses"})  # file names and links to other processes


def _published_texts(value: object, language: str | None, found: dict[str, str | None]) -> None:
    """Every searched text in a compiled release, each with the language to stem it by."""
    if isinstance(value, dict):
        for key, child in value.items():
            if isinstance(child, str):
                matched = _SEARCHED_KEY.fullmatch(key)
                if matched and child.strip() and child not in found:
                    tag = language_tag(matched.group(2)) if matched.group(2) else None
                    found[child] = stem_language(tag) if tag else language
            elif key not in _UNSEARCHED:
                _published_texts(child, language, found)
    elif isinstance(value, list):
        for child in value:
            _published_texts(child, language, found)


def _ids(release: dict) -> str:
    """The tender's, awards' and contracts' ids that look like ids a reader would paste, comma-separated."""
    found = []
    tender = release.get("tender")
    blocks = [tender] if isinstance(tender, dict) else []
    for name in ("awards", "contracts"):
        listed = release.get(name)
        if isinstance(listed, list):
            blocks.extend(b for b in listed if isinstance(b, dict))
    for block in blocks:
        value = block.get("id")
        if isinstance(value, (str, int)) and looks_like_id(str(value)):
            found.append(str(value))
    return ",".join(dict.fromkeys(found))


def _compiled_texts(compiled: str | None) -> tuple[dict[str, str | None], str | None, str]:
    """(text -> stemming language) of a process's compiled release, the release's own stemming language, and
    its ids."""
    try:
        release = json.loads(compiled) if compiled else {}
    except ValueError:
        return {}, None, ""
    if not isinstance(release, dict):
        return {}, None, ""
    language = stem_language(language_tag(release.get("language")))
    found: dict[str, str | None] = {}
    _published_texts(release, language, found)
    return found, language, _ids(release)


def _aware(when: datetime) -> datetime:
    """A UTC datetime as the column type gives it; `min()` on SQLite returns it without its zone (or as text)."""
    if isinstance(when, str):
        when = datetime.fromisoformat(when)
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def documents(session: Session, process_ids: list[int]) -> Iterator[dict]:
    """Index documents for these processes, read in three queries whatever their number.

    The catch-all field holds the title (twice), description, buyer, suppliers and items, then every other text
    of the compiled release: award and contract titles and descriptions, every party's name, procurement method
    details, translations. `stems` holds the same words stemmed by the release's `language` (a translation by
    its own)."""
    suppliers: dict[int, dict[str, None]] = defaultdict(dict)
    for process_id, name in session.execute(
        select(Award.process_id, AwardSupplier.name)
        .join(AwardSupplier, AwardSupplier.award_id == Award.id)
        .where(Award.process_id.in_(process_ids))
        .order_by(Award.process_id, Award.id)
    ):
        suppliers[process_id][name] = None
    items: dict[int, dict[str, None]] = defaultdict(dict)
    for process_id, description in session.execute(
        select(Item.process_id, Item.description).where(Item.process_id.in_(process_ids), Item.description.is_not(None))
    ):
        assert description is not None  # the query leaves out items without one
        items[process_id][description] = None
    dates: dict[int, dict[str, int]] = defaultdict(dict)
    for name, query in (
        ("award_when", select(Award.process_id, func.min(Award.date)).group_by(Award.process_id)),
        ("signed_when", select(Contract.process_id, func.min(Contract.date_signed)).group_by(Contract.process_id)),
        ("tender_when", select(Tender.process_id, Tender.period_start)),
    ):
        column = query.selected_columns[0]
        for process_id, when in session.execute(query.where(column.in_(process_ids))):
            if when is not None:
                dates[process_id][name] = int(_aware(when).timestamp())
    flagged = flag_codes(session, process_ids)
    rows = session.execute(
        select(Process, Party.name)
        .outerjoin(Party, Party.id == Process.buyer_id)
        .where(Process.id.in_(process_ids))
        .order_by(Process.id)
    )
    for process, buyer in rows:
        title, description = process.title or "", process.description or ""
        names = "\n".join(n for n in suppliers.get(process.id, ()) if n)
        words = "\n".join(items.get(process.id, ()))
        published, language, ids = _compiled_texts(process.compiled)
        shown = (title, description, buyer or "", *suppliers.get(process.id, ()), *items.get(process.id, ()))
        seen = set(shown)
        extra = [t for t in published if t not in seen]
        text = "\n".join((title, title, description, buyer or "", names, words, *extra))
        stems = [stemmed_text("\n".join((title, title, description, buyer or "", names, words)), language)]
        stems.extend(stemmed_text(t, published[t]) for t in extra)
        languages = {published[t] for t in extra} | {language}
        yield {
            "ocid": process.ocid,
            "text": text,
            "pairs": text,
            "stems": " ".join(s for s in stems if s),
            "language": " ".join(sorted(lang for lang in languages if lang)),
            "ids": ids,
            "buyer_name": (buyer or "").strip(),
            "supplier_names": "\n".join(n.strip() for n in suppliers.get(process.id, ()) if n and n.strip()),
            "title": title,
            "description": description,
            "buyer": buyer or "",
            "suppliers": names,
            "status": process.status or "",
            "method": process.procurement_method or "",
            "flags": " ".join(sorted(flagged.get(process.id, ()))),
            "currency": process.value_currency or "",
            "amount": _cents(process.value_amount),
            "amount_text": str(process.value_amount) if process.value_amount is not None else "",
            "when": int(process.last_date.timestamp()) if process.last_date else None,
            "date": process.last_date.isoformat() if process.last_date else "",
            **dates.get(process.id, {}),
        }


def _clean(document: dict, schema: Schema, report: IndexReport | None = None) -> dict:
    """The document's values for the fields this index has, each one a value its field can take.

    An index built by an earlier version lacks newer fields (`portal reindex` adds them) and must still take
    updates. A number outside its column's range is left out (the column then holds "missing"); text that
    cannot be written as UTF-8 (a lone surrogate from a JSON escape) has those characters replaced."""
    clean = {}
    for name, value in document.items():
        if value is None or name not in schema:
            continue
        kind = schema[name]
        if isinstance(kind, NUMERIC):
            # The column's lowest value is where "missing" sorts: a real value must lie above it.
            if not isinstance(value, int) or not kind.min_value < value <= kind.max_value:
                if report is not None:
                    report.values_left_out[name] = report.values_left_out.get(name, 0) + 1
                log.warning(
                    "%s: %s=%r is outside what the index column can hold; left out", document["ocid"], name, value
                )
                continue
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                value = value.encode("utf-8", "replace").decode("utf-8")
        clean[name] = value
    return clean


def _chunks(values: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# Incremental updates ----------------------------------------------------------------------------------------


def _write(ix: Index, docs: list[dict], gone: set[str], report: IndexReport) -> set[str]:
    """Write these documents and deletions in one commit; returns the ocids skipped because they failed.

    A document that fails part-way may have left postings in the writer's pool, so the writer is cancelled and
    the batch written again without it: nothing of a failed document reaches the index."""
    failed: dict[str, str] = {}
    fields = ix.schema
    while True:
        attempt = IndexReport()  # counts of this attempt only: a failure starts the batch again
        writer = fixed_writer.writer(ix, **WRITER_OPTIONS)
        current = None
        try:
            for document in docs:
                if document["ocid"] in failed:
                    continue
                current = document["ocid"]
                writer.update_document(**_clean(document, fields, attempt))
            current = None
            for ocid in gone:
                writer.delete_by_term("ocid", ocid)
        except Exception as error:
            writer.cancel()
            if current is None:
                raise
            failed[current] = f"{type(error).__name__}: {error}"
            log.warning("%s not indexed: %s", current, failed[current])
            continue
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        for name, count in attempt.values_left_out.items():
            report.values_left_out[name] = report.values_left_out.get(name, 0) + count
        report.skipped.update(failed)
        report.indexed += len(docs) - len(failed)
        report.deleted += len(gone)
        return set(failed)


def update_index(
    session_factory: Callable[[], Session], directory: str | Path, *, timeout: float = LOCK_TIMEOUT
) -> IndexReport:
    """Index every queued process and forget its queue entry (unless a rebuild is running, which replays them).

    The index commits before the queue rows are deleted: a crash in between indexes them again next time,
    which is harmless. Entries queued while this runs are left for the next call; so are documents that failed.
    """
    report = IndexReport()
    with writing(directory, timeout, "index update"):
        _apply(session_factory, directory, report, forget=None)
    if report.skipped:
        log.warning("search index: %d processes not indexed: %s", len(report.skipped), report.skipped)
    return report


def _apply(
    session_factory: Callable[[], Session],
    directory: str | Path,
    report: IndexReport,
    *,
    forget: bool | None,
    read: Collection[tuple] = (),
) -> list[tuple]:
    """Index the queued processes into the index in `directory`; returns the queue rows it indexed, and the rows
    in `read` (already read by a rebuild), which it returns without indexing them again.

    With forget=None the rows are forgotten unless a rebuild is under way once they have been read: a rebuild
    that starts later reads every change those rows stand for, since their ingests had committed."""
    ix = open_index(directory)
    with session_factory() as session:
        queued = session.execute(select(IndexQueue.ocid, IndexQueue.queued_at).order_by(IndexQueue.ocid)).all()
    done = [tuple(row) for row in queued if tuple(row) in read]
    queued = [row for row in queued if tuple(row) not in read]
    if forget is None:
        report.kept_queued = rebuilding(directory)
        forget = not report.kept_queued
    for chunk in _chunks(queued, CHUNK):
        ocids = [ocid for ocid, _ in chunk]
        with session_factory() as session:
            ids = {o: i for o, i in session.execute(select(Process.ocid, Process.id).where(Process.ocid.in_(ocids)))}
            docs = list(documents(session, list(ids.values())))
        failed = _write(ix, docs, set(ocids) - set(ids), report)
        finished = [(ocid, queued_at) for ocid, queued_at in chunk if ocid not in failed]
        if forget:
            _forget(session_factory, finished)
        done.extend(finished)
    return done


def _forget(session_factory: Callable[[], Session], rows: list[tuple]) -> None:
    """Delete these queue rows, each only if it was not queued again since (a newer `queued_at`)."""
    gone = delete(IndexQueue).where(IndexQueue.ocid == bindparam("o"), IndexQueue.queued_at == bindparam("q"))
    with session_factory() as session, session.begin():
        for chunk in _chunks(rows, 10_000):
            session.connection().execute(gone, [{"o": ocid, "q": queued_at} for ocid, queued_at in chunk])


def apply_queue(session_factory: Callable[[], Session], directory: str | Path, *, timeout: float = LOCK_TIMEOUT) -> int:
    """Index every queued process (see `update_index`); returns how many were indexed."""
    return update_index(session_factory, directory, timeout=timeout).indexed


# Full rebuild -----------------------------------------------------------------------------------------------


def rebuild(
    session_factory: Callable[[], Session],
    directory: str | Path,
    *,
    procs: int = 1,
    timeout: float = LOCK_TIMEOUT,
    report: IndexReport | None = None,
) -> int:
    """Build a fresh index from the database beside the live one, then swap it in; returns the document count.

    What is queued when the build ends (processes ingested meanwhile, whose updates went to the old index) is
    replayed into the new index under the writers' lock before the swap. Entries already queued when the build
    starts are only forgotten: their ingests had committed, so the build reads what they stand for."""
    report = report if report is not None else IndexReport()
    target = Path(directory)
    building = _sibling(target, ".building")
    with _flock(_sibling(target, ".rebuild.lock"), timeout, "rebuild"):
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir(parents=True)
        with session_factory() as session:
            before = {tuple(row) for row in session.execute(select(IndexQueue.ocid, IndexQueue.queued_at))}
        count = _build(session_factory, building, procs, report)
        with writing(target, timeout, "rebuild"):
            replayed = _apply(session_factory, building, IndexReport(), forget=False, read=before)
            _swap(building, target)
            _forget(session_factory, replayed)
    return count


def _build(session_factory: Callable[[], Session], building: Path, procs: int, report: IndexReport) -> int:
    ix = whoosh_index.create_in(building, process_schema())
    schema = ix.schema
    count = 0
    options: dict = dict(WRITER_OPTIONS)
    if procs > 1:
        options.update(procs=procs, multisegment=True)
    with fixed_writer.multiprocess_fix() if procs > 1 else _nothing():
        writer = fixed_writer.writer(ix, **options)
        try:
            with session_factory() as session:
                last_id = 0
                while True:
                    ids = list(
                        session.scalars(
                            select(Process.id).where(Process.id > last_id).order_by(Process.id).limit(CHUNK)
                        )
                    )
                    if not ids:
                        break
                    for document in documents(session, ids):
                        writer.add_document(**_clean(document, schema, report))
                        count += 1
                    last_id = ids[-1]
                    session.expunge_all()
        except BaseException:
            writer.cancel()
            shutil.rmtree(building, ignore_errors=True)
            raise
        writer.commit()
    return count


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _swap(building: Path, target: Path) -> None:
    """Put the new folder in the old one's place; the old one is removed."""
    old = _sibling(target, ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    building.rename(target)
    shutil.rmtree(old, ignore_errors=True)
