"""What a vendor page and a comparison show: who wins what, by year and currency, how, and against whom.

The rows come from SQL (one row per award a vendor is named on), the figures from pandas. Money stays exact:
amounts are summed as integer units of 10^-4 (`MoneyColumns.value_units`) and become `Decimal` only at the end;
currencies are never added together. An award counts towards totals when its status commits money
(`portal.domain.headline.counted`); a contract counts likewise, and is matched to its award by OCDS `awardID`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, Select, and_, delete, func, insert, select
from sqlalchemy.orm import Session, aliased

from portal.domain.headline import COUNTED
from portal.domain.ocds import from_units, to_units
from portal.models import (
    Amendment,
    Award,
    AwardSupplier,
    Contract,
    IndexQueue,
    Party,
    Process,
    ProcessParty,
    Tender,
    Vendor,
    VendorParty,
    VendorTotal,
    VendorYearTotal,
)
from portal.vocabulary import EntityKind, PartyRole, ProcurementMethod, ValueBasis

MAX_COMPARED = 6  # vendors side by side: more do not fit a table on a phone, nor a chart anyone can read
MIN_COMPARED = 2
SCOPE_LIMIT = 200  # vendors listed for a buyer or a category (the largest first); the shares count them all
NOT_PUBLISHED = "not published"
RIVAL_ROLES = (PartyRole.TENDERER, PartyRole.SUPPLIER)  # who competed: tenderers and those awarded
RIVALRY_EXAMPLES = 20  # processes named per pair of rivals: the latest loaded
CHUNK = 5000  # ids per IN list: under SQLite's limit of bound parameters, few round trips
COLUMNS = [
    "vendor_id",
    "award_row",
    "award_id",
    "process_id",
    "ocid",
    "title",
    "status",
    "units",
    "currency",
    "award_date",
    "process_date",
    "process_method",
    "tender_method",
    "tenderers",
    "category",
    "buyer_party",
    "counterpart",
]


class VendorNotFound(Exception):
    """No entity under this id; views answer 404."""


@dataclass
class Moved(Exception):
    """The entity was merged or split: its parties are now under `vendor_id` (views redirect there)."""

    vendor_id: int


@dataclass
class CurrencyFigures:
    currency: str
    awarded: Decimal
    contracted: Decimal
    awards: int  # awards counted in `awarded`
    mean: Decimal | None  # per win: the contracted value where contracts are published, else the award's
    median: Decimal | None
    value_increases: int  # contracts signed above their award's value
    increase: Decimal  # by how much, in all


@dataclass
class YearFigures:
    year: int | None
    currency: str
    awarded: Decimal
    contracted: Decimal
    awards: int


@dataclass
class VendorFigures:
    vendor_id: int
    name: str
    processes: int
    awards: int
    buyers: int  # buyers served (for a buyer: suppliers awarded)
    currencies: list[CurrencyFigures]
    years: list[YearFigures]
    methods: dict[str, int]  # ProcurementMethod (or "not published", or the word as published) -> wins (processes)
    single_bid: int  # wins where one tenderer was published
    direct: int  # wins by direct award
    single_bid_or_direct: int
    amendments: int
    # The buyers served (for a buyer: its suppliers), most processes first: entity id, name, processes.
    top_buyers: list[tuple[int, str, int]] = field(default_factory=list)

    @property
    def single_bid_or_direct_share(self) -> float | None:
        return self.single_bid_or_direct / self.processes if self.processes else None

    def currency(self, code: str) -> CurrencyFigures | None:
        return next((c for c in self.currencies if c.currency == code), None)


@dataclass
class Entity:
    vendor: Vendor
    parties: list[tuple[Party, str, str]]  # party, evidence, detail
    figures: VendorFigures
    awards: pd.DataFrame  # one row per award (for the page's table)


# ---------------------------------------------------------------------------------------------------------------
# Rows.


def _award_rows(
    session: Session, where: ColumnElement[bool], *, kind: EntityKind = EntityKind.SUPPLIER
) -> pd.DataFrame:
    """One row per (entity, award): the supplier's awards, or for a buyer, the awards of its processes."""
    buyer_link = aliased(VendorParty)
    if kind == EntityKind.SUPPLIER:
        entity = aliased(VendorParty)
        query = (
            select(entity.vendor_id, Award.id)
            .select_from(AwardSupplier)
            .join(entity, and_(entity.party_id == AwardSupplier.party_id, entity.kind == EntityKind.SUPPLIER))
            .join(Award, Award.id == AwardSupplier.award_id)
        )
    else:
        entity = buyer_link
        query = select(entity.vendor_id, Award.id).select_from(Award)
    query = (
        query.join(Process, Process.id == Award.process_id)
        .outerjoin(Tender, Tender.process_id == Process.id)
        .add_columns(
            Award.award_id,
            Process.id,
            Process.ocid,
            Process.title,
            Award.status,
            Award.value_units,
            Award.value_currency,
            Award.date,
            Process.first_date,
            Process.procurement_method,
            Tender.procurement_method,
            Tender.number_of_tenderers,
            Tender.main_category,
            Process.buyer_id,
        )
    )
    # The counterpart: for a supplier, the buyer (entity) of each process; for a buyer, the award's supplier.
    if kind == EntityKind.SUPPLIER:
        query = query.outerjoin(
            buyer_link, and_(buyer_link.party_id == Process.buyer_id, buyer_link.kind == EntityKind.BUYER)
        ).add_columns(buyer_link.vendor_id)
    else:
        supplier_link = aliased(VendorParty)
        query = (
            query.join(buyer_link, and_(buyer_link.party_id == Process.buyer_id, buyer_link.kind == EntityKind.BUYER))
            .outerjoin(AwardSupplier, AwardSupplier.award_id == Award.id)
            .outerjoin(
                supplier_link,
                and_(supplier_link.party_id == AwardSupplier.party_id, supplier_link.kind == EntityKind.SUPPLIER),
            )
            .add_columns(supplier_link.vendor_id)
        )
    rows = session.connection().execute(query.where(where)).all()  # Core rows: no ORM work per row
    frame = pd.DataFrame(
        {name: list(values) for name, values in zip(COLUMNS, zip(*rows, strict=True), strict=True)} if rows else [],
        columns=COLUMNS,
    )
    # An award with two suppliers is one row per supplier for a buyer: sums take each award once (`first`).
    frame["first"] = ~frame.duplicated(["vendor_id", "award_row"])
    return frame


def _rows_of_processes(
    session: Session, columns: Sequence, process_ids: Sequence[int], names: list[str]
) -> pd.DataFrame:
    """`columns` of the rows of these processes, read CHUNK processes at a time (bounded IN lists)."""
    found: list = []
    ids = sorted(set(process_ids))
    process_id = columns[0].table.c.process_id
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        found += session.connection().execute(select(*columns).where(process_id.in_(chunk))).all()
    return pd.DataFrame(found, columns=names)


