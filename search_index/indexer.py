"""Keeping the Whoosh index in step with the database.

The database is the truth; the index is a projection of it. Ingest queues changed processes in its own
transaction; `apply_queue` indexes them afterwards, and `rebuild` recreates the whole index beside the old one
and swaps it in, so searches never see a half-built index.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from whoosh import index as whoosh_index
from whoosh.index import Index

from portal.models import Award, AwardSupplier, IndexQueue, Item, Party, Process
from search_index.schema import process_schema
from search_index.whoosh_internals import writer as fixed_writer

CHUNK = 2000  # processes read from the database per query
WRITER_MEMORY_MB = 256  # Whoosh's buffer before it spills a segment; larger builds fewer, bigger segments
# Segments as separate files, not one compound file: opening a compound segment copies much of it into memory
# (measured: 330 MB per searcher at 100k documents, against a few MB), and every server thread opens one.
WRITER_OPTIONS = {"limitmb": WRITER_MEMORY_MB, "compound": False}


def open_index(directory: str | Path, *, create: bool = True) -> Index:
    path = Path(directory)
    if whoosh_index.exists_in(path):
        return whoosh_index.open_dir(path)
    if not create:
        raise FileNotFoundError(f"no search index in {path}: run `portal reindex`")
    path.mkdir(parents=True, exist_ok=True)
    return whoosh_index.create_in(path, process_schema())


def _cents(amount: Decimal | None) -> int | None:
    return int((amount * 100).to_integral_value()) if amount is not None else None


def documents(session: Session, process_ids: list[int]) -> Iterator[dict]:
    """Index documents for these processes, read in three queries whatever their number."""
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
        items[process_id][description] = None
    rows = session.execute(
        select(Process, Party.name)
        .outerjoin(Party, Party.id == Process.buyer_id)
        .where(Process.id.in_(process_ids))
        .order_by(Process.id)
    )
    for process, buyer in rows:
        title, description = process.title or "", process.description or ""
        names = "\n".join(suppliers.get(process.id, ()))
        words = "\n".join(items.get(process.id, ()))
        text = "\n".join((title, title, description, buyer or "", names, words))
        yield {
            "ocid": process.ocid,
            "text": text,
            "pairs": text,
            "title": title,
            "description": description,
            "buyer": buyer or "",
            "suppliers": names,
            "status": process.status or "",
            "method": process.procurement_method or "",
            "currency": process.value_currency or "",
            "amount": _cents(process.value_amount),
            "amount_text": str(process.value_amount) if process.value_amount is not None else "",
            "when": int(process.last_date.timestamp()) if process.last_date else None,
            "date": process.last_date.isoformat() if process.last_date else "",
        }


def _clean(document: dict, fields: frozenset[str]) -> dict:
    """The document's values for the fields this index has: an index built by an earlier version lacks newer
    fields (`portal reindex` adds them) and must still take updates."""
    return {k: v for k, v in document.items() if v is not None and k in fields}


def _chunks(values: list, size: int) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def apply_queue(session_factory: Callable[[], Session], directory: str | Path) -> int:
    """Index every queued process, then forget the queue entries; returns how many were indexed.

    The index commits before the queue rows are deleted: a crash in between indexes them again next time,
    which is harmless. Entries queued while this runs are left for the next call.
    """
    ix = open_index(directory)
    fields = frozenset(ix.schema.names())
    total = 0
    with session_factory() as session:
        queued = session.execute(select(IndexQueue.ocid, IndexQueue.queued_at).order_by(IndexQueue.ocid)).all()
    for chunk in _chunks(queued, CHUNK):
        ocids = [ocid for ocid, _ in chunk]
        with session_factory() as session:
            ids = {o: i for o, i in session.execute(select(Process.ocid, Process.id).where(Process.ocid.in_(ocids)))}
            docs = list(documents(session, list(ids.values())))
        writer = fixed_writer.writer(ix, **WRITER_OPTIONS)
        try:
            for document in docs:
                writer.update_document(**_clean(document, fields))
            for ocid in set(ocids) - set(ids):
                writer.delete_by_term("ocid", ocid)
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        with session_factory() as session, session.begin():
            for ocid, queued_at in chunk:
                session.execute(delete(IndexQueue).where(IndexQueue.ocid == ocid, IndexQueue.queued_at == queued_at))
        total += len(docs)
    return total


def rebuild(session_factory: Callable[[], Session], directory: str | Path, *, procs: int = 1) -> int:
    """Build a fresh index from the database beside the live one, then swap it in; returns the document count."""
    target = Path(directory)
    building = target.with_name(target.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    ix = whoosh_index.create_in(building, process_schema())
    fields = frozenset(ix.schema.names())
    started = datetime.now(timezone.utc)
    count = 0
    options: dict = dict(WRITER_OPTIONS)
    if procs > 1:
        options.update(procs=procs, multisegment=True)
    fix = ExitStack()
    if procs > 1:  # the segments are written in child processes, which see only a change to the class
        fix.enter_context(fixed_writer.multiprocess_fix())
    writer = fixed_writer.writer(ix, **options)
    try:
        with session_factory() as session:
            last_id = 0
            while True:
                ids = list(
                    session.scalars(select(Process.id).where(Process.id > last_id).order_by(Process.id).limit(CHUNK))
                )
                if not ids:
                    break
                for document in documents(session, ids):
                    writer.add_document(**_clean(document, fields))
                    count += 1
                last_id = ids[-1]
                session.expunge_all()
    except BaseException:
        writer.cancel()
        fix.close()
        shutil.rmtree(building, ignore_errors=True)
        raise
    writer.commit()
    fix.close()
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    building.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    with session_factory() as session, session.begin():
        session.execute(delete(IndexQueue).where(IndexQueue.queued_at <= started))
    return count
