"""The one data model, shaped after OCDS 1.1 and shared by the portal, ingest and the search index.

Releases are kept exactly as published (one row per distinct version); everything below `Process` is derived
from the compiled record and rebuilt whenever a process is recompiled, so it can always be thrown away and
recomputed from the releases.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from portal.vocabulary import RunStatus

# Money: OCDS amounts can be large (national budgets) and carry cents; never float.
Money = Numeric(20, 2)

# Stable constraint names, so that migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every backend: SQLite keeps no zone, so values are stored as UTC and
    read back with UTC attached."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):  # type: ignore[no-untyped-def]
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Source(Base):
    """Where records come from: a file, a folder or an endpoint, under a name people recognise."""

    __tablename__ = "source"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40), default="ocds")
    location: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    runs: Mapped[list[IngestRun]] = relationship(back_populates="source", order_by="IngestRun.id")


class IngestRun(Base):
    """One attempt to load a source: committed before the work starts, so a crash leaves a visible trace."""

    __tablename__ = "ingest_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), default=RunStatus.RUNNING)  # RunStatus
    files: Mapped[int] = mapped_column(Integer, default=0)
    releases_seen: Mapped[int] = mapped_column(Integer, default=0)
    releases_new: Mapped[int] = mapped_column(Integer, default=0)
    releases_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    conflicts: Mapped[int] = mapped_column(Integer, default=0)
    processes_compiled: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    # Data-quality notes ("timestamp without offset read as UTC", ...), each {"where": ..., "note": ...}.
    notes: Mapped[list] = mapped_column(JSON, default=list)

    source: Mapped[Source] = relationship(back_populates="runs")


class Package(Base):
    """A published file or package as fetched: the provenance every release points back to."""

    __tablename__ = "package"
    __table_args__ = (UniqueConstraint("source_id", "location", "checksum"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id"), index=True)
    first_run_id: Mapped[int] = mapped_column(ForeignKey("ingest_run.id"))
    location: Mapped[str] = mapped_column(Text)  # the file path or URL it was read from
    checksum: Mapped[str] = mapped_column(String(64))  # sha256 of the bytes as fetched
    uri: Mapped[str | None] = mapped_column(Text)  # the package's own `uri`, as published
    published_date: Mapped[str | None] = mapped_column(String(64))
    publisher_name: Mapped[str | None] = mapped_column(Text)
    encoding: Mapped[str] = mapped_column(String(40), default="utf-8")
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    source: Mapped[Source] = relationship()


class Release(Base):
    """A release exactly as published. `(ocid, release_id)` names it; `checksum` tells republished versions apart.

    The row id doubles as load order: the compiled record uses the most recently loaded version of each release.
    """

    __tablename__ = "release"
    __table_args__ = (
        UniqueConstraint("ocid", "release_id", "checksum"),
        Index("ix_release_ocid_release_id", "ocid", "release_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    ocid: Mapped[str] = mapped_column(String(200))
    release_id: Mapped[str] = mapped_column(String(200))
    checksum: Mapped[str] = mapped_column(String(64))
    package_id: Mapped[int] = mapped_column(ForeignKey("package.id"), index=True)
    date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    date_published: Mapped[str | None] = mapped_column(String(64))  # the `date` text as published
    tag: Mapped[str | None] = mapped_column(Text)  # as published, JSON text (a list, or a publisher's string)
    stages: Mapped[str] = mapped_column(String(200), default="")  # Stage words from content: "tender award contract"
    from_record: Mapped[bool] = mapped_column(default=False)  # embedded in a published record
    data: Mapped[str] = mapped_column(Text)  # the release JSON

    package: Mapped[Package] = relationship()


class PublishedRecord(Base):
    """A publisher's own record (with its compiledRelease), kept for comparison, never used as ours."""

    __tablename__ = "published_record"
    __table_args__ = (UniqueConstraint("ocid", "checksum"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ocid: Mapped[str] = mapped_column(String(200), index=True)
    checksum: Mapped[str] = mapped_column(String(64))
    package_id: Mapped[int] = mapped_column(ForeignKey("package.id"))
    data: Mapped[str] = mapped_column(Text)

    package: Mapped[Package] = relationship()


class Party(Base):
    """A buyer, supplier or other organisation, keyed per publisher by identifier, else by normalised name."""

    __tablename__ = "party"
    __table_args__ = (UniqueConstraint("publisher", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    publisher: Mapped[str] = mapped_column(String(100))  # the ocid prefix, e.g. "ocds-a1234567"
    key: Mapped[str] = mapped_column(String(400))  # "id:<scheme>/<id>" or "name:<normalised name>"
    name: Mapped[str] = mapped_column(Text)  # the most recently seen spelling
    scheme: Mapped[str | None] = mapped_column(String(100))
    identifier: Mapped[str | None] = mapped_column(String(200))


class Process(Base):
    """A contracting process (one `ocid`) and its compiled record, merged by us from its releases."""

    __tablename__ = "process"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ocid: Mapped[str] = mapped_column(String(200), unique=True)
    publisher: Mapped[str] = mapped_column(String(100), index=True)
    title: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    buyer_id: Mapped[int | None] = mapped_column(ForeignKey("party.id"), index=True)
    status: Mapped[str | None] = mapped_column(String(40))
    procurement_method: Mapped[str | None] = mapped_column(String(40))
    value_amount: Mapped[Decimal | None] = mapped_column(Money, index=True)
    value_currency: Mapped[str | None] = mapped_column(String(3))
    value_basis: Mapped[str | None] = mapped_column(String(40))  # ValueBasis
    first_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_date: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    release_count: Mapped[int] = mapped_column(Integer, default=0)
    conflict_count: Mapped[int] = mapped_column(Integer, default=0)
    compiled: Mapped[str] = mapped_column(Text)  # the compiled release JSON
    compiled_checksum: Mapped[str] = mapped_column(String(64))
    compiled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    buyer: Mapped[Party | None] = relationship()
    tender: Mapped[Tender | None] = relationship(cascade="all, delete-orphan", uselist=False)
    awards: Mapped[list[Award]] = relationship(cascade="all, delete-orphan", order_by="Award.id")
    contracts: Mapped[list[Contract]] = relationship(cascade="all, delete-orphan", order_by="Contract.id")
    amendments: Mapped[list[Amendment]] = relationship(cascade="all, delete-orphan", order_by="Amendment.id")
    items: Mapped[list[Item]] = relationship(cascade="all, delete-orphan", order_by="Item.id")


class Tender(Base):
    __tablename__ = "tender"

    process_id: Mapped[int] = mapped_column(ForeignKey("process.id", ondelete="CASCADE"), primary_key=True)
    tender_id: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(40))
    procurement_method: Mapped[str | None] = mapped_column(String(40))
    main_category: Mapped[str | None] = mapped_column(String(40))
    value_amount: Mapped[Decimal | None] = mapped_column(Money)
    value_currency: Mapped[str | None] = mapped_column(String(3))
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Award(Base):
    __tablename__ = "award"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("process.id", ondelete="CASCADE"), index=True)
    award_id: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(40))
    date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    value_amount: Mapped[Decimal | None] = mapped_column(Money)
    value_currency: Mapped[str | None] = mapped_column(String(3))

    suppliers: Mapped[list[AwardSupplier]] = relationship(cascade="all, delete-orphan")


class AwardSupplier(Base):
    __tablename__ = "award_supplier"

    award_id: Mapped[int] = mapped_column(ForeignKey("award.id", ondelete="CASCADE"), primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("party.id"), primary_key=True, index=True)
    name: Mapped[str] = mapped_column(Text)  # the spelling used in this award

    party: Mapped[Party] = relationship()


class Contract(Base):
    __tablename__ = "contract"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("process.id", ondelete="CASCADE"), index=True)
    contract_id: Mapped[str | None] = mapped_column(String(200))
    award_id: Mapped[str | None] = mapped_column(String(200))  # the OCDS awardID it implements
    title: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(40))
    value_amount: Mapped[Decimal | None] = mapped_column(Money)
    value_currency: Mapped[str | None] = mapped_column(String(3))
    date_signed: Mapped[datetime | None] = mapped_column(UTCDateTime())
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Amendment(Base):
    __tablename__ = "amendment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("process.id", ondelete="CASCADE"), index=True)
    parent: Mapped[str] = mapped_column(String(20))  # tender, award or contract
    parent_id: Mapped[str | None] = mapped_column(String(200))
    amendment_id: Mapped[str | None] = mapped_column(String(200))
    date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rationale: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)