def _contract_rows(session: Session, process_ids: Sequence[int]) -> pd.DataFrame:
    columns = (
        Contract.process_id,
        Contract.contract_id,
        Contract.award_id,
        Contract.status,
        Contract.value_units,
        Contract.value_currency,
    )
    names = ["process_id", "contract_id", "award_id", "status", "units", "currency"]
    return _rows_of_processes(session, columns, process_ids, names)


def _amendment_rows(session: Session, process_ids: Sequence[int]) -> pd.DataFrame:
    columns = (Amendment.process_id, Amendment.parent, Amendment.parent_id)
    return _rows_of_processes(session, columns, process_ids, ["process_id", "parent", "parent_id"])


def _enrich(session: Session, awards: pd.DataFrame) -> pd.DataFrame:
    """Per award: whether it counts, its contracted value, its amendments, its year, method and single bid."""
    awards = awards.copy()
    processes = awards["process_id"].unique().tolist()
    awards["counted"] = awards["status"].isna() | awards["status"].isin(COUNTED[ValueBasis.AWARDS])
    awards["currency"] = awards["currency"].fillna("")
    contracts = _contract_rows(session, processes)
    contracts = contracts[contracts["status"].isna() | contracts["status"].isin(COUNTED[ValueBasis.CONTRACTS])]
    contracts = contracts.dropna(subset=["award_id", "units"])
    by_award = (
        contracts.groupby(["process_id", "award_id", "currency"], dropna=False)["units"].sum().rename("contracted")
    )
    awards = awards.merge(by_award.reset_index(), how="left", on=["process_id", "award_id", "currency"])
    awards["contracted"] = awards["contracted"].fillna(0).astype("int64")
    # An amendment belongs to an award directly, or to a contract that implements it.
    amendments = _amendment_rows(session, processes)
    award_of_contract = {
        (p, c): a
        for p, c, a in zip(contracts["process_id"], contracts["contract_id"], contracts["award_id"], strict=True)
    }
    per_award: dict[tuple[int, str], int] = {}
    for p, parent, parent_id in amendments.itertuples(index=False):
        award_id = (
            parent_id if parent == "award" else award_of_contract.get((p, parent_id)) if parent == "contract" else None
        )
        if award_id is not None:
            per_award[(p, award_id)] = per_award.get((p, award_id), 0) + 1
    awards["amendments"] = [
        per_award.get((p, a), 0) for p, a in zip(awards["process_id"], awards["award_id"], strict=True)
    ]
    dates = awards["award_date"].where(awards["award_date"].notna(), awards["process_date"])
    awards["year"] = [d.year if d is not None and not pd.isna(d) else None for d in dates]
    method = awards["tender_method"].where(awards["tender_method"].notna(), awards["process_method"])
    awards["method"] = method.fillna(NOT_PUBLISHED)
    awards["single_bid"] = awards["tenderers"] == 1
    awards["per_win"] = awards["contracted"].where(awards["contracted"] > 0, awards["units"])
    awards["increase"] = (awards["contracted"] - awards["units"]).where(
        (awards["contracted"] > 0) & awards["units"].notna(), 0
    )
    return awards


# ---------------------------------------------------------------------------------------------------------------
# Figures.


def _money(units: float | int | None) -> Decimal:
    return from_units(int(round(units))) or Decimal(0) if units is not None and not pd.isna(units) else Decimal(0)


def figures_of(vendor_id: int, name: str, awards: pd.DataFrame, buyer_names: dict[int, str]) -> VendorFigures:
    return all_figures(awards, {vendor_id: name}, buyer_names)[0]


def _none_if_empty(frame: pd.DataFrame) -> pd.DataFrame | None:
    return None if frame.empty else frame


def _counted(mine: pd.DataFrame) -> pd.DataFrame:
    """The awards (each once) whose value counts towards the totals, with the columns the sums need."""
    counted = mine[mine["counted"] & mine["units"].notna() & (mine["currency"] != "")].copy()
    counted["units"] = counted["units"].astype("int64")
    counted["per_win"] = counted["per_win"].astype("int64")
    counted["increased"] = counted["increase"] > 0
    counted["increase_units"] = counted["increase"].where(counted["increased"], 0).astype("int64")
    return counted


def all_figures(awards: pd.DataFrame, names: dict[int, str], buyer_names: dict[int, str]) -> list[VendorFigures]:
    """The figures of each vendor in `names` (in that order), from one pass of group-bys over all their awards."""
    awards = awards[awards["vendor_id"].isin(list(names))]
    mine = awards[awards["first"]]
    counted = _counted(mine)
    by_currency = counted.groupby(["vendor_id", "currency"]).agg(
        awarded=("units", "sum"),
        contracted=("contracted", "sum"),
        awards=("units", "size"),
        per_win=("per_win", "sum"),
        median=("per_win", "median"),
        value_increases=("increased", "sum"),
        increase=("increase_units", "sum"),
    )
    by_year = counted.groupby(["vendor_id", "currency", "year"], dropna=False).agg(
        awarded=("units", "sum"), contracted=("contracted", "sum"), awards=("units", "size")
    )
    wins = wins_of(mine)
    wins = wins.assign(
        direct=wins["method"] == ProcurementMethod.DIRECT, single=wins["single_bid"].fillna(False).astype(bool)
    ).assign(either=lambda w: w["direct"] | w["single"])
    per_vendor = wins.groupby("vendor_id").agg(
        processes=("process_id", "size"), single=("single", "sum"), direct=("direct", "sum"), either=("either", "sum")
    )
    counts = mine.groupby("vendor_id").agg(awards=("award_row", "size"), amendments=("amendments", "sum"))
    methods = methods_of(wins)
    sides = awards.dropna(subset=["counterpart"]).drop_duplicates(["vendor_id", "process_id", "counterpart"])
    served = sides.groupby(["vendor_id", "counterpart"]).size()

    currencies: dict[int, list[CurrencyFigures]] = {v: [] for v in names}
    for (v, currency), row in by_currency.sort_values("awards", ascending=False, kind="stable").iterrows():
        mean = (from_units(int(row["per_win"])) or Decimal(0)) / int(row["awards"])
        currencies[int(v)].append(
            CurrencyFigures(
                currency=str(currency),
                awarded=_money(row["awarded"]),
                contracted=_money(row["contracted"]),
                awards=int(row["awards"]),
                mean=mean.quantize(Decimal("0.01")),
                median=_money(row["median"]),
                value_increases=int(row["value_increases"]),
                increase=_money(row["increase"]),
            )
        )
    years: dict[int, list[YearFigures]] = {v: [] for v in names}
    for (v, currency, year), row in by_year.iterrows():
        years[int(v)].append(
            YearFigures(
                year=None if pd.isna(year) else int(year),
                currency=str(currency),
                awarded=_money(row["awarded"]),
                contracted=_money(row["contracted"]),
                awards=int(row["awards"]),
            )
        )
    found = []
    for v, name in names.items():
        totals = per_vendor.loc[v] if v in per_vendor.index else None
        count = counts.loc[v] if v in counts.index else None
        mine_methods = methods.loc[v] if v in methods.index.get_level_values(0) else pd.Series(dtype="int64")
        mine_served = served.loc[v] if v in served.index.get_level_values(0) else pd.Series(dtype="int64")
        top = mine_served.sort_values(ascending=False, kind="stable").head(10)
        found.append(
            VendorFigures(
                vendor_id=v,
                name=name,
                processes=int(totals["processes"]) if totals is not None else 0,
                awards=int(count["awards"]) if count is not None else 0,
                buyers=len(mine_served),
                currencies=currencies[v],
                years=sorted(years[v], key=lambda y: (y.currency, y.year if y.year is not None else -1)),
                methods={str(m): int(n) for m, n in mine_methods.sort_values(ascending=False, kind="stable").items()},
                single_bid=int(totals["single"]) if totals is not None else 0,
                direct=int(totals["direct"]) if totals is not None else 0,
                single_bid_or_direct=int(totals["either"]) if totals is not None else 0,
                amendments=int(count["amendments"]) if count is not None else 0,
                top_buyers=[(int(b), buyer_names.get(int(b), ""), int(n)) for b, n in top.items()],
            )
        )
    return found


