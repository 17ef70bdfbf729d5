"""What the public pages show: headline figures, a process with its timeline, a supplier with its wins.

Plain functions, no Flask: a session in, dataclasses out; each page and its JSON twin call the same one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, String, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import QueryableAttribute, Session, defer, joinedload, selectinload

from portal.domain.attribution import Terms, as_columns, source_terms
from portal.domain.headline import COUNTED, describe
from portal.domain.languages import language_of_compiled, language_tag
from portal.domain.ocds import from_units, loads
from portal.domain.vendor_figures import entities_of_parties
from portal.domain.versions import Change, Version, current, differences, rank
from portal.models import (
    Award,
    AwardSupplier,
    IngestRun,
    Package,
    Party,
    Process,
    ProcessParty,
    PublishedRecord,
    Release,
    Source,
)
from portal.vocabulary import EntityKind, PartyRole, RunStatus, ValueBasis


class NotFound(Exception):
    """The thing asked for does not exist; views answer 404."""


@dataclass
class Figures:
    processes: int
    releases: int
    buyers: int
    suppliers: int
    value_by_currency: list[tuple[str, Decimal, int]]  # currency, committed total, processes
    sources: list[tuple[str, int, datetime | None]]  # name, releases, last successful run
    latest: list[Process]
    invalid_by_source: dict[str, int] = field(default_factory=dict)  # releases with OCDS schema errors per source


def home_figures(session: Session, *, latest: int = 8) -> Figures:
    """Headline figures, each computable from the rows the page links to."""
    value_rows = session.execute(
        select(Process.value_currency, func.sum(Process.value_units), func.count())
        .where(Process.value_currency.is_not(None), Process.value_units.is_not(None))
        .group_by(Process.value_currency)
        .order_by(func.count().desc())
    ).all()
    sources = session.execute(
        select(Source.name, func.count(Release.id), func.max(IngestRun.finished_at))
        .select_from(Source)
        .outerjoin(Package, Package.source_id == Source.id)
        .outerjoin(Release, Release.package_id == Package.id)
        .outerjoin(IngestRun, (IngestRun.source_id == Source.id) & (IngestRun.status == RunStatus.SUCCEEDED))
        .group_by(Source.name)
        .order_by(Source.name)
    ).all()
    invalid = session.execute(
        select(Source.name, func.count(Release.id))
        .join(Package, Package.source_id == Source.id)
        .join(Release, Release.package_id == Package.id)
        .where(Release.notes.is_not(None))
        .group_by(Source.name)
    ).all()
    return Figures(
        invalid_by_source={name: n for name, n in invalid},
        processes=session.scalar(select(func.count()).select_from(Process)) or 0,
        releases=session.scalar(select(func.count()).select_from(Release)) or 0,
        buyers=session.scalar(select(func.count(func.distinct(Process.buyer_id)))) or 0,
        suppliers=session.scalar(
            select(func.count(func.distinct(ProcessParty.party_id))).where(ProcessParty.role == PartyRole.SUPPLIER)
        )
        or 0,
        value_by_currency=[(str(c), from_units(int(v or 0)) or Decimal(0), n) for c, v, n in value_rows],
        sources=[(name, count, finished) for name, count, finished in sources],
        latest=list(
            session.scalars(
                select(Process)
                .options(selectinload(Process.buyer))
                .order_by(Process.last_date.desc().nulls_last())
                .limit(latest)
            )
        ),
    )


def data_version(session: Session) -> tuple:
    """Changes whenever an ingest run starts or finishes: what cached figures are keyed on."""
    return tuple(session.execute(select(func.max(IngestRun.id), func.max(IngestRun.finished_at))).one())


@dataclass
class TimelineEntry:
    """One release as published, with where it came from and whether our record uses it."""

    release: Release
    stages: list[str]
    tag: object
    source: str
    package_location: str
    used: bool  # False for a version superseded by another (see portal.domain.versions)
    last_package_location: str | None = None  # where the same content was last loaded from, if elsewhere


@dataclass
class VersionView:
    """One version of a republished release: where it came from, and what changed from the version before it."""

    release: Release
    source: str
    package_location: str
    package: Package  # the package it was first read from: its publishedDate, checksum and when it was loaded
    used: bool
    changes: list[Change]  # from the previous version (by the rule's order) to this one; empty for the first
    last_package_location: str | None = None  # where the same content was last loaded from, if elsewhere


@dataclass
class ProcessView:
    process: Process
    buyer: Party | None
    parties: list[tuple[str, Party]]  # role, party
    timeline: list[TimelineEntry]
    conflicts: list[str]  # release ids published in more than one version
    published_records: list[PublishedRecord]
    versions: dict[str, list[VersionView]] = field(default_factory=dict)  # release id -> versions, oldest first
    suppliers_from_parties: list[Party] = field(default_factory=list)  # named only in `parties`
    notes: list[str] = field(default_factory=list)  # data-quality notes of the record and of its releases
    buyer_pages: dict[int, int] = field(default_factory=dict)  # party id -> its buyer entity (the buyer page)

    @property
    def compiled(self) -> dict:
        """The compiled release, parsed only when asked for (the JSON twin), not for every page view."""
        return json.loads(self.process.compiled)

    @property
    def buyer_label(self) -> str:
        """ "Buyer", or "Procuring entity" when no buyer is published and the procuring entity stands in."""
        return "Procuring entity" if self.process.buyer_role == PartyRole.PROCURING_ENTITY else "Buyer"

    @property
    def value_label(self) -> str:
        """Which statuses were summed, and how many values were missing: what the headline is."""
        p = self.process
        return describe(p.value_basis, p.value_statuses, p.value_count, p.value_of)

    @property
    def value_shown(self) -> bool:
        return self.process.value_basis not in (None, ValueBasis.MIXED_CURRENCIES)


def get_process(session: Session, ocid: str) -> ProcessView:
    process = session.scalars(
        select(Process)
        .where(Process.ocid == ocid)
        .options(
            # One-to-one rows ride along in the main query; each collection is one more query.
            joinedload(Process.tender),
            joinedload(Process.buyer),
            selectinload(Process.awards).selectinload(Award.suppliers).joinedload(AwardSupplier.party),
            selectinload(Process.contracts),
            selectinload(Process.amendments),
            selectinload(Process.items),
            selectinload(Process.documents),
        )
    ).first()
    if process is None:
        raise NotFound(f"no contracting process {ocid!r}")
    rows = session.execute(
        select(Release, Source.name, Package.location, Package)
        .join(Package, Package.id == Release.package_id)
        .join(Source, Source.id == Package.source_id)
        .where(Release.ocid == ocid)
        .order_by(Release.date.nulls_first(), Release.release_id, Release.id)
        .options(defer(Release.data))  # the timeline links to each release's JSON; it does not show it
    ).all()
    releases = [row[0] for row in rows]
    used = {v.row_id for v in current(_version(r) for r in releases).values()}
    counts: dict[str, int] = {}
    for release in releases:
        counts[release.release_id] = counts.get(release.release_id, 0) + 1
    conflicts = sorted(rid for rid, n in counts.items() if n > 1)
    last_locations = dict(
        session.execute(
            select(Release.id, Package.location)
            .join(Package, Package.id == Release.last_package_id)
            .where(Release.ocid == ocid, Release.last_package_id != Release.package_id)
        ).all()
    )
    timeline = [
        TimelineEntry(
            release=release,
            stages=release.stages.split(),
            tag=json.loads(release.tag) if release.tag else None,
            source=source,
            package_location=location,
            used=release.id in used,
            last_package_location=last_locations.get(release.id),
        )
        for release, source, location, _ in rows
    ]
    parties = session.execute(
        select(ProcessParty.role, Party)
        .join(Party, Party.id == ProcessParty.party_id)
        .where(ProcessParty.process_id == process.id)
        .order_by(ProcessParty.role, Party.name)
    ).all()
    records = select(PublishedRecord).where(PublishedRecord.ocid == ocid).options(defer(PublishedRecord.data))
    named = {s.party_id for a in process.awards for s in a.suppliers}
    notes = list(process.notes or [])
    for release in releases:
        notes += [f"release {release.release_id}: {n}" for n in release.notes or []]
    return ProcessView(
        process=process,
        buyer=process.buyer,
        parties=[(role, party) for role, party in parties],
        timeline=timeline,
        conflicts=conflicts,
        published_records=list(session.scalars(records)),
        versions=_versions(session, ocid, conflicts, rows, used, last_locations),
        suppliers_from_parties=[p for role, p in parties if role == PartyRole.SUPPLIER and p.id not in named],
        notes=list(dict.fromkeys(notes)),
        buyer_pages=entities_of_parties(session, EntityKind.BUYER, [p.id for _, p in parties] + [process.buyer_id]),
    )


@dataclass
class NamePages:
    """Where the names a list of processes shows lead: its buyer's entity page, each supplier's page."""

    buyers: dict[str, int] = field(default_factory=dict)  # ocid -> buyer entity id
    suppliers: dict[tuple[str, str], int] = field(default_factory=dict)  # (ocid, name as in the award) -> party id


def name_pages(session: Session, *, ocids: Sequence[str]) -> NamePages:
    """The pages behind the buyer and supplier names of these processes (a page of search results), read in three
    queries whatever their number: the search itself never asks the database."""
    wanted = list(dict.fromkeys(ocids))
    if not wanted:
        return NamePages()
    rows = session.execute(select(Process.id, Process.ocid, Process.buyer_id).where(Process.ocid.in_(wanted))).all()
    return _pages_of(session, {i: ocid for i, ocid, _ in rows}, {ocid: b for _, ocid, b in rows if b is not None}, {})


def _pages_of(
    session: Session, ocid_of: dict[int, str], buyer_of: dict[str, int], entity_of: dict[int, int | None]
) -> NamePages:
    """The pages behind the names of these processes (process id -> ocid; ocid -> its buyer party). The buyers'
    entities are looked up in `entity_of` (buyer party -> its entity, None for none), which keeps what is read
    for it. Two lookups rather than a join: joined, SQLite walked every buyer's processes to find these (0.7 s
    for 500 ocids at 100,000 processes, against 10 ms)."""
    pages = NamePages()
    new = {b for b in buyer_of.values() if b not in entity_of}
    if new:
        entities = entities_of_parties(session, EntityKind.BUYER, new)
        entity_of.update((b, entities.get(b)) for b in new)
    pages.buyers = {ocid: e for ocid, b in buyer_of.items() if (e := entity_of[b]) is not None}
    for process_id, name, party_id in (
        session.connection()
        .execute(
            select(Award.process_id, AwardSupplier.name, AwardSupplier.party_id)
            .join(AwardSupplier, AwardSupplier.award_id == Award.id)
            .where(_among(session, Award.process_id, list(ocid_of)))
            .order_by(Award.id, AwardSupplier.party_id)  # a name two parties share in a process: the first award's
        )
        .all()
    ):
        pages.suppliers.setdefault((ocid_of[process_id], name.strip()), int(party_id))
    return pages


@dataclass
class ResultDetails:
    """What the database adds to rows of search results in an export: each process's language, the pages
    behind its names, and its sources' terms as the export's three cells (`as_columns`)."""

    languages: dict[str, str]  # as content_languages
    pages: NamePages  # as name_pages
    terms: dict[str, dict[str, str | None]]  # ocid -> as_columns(terms_of(...)[ocid])


@dataclass
class Recurring:
    """What recurs from chunk to chunk of one export, read once: the sources' terms and each buyer's entity (as
    many as there are sources and buyers, however many rows)."""

    terms: dict[int, Terms] | None = None  # source id -> its terms
    buyers: dict[int, int | None] = field(default_factory=dict)  # buyer party id -> its entity, None for none
    cells: dict[tuple[int, ...], dict[str, str | None]] = field(default_factory=dict)  # source ids -> as_columns


def result_details(session: Session, *, ocids: Sequence[str], recurring: Recurring | None = None) -> ResultDetails:
    """`content_languages`, `name_pages` and the export's columns of `terms_of` for a chunk of an export's rows:
    the processes (ocid, buyer and language together), their awards' suppliers by process id and the sources of
    their releases, three plain queries; the buyers' entities and the sources' terms as they first occur in
    `recurring`. The sources are all an export's cells need of `terms_of`, which joins every release to its
    source's state and run (for when a source stopped publishing it, which the cells leave out). Lists are bound
    as one value each (`_among`): 500 values expanded into as many parameters cost more than the lookups."""
    found = ResultDetails({}, NamePages(), {})
    wanted = list(dict.fromkeys(ocids))
    if not wanted:
        return found
    recurring = recurring if recurring is not None else Recurring()
    connection = session.connection()  # Core rows: no ORM work for plain columns
    ocid_of: dict[int, str] = {}
    buyer_of: dict[str, int] = {}
    languages = found.languages
    tags: dict[object, str | None] = {}  # a few languages, each read once
    for process_id, ocid, buyer_id, language in connection.execute(
        select(Process.id, Process.ocid, Process.buyer_id, language_of_compiled(session)).where(
            _among(session, Process.ocid, wanted)
        )
    ).all():
        ocid_of[process_id] = ocid
        if buyer_id is not None:
            buyer_of[ocid] = buyer_id
        tag = tags[language] if language in tags else tags.setdefault(language, language_tag(language))
        if tag:
            languages[ocid] = tag
    found.pages = _pages_of(session, ocid_of, buyer_of, recurring.buyers)
    sources_of: dict[str, tuple[int, ...]] = {}
    for ocid, source_id in connection.execute(
        select(Release.ocid, Package.source_id)
        .distinct()
        .join(Package, Package.id == Release.package_id)
        .where(_among(session, Release.ocid, wanted))
    ).all():
        sources_of[ocid] = (*sources_of[ocid], source_id) if ocid in sources_of else (source_id,)
    cells = recurring.cells
    for ocid, ids in sources_of.items():
        if ids not in cells:
            if recurring.terms is None or not set(ids) <= recurring.terms.keys():
                recurring.terms = source_terms(session)
            terms = recurring.terms
            cells[ids] = as_columns(sorted((terms[i] for i in ids), key=lambda t: t.source))
        found.terms[ocid] = cells[ids]
    return found


def _among(session: Session, column: QueryableAttribute[Any], values: list) -> ColumnElement[bool]:
    """`column IN values`, the values bound as one parameter: a JSON array read by `json_each` on SQLite, an
    array on PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    listed = func.json_each(bindparam(None, json.dumps(values), type_=String)).table_valued("value")
    return column.in_(select(listed.c.value))


