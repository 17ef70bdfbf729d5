"""Red-flag counts of a buyer's or supplier's processes, stored after the flags are written (VendorFlagTotal),
so that the page of a vendor with a hundred thousand wins reads one row rather than the flags of each. The
counts are those `portal.domain.redflags.entity_flags` gives from the processes' rows; they are refreshed for
the entities of every process whose flags a computation rewrote, and read only while current."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import numpy as np
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from portal.domain.redflags import INDICATORS, EntityFlags, data_set_flags, entity_flags_of
from portal.domain.vendor_figures import CHUNK, entities_of_processes, entity_digest, entity_process_ids
from portal.models import (
    FlagCoverage,
    FlagResult,
    Vendor,
    VendorFlagTotal,
)
from portal.vocabulary import EntityKind

FLAG_CHUNK_PROCESSES = 300_000  # processes whose flags are read together (a few tens of MB)


def _flags_of(session: Session, process_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For these (sorted) processes: those with a fired flag and a bit per code (INDICATORS' order), and those
    with a transparency score and the score."""
    bit = {code: 1 << n for n, code in enumerate(INDICATORS)}
    masks: dict[int, int] = {}
    scores: dict[int, float] = {}
    ids = process_ids.tolist()
    for start in range(0, len(ids), CHUNK):
        part = ids[start : start + CHUNK]
        for process_id, code in session.connection().execute(
            select(FlagResult.process_id, FlagResult.code).where(FlagResult.process_id.in_(part))
        ):
            masks[process_id] = masks.get(process_id, 0) | bit.get(code, 0)
        for process_id, score in session.connection().execute(
            select(FlagCoverage.process_id, FlagCoverage.transparency).where(
                FlagCoverage.process_id.in_(part), FlagCoverage.transparency.is_not(None)
            )
        ):
            scores[process_id] = float(score or 0)
    flagged = np.array(sorted(masks), dtype=np.int64)
    scored = np.array(sorted(scores), dtype=np.int64)
    return (
        flagged,
        np.array([masks[p] for p in flagged.tolist()], dtype=np.int64),
        scored,
        np.array([scores[p] for p in scored.tolist()], dtype=np.float64),
    )


def _lookup(keys: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Positions in `keys` (sorted) of the `wanted` values found there."""
    if not len(keys) or not len(wanted):
        return np.zeros(0, dtype=np.int64)
    at = np.searchsorted(keys, wanted).clip(0, len(keys) - 1)
    return at[keys[at] == wanted]


def refresh_entity_flags(session: Session, *, process_ids: Collection[int] | None = None) -> int:
    """Count again the flags of the entities of these processes (every live entity when None), then stamp
    every stored count with the summary's time: the others' processes were not rewritten, so theirs stand.
    Run after each computation of the flags; returns how many entities were counted."""
    summary = data_set_flags(session)
    if summary.computed_at is None:  # flags never computed: pages count them now
        return 0
    if process_ids is None:
        wanted = {
            kind: set(session.scalars(select(Vendor.id).where(Vendor.kind == kind, Vendor.merged_into_id.is_(None))))
            for kind in (EntityKind.SUPPLIER, EntityKind.BUYER)
        }
    else:
        wanted = entities_of_processes(session, process_ids)
    counted = 0
    for kind, vendor_ids in wanted.items():
        sets: list[tuple[int, str, np.ndarray]] = []
        size = 0
        for vendor_id in sorted(vendor_ids):
            mine = np.asarray(entity_process_ids(session, vendor_id, kind), dtype=np.int64)
            sets.append((vendor_id, entity_digest(session, vendor_id, kind), np.unique(mine)))
            size += len(mine)
            if size >= FLAG_CHUNK_PROCESSES:
                counted += _store_entity_flags(session, sets, summary.computed_at)
                sets, size = [], 0
        counted += _store_entity_flags(session, sets, summary.computed_at)
    session.execute(update(VendorFlagTotal).values(summary_at=summary.computed_at))
    return counted


def _store_entity_flags(session: Session, sets: list[tuple[int, str, np.ndarray]], stamp: datetime) -> int:
    if not sets:
        return 0
    flagged, masks, scored, scores = _flags_of(session, np.unique(np.concatenate([s for _, _, s in sets])))
    rows = []
    for vendor_id, digest, mine in sets:
        hits = masks[_lookup(flagged, mine)]
        mean = scores[_lookup(scored, mine)]
        rows.append(
            {
                "vendor_id": vendor_id,
                "parties": digest,
                "summary_at": stamp,
                "processes": len(mine),
                "flagged": len(hits),
                "codes": {code: n for bit, code in enumerate(INDICATORS) if (n := int(((hits >> bit) & 1).sum()))},
                "transparency": float(mean.mean()) if len(mean) else None,
            }
        )
    ids = [r["vendor_id"] for r in rows]
    for start in range(0, len(ids), CHUNK):  # many small entities fill a group: bounded IN lists
        session.execute(delete(VendorFlagTotal).where(VendorFlagTotal.vendor_id.in_(ids[start : start + CHUNK])))
    session.execute(insert(VendorFlagTotal), rows)
    return len(rows)


def stored_entity_flags(session: Session, vendor_id: int, kind: EntityKind) -> EntityFlags | None:
    """The entity's flag counts as stored after the last computation, or None when there are none, its
    parties changed since or the flags were computed again without them."""
    stored = session.get(VendorFlagTotal, vendor_id)
    if stored is None:
        return None
    summary = data_set_flags(session)
    if summary.computed_at is None or stored.summary_at != summary.computed_at:
        return None
    if stored.parties != entity_digest(session, vendor_id, kind):
        return None
    return entity_flags_of(
        summary,
        processes=stored.processes,
        flagged=stored.flagged,
        codes={str(c): int(n) for c, n in stored.codes.items()},
        transparency=stored.transparency,
    )
