"""The red-flag counts stored per entity after the flags are written (VendorFlagTotal) equal those counted from
its processes' flags, after a full computation and after an update; a computation they missed, or a merge,
makes them stale, and the page counts again. The data set's summary equals a count of every row."""

from __future__ import annotations

from sqlalchemy import delete, select

from portal.domain.entity_flags import refresh_entity_flags, stored_entity_flags
from portal.domain.redflags import EntityFlags, data_set_flags, entity_flags, recompute_flags
from portal.domain.vendor_figures import entity_process_ids, refresh_totals
from portal.domain.vendors import merge_vendors, resolve_all
from portal.models import FlagSummary, Process, Vendor, VendorFlagTotal
from portal.vocabulary import EntityKind
from tests.redflags.conftest import award
from tests.redflags.test_entity_indicators import ORG, PARKS, bought
from tests.redflags.test_incremental import base, write

KINDS = (EntityKind.SUPPLIER, EntityKind.BUYER)


def _live(session) -> list[tuple[int, EntityKind]]:
    return [
        (v.id, EntityKind(v.kind))
        for v in session.scalars(select(Vendor).where(Vendor.merged_into_id.is_(None)).order_by(Vendor.id))
    ]


def _counted(session, vendor_id: int, kind: EntityKind) -> str:
    return repr(entity_flags(session, process_ids=entity_process_ids(session, vendor_id, kind)))


def _every_stored_is_counted(sessions) -> list[EntityFlags]:
    """Every live entity has stored counts, and they are those counted from its processes' flags."""
    shown = []
    with sessions() as session:
        for vendor_id, kind in _live(session):
            stored = stored_entity_flags(session, vendor_id, kind)
            assert stored is not None, (vendor_id, kind)
            assert repr(stored) == _counted(session, vendor_id, kind), (vendor_id, kind)
            shown.append(stored)
    return shown


def _loaded(load, sessions, tmp_path, releases, name="base.json"):
    assert load(write(tmp_path / name, releases)).status == "succeeded"
    with sessions.begin() as session:
        resolve_all(session)
        for kind in KINDS:
            refresh_totals(session, kind=kind)


def test_stored_counts_equal_the_counts_of_every_entitys_processes(load, sessions, tmp_path):
    _loaded(load, sessions, tmp_path, base())
    with sessions.begin() as session:
        recompute_flags(session)
        assert refresh_entity_flags(session) == len(_live(session))
    shown = _every_stored_is_counted(sessions)
    assert any(s.codes for s in shown) and any(s.transparency is not None for s in shown)  # something to compare


def test_after_an_update_the_entities_of_the_rewritten_processes_are_counted_again(load, sessions, tmp_path):
    _loaded(load, sessions, tmp_path, base())
    with sessions.begin() as session:
        recompute_flags(session)
        refresh_entity_flags(session)
    # Two more direct awards to ACME: the Department of Works' shares and ACME's repeats change.
    more = [
        bought("d5", "ACME", 7_000, "2024-02-01", method="direct", category="works", codes=("72101500",)),
        bought("d6", "ACME", 6_000, "2024-02-03", method="direct", category="works", codes=("72101500",)),
        bought("g9", "GAMMA", 900, "2024-09-01", buyer=PARKS, codes=("80101500",)),
    ]
    _loaded(load, sessions, tmp_path, more, name="more.json")
    with sessions.begin() as session:
        changed = list(session.scalars(select(Process.id).where(Process.ocid.in_([r["ocid"] for r in more]))))
        report = recompute_flags(session, changed=changed)
        assert report.update and set(changed) <= report.written_ids
        assert refresh_entity_flags(session, process_ids=report.written_ids) < len(_live(session))  # not all
    _every_stored_is_counted(sessions)


def test_counts_missed_by_a_computation_or_changed_by_a_merge_are_not_read(load, sessions, tmp_path):
    _loaded(load, sessions, tmp_path, base())
    with sessions.begin() as session:
        recompute_flags(session)
        refresh_entity_flags(session)
        acme, beta = (
            session.scalar(select(Vendor.id).where(Vendor.name == ORG[n]["name"], Vendor.kind == EntityKind.SUPPLIER))
            for n in ("ACME", "BETA")
        )
        assert stored_entity_flags(session, acme, EntityKind.SUPPLIER) is not None
    with sessions.begin() as session:
        recompute_flags(session)  # a computation whose counts were not refreshed: every stored row is stale
    with sessions() as session:
        assert all(stored_entity_flags(session, v, kind) is None for v, kind in _live(session))
    with sessions.begin() as session:
        refresh_entity_flags(session)
        merge_vendors(session, vendor_ids=[acme, beta], by="test", reason="one company")
    with sessions() as session:
        kept = session.get(Vendor, acme)
        kept_id = kept.id if kept.merged_into_id is None else kept.merged_into_id
        assert stored_entity_flags(session, kept_id, EntityKind.SUPPLIER) is None  # its parties changed
        assert session.get(VendorFlagTotal, kept_id) is not None


def test_the_data_set_summary_is_the_count_of_every_row(load, sessions, tmp_path):
    extra = bought("z1", "OMNI", 50, "2024-08-01", method="direct")
    extra["awards"].append(award(ORG["BETA"], 60, date="2024-08-01T00:00:00Z"))
    _loaded(load, sessions, tmp_path, [*base(), extra])
    with sessions.begin() as session:
        recompute_flags(session)
        stored = data_set_flags(session)
        assert stored.computed_at is not None and stored.fired and stored.processes == len(base()) + 1
        session.execute(delete(FlagSummary))
        counted = data_set_flags(session)
    assert counted.computed_at is None
    assert (stored.processes, stored.fired, stored.transparency) == (
        counted.processes,
        counted.fired,
        counted.transparency,
    )
