"""The portal's named vocabularies: every word stored in a column or passed between layers, in one place.

They are `StrEnum`s, so a member equals its stored text (`RunStatus.SUCCEEDED == "succeeded"`) and the
database, JSON and templates keep plain strings.
"""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    """An ingest run's state; a run is committed as RUNNING before any file is read."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ABANDONED = "abandoned"  # left "running" by a process that is gone (killed, crashed) or silent too long


class ValueBasis(StrEnum):
    """What a process's headline value sums (the page says which)."""

    CONTRACTS = "contracts"
    AWARDS = "awards"
    TENDER = "tender"
    MIXED_CURRENCIES = "mixed currencies"  # not summed: amounts in several currencies are never added


class Stage(StrEnum):
    """What a release carries, read from its content rather than its `tag`."""

    PLANNING = "planning"
    TENDER = "tender"
    AWARD = "award"
    CONTRACT = "contract"
    IMPLEMENTATION = "implementation"
    AMENDMENT = "amendment"


class PartyRole(StrEnum):
    """The OCDS party roles the portal reads (partyRole codelist)."""

    BUYER = "buyer"
    SUPPLIER = "supplier"
    PROCURING_ENTITY = "procuringEntity"
    TENDERER = "tenderer"
    PAYER = "payer"
    PAYEE = "payee"


class Sort(StrEnum):
    """Orders of search results."""

    RELEVANCE = "relevance"
    AMOUNT = "amount"
    DATE = "date"


class FoundKind(StrEnum):
    """What a reader found in a file: something to store, or only a note about it."""

    RELEASE = "release"
    RECORD = "record"
    NOTE = "note"  # e.g. a record's linked release that was not fetched


class Layout(StrEnum):
    """How the JSON in a file is laid out, read from its name (ingest's table of suffixes) and its content."""

    DOCUMENT = "document"  # one JSON value: a package, a release, a record or an array of them
    LINES = "lines"  # JSON Lines: one JSON value per line


class CompiledBy(StrEnum):
    """Who compiled a process's record: the portal from the releases, or the publisher (linked releases)."""

    PORTAL = "portal"
    PUBLISHER = "publisher"


class OcdsVersion(StrEnum):
    """The OCDS versions whose merge rules the portal applies."""

    V1_0 = "1.0"
    V1_1 = "1.1"


class Block(StrEnum):
    """The parts of a compiled release that items, amendments and documents belong to."""

    TENDER = "tender"
    AWARD = "award"
    CONTRACT = "contract"


class Role(StrEnum):
    """What an official's account may do. One role per account: a person with two jobs has two accounts."""

    ADMINISTRATOR = "administrator"  # manages accounts and departments
    PUBLISHER = "publisher"  # publishes award notices for their own department (buyer) only
    MODERATOR = "moderator"  # handles residents' flags


class AuditAction(StrEnum):
    """What an audit entry records. Entries name ids and hashes of content, never a resident's words."""

    ACCOUNT_CREATED = "account created"
    ACCOUNT_REMOVED = "account removed"
    ACCOUNT_LOCKED = "account locked"
    PASSWORD_CHANGED = "password changed"
    TOTP_ENABLED = "second factor enabled"
    DEPARTMENT_CREATED = "department created"
    SIGNED_OUT_EVERYWHERE = "signed out everywhere"
    NOTICE_PUBLISHED = "notice published"
    NOTICE_AMENDED = "notice amended"
    FLAG_MODERATED = "flag moderated"


class NoticeKind(StrEnum):
    """A notice published here: an award (with its contract, if signed), or an amendment of one."""

    AWARD = "award"
    AMENDMENT = "amendment"


class ProcurementMethod(StrEnum):
    """The OCDS method codelist; every method but open needs a justification before it is published."""

    OPEN = "open"
    SELECTIVE = "selective"
    LIMITED = "limited"
    DIRECT = "direct"


class Check(StrEnum):
    """A coherence check run on a notice before it is published; each blocks or warns (`publishing.BLOCKING`)."""

    DATES_IN_ORDER = "dates in order"  # award date, then signature, then the contract's start and end
    CONTRACT_OVER_AWARD = "contract value over award value"
    PARTY_NOT_LISTED = "party referenced but not listed"
    SUPPLIER_INCOMPLETE = "supplier without a name or identifier"
    NO_SUPPLIER = "no supplier"
    METHOD_NOT_JUSTIFIED = "non-open method without justification"
    AMOUNT_NOT_POSITIVE = "amount not positive"
    DATE_IN_FUTURE = "award date in the future"
    DOCUMENT_LINK = "document link not http(s)"
    REASON_MISSING = "amendment without a reason"
    NOTHING_CHANGED = "amendment changes nothing"
