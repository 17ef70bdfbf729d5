"""What the public pages show: headline figures, a process with its timeline, a supplier with its wins.

Plain functions, no Flask: a session in, dataclasses out; each page and its JSON twin call the same one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer, joinedload, selectinload

from portal.domain.records import NOT_COMMITTED
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
from portal.vocabulary import PartyRole, RunStatus


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


def home_figures(session: Session, *, latest: int = 8) -> Figures:
    """Headline figures, each computable from the rows the page links to."""
    value_rows = session.execute(
        select(Process.value_currency, func.sum(Process.value_amount), func.count())
        .where(Process.value_currency.is_not(None))
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
    return Figures(
        processes=session.scalar(select(func.count()).select_from(Process)) or 0,
        releases=session.scalar(select(func.count()).select_from(Release)) or 0,
        buyers=session.scalar(select(func.count(func.distinct(Process.buyer_id)))) or 0,
        suppliers=session.scalar(
            select(func.count(func.distinct(ProcessParty.party_id))).where(ProcessParty.role == PartyRole.SUPPLIER)
        )
        or 0,
        value_by_currency=[(c, Decimal(v or 0), n) for c, v, n in value_rows],
        sources=[tuple(row) for row in sources],
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
    used: bool  # False for an older version superseded by a republished one


@dataclass
class ProcessView:
    process: Process
    buyer: Party | None
    parties: list[tuple[str, Party]]  # role, party
    timeline: list[TimelineEntry]
    conflicts: list[str]  # release ids published in more than one version
    published_records: list[PublishedRecord]

    @property
    def compiled(self) -> dict:
        """The compiled release, parsed only when asked for (the JSON twin), not for every page view."""
        return json.loads(self.process.compiled)


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
        )
    ).first()
    if process is None:
        raise NotFound(f"no contracting process {ocid!r}")
    rows = session.execute(
        select(Release, Source.name, Package.location)
        .join(Package, Package.id == Release.package_id)
        .join(Source, Source.id == Package.source_id)
        .where(Release.ocid == ocid)
        .order_by(Release.date.nulls_first(), Release.release_id, Release.id)
        .options(defer(Release.data))  # the timeline links to each release's JSON; it does not show it
    ).all()
    latest: dict[str, int] = {}  # per release id, the most recently loaded version (the one the record uses)
    versions: dict[str, int] = {}
    for release, _, _ in rows:
        latest[release.release_id] = max(latest.get(release.release_id, 0), release.id)
        versions[release.release_id] = versions.get(release.release_id, 0) + 1
    timeline = [
        TimelineEntry(
            release=release,
            stages=release.stages.split(),
            tag=json.loads(release.tag) if release.tag else None,
            source=source,
            package_location=location,
            used=latest[release.release_id] == release.id,
        )
        for release, source, location in rows
    ]
    parties = session.execute(
        select(ProcessParty.role, Party)
        .join(Party, Party.id == ProcessParty.party_id)
        .where(ProcessParty.process_id == process.id)
        .order_by(ProcessParty.role, Party.name)
    ).all()
    records = select(PublishedRecord).where(PublishedRecord.ocid == ocid).options(defer(PublishedRecord.data))
    return ProcessView(
        process=process,
        buyer=process.buyer,
        parties=[(role, party) for role, party in parties],
        timeline=timeline,
        conflicts=sorted(rid for rid, n in versions.items() if n > 1),
        published_records=list(session.scalars(records)),
    )


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


@dataclass
class SupplierView:
    party: Party
    awards: list[SupplierAward]
    spellings: list[str]
    totals: list[tuple[str, Decimal, int]]  # currency, total of committed awards, count
    buyers: list[tuple[Party, int]]


def get_supplier(session: Session, party_id: int) -> SupplierView:
    party = session.get(Party, party_id)
    if party is None:
        raise NotFound(f"no supplier {party_id}")
    rows = session.execute(
        select(Award, AwardSupplier.name, Process)
        .join(AwardSupplier, AwardSupplier.award_id == Award.id)
        .join(Process, Process.id == Award.process_id)
        .where(AwardSupplier.party_id == party_id)
        .options(selectinload(Process.buyer))
        .order_by(Award.date.desc().nulls_last(), Award.id)
    ).all()
    if not rows:
        # A buyer or procuring entity has a party id too, but no supplier page.
        raise NotFound(f"no supplier {party_id}")
    awards = [SupplierAward(process=p, award=a, name_as_published=n) for a, n, p in rows]
    totals: dict[str, list] = {}
    for entry in awards:
        award = entry.award
        if award.value_amount is not None and award.status not in NOT_COMMITTED:
            total = totals.setdefault(award.value_currency or "?", [Decimal(0), 0])
            total[0] += award.value_amount
            total[1] += 1
    buyers: dict[int, list] = {}
    for entry in awards:
        if entry.process.buyer is not None:
            buyers.setdefault(entry.process.buyer.id, [entry.process.buyer, 0])[1] += 1
    return SupplierView(
        party=party,
        awards=awards,
        spellings=sorted({entry.name_as_published for entry in awards} | {party.name}),
        totals=sorted(((c, t, n) for c, (t, n) in totals.items()), key=lambda row: -row[2]),
        buyers=sorted(((p, n) for p, n in buyers.values()), key=lambda row: (-row[1], row[0].name)),
    )
