"""The one data model, shaped after OCDS 1.1 and shared by the portal, ingest and the search index.

Releases are kept exactly as published (one row per distinct version); everything below `Process` is derived
from the compiled record and rebuilt whenever a process is recompiled, so it can always be thrown away and
recomputed from the releases.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ColumnElement,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    false,
    literal,
    type_coerce,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, attributes, mapped_column, relationship

from portal.vocabulary import RunStatus

# Keys (ocid, release id, party identifier) are limited to this many characters, on every database; a longer
# key is its file's error. Every other published string is Text, so nothing is cut or refused on one database
# and kept on the other.
KEY_LENGTH = 200

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
    __table__: ClassVar[Table]  # every model is declared with its columns, so is mapped to a Table


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every backend: SQLite keeps no zone, so values are stored as UTC and
    read back with UTC attached."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class MoneyColumns:
    """A value as published (`value_published`, the exact amount text), in units of 10^-4 for sums, sorts and the
    index (`value_units`, a BIGINT: None when the amount is beyond that range, which is noted and never summed),
    and its currency upper-cased."""

    value_units: Mapped[int | None] = mapped_column(BigInteger)
    value_published: Mapped[str | None] = mapped_column(Text)
    value_currency: Mapped[str | None] = mapped_column(Text)

    @hybrid_property
    def value_amount(self) -> Decimal | None:
        """The exact amount (from the units); None when not summable. In SQL, units scaled to a NUMERIC."""
        return None if self.value_units is None else _from_units(self.value_units)

    @value_amount.inplace.expression
    @classmethod
    def _value_amount_expression(cls) -> ColumnElement[Decimal]:
        return type_coerce(cls.value_units * literal(Decimal("0.0001"), Numeric(38, 4)), Numeric(38, 4))


def _from_units(units: int) -> Decimal:
    amount = Decimal(units).scaleb(-4)
    return amount.quantize(Decimal("0.01")) if units % 100 == 0 else amount.normalize()


class PublishedOffsets:
    """Dates are stored in UTC (for ordering) with the offset they were published with, in minutes, beside them
    (`<column>_offset`). Loaded objects carry each date in its published offset: 2016-09-30T00:00:00+04:00 reads
    back as the 30th at +04:00, the same instant as the stored UTC value."""

    published_offsets: tuple[str, ...] = ()


@event.listens_for(Base, "load", propagate=True)
def _dates_as_published(target: Base, _context: object) -> None:
    for name in getattr(target, "published_offsets", ()):
        value, offset = target.__dict__.get(name), target.__dict__.get(f"{name}_offset")
        if isinstance(value, datetime) and offset is not None:
            try:
                local = value.astimezone(timezone(timedelta(minutes=offset)))
            except OverflowError:
                continue
            attributes.set_committed_value(target, name, local)


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
    releases_invalid: Mapped[int] = mapped_column(Integer, default=0)  # with OCDS schema errors
    processes_compiled: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    # Who runs it ("host pid") and when it last said it was alive: a "running" run whose process is gone, or that
    # has been silent too long, is marked abandoned by the next run (ingest.runner.mark_abandoned_runs).
    owner: Mapped[str | None] = mapped_column(String(200))
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
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
    published_date: Mapped[str | None] = mapped_column(Text)
    publisher_name: Mapped[str | None] = mapped_column(Text)
    version: Mapped[str | None] = mapped_column(Text)  # the package's OCDS `version`, as published
    encoding: Mapped[str] = mapped_column(String(40), default="utf-8")
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    source: Mapped[Source] = relationship()


class Release(Base, PublishedOffsets):
    """A release exactly as published. `(ocid, release_id)` names it; `checksum` tells republished versions apart.

    Of a release's versions, the record uses the one from the package with the latest `publishedDate`
    (`published`), and on a tie the one loaded last (`loaded`, a number that grows with every file loaded; loading
    identical content again renews it). `package` is the package the version was first read from,
    `last_package` the one it was last read from.
    """

    __tablename__ = "release"
    __table_args__ = (
        UniqueConstraint("ocid", "release_id", "checksum"),
        # Lookups by (ocid, release_id) use the unique constraint; a page's sources are read by ocid and package.
        Index("ix_release_ocid_package_id", "ocid", "package_id"),
    )
    published_offsets = ("date",)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    ocid: Mapped[str] = mapped_column(String(KEY_LENGTH))
    release_id: Mapped[str] = mapped_column(String(KEY_LENGTH))
    checksum: Mapped[str] = mapped_column(String(64))
    package_id: Mapped[int] = mapped_column(ForeignKey("package.id"), index=True)
    # Not a foreign key, so that `package` stays the one join between a release and its package.
    last_package_id: Mapped[int | None] = mapped_column(Integer)
    published: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the latest publishedDate of its packages
    loaded: Mapped[int] = mapped_column(BigInteger, default=0, index=True)
    ocds_version: Mapped[str] = mapped_column(String(10), default="1.1")  # the merge rules it is read by
    date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    date_offset: Mapped[int | None] = mapped_column(Integer)
    date_published: Mapped[str | None] = mapped_column(Text)  # the `date` text as published
    tag: Mapped[str | None] = mapped_column(Text)  # as published, JSON text (a list, or a publisher's string)
    stages: Mapped[str] = mapped_column(String(200), default="")  # Stage words from content: "tender award contract"
    from_record: Mapped[bool] = mapped_column(default=False)  # embedded in a published record
    notes: Mapped[list | None] = mapped_column(JSON(none_as_null=True))  # data-quality notes: schema errors, as text
    data: Mapped[str] = mapped_column(Text)  # the release JSON

    package: Mapped[Package] = relationship()
    last_package: Mapped[Package | None] = relationship(
        primaryjoin="foreign(Release.last_package_id) == Package.id", viewonly=True
    )


class PublishedRecord(Base):
    """A publisher's own record (with its compiledRelease), kept for comparison; used as the process's record only
    while its releases are linked rather than embedded and have not been fetched."""

    __tablename__ = "published_record"
    __table_args__ = (UniqueConstraint("ocid", "checksum"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ocid: Mapped[str] = mapped_column(String(KEY_LENGTH), index=True)
    checksum: Mapped[str] = mapped_column(String(64))
    package_id: Mapped[int] = mapped_column(ForeignKey("package.id"))
    data: Mapped[str] = mapped_column(Text)

    package: Mapped[Package] = relationship()


class Party(Base):
    """A buyer, supplier or other organisation, keyed per publisher by identifier, else by normalised name."""

    __tablename__ = "party"
    __table_args__ = (UniqueConstraint("publisher", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    publisher: Mapped[str] = mapped_column(String(KEY_LENGTH))  # the ocid prefix, e.g. "ocds-a1234567"
    # "id:<scheme>/<id>" or "name:<normalised name>"; past 400 characters, "sha256:" and the digest of that text
    key: Mapped[str] = mapped_column(String(400))
    name: Mapped[str] = mapped_column(Text)  # the most recently seen spelling
    scheme: Mapped[str | None] = mapped_column(Text)
    identifier: Mapped[str | None] = mapped_column(String(KEY_LENGTH))


class Process(Base, MoneyColumns, PublishedOffsets):
    """A contracting process (one `ocid`) and its compiled record, merged by us from its releases."""

    __tablename__ = "process"
    __table_args__ = (Index("ix_process_value_units", "value_units"),)
    published_offsets = ("first_date", "last_date")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ocid: Mapped[str] = mapped_column(String(KEY_LENGTH), unique=True)
    publisher: Mapped[str] = mapped_column(String(KEY_LENGTH), index=True)
    title: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(Text)  # the `field_lang` suffix the title came from, if translated
    buyer_id: Mapped[int | None] = mapped_column(ForeignKey("party.id"), index=True)
    buyer_role: Mapped[str | None] = mapped_column(String(40))  # PartyRole: buyer, else procuringEntity
    status: Mapped[str | None] = mapped_column(Text)
    procurement_method: Mapped[str | None] = mapped_column(Text)
    value_basis: Mapped[str | None] = mapped_column(String(40))  # ValueBasis
    value_statuses: Mapped[str | None] = mapped_column(Text)  # the statuses summed, as shown: "active, terminated"
    value_count: Mapped[int | None] = mapped_column(Integer)  # how many values were summed
    value_of: Mapped[int | None] = mapped_column(Integer)  # of how many awards or contracts on that basis
    first_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_date_offset: Mapped[int | None] = mapped_column(Integer)
    last_date: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_date_offset: Mapped[int | None] = mapped_column(Integer)
    release_count: Mapped[int] = mapped_column(Integer, default=0)
    conflict_count: Mapped[int] = mapped_column(Integer, default=0)
    merge_rules: Mapped[str] = mapped_column(String(10), default="1.1")  # the OCDS version whose rules merged it
    compiled_by: Mapped[str] = mapped_column(String(20), default="portal")  # CompiledBy
    notes: Mapped[list | None] = mapped_column(JSON(none_as_null=True))  # data-quality notes of the compiled record
    compiled: Mapped[str] = mapped_column(Text)  # the compiled release JSON
    compiled_checksum: Mapped[str] = mapped_column(String(64))
    compiled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    buyer: Mapped[Party | None] = relationship()
    tender: Mapped[Tender | None] = relationship(cascade="all, delete-orphan", uselist=False)
    awards: Mapped[list[Award]] = relationship(cascade="all, delete-orphan", order_by="Award.id")
    contracts: Mapped[list[Contract]] = relationship(cascade="all, delete-orphan", order_by="Contract.id")
    amendments: Mapped[list[Amendment]] = relationship(cascade="all, delete-orphan", order_by="Amendment.id")
    items: Mapped[list[Item]] = relationship(cascade="all, delete-orphan", order_by="Item.id")
    documents: Mapped[list[Document]] = relationship(cascade="all, delete-orphan", order_by="Document.id")
    bids: Mapped[list[Bid]] = relationship(cascade="all, delete-orphan", order_by="Bid.id")


class Tender(Base, MoneyColumns, PublishedOffsets):
    __tablename__ = "tender"
    published_offsets = ("period_start", "period_end")

    process_id: Mapped[int] = mapped_column(ForeignKey("process.id", ondelete="CASCADE"), primary_key=True)
    tender_id: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(Text)
    procurement_method: Mapped[str | None] = mapped_column(Text)
    main_category: Mapped[str | None] = mapped_column(Text)
    number_of_tenderers: Mapped[int | None] = mapped_column(Integer)  # as published in `numberOfTenderers`
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    period_start_offset: Mapped[int | None] = mapped_column(Integer)
    period_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    period_end_offset: Mapped[int | None] = mapped_column(Integer)


class Award(Base, MoneyColumns, PublishedOffsets):
    __tablename__ = "award"
    published_offsets = ("date",)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("process.id", ondelete="CASCADE"), index=True)
    award_id: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(Text)
    date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    date_offset: Mapped[int | None] = mapped_column(Integer)

    suppliers: Mapped[list[AwardSupplier]] = relationship(cascade="all, delete-orphan")


class AwardSupplier(Base):
    __tablename__ = "award_supplier"

    award_id: Mapped[int] = mapped_column(ForeignKey("award.id", ondelete="CASCADE"), primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("party.id"), primary_key=True, index=True)
    name: Mapped[str] = mapped_column(Text)  # the spelling used in this award

    party: Mapped[Party] = relationship()


class Contract(Base, MoneyColumns, PublishedOffsets):
    __tablename__ = "contract"
    published_offsets = ("date_signed", "period_start", "period_end")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("process.id", ondelete="CASCADE"), index=True)
    contract_id: Mapped[str | None] = mapped_column(Text)
    award_id: Mapped[str | None] = mapped_column(Text)  # the OCDS awardID it implements
    title: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(Text)
    date_signed: Mapped[datetime | None] = mapped_column(UTCDateTime())
    date_signed_offset: Mapped[int | None] = mapped_column(Integer)
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    period_start_offset: Mapped[int | None] = mapped_column(Integer)
    period_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    period_end_offset: Mapped[int | None] = mapped_column(Integer)


class Amendment(Base, PublishedOffsets):
    __tablename__ = "amendment"
    published_offsets = ("date",)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("process.id", ondelete="CASCADE"), index=True)
    parent: Mapped[str] = mapped_column(String(20))  # tender, award or contract
    parent_id: Mapped[str | None] = mapped_column(Text)
    amendment_id: Mapped[str | None] = mapped_column(Text)
    date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    date_offset: Mapped[int | None] = mapped_column(Integer)
    rationale: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)


class Item(Base):
    __tablename__ = "item"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("process.id", ondelete="CASCADE"), index=True)
    parent: Mapped[str] = mapped_column(String(20))  # tender, award or contract
    parent_id: Mapped[str | None] = mapped_column(Text)
    item_id: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    classification_scheme: Mapped[str | None] = mapped_column(Text)
    classification_id: Mapped[str | None] = mapped_column(Text)
    classification_description: Mapped[str | None] = mapped_column(Text)
    quantity: Mapped[str | None] = mapped_column(Text)  # as published
    unit: Mapped[str | None] = mapped_column(Text)


class Document(Base, PublishedOffsets):
    """A document of the tender, an award or a contract, as published (title, type, date, link)."""

    __tablename__ = "document"
    published_offsets = ("date",)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("process.id", ondelete="CASCADE"), index=True)
    parent: Mapped[str] = mapped_column(String(20))  # tender, award or contract
    parent_id: Mapped[str | None] = mapped_column(Text)
    document_id: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    document_type: Mapped[str | None] = mapped_column(Text)
    date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    date_offset: Mapped[int | None] = mapped_column(Integer)
    url: Mapped[str | None] = mapped_column(Text)


class Bid(Base, MoneyColumns, PublishedOffsets):
    """A bid as published in `bids.details`, kept for vendor comparison and red flags."""

    __tablename__ = "bid"
    published_offsets = ("date",)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("process.id", ondelete="CASCADE"), index=True)
    bid_id: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(Text)
    date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    date_offset: Mapped[int | None] = mapped_column(Integer)
    tenderers: Mapped[str | None] = mapped_column(Text)  # the tenderers' names, as published, joined by "; "


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

    ocid: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
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


class Vendor(Base):
    """An organisation resolved from parties (portal.domain.vendors): a supplier under all its spellings,
    identifiers and publishers, or a buyer likewise. A vendor whose parties all went elsewhere (a merge, a split)
    keeps its row and points to where they went, so its old address redirects."""

    __tablename__ = "vendor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)  # EntityKind
    name: Mapped[str] = mapped_column(Text)  # the spelling most of its parties use
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("vendor.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class VendorParty(Base):
    """Which entity a party belongs to, and why (Evidence + the identifier or name rule)."""

    __tablename__ = "vendor_party"
    __table_args__ = (
        Index("ix_vendor_party_kind_words", "kind", "words"),
        Index("ix_vendor_party_kind_id_key", "kind", "id_key"),
    )

    party_id: Mapped[int] = mapped_column(ForeignKey("party.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)  # EntityKind
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendor.id"), index=True)
    evidence: Mapped[str] = mapped_column(String(20))  # Evidence
    detail: Mapped[str] = mapped_column(Text, default="")  # the identifier, or the rule and the words
    words: Mapped[str | None] = mapped_column(String(400))  # the name's words as the rules read them
    form: Mapped[str | None] = mapped_column(String(40))  # its legal form
    id_key: Mapped[str | None] = mapped_column(String(400))  # "SCHEME/ID"
    # The entity the party was first resolved into: undoing a merge gives the parties back their old address.
    first_vendor_id: Mapped[int | None] = mapped_column(Integer)
    # The party's name changed since it was resolved (a newer release renamed it): the next incremental
    # resolution reads it again, and it may move to another entity.
    renamed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class VendorReview(Base):
    """A pair of parties the rules would not merge and an official may want to: an identifier shared by names
    that disagree, two legal forms of one name, a weak or a similar name."""

    __tablename__ = "vendor_review"
    __table_args__ = (UniqueConstraint("kind", "party_a", "party_b", "reason"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # EntityKind
    party_a: Mapped[int] = mapped_column(ForeignKey("party.id"), index=True)
    party_b: Mapped[int] = mapped_column(ForeignKey("party.id"), index=True)
    reason: Mapped[str] = mapped_column(String(40))  # ReviewReason
    score: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="open")  # ReviewStatus
    # Settled by an official (merged, or kept apart): who, when, and the merge decision it made, if any.
    settled_by: Mapped[str | None] = mapped_column(Text)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_id: Mapped[int | None] = mapped_column(Integer)


class VendorDecision(Base):
    """An official's merge or split, applied above the rules on every resolution; undone by setting `undone_at`
    (kept, so the record shows what was decided, by whom, and when it was reversed)."""

    __tablename__ = "vendor_decision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # EntityKind
    action: Mapped[str] = mapped_column(String(10))  # DecisionAction
    party_ids: Mapped[list] = mapped_column(JSON)  # merged together, or split off
    apart_from: Mapped[list] = mapped_column(JSON, default=list)  # for a split: the parties they are kept apart from
    by: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="")
    made_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class VendorYearTotal(Base):
    """An entity's counted awards in one year and currency, summed (units of 10^-4), refreshed after each load for
    the entities it touched (portal.domain.vendor_figures.refresh_totals), so that its page reads these rows rather
    than every award. Thrown away and computed again at will."""

    __tablename__ = "vendor_year_total"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendor.id"), index=True)
    year: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(Text)
    awarded_units: Mapped[int] = mapped_column(BigInteger)
    contracted_units: Mapped[int] = mapped_column(BigInteger)
    awards: Mapped[int] = mapped_column(Integer)
    per_win_units: Mapped[int] = mapped_column(BigInteger)
    value_increases: Mapped[int] = mapped_column(Integer)
    increase_units: Mapped[int] = mapped_column(BigInteger)


class VendorTotal(Base):
    """The rest of an entity's figures, those that are not sums over years (processes, methods, medians, the
    buyers served), computed with its year totals; `parties` is a digest of its party ids then, so a merge or a
    split since makes the row stale (the figures are then computed from the awards)."""

    __tablename__ = "vendor_total"

    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendor.id"), primary_key=True)
    parties: Mapped[str] = mapped_column(String(64))
    figures: Mapped[dict] = mapped_column(JSON)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A supplier's processes as sorted 64-bit process ids (`portal.domain.vendor_figures.process_set`): those it
    # tendered in or was a supplier of, and those it won an award in. A comparison intersects them rather than
    # joining every party of every process in SQL. Read only when asked for (a large vendor's are a few MB).
    competed: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    won: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    # Its award ids in the order its page lists them (newest first), so a page of them is a slice.
    awards: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)


# ---------------------------------------------------------------------------------------------------------------
# Officials: accounts, the departments they publish for, the notices they published, and the audit trail.


class Department(Base):
    """A buying department of the city: the buyer of the notices its publishers publish."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    scheme: Mapped[str] = mapped_column(String(100))  # the identifier's scheme, e.g. "CA-BN" or the city's own list
    identifier: Mapped[str] = mapped_column(String(KEY_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Account(Base):
    """An official who signs in. Never deleted (the audit trail names it): removal deactivates it.

    `session_version` is copied into every session at sign-in and checked on every request: raising it (sign-out,
    password change, removal) ends all of the account's sessions at once, which a signed cookie alone cannot do.
    """

    __tablename__ = "account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(20))  # Role
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)  # publishers only
    password_hash: Mapped[str] = mapped_column(Text)  # argon2id, with its parameters
    totp_secret: Mapped[str | None] = mapped_column(String(64))  # base32; None: no second factor
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    department: Mapped[Department | None] = relationship()


class PublishedNotice(Base):
    """A notice an official published here: which release it became, for which department, by whom.

    The release itself is stored like any ingested one (`release` table); a notice is never edited. An amendment
    is a new notice pointing at the one it amends (`amends_id`), with its reason; the old one stays visible.
    """

    __tablename__ = "published_notice"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # NoticeKind
    ocid: Mapped[str] = mapped_column(String(KEY_LENGTH), index=True)
    release_id: Mapped[str] = mapped_column(String(KEY_LENGTH))
    release_checksum: Mapped[str] = mapped_column(String(64))
    award_id: Mapped[str] = mapped_column(String(KEY_LENGTH))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    amends_id: Mapped[int | None] = mapped_column(ForeignKey("published_notice.id"), unique=True)
    reason: Mapped[str | None] = mapped_column(Text)  # an amendment's reason, published in the release
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    department: Mapped[Department] = relationship()
    account: Mapped[Account] = relationship()
    amends: Mapped[PublishedNotice | None] = relationship(remote_side="PublishedNotice.id")


class AuditEntry(Base):
    """One entry of the hash-chained audit log: each names the hash of the one before it.

    `seq` is given by the appender (the head's plus one) and `prev_hash` is unique, so two appends racing for the
    same head cannot both commit: the chain never forks. Entries hold ids, actions, times and hashes of content,
    never a resident's text, email or address.
    """

    __tablename__ = "audit_entry"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None] = mapped_column(Integer)  # an account id; None for the command line
    action: Mapped[str] = mapped_column(String(40))  # AuditAction
    subject: Mapped[str] = mapped_column(String(400))  # "account:3", "release:<ocid>/<release id>"
    content_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the content acted on
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64))