def wins_of(awards: pd.DataFrame) -> pd.DataFrame:
    """One row per (vendor, process): a vendor's wins (for a buyer, the processes it awarded)."""
    return awards.drop_duplicates(["vendor_id", "process_id"])


def methods_of(wins: pd.DataFrame) -> pd.Series:
    """(vendor, method) -> wins: the figures' `methods`."""
    return wins.groupby(["vendor_id", "method"]).size()


def names_of(session: Session, vendor_ids: Sequence[int]) -> dict[int, str]:
    ids = sorted({int(v) for v in vendor_ids})
    return dict(session.execute(select(Vendor.id, Vendor.name).where(Vendor.id.in_(ids))).all()) if ids else {}


def live_vendor(session: Session, vendor_id: int, kind: EntityKind | None = None, *, follow: bool = False) -> Vendor:
    """The entity, or `Moved` to where its parties went (or, `follow`, that entity), or `VendorNotFound`."""
    vendor = session.get(Vendor, vendor_id)
    seen = set()
    while vendor is not None and vendor.merged_into_id is not None and vendor.id not in seen:
        seen.add(vendor.id)
        vendor = session.get(Vendor, vendor.merged_into_id)
    if vendor is None or (kind is not None and vendor.kind != kind):
        raise VendorNotFound(f"no {kind or 'entity'} {vendor_id}")
    if vendor.id != vendor_id and not follow:
        raise Moved(vendor.id)
    return vendor


def get_entity(
    session: Session, vendor_id: int, *, kind: EntityKind = EntityKind.SUPPLIER, latest: int | None = None
) -> Entity:
    """A vendor (or a buyer) with its parties, why each belongs, and its figures. With `latest`, the figures
    come from the totals refreshed after each load where they are current, and `awards` holds only the latest
    `latest` awards (by date, undated last; none with 0: pages read theirs with `entity_awards`); otherwise every
    award, and the figures computed from them."""
    vendor = live_vendor(session, vendor_id, kind)
    parties = [
        (party, evidence, detail)
        for party, evidence, detail in session.execute(
            select(Party, VendorParty.evidence, VendorParty.detail)
            .join(VendorParty, VendorParty.party_id == Party.id)
            .where(VendorParty.vendor_id == vendor.id, VendorParty.kind == kind)
            .order_by(Party.id)
        ).all()
    ]
    if latest is not None:
        stored = stored_figures(session, vendor, [party.id for party, _, _ in parties])
        if stored is not None:
            return Entity(
                vendor=vendor, parties=parties, figures=stored, awards=_latest_awards(session, vendor, latest)
            )
    awards = _enrich(session, _award_rows(session, _entity_filter(kind, [vendor.id]), kind=kind))
    names = names_of(session, awards["counterpart"].dropna().astype(int).tolist())
    figures = figures_of(vendor.id, vendor.name, awards, names)
    return Entity(vendor=vendor, parties=parties, figures=figures, awards=awards)


def entity_process_ids(session: Session, vendor_id: int, kind: EntityKind) -> list[int]:
    """Every process in which the entity won an award (a supplier) or awarded one (a buyer): what its red-flag
    counts are taken over, whatever number of awards its page lists. Read from its stored totals where they
    are current (a large vendor's are a hundred thousand processes)."""
    stored = _stored_ids(session, vendor_id, kind, VendorTotal.won)
    if stored is not None:
        return stored.tolist()
    if kind == EntityKind.SUPPLIER:
        query = select(Award.process_id).select_from(AwardSupplier).join(Award, Award.id == AwardSupplier.award_id)
    else:
        query = select(Award.process_id).select_from(Award).join(Process, Process.id == Award.process_id)
    return list(session.scalars(query.where(_entity_filter(kind, [vendor_id])).distinct()))


def _latest_awards(session: Session, vendor: Vendor, latest: int) -> pd.DataFrame:
    """The rows of the entity's `latest` latest awards (by date, undated last, then the latest row first), as
    the page lists them."""
    if latest <= 0:  # the page reads its awards a page at a time (`entity_awards`), not here
        return pd.DataFrame([], columns=COLUMNS).assign(first=pd.Series(dtype=bool))
    kind = EntityKind(vendor.kind)
    chosen = [award_id for _, award_id, _ in session.execute(_award_ids(kind, [vendor.id]).limit(latest))]
    where = _entity_filter(kind, [vendor.id])
    return _award_rows(session, and_(where, Award.id.in_(chosen)), kind=kind)


# ---------------------------------------------------------------------------------------------------------------
# Totals kept in tables (VendorYearTotal, VendorTotal): computed by the same functions as above, after each load
# for the entities it touched, so that a page reads a few rows rather than every award of a large vendor.

REFRESH_ROWS = 200_000  # award rows read and summed together (a few hundred MB in pandas); a larger entity alone


def _digest(party_ids: Iterable[int]) -> str:
    return hashlib.sha256(",".join(str(p) for p in sorted(party_ids)).encode()).hexdigest()


