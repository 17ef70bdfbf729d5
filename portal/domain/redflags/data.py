"""The rows every indicator reads, loaded once per computation as pandas frames: a few columns of each derived
table (never the compiled JSON), so a million processes fit in memory and every indicator is a group-by."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import Text, and_, func, null, select, type_coerce
from sqlalchemy.orm import Session

from portal.domain.headline import COUNTED
from portal.domain.vendor_figures import NOT_PUBLISHED
from portal.models import (
    Amendment,
    Award,
    AwardSupplier,
    Bid,
    Contract,
    Item,
    Process,
    ProcessParty,
    Tender,
    Vendor,
    VendorParty,
)
from portal.vocabulary import EntityKind, PartyRole, ValueBasis

# Bid statuses outside the bidStatus codelist read as a code of it: ProZorro publishes "active" for a bid
# submitted and admitted (its rejected bids are told by their award, "unsuccessful", not by the bid's status).
READ_AS = {"active": "valid"}


@dataclass
class FlagData:
    processes: pd.DataFrame  # one row per process: method, tender period and value, buyer entity, ...
    awards: pd.DataFrame  # one row per award
    suppliers: pd.DataFrame  # one row per (award, supplier), with the supplier's entity
    contracts: pd.DataFrame
    amendments: pd.DataFrame
    bids: pd.DataFrame
    items: pd.DataFrame
    tenderers: pd.Series  # process id -> tenderer parties named (role tenderer)
    # The vendor figures' award rows (see `_vendor_rows`): for a buyer's shares and concentration, counted
    # by the figures' own rules (vendor_figures.wins_of, methods_of, shares_by_scope).
    buyer_awards: pd.DataFrame
    supplier_awards: pd.DataFrame
    names: dict[int, str]  # entity id -> name
    # For an update after a load (the data of some processes only): the stored fences, code -> name -> value,
    # which the indicators compare with instead of fences over the part read. None: the whole data set.
    fences: dict[str, dict[str, Any]] | None = None
    # Frames several indicators derive alike (the winning bids, ...), computed once per computation.
    cache: dict[str, Any] = field(default_factory=dict)

    def once(self, name: str, build: Callable[[], Any]) -> Any:
        if name not in self.cache:
            self.cache[name] = build()
        return self.cache[name]

    def ocids(self, process_ids: Any) -> pd.Series:
        return self.processes.loc[list(process_ids), "ocid"]


CHUNK = 5000  # ids per IN list


def _frame(
    session: Session, query: Any, names: list[str], by: Any = None, ids: list[int] | None = None
) -> pd.DataFrame:
    """The query's rows as a frame; with `ids`, only the rows whose `by` column is one of them."""
    if ids is None:
        rows = session.connection().execute(query).all()
    else:
        rows = []
        for start in range(0, len(ids), CHUNK):
            rows += session.connection().execute(query.where(by.in_(ids[start : start + CHUNK]))).all()
    # As plain tuples: pandas reads the rows' own type several times slower.
    return pd.DataFrame.from_records([tuple(r) for r in rows], columns=names) if rows else pd.DataFrame(columns=names)


def _text(column: Any) -> Any:
    """A stored date as the database gives it, parsed by pandas for the whole column at once (SQLite's text;
    PostgreSQL's timestamps) rather than row by row by the column type."""
    return type_coerce(column, Text)


def _utc(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True, errors="coerce", format="ISO8601")


