"""Writing compiled processes: their derived rows, in bulk, a few statements per table for each chunk."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.orm import Session

from portal.domain.derive import Derived, PartyKey
from portal.domain.ocds import publisher_of
from portal.models import (
    Amendment,
    Award,
    AwardSupplier,
    Base,
    Bid,
    Contract,
    Document,
    IndexQueue,
    Item,
    Party,
    Process,
    ProcessParty,
    Tender,
    VendorParty,
)


def chunks(seq: list, size: int) -> Iterable[list]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


def insert_returning_ids(session: Session, table: Table, rows: list[dict]) -> list[int]:
    """Insert these rows and return their new ids, in the rows' order.

    SQLite cannot batch an INSERT whose RETURNING must follow the order of the rows (SQLAlchemy then sends one
    statement per row: at 20,000 register rows, 29,000 statements). There, the rows are inserted in one
    executemany and their ids read back: within a write transaction no one else inserts, and SQLite gives a new
    row a rowid larger than every rowid before it, so the rows have the ids above the previous largest, in
    order. The count is checked, so a row inserted by anyone else in between fails loudly, never silently."""
    if not rows:
        return []
    if session.get_bind().dialect.name != "sqlite":
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(session.execute(statement, rows).scalars())
    before = session.scalar(select(func.max(table.c.id))) or 0
    session.execute(insert(table), rows)
    ids = list(session.scalars(select(table.c.id).where(table.c.id > before).order_by(table.c.id)))
    if len(ids) != len(rows):
        raise RuntimeError(f"{table.name}: {len(rows)} rows inserted, {len(ids)} new ids found")
    return ids


def _delete_children(session: Session, process_ids: list[int]) -> None:
    award_ids = select(Award.id).where(Award.process_id.in_(process_ids))
    session.execute(delete(AwardSupplier).where(AwardSupplier.award_id.in_(award_ids)))
    for model in (Award, Contract, Amendment, Item, Document, Bid, ProcessParty, Tender):
        session.execute(delete(model).where(model.process_id.in_(process_ids)))


def party_ids(session: Session, wanted: dict[tuple[str, str], PartyKey]) -> dict[tuple[str, str], int]:
    """Ids for (publisher, key) pairs, creating the parties not seen before and keeping the latest spelling."""
    found: dict[tuple[str, str], tuple[int, str]] = {}
    # Constrained on publisher and key, so that the unique index on (publisher, key) answers: by key alone,
    # every chunk of processes scanned the whole party table. A batch has one publisher or very few.
    publishers = sorted({publisher for publisher, _ in wanted})
    query = select(Party.id, Party.publisher, Party.key, Party.name)
    for chunk in chunks(sorted({key for _, key in wanted}), 500):
        rows = session.execute(query.where(Party.publisher.in_(publishers), Party.key.in_(chunk)))
        for party_id, publisher, key, name in rows:
            if (publisher, key) in wanted:
                found[(publisher, key)] = (party_id, name)
    renamed = [{"id": found[k][0], "name": wanted[k][1]} for k in wanted if k in found and found[k][1] != wanted[k][1]]
    if renamed:
        session.execute(update(Party), renamed)  # bulk UPDATE by primary key
        # Resolved under the old name: the next incremental resolution reads these parties again.
        for chunk in chunks([r["id"] for r in renamed], 500):
            session.execute(update(VendorParty).where(VendorParty.party_id.in_(chunk)).values(renamed=True))
    missing = [k for k in wanted if k not in found]
    ids = {k: value[0] for k, value in found.items()}
    if missing:
        new_parties = [
            {"publisher": k[0], "key": k[1], "name": wanted[k][1], "scheme": wanted[k][2], "identifier": wanted[k][3]}
            for k in missing
        ]
        created = insert_returning_ids(session, Party.__table__, new_parties)
        ids.update(zip(missing, created, strict=True))
    return ids


def write_processes(session: Session, existing: dict[str, int], changed: dict[str, tuple[dict, Derived]]) -> None:
    """Replace the derived rows of these processes (`existing` maps the ocids already stored to their ids)."""
    wanted = {
        (publisher_of(ocid), key): party
        for ocid, (_, derived) in changed.items()
        for key, party in derived.parties.items()
    }
    ids_of = party_ids(session, wanted)
    for ocid, (row, derived) in changed.items():
        row["buyer_id"] = ids_of[(publisher_of(ocid), derived.buyer)] if derived.buyer else None

    stale = [existing[ocid] for ocid in changed if ocid in existing]
    if stale:
        _delete_children(session, stale)
        session.execute(
            update(Process), [{"id": existing[ocid], **row} for ocid, (row, _) in changed.items() if ocid in existing]
        )
    fresh = [ocid for ocid in changed if ocid not in existing]
    if fresh:
        ids = insert_returning_ids(session, Process.__table__, [changed[ocid][0] for ocid in fresh])
        existing = {**existing, **dict(zip(fresh, ids, strict=True))}

    tenders, awards, suppliers, roles = [], [], [], []
    model: type[Base]
    children: dict[type[Base], list[dict]] = {Contract: [], Item: [], Amendment: [], Document: [], Bid: []}
    for ocid, (_, derived) in changed.items():
        process_id, publisher = existing[ocid], publisher_of(ocid)
        if derived.tender:
            tenders.append({"process_id": process_id, **derived.tender})
        for award, award_suppliers in derived.awards:
            awards.append({"process_id": process_id, **award})
            suppliers.append([(ids_of[(publisher, key)], name) for key, name in award_suppliers])
        for model, rows in (
            (Contract, derived.contracts),
            (Item, derived.items),
            (Amendment, derived.amendments),
            (Document, derived.documents),
            (Bid, derived.bids),
        ):
            children[model] += [{"process_id": process_id, **r} for r in rows]
        roles += [
            {"process_id": process_id, "party_id": ids_of[(publisher, key)], "role": role}
            for key, role in sorted(derived.roles)
        ]
    if awards:
        award_ids = insert_returning_ids(session, Award.__table__, awards)
        links = [
            {"award_id": award_id, "party_id": party_id, "name": name}
            for award_id, award_suppliers in zip(award_ids, suppliers, strict=True)
            for party_id, name in award_suppliers
        ]
        if links:
            session.execute(insert(AwardSupplier.__table__), links)
    tables: list[tuple[type[Base], list[dict]]] = [(Tender, tenders), *children.items()]
    for model, rows in tables:
        if rows:
            session.execute(insert(model.__table__), rows)
    if roles:
        session.execute(
            insert(ProcessParty.__table__),
            list({(r["party_id"], r["role"], r["process_id"]): r for r in roles}.values()),
        )


def queue_for_index(session: Session, ocids: list[str]) -> None:
    """Record that these processes need (re)indexing."""
    if not ocids:
        return
    now = datetime.now(timezone.utc)
    queued = set(session.scalars(select(IndexQueue.ocid).where(IndexQueue.ocid.in_(ocids))))
    if queued:
        # A new timestamp tells an indexer already working on the old entry to leave this one queued.
        session.execute(update(IndexQueue).where(IndexQueue.ocid.in_(queued)).values(queued_at=now))
    fresh = [{"ocid": o, "queued_at": now} for o in ocids if o not in queued]
    if fresh:
        session.execute(insert(IndexQueue.__table__), fresh)