def entity_digest(session: Session, vendor_id: int, kind: EntityKind | str) -> str:
    """The digest of the entity's parties now: what a stored figure was computed with, while it is current."""
    return _digest(
        session.scalars(
            select(VendorParty.party_id).where(VendorParty.vendor_id == vendor_id, VendorParty.kind == kind)
        )
    )


def _stored_ids(session: Session, vendor_id: int, kind: EntityKind | str, column: Any) -> np.ndarray | None:
    """An id array kept with the entity's totals (`VendorTotal.won`, `.awards`), or None where there is none or
    its parties changed since."""
    stored = session.execute(select(VendorTotal.parties, column).where(VendorTotal.vendor_id == vendor_id)).first()
    if stored is None or stored[1] is None or stored[0] != entity_digest(session, vendor_id, kind):
        return None
    return read_ids(stored[1])


def refresh_totals(session: Session, *, kind: EntityKind, vendor_ids: Iterable[int] | None = None) -> int:
    """Compute again the stored totals of these entities (every live one of `kind` when None); returns how many."""
    if vendor_ids is None:
        live = select(Vendor.id).where(Vendor.kind == kind, Vendor.merged_into_id.is_(None)).order_by(Vendor.id)
        ids = list(session.scalars(live))
    else:
        ids = sorted({int(v) for v in vendor_ids})
    for chunk in _chunks_by_awards(session, kind, ids):
        awards = _enrich(session, _award_rows(session, _entity_filter(kind, chunk), kind=kind))
        figures = all_figures(awards, dict.fromkeys(chunk, ""), {})
        counted = _counted(awards[awards["first"]])
        by_year = counted.groupby(["vendor_id", "currency", "year"], dropna=False).agg(
            awarded=("units", "sum"),
            contracted=("contracted", "sum"),
            awards=("units", "size"),
            per_win=("per_win", "sum"),
            value_increases=("increased", "sum"),
            increase=("increase_units", "sum"),
        )
        parties: dict[int, list[int]] = {v: [] for v in chunk}
        for vendor_id, party_id in session.execute(
            select(VendorParty.vendor_id, VendorParty.party_id).where(
                VendorParty.kind == kind, VendorParty.vendor_id.in_(chunk)
            )
        ):
            parties[vendor_id].append(party_id)
        session.execute(delete(VendorYearTotal).where(VendorYearTotal.vendor_id.in_(chunk)))
        session.execute(delete(VendorTotal).where(VendorTotal.vendor_id.in_(chunk)))
        years = [
            {
                "vendor_id": int(v),
                "year": None if pd.isna(year) else int(year),
                "currency": str(currency),
                "awarded_units": int(row["awarded"]),
                "contracted_units": int(row["contracted"]),
                "awards": int(row["awards"]),
                "per_win_units": int(row["per_win"]),
                "value_increases": int(row["value_increases"]),
                "increase_units": int(row["increase"]),
            }
            for (v, currency, year), row in by_year.iterrows()
        ]
        if years:
            session.execute(insert(VendorYearTotal), years)
        won = _sets_by_vendor(awards["vendor_id"], awards["process_id"])
        ordered = _ordered_awards(session, kind, chunk)
        competed = _competed_sets(session, chunk) if kind == EntityKind.SUPPLIER else {}
        # Award rows per currency (every row, counted or not), for the order of a comparison's columns.
        named = awards[awards["currency"] != ""].groupby(["vendor_id", "currency"]).size()
        currency_rows: dict[int, dict[str, int]] = {v: {} for v in chunk}
        for (v, currency), n in named.items():
            currency_rows[int(v)][str(currency)] = int(n)
        session.execute(
            insert(VendorTotal),
            [
                {
                    "vendor_id": f.vendor_id,
                    "parties": _digest(parties[f.vendor_id]),
                    "figures": _rest(f) | {"currency_rows": currency_rows[f.vendor_id]},
                    "won": won.get(f.vendor_id, EMPTY_SET),
                    "awards": ordered.get(f.vendor_id, EMPTY_SET),
                    "competed": competed.get(f.vendor_id, EMPTY_SET) if kind == EntityKind.SUPPLIER else None,
                }
                for f in figures
            ],
        )
    return len(ids)


EMPTY_SET = b""


def process_set(ids: np.ndarray) -> bytes:
    """Process ids as VendorTotal keeps them: sorted, each once, little-endian 64-bit integers."""
    return np.unique(ids.astype(np.int64)).astype("<i8").tobytes()


def read_ids(stored: bytes) -> np.ndarray:
    return np.frombuffer(stored, dtype="<i8")


def _ordered_awards(session: Session, kind: EntityKind, vendor_ids: Sequence[int]) -> dict[int, bytes]:
    """Per entity, its award ids in its page's order (`_award_ids`), as 64-bit integers."""
    ordered: dict[int, list[int]] = {}
    for vendor_id, award_id, _ in session.connection().execute(_award_ids(kind, vendor_ids)):
        ordered.setdefault(vendor_id, []).append(award_id)
    return {v: np.asarray(ids, dtype="<i8").tobytes() for v, ids in ordered.items()}


def _sets_by_vendor(vendor_ids: pd.Series, process_ids: pd.Series) -> dict[int, bytes]:
    frame = pd.DataFrame({"vendor_id": vendor_ids, "process_id": process_ids}).dropna()
    return {
        int(v): process_set(group.to_numpy(dtype=np.int64)) for v, group in frame.groupby("vendor_id")["process_id"]
    }


def _competed_sets(session: Session, vendor_ids: Sequence[int]) -> dict[int, bytes]:
    """Per supplier, the processes it tendered in or was a supplier of (as `rivalries_of` reads them)."""
    rows = (
        session.connection()
        .execute(
            select(VendorParty.vendor_id, ProcessParty.process_id)
            .join(ProcessParty, ProcessParty.party_id == VendorParty.party_id)
            .where(
                VendorParty.kind == EntityKind.SUPPLIER,
                VendorParty.vendor_id.in_(vendor_ids),
                ProcessParty.role.in_(RIVAL_ROLES),
            )
        )
        .all()
    )
    if not rows:
        return {}
    vendors, processes = zip(*rows, strict=True)
    return _sets_by_vendor(pd.Series(vendors), pd.Series(processes))