def _version(release: Release) -> Version:
    return Version(release.id, release.ocid, release.release_id, release.published, release.loaded)


def _versions(
    session: Session, ocid: str, conflicts: list[str], rows: Sequence, used: set[int], last: dict[int, str]
) -> dict[str, list[VersionView]]:
    """For each republished release, its versions in the rule's order with what changed from one to the next."""
    if not conflicts:
        return {}
    data = dict(
        session.execute(
            select(Release.id, Release.data).where(Release.ocid == ocid, Release.release_id.in_(conflicts))
        ).all()
    )
    found: dict[str, list[VersionView]] = {}
    for release_id in conflicts:
        mine = sorted((r for r in rows if r[0].release_id == release_id), key=lambda r: rank(_version(r[0])))
        views, previous = [], None
        for release, source, location, package in mine:
            content = loads(data[release.id])
            changes: list[Change] = differences(previous, content) if previous is not None else []
            view = VersionView(release, source, location, package, release.id in used, changes, last.get(release.id))
            views.append(view)
            previous = content
        found[release_id] = views
    return found


def get_release(session: Session, ocid: str, release_row_id: int) -> Release:
    release = session.get(Release, release_row_id)
    if release is None or release.ocid != ocid:
        raise NotFound(f"no release {release_row_id} in {ocid!r}")
    return release


