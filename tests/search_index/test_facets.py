"""Facet counts come from the index's column arrays; they equal a SQL count over the same processes."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.domain.redflags import recompute_flags
from portal.models import Award, AwardSupplier, FlagResult, Party, Process
from search_index.columns import AMOUNT_BANDS, FACETS, Filters
from search_index.indexer import rebuild
from search_index.query import SearchIndex, search_processes
from tests.conftest import DEMO_DATA

LIMIT = 1000  # every value


def sql_counts(session, ocids: set[str] | None = None) -> dict[str, Counter]:
    counts: dict[str, Counter] = {name: Counter() for name in FACETS}
    rows = session.execute(select(Process, Party.name).outerjoin(Party, Party.id == Process.buyer_id)).all()
    for process, buyer in rows:
        if ocids is not None and process.ocid not in ocids:
            continue
        for name, value in (
            ("buyer", (buyer or "").strip()),
            ("method", process.procurement_method),
            ("status", process.status),
            ("currency", process.value_currency),
            ("year", str(process.last_date.year) if process.last_date else None),
        ):
            if value:
                counts[name][value] += 1
    suppliers = session.execute(
        select(Process.ocid, AwardSupplier.name)
        .join(Award, Award.process_id == Process.id)
        .join(AwardSupplier, AwardSupplier.award_id == Award.id)
        .distinct()
    ).all()
    for ocid, name in suppliers:
        if name.strip() and (ocids is None or ocid in ocids):
            counts["supplier"][name.strip()] += 1
    for band, low, high in AMOUNT_BANDS:
        # value_units are ten-thousandths of the currency's unit.
        query = select(Process.ocid).where(Process.value_units.is_not(None))
        if low is not None:
            query = query.where(Process.value_units >= low * 10_000)
        if high is not None:
            query = query.where(Process.value_units < high * 10_000)
        found = sum(1 for ocid in session.scalars(query) if ocids is None or ocid in ocids)
        if found:
            counts["amount_band"][band] = found
    for ocid, code in session.execute(select(Process.ocid, FlagResult.code).join(FlagResult)):
        if ocids is None or ocid in ocids:
            counts["flag"][code] += 1
    return counts


@pytest.fixture
def index(app, load, sessions):
    load(DEMO_DATA)
    with sessions.begin() as session:  # red flags, as after every load; the rebuild takes them in
        recompute_flags(session)
    rebuild(sessions, app.config["INDEX_DIR"])
    return SearchIndex(app.config["INDEX_DIR"])


def as_counters(facets: dict) -> dict[str, Counter]:
    return {name: Counter(dict(values)) for name, values in facets.items()}


def test_facet_counts_equal_sql_counts(index, sessions):
    page = search_processes(index, facets=LIMIT)
    with sessions() as session:
        expected = sql_counts(session)
    assert as_counters(page.facets) == expected
    assert all(expected[name] for name in FACETS)  # the demo set has values for every facet


@pytest.mark.parametrize("q", ["entretien", "servicio OR services", "arrendamiento"])
def test_facet_counts_follow_the_query(index, sessions, q):
    page = search_processes(index, q=q, facets=LIMIT, per_page=500)
    assert page.total == len(page.hits) > 0
    with sessions() as session:
        assert as_counters(page.facets) == sql_counts(session, {hit.ocid for hit in page.hits})


def test_facets_filter_and_combine(index, sessions):
    every = search_processes(index, facets=LIMIT)
    status, count = every.facets["status"][0]
    filtered = search_processes(index, facets=LIMIT, per_page=500, filters=Filters(facets=(("status", status),)))
    assert filtered.total == count
    assert {hit.status for hit in filtered.hits} == {status}
    year, _ = filtered.facets["year"][0]
    both = search_processes(
        index, facets=LIMIT, per_page=500, filters=Filters(facets=(("status", status), ("year", year)))
    )
    assert both.total == dict(filtered.facets["year"])[year]
    with sessions() as session:
        assert as_counters(both.facets) == sql_counts(session, {hit.ocid for hit in both.hits})
    assert search_processes(index, filters=Filters(facets=(("buyer", "No such buyer"),))).total == 0


def test_amount_bands_are_listed_in_order_and_filter_with_the_others(index, sessions):
    every = search_processes(index, facets=LIMIT)
    bands = [band for band, _ in every.facets["amount_band"]]
    order = [name for name, _, _ in AMOUNT_BANDS]
    assert len(bands) >= 3 and bands == sorted(bands, key=order.index)
    band, count = every.facets["amount_band"][-1]
    alone = search_processes(index, per_page=500, filters=Filters(facets=(("amount_band", band),)))
    assert alone.total == count
    low, high = next((lo, hi) for name, lo, hi in AMOUNT_BANDS if name == band)
    assert all(Decimal(hit.amount) >= (low or 0) and (high is None or Decimal(hit.amount) < high) for hit in alone.hits)
    currency = every.facets["currency"][0][0]
    both = search_processes(
        index, facets=LIMIT, per_page=500, filters=Filters(currency=currency, facets=(("amount_band", band),))
    )
    assert both.total == sum(1 for hit in alone.hits if hit.currency == currency)
    with sessions() as session:
        assert as_counters(both.facets) == sql_counts(session, {hit.ocid for hit in both.hits})


def test_facet_lists_are_cut_at_the_limit_most_frequent_first(index):
    page = search_processes(index, facets=2)
    for name, values in page.facets.items():
        assert len(values) <= 2
        if name not in ("year", "amount_band"):
            assert [c for _, c in values] == sorted((c for _, c in values), reverse=True)


def test_ascending_sorts_are_the_descending_ones_reversed_with_unknowns_last(index):
    newest = search_processes(index, sort="date", per_page=500).hits
    oldest = search_processes(index, sort="date_asc", per_page=500).hits
    dated = [h.date for h in oldest if h.date is not None]
    assert dated == sorted(dated) and len(dated) == len([h for h in newest if h.date is not None])
    assert all(h.date is None for h in oldest[len(dated) :])
    smallest = search_processes(index, sort="amount_asc", per_page=500).hits
    by_currency: dict[str, list] = {}
    for hit in smallest:
        if hit.amount:
            by_currency.setdefault(hit.currency, []).append(Decimal(hit.amount))
    assert len(by_currency) > 1
    assert all(amounts == sorted(amounts) for amounts in by_currency.values())
    currencies = [h.currency for h in smallest if h.amount]
    assert currencies == sorted(currencies)  # grouped by currency, as amounts are never compared across them


def test_date_filters_apply_to_the_tender_award_or_contract_signing_date(app, load, tmp_path):
    release = {
        "ocid": "ocds-d1-1",
        "id": "1",
        "date": "2024-06-01T00:00:00Z",
        "tag": ["contract"],
        "initiationType": "tender",
        "tender": {"id": "t", "title": "Dates", "tenderPeriod": {"startDate": "2021-03-01T00:00:00Z"}},
        "awards": [{"id": "a", "date": "2022-04-01T00:00:00Z"}, {"id": "b", "date": "2022-09-01T00:00:00Z"}],
        "contracts": [{"id": "c", "awardID": "a", "dateSigned": "2023-05-01T10:00:00-05:00"}],
    }
    (tmp_path / "d.json").write_text(json.dumps({"releases": [release]}), encoding="utf-8")
    load(tmp_path / "d.json")
    index = SearchIndex(app.config["INDEX_DIR"])

    def total(dates: str, first: date, last: date) -> int:
        return search_processes(index, filters=Filters(date_from=first, date_to=last, dates=dates)).total

    for dates, year in (("updated", 2024), ("tender", 2021), ("award", 2022), ("signed", 2023)):
        assert total(dates, date(year, 1, 1), date(year, 12, 31)) == 1, dates
        assert total(dates, date(year + 1, 1, 1), date(year + 1, 12, 31)) == 0, dates
    assert total("award", date(2022, 4, 1), date(2022, 4, 1)) == 1  # the first award
    assert total("signed", date(2023, 5, 1), date(2023, 5, 1)) == 1  # 15:00 UTC that day


def test_facets_stay_right_as_updates_add_segments_and_delete_documents(app, load, sessions, tmp_path):
    index = SearchIndex(app.config["INDEX_DIR"])
    load(DEMO_DATA / "montreal")
    search_processes(index, facets=LIMIT)  # the first segment's arrays are kept from here on
    load(DEMO_DATA / "mexico-city")
    load(DEMO_DATA / "montreal")  # unchanged: nothing new
    release = json.loads(next((DEMO_DATA / "ukraine-prozorro").glob("*.json")).read_text(encoding="utf-8"))
    load(DEMO_DATA / "ukraine-prozorro")
    release.update(id="later", date="2030-01-01T00:00:00Z")
    (tmp_path / "later.json").write_text(json.dumps(release), encoding="utf-8")
    load(tmp_path / "later.json")  # an update: the old document is deleted in its segment
    assert index.searcher().reader().has_deletions()
    with sessions() as session:
        assert as_counters(search_processes(index, facets=LIMIT).facets) == sql_counts(session)