def _chunks_by_awards(session: Session, kind: EntityKind, ids: list[int]) -> Iterable[list[int]]:
    """The entities in groups of about REFRESH_ROWS award rows (and at most CHUNK entities, for the IN lists),
    so that memory stays bounded."""
    if kind == EntityKind.SUPPLIER:
        counting = select(VendorParty.vendor_id, func.count()).join(
            AwardSupplier, AwardSupplier.party_id == VendorParty.party_id
        )
    else:
        counting = (
            select(VendorParty.vendor_id, func.count())
            .join(Process, Process.buyer_id == VendorParty.party_id)
            .join(Award, Award.process_id == Process.id)
        )
    counts: dict[int, int] = {}
    for start in range(0, len(ids), CHUNK):
        part = ids[start : start + CHUNK]
        counts.update(
            session.execute(
                counting.where(VendorParty.kind == kind, VendorParty.vendor_id.in_(part)).group_by(
                    VendorParty.vendor_id
                )
            ).all()
        )
    chunk: list[int] = []
    rows = 0
    for vendor_id in ids:
        if chunk and (rows + counts.get(vendor_id, 0) > REFRESH_ROWS or len(chunk) >= CHUNK):
            yield chunk
            chunk, rows = [], 0
        chunk.append(vendor_id)
        rows += counts.get(vendor_id, 0)
    if chunk:
        yield chunk


def _rest(f: VendorFigures) -> dict:
    """What a VendorTotal keeps: the figures that are not sums over the year rows."""
    return {
        "processes": f.processes,
        "awards": f.awards,
        "buyers": f.buyers,
        "medians": {c.currency: str(c.median) for c in f.currencies},
        "methods": [[m, n] for m, n in f.methods.items()],
        "single_bid": f.single_bid,
        "direct": f.direct,
        "single_bid_or_direct": f.single_bid_or_direct,
        "amendments": f.amendments,
        "top_buyers": [[b, n] for b, _, n in f.top_buyers],
    }


def stored_figures(session: Session, vendor: Vendor, party_ids: Iterable[int]) -> VendorFigures | None:
    """The entity's figures from its stored totals, or None when there are none or its parties changed since."""
    total = session.get(VendorTotal, vendor.id)
    if total is None or total.parties != _digest(party_ids):
        return None
    rest = total.figures
    rows = session.scalars(select(VendorYearTotal).where(VendorYearTotal.vendor_id == vendor.id)).all()
    sums: dict[str, list[int]] = {}
    for r in sorted(rows, key=lambda r: r.currency):
        each = (r.awarded_units, r.contracted_units, r.awards, r.per_win_units, r.value_increases, r.increase_units)
        sums[r.currency] = [a + b for a, b in zip(sums.get(r.currency, [0] * 6), each, strict=True)]
    currencies = []
    # The most awards first; a tie in currency order (sorted above, and the sort is stable).
    for currency, (awarded, contracted, awards, per_win, increases, increase) in sorted(
        sums.items(), key=lambda item: -item[1][2]
    ):
        currencies.append(
            CurrencyFigures(
                currency=currency,
                awarded=_money(awarded),
                contracted=_money(contracted),
                awards=awards,
                mean=((from_units(per_win) or Decimal(0)) / awards).quantize(Decimal("0.01")),
                median=Decimal(rest["medians"][currency]),
                value_increases=increases,
                increase=_money(increase),
            )
        )
    years = [
        YearFigures(
            year=r.year,
            currency=r.currency,
            awarded=_money(r.awarded_units),
            contracted=_money(r.contracted_units),
            awards=r.awards,
        )
        for r in rows
    ]
    buyer_names = names_of(session, [b for b, _ in rest["top_buyers"]])
    return VendorFigures(
        vendor_id=vendor.id,
        name=vendor.name,
        processes=rest["processes"],
        awards=rest["awards"],
        buyers=rest["buyers"],
        currencies=currencies,
        years=sorted(years, key=lambda y: (y.currency, y.year if y.year is not None else -1)),
        methods={str(m): int(n) for m, n in rest["methods"]},
        single_bid=rest["single_bid"],
        direct=rest["direct"],
        single_bid_or_direct=rest["single_bid_or_direct"],
        amendments=rest["amendments"],
        top_buyers=[(int(b), buyer_names.get(int(b), ""), int(n)) for b, n in rest["top_buyers"]],
    )


def refresh_after_load(session: Session) -> int:
    """Refresh the totals of the entities touched by the processes a load changed (those still queued for the
    search index, so this runs before the index takes them); returns how many entities."""
    return refresh_for_processes(session, list(session.scalars(select(IndexQueue.ocid))))


def refresh_for_processes(session: Session, ocids: Sequence[str]) -> int:
    """Refresh the totals of the entities named by these processes (a notice just published, a load)."""
    touched = touched_entities(session, ocids)
    return sum(refresh_totals(session, kind=kind, vendor_ids=ids) for kind, ids in touched.items() if ids)


def touched_entities(session: Session, ocids: Sequence[str]) -> dict[EntityKind, set[int]]:
    """The entities whose figures the changes to these processes may have changed: their suppliers' and their
    buyers'."""
    ordered = sorted(set(ocids))
    ids: list[int] = []
    for start in range(0, len(ordered), CHUNK):
        ids += session.scalars(select(Process.id).where(Process.ocid.in_(ordered[start : start + CHUNK])))
    return entities_of_processes(session, ids)


def entities_of_processes(session: Session, process_ids: Iterable[int]) -> dict[EntityKind, set[int]]:
    """The suppliers named on an award of these processes and the buyers of them, as entities. Each in two
    lookups (the parties, then their entities): joined, SQLite chose to walk every entity's awards or
    processes to find these (0.7 s for 500 processes at 100,000)."""
    found: dict[EntityKind, set[int]] = {EntityKind.SUPPLIER: set(), EntityKind.BUYER: set()}
    ids = sorted(set(process_ids))
    for start in range(0, len(ids), CHUNK):
        part = ids[start : start + CHUNK]
        suppliers = session.scalars(
            select(AwardSupplier.party_id)
            .join(Award, Award.id == AwardSupplier.award_id)
            .where(Award.process_id.in_(part))
            .distinct()
        )
        buyers = session.scalars(select(Process.buyer_id).where(Process.id.in_(part)).distinct())
        for kind, party_ids in ((EntityKind.SUPPLIER, suppliers), (EntityKind.BUYER, buyers)):
            found[kind].update(entities_of_parties(session, kind, party_ids).values())
    return found


def entities_of_parties(session: Session, kind: EntityKind, party_ids: Iterable[int | None]) -> dict[int, int]:
    """Party id -> the entity of `kind` it was resolved into, for the parties that have one (a buyer's page,
    a supplier's vendor)."""
    wanted = sorted({p for p in party_ids if p is not None})
    found: dict[int, int] = {}
    for start in range(0, len(wanted), CHUNK):
        for party_id, vendor_id in session.execute(
            select(VendorParty.party_id, VendorParty.vendor_id).where(
                VendorParty.kind == kind, VendorParty.party_id.in_(wanted[start : start + CHUNK])
            )
        ):
            found[party_id] = vendor_id
    return found