@dataclass
class SupplierAward:
    process: Process
    award: Award
    name_as_published: str


SUPPLIER_AWARDS_PER_PAGE = 100  # awards on a page: a supplier with 130,000 awards is read a page at a time


@dataclass
class SupplierView:
    party: Party
    awards: list[SupplierAward]  # this page's, newest first
    spellings: list[str]
    totals: list[tuple[str, Decimal, int]]  # currency, total of committed awards, count
    buyers: list[tuple[Party, int]]
    award_count: int = 0  # all of the supplier's awards
    page: int = 1
    pages: int = 1


EXPORT_CHUNK = 1000  # awards read at a time for a whole export


def all_supplier_awards(session: Session, party_id: int) -> Iterator[list[SupplierAward]]:
    """Every award of a supplier in the page's order, EXPORT_CHUNK at a time: only the award ids are read whole
    (a few MB for the largest supplier), the rows a chunk at a time, so an export's memory stays flat."""
    ids = session.scalars(
        select(Award.id)
        .join(AwardSupplier, AwardSupplier.award_id == Award.id)
        .where(AwardSupplier.party_id == party_id)
        .order_by(Award.date.desc().nulls_last(), Award.id)
    ).all()
    for start in range(0, len(ids), EXPORT_CHUNK):
        chunk = ids[start : start + EXPORT_CHUNK]
        rows = session.execute(
            select(Award, AwardSupplier.name, Process)
            .join(AwardSupplier, AwardSupplier.award_id == Award.id)
            .join(Process, Process.id == Award.process_id)
            .where(AwardSupplier.party_id == party_id, Award.id.in_(chunk))
        ).all()
        found = {a.id: SupplierAward(process=p, award=a, name_as_published=n) for a, n, p in rows}
        yield [found[i] for i in chunk if i in found]
        session.expunge_all()  # what was read goes, or the session would hold every row