# ---------------------------------------------------------------------------------------------------------------
# Residents' concerns about tenders: moderated, answered in public. The author's email, if given, lives in its own
# table (`ConcernContact`), is never shown, and is deleted a set number of days after the concern closes. No
# address of the author is stored anywhere.


class Concern(Base):
    """A resident's concern about a process (by ocid, so it survives a recompile), with its official answer.

    `text` is what the public sees once published; a moderator hiding personal data replaces it, and the words
    hidden are not kept.
    """

    __tablename__ = "concern"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ocid: Mapped[str] = mapped_column(String(KEY_LENGTH), index=True)
    category: Mapped[str] = mapped_column(String(60))  # ConcernCategory
    text: Mapped[str] = mapped_column(Text)
    # Red-flag indicator codes the concern cites (a list of strings); None when it cites none.
    flags: Mapped[list | None] = mapped_column(JSON(none_as_null=True))
    status: Mapped[str] = mapped_column(String(20), index=True)  # ConcernStatus
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answer_due: Mapped[datetime | None] = mapped_column(UTCDateTime())  # set on publication
    rejection_reason: Mapped[str | None] = mapped_column(Text)  # for the author only, never shown
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answer_department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    # True: recorded by a moderator from an answer the buyer gave by other means (letter, email, phone).
    answer_by_other_means: Mapped[bool] = mapped_column(default=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)  # rejected, resolved or referred

    events: Mapped[list[ConcernEvent]] = relationship(order_by="ConcernEvent.id", cascade="all, delete-orphan")