def _vendor_rows(
    processes: pd.DataFrame, awards: pd.DataFrame, suppliers: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The vendor figures' award rows, as `vendor_figures._award_rows` and `_enrich` give them but without
    contracts (vendor_id, award_row, process_id, status, units, currency, method, counted, first, counterpart),
    built from the frames already read rather than by the figures' own joins, which cost as much again at a
    million processes. The columns follow the figures' rules: COUNTED statuses, the tender's method else the
    process's, one `first` row per award and vendor."""
    method = processes["method"].fillna(NOT_PUBLISHED)
    base = awards[["award_row", "process_id", "award_id", "status", "units", "currency"]].copy()
    base["currency"] = base["currency"].fillna("")
    base["counted"] = base["status"].isna() | base["status"].isin(COUNTED[ValueBasis.AWARDS])
    base["method"] = method.reindex(base["process_id"]).to_numpy()
    base["buyer"] = processes["buyer"].reindex(base["process_id"]).to_numpy()
    buyers = base.dropna(subset=["buyer"]).rename(columns={"buyer": "vendor_id"})
    buyers["first"] = True
    entities = suppliers.dropna(subset=["supplier"])[["award_row", "supplier"]]
    rows = entities.merge(base, on="award_row").rename(columns={"supplier": "vendor_id", "buyer": "counterpart"})
    rows["first"] = ~rows.duplicated(["vendor_id", "award_row"])
    return buyers, rows


def _names(session: Session, *entities: pd.Series | None) -> dict[int, str]:
    """Entity id -> name: of every entity, or of those named in `entities`."""
    query = select(Vendor.id, Vendor.name)
    if entities[0] is None:
        return {int(i): str(n) for i, n in session.execute(query).all()}
    wanted = sorted({int(i) for e in entities if e is not None for i in e.dropna().unique()})
    found: dict[int, str] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        found.update((int(i), str(n)) for i, n in session.execute(query.where(Vendor.id.in_(chunk))).all())
    return found


def _ids(values: Collection[int] | None) -> list[int] | None:
    return None if values is None else sorted({int(i) for i in values})


def load_data(
    session: Session,
    process_ids: Collection[int] | None = None,
    *,
    whole: Collection[int] | None = None,
    items: Collection[int] | None = None,
) -> FlagData:
    """Every process's rows, or with `process_ids` those processes' rows only. With `whole` too, only those
    processes' rows are read whole; of the others, what the indicators comparing within buyers, suppliers and
    tenderers read: their buyer, method and category, awards, suppliers and bids, and their items if in `items`.
    Dates become UTC timestamps (a date pandas cannot hold, such as year 0201, becomes missing: the indicator
    reading it says not enough data)."""
    ids = _ids(process_ids)
    complete = ids if whole is None else _ids(whole)
    others = None if whole is None or ids is None else sorted(set(ids) - set(complete or []))
    buyer = select(VendorParty.party_id, VendorParty.vendor_id).where(VendorParty.kind == EntityKind.BUYER).subquery()

    def process_rows(narrow: bool) -> Any:
        def detail(column: Any) -> Any:
            return null() if narrow else column

        return (
            select(
                Process.id,
                Process.ocid,
                Process.buyer_id,
                buyer.c.vendor_id,
                Process.procurement_method,
                detail(Process.title),
                detail(Process.description),
                detail(Process.value_units),
                Tender.process_id,
                detail(Tender.status),
                Tender.procurement_method,
                Tender.main_category,
                detail(Tender.number_of_tenderers),
                detail(_text(Tender.period_start)),
                detail(_text(Tender.period_end)),
                detail(Tender.value_units),
                detail(Tender.value_currency),
            )
            .outerjoin(Tender, Tender.process_id == Process.id)
            .outerjoin(buyer, buyer.c.party_id == Process.buyer_id)
        )

    process_names = [
        "process_id",
        "ocid",
        "buyer_party",
        "buyer",
        "process_method",
        "title",
        "description",
        "value_units",
        "tender_row",
        "tender_status",
        "tender_method",
        "category",
        "number_of_tenderers",
        "period_start",
        "period_end",
        "tender_units",
        "tender_currency",
    ]
    processes = _frame(session, process_rows(False), process_names, Process.id, complete)
    if others:
        processes = pd.concat([processes, _frame(session, process_rows(True), process_names, Process.id, others)])
    if ids is not None:  # read in chunks: in the order the whole read gives
        processes = processes.sort_values("process_id", kind="stable")
    processes["has_tender"] = processes["tender_row"].notna()
    processes["method"] = processes["tender_method"].where(
        processes["tender_method"].notna(), processes["process_method"]
    )
    processes["period_start"] = _utc(processes["period_start"])
    processes["period_end"] = _utc(processes["period_end"])
    processes = processes.drop(columns=["tender_row"]).set_index("process_id", drop=False)
    processes.index.name = None  # the column keeps the name, so merges on "process_id" are not ambiguous

    awards = _frame(
        session,
        select(
            Award.id,
            Award.process_id,
            Award.award_id,
            Award.status,
            Award.value_units,
            Award.value_currency,
            _text(Award.date),
        ),
        ["award_row", "process_id", "award_id", "status", "units", "currency", "date"],
        Award.process_id,
        ids,
    )
    awards["date"] = _utc(awards["date"])
    if ids is not None:
        awards = awards.sort_values("award_row", kind="stable")
    supplier = (
        select(VendorParty.party_id, VendorParty.vendor_id).where(VendorParty.kind == EntityKind.SUPPLIER).subquery()
    )
    suppliers = _frame(
        session,
        select(
            AwardSupplier.award_id, Award.process_id, AwardSupplier.party_id, AwardSupplier.name, supplier.c.vendor_id
        )
        .join(Award, Award.id == AwardSupplier.award_id)
        .outerjoin(supplier, supplier.c.party_id == AwardSupplier.party_id),
        ["award_row", "process_id", "party_id", "name", "supplier"],
        Award.process_id,
        ids,
    )
    if ids is not None:
        suppliers = suppliers.sort_values("award_row", kind="stable")
    contracts = _frame(
        session,
        select(
            Contract.process_id,
            Contract.contract_id,
            Contract.award_id,
            Contract.status,
            Contract.value_units,
            Contract.value_currency,
            Contract.date_signed,
        ),
        ["process_id", "contract_id", "award_id", "status", "units", "currency", "date_signed"],
        Contract.process_id,
        complete,
    )
    amendments = _frame(
        session,
        select(Amendment.process_id, Amendment.parent, Amendment.parent_id),
        ["process_id", "parent", "parent_id"],
        Amendment.process_id,
        complete,
    )
    bids = _frame(
        session,
        select(
            Bid.process_id, Bid.bid_id, Bid.status, Bid.value_units, Bid.value_currency, _text(Bid.date), Bid.tenderers
        ),
        ["process_id", "bid_id", "status", "units", "currency", "date", "tenderers"],
        Bid.process_id,
        ids,
    )
    bids["date"] = _utc(bids["date"])
    bids["status"] = bids["status"].replace(READ_AS)
    items = _frame(
        session,
        select(Item.process_id, Item.parent, Item.parent_id, Item.classification_scheme, Item.classification_id),
        ["process_id", "parent", "parent_id", "scheme", "classification"],
        Item.process_id,
        None if complete is None else sorted(set(complete) | set(_ids(items) or [])),
    )
    tenderers = _frame(
        session,
        select(ProcessParty.process_id, func.count())
        .where(and_(ProcessParty.role == PartyRole.TENDERER))
        .group_by(ProcessParty.process_id),
        ["process_id", "count"],
        ProcessParty.process_id,
        complete,
    ).set_index("process_id")["count"]
    buyer_awards, supplier_awards = _vendor_rows(processes, awards, suppliers)
    names = _names(session, None if ids is None else processes["buyer"], None if ids is None else suppliers["supplier"])
    return FlagData(
        processes=processes,
        awards=awards,
        suppliers=suppliers,
        contracts=contracts,
        amendments=amendments,
        bids=bids,
        items=items,
        tenderers=tenderers,
        buyer_awards=buyer_awards,
        supplier_awards=supplier_awards,
        names=names,
    )