def get_supplier(session: Session, party_id: int, *, page: int = 1) -> SupplierView:
    """A supplier's figures over all its awards (aggregated in SQL) and one page of the awards themselves."""
    party = session.get(Party, party_id)
    if party is None:
        raise NotFound(f"no supplier {party_id}")
    of_party = AwardSupplier.party_id == party_id
    award_count = session.scalar(select(func.count()).select_from(AwardSupplier).where(of_party)) or 0
    if not award_count:
        # A buyer or procuring entity has a party id too, but no supplier page.
        raise NotFound(f"no supplier {party_id}")
    pages = -(-award_count // SUPPLIER_AWARDS_PER_PAGE)
    if not 1 <= page <= pages:
        raise NotFound(f"this supplier's awards fill {pages} pages, not {page}")
    rows = session.execute(
        select(Award, AwardSupplier.name, Process)
        .join(AwardSupplier, AwardSupplier.award_id == Award.id)
        .join(Process, Process.id == Award.process_id)
        .where(of_party)
        .options(selectinload(Process.buyer))
        .order_by(Award.date.desc().nulls_last(), Award.id)
        .limit(SUPPLIER_AWARDS_PER_PAGE)
        .offset((page - 1) * SUPPLIER_AWARDS_PER_PAGE)
    ).all()
    awards = [SupplierAward(process=p, award=a, name_as_published=n) for a, n, p in rows]
    counted_status = Award.status.in_(COUNTED[ValueBasis.AWARDS]) | Award.status.is_(None)  # as `counted` says
    totals = session.execute(
        select(Award.value_currency, func.sum(Award.value_units), func.count())
        .join(AwardSupplier, AwardSupplier.award_id == Award.id)
        .where(of_party, Award.value_units.is_not(None), counted_status)
        .group_by(Award.value_currency)
    ).all()
    buyer_counts = session.execute(
        select(Process.buyer_id, func.count())
        .join(Award, Award.process_id == Process.id)
        .join(AwardSupplier, AwardSupplier.award_id == Award.id)
        .where(of_party, Process.buyer_id.is_not(None))
        .group_by(Process.buyer_id)
    ).all()
    buyer_parties = {p.id: p for p in session.scalars(select(Party).where(Party.id.in_([b for b, _ in buyer_counts])))}
    names = set(session.scalars(select(AwardSupplier.name).distinct().where(of_party)))
    return SupplierView(
        party=party,
        awards=awards,
        spellings=sorted({name for name in names if name} | {party.name}),
        totals=sorted(
            ((c or "?", from_units(int(t or 0)) or Decimal(0), n) for c, t, n in totals), key=lambda row: -row[2]
        ),
        buyers=sorted(
            ((buyer_parties[b], n) for b, n in buyer_counts if b is not None), key=lambda row: (-row[1], row[0].name)
        ),
        award_count=award_count,
        page=page,
        pages=pages,
    )