def _entity_filter(kind: EntityKind, vendor_ids: Sequence[int]) -> ColumnElement[bool]:
    if kind == EntityKind.SUPPLIER:
        return AwardSupplier.party_id.in_(
            select(VendorParty.party_id).where(
                VendorParty.kind == EntityKind.SUPPLIER, VendorParty.vendor_id.in_(vendor_ids)
            )
        )
    return Process.buyer_id.in_(
        select(VendorParty.party_id).where(VendorParty.kind == EntityKind.BUYER, VendorParty.vendor_id.in_(vendor_ids))
    )


# ---------------------------------------------------------------------------------------------------------------
# Comparison.


@dataclass
class Share:
    vendor_id: int
    name: str
    awarded: Decimal
    share: float  # of the scope's total in that currency, 0-1


@dataclass
class Concentration:
    currency: str
    total: Decimal
    vendors: int
    hhi: int  # Herfindahl-Hirschman index, 0-10,000: the sum of squared percentage shares
    shares: list[Share]


@dataclass
class Rivalry:
    a: int
    b: int
    processes: int  # where both tendered or were awarded
    a_won: int
    b_won: int
    ocids: list[str]


@dataclass
class Comparison:
    vendors: list[VendorFigures]
    scope: str | None  # "buyer" or "category", when the vendors are all those of one
    scope_name: str | None
    concentration: list[Concentration]
    rivalries: list[Rivalry]
    currencies: list[str]  # in the order of the table's columns
    more: int = 0  # vendors of the scope beyond those listed


class CompareError(Exception):
    """What was asked cannot be compared (too few or too many vendors, unknown ids); views answer 422."""


def hhi(shares: Sequence[float]) -> int:
    """Herfindahl-Hirschman index from shares between 0 and 1: 10,000 is one vendor taking everything."""
    return round(sum((100 * s) ** 2 for s in shares))


def _shared(awards: pd.DataFrame) -> pd.DataFrame:
    """The awards market shares count: once each, committing money, with an amount and a currency."""
    return awards[awards["first"] & awards["counted"] & awards["units"].notna() & (awards["currency"] != "")]


def shares_by_scope(awards: pd.DataFrame, scope: str = "counterpart") -> pd.DataFrame:
    """Market shares in every scope at once (for a supplier's rows, `counterpart` is the buyer): one row per
    (scope, currency, vendor) with its units, the scope's total, its share, the scope's HHI, vendors and awards.
    The same shares as `concentration_of` gives for one scope's rows."""
    counted = _shared(awards).dropna(subset=[scope])
    per = counted.groupby([scope, "currency", "vendor_id"])["units"].sum().rename("units").reset_index()
    totals = counted.groupby([scope, "currency"]).agg(total=("units", "sum"), awards=("units", "size"))
    per = per.merge(totals.reset_index(), on=[scope, "currency"])
    per = per[per["total"] > 0]
    per["share"] = per["units"] / per["total"]
    square = (100 * per["share"]) ** 2
    per["hhi"] = square.groupby([per[scope], per["currency"]]).transform("sum").round().astype("int64")
    per["vendors"] = per.groupby([scope, "currency"])["vendor_id"].transform("size")
    return per


def concentration_of(awards: pd.DataFrame, names: dict[int, str]) -> list[Concentration]:
    """Market shares of the awarded value, per currency, among all the vendors in `awards`."""
    counted = _shared(awards)
    found = []
    for currency, rows in counted.groupby("currency"):
        totals = rows.groupby("vendor_id")["units"].sum().sort_values(ascending=False)
        total = int(totals.sum())
        if total <= 0:
            continue
        shares = [
            Share(int(v), names.get(int(v), ""), _money(units), float(units) / total) for v, units in totals.items()
        ]
        found.append(
            Concentration(
                currency=str(currency),
                total=_money(total),
                vendors=len(shares),
                hhi=hhi([s.share for s in shares]),
                shares=shares,
            )
        )
    found.sort(key=lambda c: -c.vendors)
    return found


def rivalries_of(session: Session, vendor_ids: Sequence[int], awards: pd.DataFrame | None) -> list[Rivalry]:
    """Processes where two of the vendors both tendered or were awarded (as published in tenderers, bids'
    tenderers or awards), and which of them won. The pairs are found in SQL: only shared processes come back.
    Without `awards` (the vendors' award rows), who won is read for the shared processes alone."""
    first, second = aliased(VendorParty), aliased(VendorParty)
    mine, theirs = aliased(ProcessParty), aliased(ProcessParty)
    rows = session.execute(
        select(first.vendor_id, second.vendor_id, mine.process_id, Process.ocid)
        .select_from(mine)
        .join(first, and_(first.party_id == mine.party_id, first.kind == EntityKind.SUPPLIER))
        .join(theirs, and_(theirs.process_id == mine.process_id, theirs.role.in_(RIVAL_ROLES)))
        .join(second, and_(second.party_id == theirs.party_id, second.kind == EntityKind.SUPPLIER))
        .join(Process, Process.id == mine.process_id)
        .where(
            mine.role.in_(RIVAL_ROLES),
            first.vendor_id.in_(vendor_ids),
            second.vendor_id.in_(vendor_ids),
            first.vendor_id < second.vendor_id,
        )
        .distinct()
    ).all()
    if awards is not None:
        won = set(zip(awards["vendor_id"], awards["process_id"], strict=True))
    else:
        shared_ids = sorted({int(process_id) for _, _, process_id, _ in rows})
        won = set()
        for start in range(0, len(shared_ids), CHUNK):
            won.update(
                (int(v), int(process_id))
                for v, process_id in session.execute(
                    select(VendorParty.vendor_id, Award.process_id)
                    .join(AwardSupplier, AwardSupplier.party_id == VendorParty.party_id)
                    .join(Award, Award.id == AwardSupplier.award_id)
                    .where(
                        VendorParty.kind == EntityKind.SUPPLIER,
                        VendorParty.vendor_id.in_(vendor_ids),
                        Award.process_id.in_(shared_ids[start : start + CHUNK]),
                    )
                )
            )
    pairs: dict[tuple[int, int], list[tuple[int, str]]] = {}
    for a, b, process_id, ocid in rows:
        pairs.setdefault((int(a), int(b)), []).append((int(process_id), ocid))
    found = [
        Rivalry(
            a=a,
            b=b,
            processes=len(shared),
            a_won=sum((a, p) in won for p, _ in shared),
            b_won=sum((b, p) in won for p, _ in shared),
            ocids=sorted(ocid for _, ocid in sorted(shared)[-RIVALRY_EXAMPLES:]),
        )
        for (a, b), shared in pairs.items()
    ]
    found.sort(key=lambda r: (-r.processes, r.a, r.b))
    return found


