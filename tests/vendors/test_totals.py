"""Stored totals (VendorYearTotal, VendorTotal) give exactly the figures computed from every award, on the pages
too; a load through the command refreshes the entities it touched; a merge makes an entity's totals stale, and
its figures are then computed from its awards again."""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import func, select, update

from portal.cli import cli
from portal.domain import vendor_figures
from portal.domain.vendor_figures import (
    RIVALRY_EXAMPLES,
    _stored_comparison,
    compare_vendors,
    entity_awards,
    entity_process_ids,
    get_entity,
    refresh_totals,
    rivalries_of,
    stored_figures,
)
from portal.domain.vendors import merge_vendors, resolve_all
from portal.models import Vendor, VendorParty, VendorTotal, VendorYearTotal
from portal.vocabulary import EntityKind
from tests.vendors.conftest import ACME_A, BETA, A, B, _package, _release, vendor_of

ACME = {"id": "acme", "name": "ACME Corp.", "identifier": {"scheme": "XX-REG", "id": "111"}}
DELTA = {"id": "delta", "name": "Delta Asphalt Ltd"}
KINDS = (EntityKind.SUPPLIER, EntityKind.BUYER)


def _live(session, kind):
    return list(session.scalars(select(Vendor).where(Vendor.kind == kind, Vendor.merged_into_id.is_(None))))


def _parties(session, vendor):
    return list(session.scalars(select(VendorParty.party_id).where(VendorParty.vendor_id == vendor.id)))


def test_stored_totals_give_the_figures_computed_from_every_award(vendors_loaded):
    with vendors_loaded.begin() as session:
        for kind in KINDS:
            assert refresh_totals(session, kind=kind) == len(_live(session, kind))
    with vendors_loaded() as session:
        assert session.scalar(select(func.count()).select_from(VendorYearTotal)) > 0
        for kind in KINDS:
            for vendor in _live(session, kind):
                assert stored_figures(session, vendor, _parties(session, vendor)) is not None, vendor.name
                stored = get_entity(session, vendor.id, kind=kind, latest=200).figures
                computed = get_entity(session, vendor.id, kind=kind).figures
                # repr: Decimal("50") and Decimal("50.00") are equal, but would show differently.
                assert repr(stored) == repr(computed), vendor.name


def test_the_latest_awards_read_alone_are_those_the_page_took_from_every_award(vendors_loaded):
    with vendors_loaded.begin() as session:
        for kind in KINDS:
            refresh_totals(session, kind=kind)
    with vendors_loaded() as session:
        for kind in KINDS:
            for vendor in _live(session, kind):
                everything = get_entity(session, vendor.id, kind=kind).awards
                latest = get_entity(session, vendor.id, kind=kind, latest=2).awards
                order = ["award_date", "award_row"]
                expected = everything.sort_values(order, ascending=False, na_position="last")
                shown = latest.sort_values(order, ascending=False, na_position="last")
                assert (
                    shown.drop_duplicates("award_row")["award_row"].tolist()
                    == expected.drop_duplicates("award_row").head(2)["award_row"].tolist()
                )


def test_pages_from_stored_totals_equal_the_pages_computed(app, client, vendors_loaded):
    with vendors_loaded() as session:
        acme = vendor_of(session, A, "ACME Corp.").vendor_id
        works = vendor_of(session, A, "Public Works Department", EntityKind.BUYER).vendor_id
    paths = [f"/vendor/{acme}.json", f"/vendor/{acme}.csv", f"/vendor/{acme}/by-year.csv"]
    paths += [f"/buyer/{works}.json", f"/buyer/{works}.csv", f"/buyer/{works}/by-year.csv"]
    computed = {path: client.get(path).get_data(as_text=True) for path in paths}
    assert app.test_cli_runner().invoke(cli, ["vendors", "totals"]).exit_code == 0
    with vendors_loaded() as session:
        assert session.get(VendorTotal, acme) is not None and session.get(VendorTotal, works) is not None
    for path in paths:
        assert client.get(path).get_data(as_text=True) == computed[path], path


def test_a_load_through_the_command_refreshes_the_entities_it_touched(app, client, vendors_loaded, tmp_path):
    with vendors_loaded.begin() as session:
        for kind in KINDS:
            refresh_totals(session, kind=kind)
        acme = vendor_of(session, A, "ACME Corp.").vendor_id
    before = client.get(f"/vendor/{acme}.json").get_json()
    path = tmp_path / "more.json"
    path.write_text(json.dumps(_package([_release(A, 9, 2023, method="open", award=(ACME, 1000))])), encoding="utf-8")
    done = app.test_cli_runner().invoke(cli, ["ingest", str(path)])
    assert done.exit_code == 0, done.output
    assert "vendor totals: 2 entities refreshed" in done.output  # ACME and the buyer
    after = client.get(f"/vendor/{acme}.json").get_json()
    assert after["awards"] == before["awards"] + 1
    with vendors_loaded() as session:
        vendor = session.get(Vendor, acme)
        assert stored_figures(session, vendor, _parties(session, vendor)) is not None
        stored = get_entity(session, acme, latest=200).figures
        assert repr(stored) == repr(get_entity(session, acme).figures)
        usd = stored.currency("USD")
        assert usd is not None
        was = next(Decimal(c["awarded"]) for c in before["by_currency"] if c["currency"] == "USD")
        assert usd.awarded == was + 1000