class ConcernEvent(Base):
    """One step of a concern's timeline: its status from then on, and when."""

    __tablename__ = "concern_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    concern_id: Mapped[int] = mapped_column(ForeignKey("concern.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20))  # ConcernStatus
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))  # None: the resident


class ConcernContact(Base):
    """The email a resident left to hear of answers: apart from the concern, never rendered, deleted on schedule."""

    __tablename__ = "concern_contact"

    concern_id: Mapped[int] = mapped_column(ForeignKey("concern.id", ondelete="CASCADE"), primary_key=True)
    email: Mapped[str] = mapped_column(String(254))


class OutboxMessage(Base):
    """A notification to a resident, waiting to be sent (or, in development, only written here). Deleted with the
    email it is addressed to."""

    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    concern_id: Mapped[int] = mapped_column(ForeignKey("concern.id", ondelete="CASCADE"), index=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# Red flags (portal.domain.redflags): recomputed from the rows above after every load, so always throw-away.


class FlagResult(Base):
    """An indicator that fired on a process, with its evidence (the values, the threshold or fence, the peers it
    was compared with). Only fired indicators have a row: the others are in `FlagCoverage`."""

    __tablename__ = "flag_result"

    process_id: Mapped[int] = mapped_column(ForeignKey("process.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)  # the indicator's code, "R003"
    outcome: Mapped[str] = mapped_column(String(20))  # FlagOutcome: always "fired" here
    evidence: Mapped[dict] = mapped_column(JSON, default=dict)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FlagCoverage(Base):
    """When a process's indicators were last computed, and which could not be: "R024=not enough data, ..."
    (an indicator absent from both this and `FlagResult` was computed and did not fire)."""

    __tablename__ = "flag_coverage"

    process_id: Mapped[int] = mapped_column(ForeignKey("process.id", ondelete="CASCADE"), primary_key=True)
    outcomes: Mapped[str] = mapped_column(Text, default="")
    transparency: Mapped[float | None] = mapped_column(Float)  # the share of key fields published, 0 to 1
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FlagSummary(Base):
    """The data set's red-flag figures that every buyer and supplier page compares with (processes computed,
    processes per fired code, mean transparency), written with the flags so that no page counts a million rows.
    One row."""

    __tablename__ = "flag_summary"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    processes: Mapped[int] = mapped_column(Integer)
    fired: Mapped[dict] = mapped_column(JSON, default=dict)  # code -> processes it fired on
    transparency: Mapped[float | None] = mapped_column(Float)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class VendorFlagTotal(Base):
    """An entity's red-flag counts over its processes (a supplier's wins, a buyer's awards), refreshed after
    the flags are written. Read only while `parties` is the digest of its parties and `summary_at` the
    summary's stamp: otherwise its page counts the flags of its processes again."""

    __tablename__ = "vendor_flag_total"

    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendor.id"), primary_key=True)
    parties: Mapped[str] = mapped_column(String(64))
    summary_at: Mapped[datetime] = mapped_column(UTCDateTime())
    processes: Mapped[int] = mapped_column(Integer)
    flagged: Mapped[int] = mapped_column(Integer)
    codes: Mapped[dict] = mapped_column(JSON, default=dict)  # code -> its processes carrying it
    transparency: Mapped[float | None] = mapped_column(Float)


class FlagFence(Base):
    """A figure computed over the whole data set that an indicator compares each process with (Tukey fences,
    peers' medians), kept so that a page can show it and an incremental update can be checked against it."""

    __tablename__ = "flag_fence"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON, default=dict)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