def rivalries_from_sets(session: Session, competed: dict[int, np.ndarray], won: dict[int, np.ndarray]) -> list[Rivalry]:
    """The same as `rivalries_of`, from the vendors' stored process sets: each pair's shared processes are an
    intersection of two sorted arrays, so the cost grows with the vendors' own processes, not their rivals'."""
    found = []
    listed = sorted(competed)
    for i, a in enumerate(listed):
        for b in listed[i + 1 :]:
            shared = np.intersect1d(competed[a], competed[b], assume_unique=True)
            if not len(shared):
                continue
            found.append(
                (
                    Rivalry(
                        a=a,
                        b=b,
                        processes=len(shared),
                        a_won=len(np.intersect1d(shared, won[a], assume_unique=True)),
                        b_won=len(np.intersect1d(shared, won[b], assume_unique=True)),
                        ocids=[],
                    ),
                    [int(p) for p in shared[-RIVALRY_EXAMPLES:]],
                )
            )
    wanted = sorted({p for _, examples in found for p in examples})
    ocids = (
        dict(session.execute(select(Process.id, Process.ocid).where(Process.id.in_(wanted))).all()) if wanted else {}
    )
    for rivalry, examples in found:
        rivalry.ocids = sorted(ocids[p] for p in examples if p in ocids)
    rivalries = [rivalry for rivalry, _ in found]
    rivalries.sort(key=lambda r: (-r.processes, r.a, r.b))
    return rivalries


def compare_vendors(
    session: Session,
    *,
    vendor_ids: Sequence[int] = (),
    buyer_id: int | None = None,
    category: str | None = None,
) -> Comparison:
    """2 to 6 vendors side by side, or all vendors of one buyer (entity) or one tender category, with market
    shares and concentration (HHI) in that buyer or category."""
    scope, scope_name = None, None
    if buyer_id is not None or category:
        where: ColumnElement[bool]
        if buyer_id is not None:
            buyer = live_vendor(session, buyer_id, EntityKind.BUYER, follow=True)
            where = Process.buyer_id.in_(
                select(VendorParty.party_id).where(
                    VendorParty.kind == EntityKind.BUYER, VendorParty.vendor_id == buyer.id
                )
            )
            scope, scope_name = "buyer", buyer.name
        else:
            where = Tender.main_category == category
            scope, scope_name = "category", category
        awards = _enrich(session, _award_rows(session, where))
        ranked = awards[awards["counted"]].groupby("vendor_id")["units"].sum().sort_values(ascending=False)
        listed = [int(v) for v in ranked.index] + sorted(set(awards["vendor_id"].astype(int)) - set(ranked.index))
        more = max(0, len(listed) - SCOPE_LIMIT)
        listed = listed[:SCOPE_LIMIT]
    else:
        # An entity merged since the comparison was linked stands for the one its parties went to.
        listed = list(
            dict.fromkeys(live_vendor(session, int(v), EntityKind.SUPPLIER, follow=True).id for v in vendor_ids)
        )
        if not MIN_COMPARED <= len(listed) <= MAX_COMPARED:
            raise CompareError(f"compare {MIN_COMPARED} to {MAX_COMPARED} vendors, not {len(listed)}")
        stored = _stored_comparison(session, listed)
        if stored is not None:
            return stored
        awards = _enrich(session, _award_rows(session, _entity_filter(EntityKind.SUPPLIER, listed)))
        more = 0
    names = names_of(session, listed + awards["counterpart"].dropna().astype(int).tolist())
    figures = all_figures(awards, {v: names.get(v, "") for v in listed}, names)
    shown = awards if scope else awards[awards["vendor_id"].isin(listed)]
    currency_order = shown["currency"][shown["currency"] != ""].value_counts().index.tolist()
    rivals = rivalries_of(session, listed[:MAX_COMPARED] if scope else listed, shown)
    return Comparison(
        vendors=figures,
        scope=scope,
        scope_name=scope_name,
        concentration=concentration_of(shown, names) if scope else concentration_of(shown, names),
        rivalries=rivals,
        currencies=[str(c) for c in currency_order],
        more=more,
    )


def _stored_comparison(session: Session, listed: list[int]) -> Comparison | None:
    """A comparison of these vendors from their stored totals, or None unless every one has current totals."""
    parties: dict[int, list[int]] = {v: [] for v in listed}
    for vendor_id, party_id in session.execute(
        select(VendorParty.vendor_id, VendorParty.party_id).where(
            VendorParty.kind == EntityKind.SUPPLIER, VendorParty.vendor_id.in_(listed)
        )
    ):
        parties[vendor_id].append(party_id)
    figures, rows = [], {}
    for vendor_id in listed:
        vendor = session.get(Vendor, vendor_id)
        total = session.get(VendorTotal, vendor_id)
        found = stored_figures(session, vendor, parties[vendor_id]) if vendor is not None else None
        if found is None or total is None or "currency_rows" not in total.figures:
            return None
        figures.append(found)
        rows[vendor_id] = total.figures["currency_rows"]
    # Market shares among them, per currency, as concentration_of computes them from their award rows.
    concentration = []
    for currency in sorted({c.currency for f in figures for c in f.currencies}):
        units = {f.vendor_id: to_units(c.awarded) for f in figures for c in f.currencies if c.currency == currency}
        total_units = sum(u for u in units.values() if u is not None)
        if total_units <= 0:
            continue
        ranked = sorted(units.items(), key=lambda item: (-(item[1] or 0), item[0]))
        shares = [
            Share(v, next(f.name for f in figures if f.vendor_id == v), _money(u), float(u or 0) / total_units)
            for v, u in ranked
        ]
        concentration.append(
            Concentration(
                currency=currency,
                total=_money(total_units),
                vendors=len(shares),
                hhi=hhi([s.share for s in shares]),
                shares=shares,
            )
        )
    concentration.sort(key=lambda c: -c.vendors)
    sets = session.execute(
        select(VendorTotal.vendor_id, VendorTotal.competed, VendorTotal.won).where(VendorTotal.vendor_id.in_(listed))
    ).all()
    competed = {v: read_ids(c) for v, c, _ in sets if c is not None}
    won = {v: read_ids(w) for v, _, w in sets if w is not None}
    if len(competed) == len(won) == len(sets):
        rivalries = rivalries_from_sets(session, competed, won)
    else:  # totals refreshed before the sets were kept
        rivalries = rivalries_of(session, listed, None)
    counts: dict[str, int] = {}
    for per_vendor in rows.values():
        for currency, n in per_vendor.items():
            counts[currency] = counts.get(currency, 0) + int(n)
    return Comparison(
        vendors=figures,
        scope=None,
        scope_name=None,
        concentration=concentration,
        rivalries=rivalries,
        currencies=[c for c, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))],
    )