def test_a_merge_makes_the_stored_totals_stale_and_the_figures_are_computed(vendors_loaded):
    with vendors_loaded.begin() as session:
        refresh_totals(session, kind=EntityKind.SUPPLIER)
        acme = vendor_of(session, A, "ACME Corp.").vendor_id
        gamma = vendor_of(session, B, "Gamma Paving LLC").vendor_id
        merge_vendors(session, vendor_ids=[acme, gamma], by="test", reason="one company")
    with vendors_loaded() as session:
        kept = session.get(Vendor, acme)
        kept = kept if kept.merged_into_id is None else session.get(Vendor, kept.merged_into_id)
        assert stored_figures(session, kept, _parties(session, kept)) is None
        figures = get_entity(session, kept.id, latest=200).figures
        assert figures.processes == 6  # ACME's five and Gamma's one


def test_a_comparison_from_stored_totals_equals_the_one_computed(vendors_loaded):
    with vendors_loaded() as session:
        ids = [
            vendor_of(session, A, "ACME Corp.").vendor_id,
            vendor_of(session, A, "Beta Builders Inc").vendor_id,
            vendor_of(session, B, "Beta Builders LLC").vendor_id,
            vendor_of(session, B, "Gamma Paving LLC").vendor_id,
        ]
        chosen = [ids[:2], ids[::-1], [ids[0], ids[3]], ids]
        computed = [compare_vendors(session, vendor_ids=vendor_ids) for vendor_ids in chosen]
    with vendors_loaded.begin() as session:
        refresh_totals(session, kind=EntityKind.SUPPLIER)
    with vendors_loaded() as session:
        for vendor_ids, before in zip(chosen, computed, strict=True):
            assert _stored_comparison(session, vendor_ids) is not None
            after = compare_vendors(session, vendor_ids=vendor_ids)
            assert before.rivalries and before.concentration  # the fixture has both to compare
            assert repr(after) == repr(before), vendor_ids


def test_rivalries_from_the_stored_process_sets_equal_those_joined_in_sql(load, vendors_loaded, tmp_path):
    """More shared processes than a rivalry names (RIVALRY_EXAMPLES), won by either, and one where neither won:
    the stored sets give the counts and the examples (the latest loaded) that the SQL join gives."""
    rivals = [
        _release(A, 100 + n, 2023, method="open", award=(winner, 10 + n), tenderers=(ACME_A, BETA, DELTA))
        for n, winner in enumerate([ACME_A, BETA, DELTA] * 9)
    ]
    (tmp_path / "rivals.json").write_text(json.dumps(_package(rivals)), encoding="utf-8")
    assert load(tmp_path / "rivals.json").status == "succeeded"
    with vendors_loaded.begin() as session:
        resolve_all(session)
        refresh_totals(session, kind=EntityKind.SUPPLIER)
    with vendors_loaded() as session:
        ids = sorted(vendor_of(session, A, org["name"]).vendor_id for org in (ACME_A, BETA, DELTA))
        joined = rivalries_of(session, ids, None)
        assert any(r.processes > RIVALRY_EXAMPLES for r in joined)
        stored = _stored_comparison(session, ids)
        assert stored is not None
        assert repr(stored.rivalries) == repr(joined)
        acme = vendor_of(session, A, "ACME Corp.").vendor_id
        pair = next(r for r in stored.rivalries if acme in (r.a, r.b) and r.processes > RIVALRY_EXAMPLES)
        assert len(pair.ocids) == RIVALRY_EXAMPLES and f"{A}-p126" in pair.ocids  # the latest loaded


def test_a_comparison_without_stored_sets_joins_in_sql(vendors_loaded):
    """Totals refreshed before the sets were kept (their columns empty) still give the rivalries."""
    with vendors_loaded.begin() as session:
        refresh_totals(session, kind=EntityKind.SUPPLIER)
        ids = [vendor_of(session, A, "ACME Corp.").vendor_id, vendor_of(session, A, "Beta Builders Inc").vendor_id]
        expected = repr(_stored_comparison(session, ids))
        session.execute(update(VendorTotal).values(competed=None, won=None))
    with vendors_loaded() as session:
        assert repr(_stored_comparison(session, ids)) == expected


def test_the_red_flag_counts_of_an_entity_take_its_stored_processes_while_current(vendors_loaded):
    with vendors_loaded() as session:
        expected = {
            (vendor.id, kind): sorted(entity_process_ids(session, vendor.id, kind))
            for kind in KINDS
            for vendor in _live(session, kind)
        }
    with vendors_loaded.begin() as session:
        for kind in KINDS:
            refresh_totals(session, kind=kind)
    with vendors_loaded() as session:
        for (vendor_id, kind), ids in expected.items():
            assert sorted(entity_process_ids(session, vendor_id, kind)) == ids
            assert session.get(VendorTotal, vendor_id).won is not None


def test_pages_of_awards_from_the_stored_order_equal_those_read_in_sql(vendors_loaded, monkeypatch):
    monkeypatch.setattr(vendor_figures, "ENTITY_AWARDS_PER_PAGE", 2)  # several pages from the small fixture

    def every_page(session):
        found = {}
        for kind in KINDS:
            for vendor in _live(session, kind):
                first = entity_awards(session, vendor, page=1)
                pages = [first] + [entity_awards(session, vendor, page=n) for n in range(2, first.pages + 1)]
                found[vendor.id] = [(p.award_count, p.pages, [a.award.id for a in p.awards]) for p in pages]
        return found

    with vendors_loaded() as session:
        read_in_sql = every_page(session)
    assert any(len(pages) > 1 for pages in read_in_sql.values())
    with vendors_loaded.begin() as session:
        for kind in KINDS:
            refresh_totals(session, kind=kind)
    with vendors_loaded() as session:
        assert all(session.get(VendorTotal, v).awards for v in read_in_sql)
        assert every_page(session) == read_in_sql