class Item(Base):
    __tablename__ = "item"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("process.id", ondelete="CASCADE"), index=True)
    parent: Mapped[str] = mapped_column(String(20))  # tender, award or contract
    parent_id: Mapped[str | None] = mapped_column(String(200))
    item_id: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    classification_scheme: Mapped[str | None] = mapped_column(String(100))
    classification_id: Mapped[str | None] = mapped_column(String(100))
    classification_description: Mapped[str | None] = mapped_column(Text)
    quantity: Mapped[Decimal | None] = mapped_column(Numeric(20, 4))
    unit: Mapped[str | None] = mapped_column(Text)


class ProcessParty(Base):
    """Who played which role in a process: answers "every process of this buyer/supplier" with one index."""

    __tablename__ = "process_party"

    process_id: Mapped[int] = mapped_column(ForeignKey("process.id", ondelete="CASCADE"), primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("party.id"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(40), primary_key=True)


class IndexQueue(Base):
    """Processes changed by a committed ingest and not yet in the search index.

    Written in the same transaction as the change, drained after commit, so the (slow) index never holds an
    ingest transaction open and a crash between the two loses nothing.
    """

    __tablename__ = "index_queue"

    ocid: Mapped[str] = mapped_column(String(200), primary_key=True)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# ---- Configured sources (ingest/jobs.py) ---------------------------------------------------------------------


class SourceState(Base):
    """A configured source as last run: where it is, its licence and attribution (shown wherever its data is),
    and its cursor, written in the same transaction as the page that moved it, so a run killed at any point
    resumes where the last commit ended."""

    __tablename__ = "source_state"

    source_id: Mapped[int] = mapped_column(ForeignKey("source.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # SourceKind
    url: Mapped[str] = mapped_column(Text)
    licence: Mapped[str] = mapped_column(Text)
    licence_url: Mapped[str | None] = mapped_column(Text)
    attribution: Mapped[str | None] = mapped_column(Text)
    cursor: Mapped[dict] = mapped_column(JSON, default=dict)  # per kind: offset, next URL, since-date
    publisher_total: Mapped[int | None] = mapped_column(Integer)  # the publisher's own count, last time asked
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RejectedRow(Base):
    """A tabular row that did not map, recorded once per source with its reason, while the other rows loaded."""

    __tablename__ = "rejected_row"
    __table_args__ = (UniqueConstraint("source_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id"))
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of the row's cells
    first_run_id: Mapped[int] = mapped_column(ForeignKey("ingest_run.id"))
    location: Mapped[str] = mapped_column(Text)
    row_number: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    data: Mapped[str] = mapped_column(Text)  # the row's cells as JSON, as published


class SourceItem(Base):
    """Each ocid a snapshot source (a whole register per run) has published; a row that disappears is kept and
    marked by the run that noticed, rather than deleted."""

    __tablename__ = "source_item"

    source_id: Mapped[int] = mapped_column(ForeignKey("source.id"), primary_key=True)
    ocid: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_seen_run_id: Mapped[int] = mapped_column(Integer)
    gone_since_run_id: Mapped[int | None] = mapped_column(Integer)  # no longer published, noticed by this run
