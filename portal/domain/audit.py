"""The audit trail: an append-only log whose entries are hash-chained, and its verification.

Each entry's hash covers its sequence number, time, actor, action, subject, the hash of the content acted on and
the previous entry's hash. Altering, inserting or deleting a row in the database breaks the chain at that row;
`verify_chain` says where. Cutting off the latest entries, or rewriting the whole chain consistently, leaves a
valid chain behind: that is what the published checkpoints are for (`verify_checkpoint`), kept outside the
database by anyone who downloads them.

Entries hold ids, actions, times and hashes, never a resident's text, email or address: those are deleted on
schedule, and a log that must never change cannot keep them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from portal.domain.ocds import canonical_json
from portal.models import AuditEntry, utcnow
from portal.vocabulary import AuditAction

GENESIS = "0" * 64  # the "previous hash" of the first entry
MAX_BREAKS = 100  # breaks listed by a verification; past that only the count grows
APPEND_LOCK = 0x617564697400  # PostgreSQL advisory lock key held by whoever appends ("audit\0")


def content_hash(content: Any) -> str:
    """sha256 of a value's canonical JSON (sorted keys, exact numbers): the same content, the same hash."""
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


def _timestamp(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(
    *, seq: int, at: datetime, actor_id: int | None, action: str, subject: str, content: str, prev_hash: str
) -> str:
    """The hash an entry must carry: every field, in a fixed order, as one JSON array."""
    fields = [seq, _timestamp(at), actor_id, str(action), subject, content, prev_hash]
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode("utf-8")).hexdigest()


def _hash_of(entry: Any) -> str:
    """The hash an entry (a model or a row with the same fields) must carry."""
    return entry_hash(
        seq=entry.seq,
        at=entry.at,
        actor_id=entry.actor_id,
        action=entry.action,
        subject=entry.subject,
        content=entry.content_hash,
        prev_hash=entry.prev_hash,
    )


def chain_head(session: Session) -> AuditEntry | None:
    return session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).first()


def append_entry(
    session: Session, *, action: AuditAction, subject: str, content: Any, actor_id: int | None
) -> AuditEntry:
    """Append an entry in the caller's transaction, so that it commits with the change it records or not at all.

    On PostgreSQL appenders take turns (an advisory lock held to the end of the transaction). On SQLite, where
    writers already take turns, a transaction that read the head before another appended fails on the sequence
    number (a primary key) or on `prev_hash` (unique), and its change is rolled back with it: the chain never
    forks. `content` is hashed here; only its hash is stored.
    """
    if session.get_bind().dialect.name == "postgresql":
        # Appenders queue here until the transaction ends, so the next one reads the new head instead of failing.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK})
    head = chain_head(session)
    seq, prev_hash = (head.seq + 1, head.hash) if head else (1, GENESIS)
    # Microseconds are kept by both databases, so the stored time hashes as it was hashed here.
    at = utcnow()
    digest = content_hash(content)
    entry = AuditEntry(
        seq=seq, at=at, actor_id=actor_id, action=str(action), subject=subject, content_hash=digest, prev_hash=prev_hash
    )
    entry.hash = _hash_of(entry)
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class Break:
    seq: int
    problem: str


@dataclass
class ChainReport:
    """What a verification found: how many entries, the head it reached, and where the chain breaks."""

    entries: int = 0
    head_seq: int | None = None
    head_hash: str | None = None
    breaks: list[Break] = field(default_factory=list)
    more_breaks: int = 0

    @property
    def intact(self) -> bool:
        return not self.breaks

    def add(self, seq: int, problem: str) -> None:
        if len(self.breaks) < MAX_BREAKS:
            self.breaks.append(Break(seq, problem))
        else:
            self.more_breaks += 1


_COLUMNS = (
    AuditEntry.seq,
    AuditEntry.at,
    AuditEntry.actor_id,
    AuditEntry.action,
    AuditEntry.subject,
    AuditEntry.content_hash,
    AuditEntry.prev_hash,
    AuditEntry.hash,
)


def _entries(session: Session, batch: int = 1000) -> Iterator[Any]:
    """Every entry in order, as plain rows in batches: a long chain never fills the session's identity map."""
    last = 0
    while True:
        chunk = session.execute(select(*_COLUMNS).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch))
        rows = chunk.all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def verify_chain(session: Session) -> ChainReport:
    """Recompute every entry's hash and link, in order. A row altered in place breaks at that row (its hash no
    longer matches its fields, or its stored hash no longer matches the next entry's link); a row deleted shows as
    a gap in the sequence; a row inserted shows as a link that does not match."""
    report = ChainReport()
    expected_seq, previous = 1, GENESIS
    for entry in _entries(session):
        report.entries += 1
        if entry.seq != expected_seq:
            report.add(entry.seq, f"entries {expected_seq} to {entry.seq - 1} are missing")
        if entry.prev_hash != previous:
            report.add(entry.seq, "its link does not match the hash of the entry before it")
        if _hash_of(entry) != entry.hash:
            report.add(entry.seq, "its content does not match its hash: the row was altered")
        expected_seq, previous = entry.seq + 1, entry.hash
        report.head_seq, report.head_hash = entry.seq, entry.hash
    return report


def checkpoint(session: Session) -> dict[str, Any]:
    """The chain head as published outside the database: anyone who keeps it can later check that the entry is
    still there with the same hash (the chain was not cut off, nor rewritten)."""
    head = chain_head(session)
    count = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    return {
        "seq": head.seq if head else 0,
        "hash": head.hash if head else GENESIS,
        "entries": count,
        "taken_at": _timestamp(utcnow()),
    }


def verify_checkpoint(session: Session, kept: dict[str, Any]) -> str | None:
    """None if the chain still holds the checkpoint's head entry with its hash; else what is wrong."""
    seq, digest = kept.get("seq"), kept.get("hash")
    if not isinstance(seq, int) or not isinstance(digest, str):
        return "the checkpoint has no seq and hash"
    if seq == 0:
        return None
    entry = session.get(AuditEntry, seq)
    if entry is None:
        return f"entry {seq} of the checkpoint is gone: the chain was cut off or rewritten"
    if entry.hash != digest:
        return f"entry {seq} has another hash than the checkpoint's: the chain was rewritten"
    return None


def recent_entries(session: Session, *, limit: int = 50, before: int | None = None) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    if before is not None:
        query = query.where(AuditEntry.seq < before)
    return list(session.scalars(query))