def find_vendors(session: Session, *, q: str, limit: int = 20, kind: EntityKind = EntityKind.SUPPLIER) -> list[Vendor]:
    """Entities whose name contains the words typed, for picking vendors to compare."""
    words = [w for w in q.split() if w][:5]
    if not words:
        return []
    query = select(Vendor).where(Vendor.kind == kind, Vendor.merged_into_id.is_(None))
    for word in words:
        query = query.where(func.lower(Vendor.name).contains(word.lower(), autoescape=True))
    return list(session.scalars(query.order_by(Vendor.name).limit(limit)))


def vendors_of_processes(session: Session, *, ocids: Sequence[str], limit: int = MAX_COMPARED) -> list[int]:
    """The suppliers winning most often among these processes (a search's results), for a comparison."""
    if not ocids:
        return []
    awarded = session.execute(
        select(Award.process_id, AwardSupplier.party_id)
        .join(AwardSupplier, AwardSupplier.award_id == Award.id)
        .join(Process, Process.id == Award.process_id)
        .where(Process.ocid.in_(list(ocids)))
    ).all()
    entity_of = entities_of_parties(session, EntityKind.SUPPLIER, [party_id for _, party_id in awarded])
    wins: dict[int, set[int]] = {}
    for process_id, party_id in awarded:
        if party_id in entity_of:
            wins.setdefault(entity_of[party_id], set()).add(process_id)
    ranked = sorted(wins.items(), key=lambda item: (-len(item[1]), item[0]))
    return [vendor_id for vendor_id, _ in ranked[:limit]]


def vendor_of_party(session: Session, party_id: int, kind: EntityKind = EntityKind.SUPPLIER) -> int | None:
    return session.scalar(
        select(VendorParty.vendor_id).where(VendorParty.party_id == party_id, VendorParty.kind == kind)
    )


# ---------------------------------------------------------------------------------------------------------------
# The awards an entity's page lists, a page at a time, and all of them for its CSV twin, a chunk at a time.

ENTITY_AWARDS_PER_PAGE = 50  # awards on a vendor or buyer page: the figures above them count every award
ENTITY_EXPORT_CHUNK = 1000  # awards read at a time for the whole list


@dataclass
class EntityAward:
    award: Award
    ocid: str
    title: str | None
    description: str | None
    suppliers: list[str]  # the award's suppliers, under the names it gives them


@dataclass
class EntityAwards:
    awards: list[EntityAward]  # this page's, newest first (undated last)
    award_count: int  # all of the entity's awards
    page: int = 1
    pages: int = 1


def _award_ids(kind: EntityKind, vendor_ids: Sequence[int]) -> Select:
    """(entity, award id, date) of these entities' awards (each once per entity), per entity newest first,
    undated last, then the latest row first: the order of their pages."""
    entity = aliased(VendorParty)
    if kind == EntityKind.SUPPLIER:
        ids = (
            select(entity.vendor_id, Award.id, Award.date)
            .select_from(AwardSupplier)
            .join(entity, entity.party_id == AwardSupplier.party_id)
            .join(Award, Award.id == AwardSupplier.award_id)
        )
    else:
        ids = (
            select(entity.vendor_id, Award.id, Award.date)
            .select_from(Award)
            .join(Process, Process.id == Award.process_id)
            .join(entity, entity.party_id == Process.buyer_id)
        )
    return (
        ids.where(entity.kind == kind, entity.vendor_id.in_(vendor_ids))
        .group_by(entity.vendor_id, Award.id, Award.date)
        .order_by(entity.vendor_id, Award.date.is_(None), Award.date.desc(), Award.id.desc())
    )


def _entity_awards(session: Session, award_ids: Sequence[int]) -> list[EntityAward]:
    """These awards with their process's ocid and title and their suppliers' names, in the order given."""
    if not award_ids:
        return []
    rows = session.execute(
        select(Award, Process.ocid, Process.title, Process.description)
        .join(Process, Process.id == Award.process_id)
        .where(Award.id.in_(award_ids))
    ).all()
    suppliers: dict[int, list[str]] = {}
    for award_id, name in session.execute(
        select(AwardSupplier.award_id, AwardSupplier.name)
        .where(AwardSupplier.award_id.in_(award_ids))
        .order_by(AwardSupplier.award_id, AwardSupplier.party_id)
    ):
        suppliers.setdefault(award_id, []).append(name)
    found = {
        award.id: EntityAward(award, ocid, title, description, suppliers.get(award.id, []))
        for award, ocid, title, description in rows
    }
    return [found[i] for i in award_ids if i in found]


def entity_awards(session: Session, vendor: Vendor, *, page: int = 1) -> EntityAwards:
    """One page of the entity's awards: only that page's rows are read (and the count of all of them)."""
    stored = _stored_ids(session, vendor.id, vendor.kind, VendorTotal.awards)
    ordered = _award_ids(EntityKind(vendor.kind), [vendor.id])
    if stored is not None:
        award_count = len(stored)
    else:
        award_count = session.scalar(select(func.count()).select_from(ordered.order_by(None).subquery())) or 0
    pages = max(1, -(-award_count // ENTITY_AWARDS_PER_PAGE))
    if not 1 <= page <= pages:
        raise VendorNotFound(f"this entity's awards fill {pages} pages, not {page}")
    start = (page - 1) * ENTITY_AWARDS_PER_PAGE
    if stored is not None:
        chosen = stored[start : start + ENTITY_AWARDS_PER_PAGE].tolist()
    else:
        chosen = [a for _, a, _ in session.execute(ordered.limit(ENTITY_AWARDS_PER_PAGE).offset(start))]
    return EntityAwards(_entity_awards(session, chosen), award_count, page, pages)


def all_entity_awards(session: Session, vendor_id: int, kind: EntityKind) -> Iterator[list[EntityAward]]:
    """Every award of the entity in the page's order, ENTITY_EXPORT_CHUNK at a time: the ids are read whole (a
    few MB for the largest entity), the rows a chunk at a time, so an export's memory stays flat."""
    vendor = live_vendor(session, vendor_id, kind, follow=True)
    stored = _stored_ids(session, vendor.id, kind, VendorTotal.awards)
    if stored is not None:
        ids = stored.tolist()
    else:
        ids = [award_id for _, award_id, _ in session.execute(_award_ids(kind, [vendor.id])).all()]
    for start in range(0, len(ids), ENTITY_EXPORT_CHUNK):
        yield _entity_awards(session, ids[start : start + ENTITY_EXPORT_CHUNK])
        session.expunge_all()  # what was read goes, or the session would hold every row
