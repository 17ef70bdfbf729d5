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


class SourceKind(StrEnum):
    """What a configured source is (the `kind` of an entry in the sources file); one reader module each."""

    OCDS_API = "ocds_api"  # release or record packages paged by `links.next` (ingest/ocds_api.py)
    SOCRATA = "socrata"  # a Socrata SODA dataset (ingest/socrata.py)
    CKAN = "ckan"  # a CKAN datastore resource (ingest/ckan.py)
    CSV = "csv"  # a CSV register, a local file or a URL (ingest/tabular.py)
    XLSX = "xlsx"  # an Excel register (ingest/tabular.py)


class Health(StrEnum):
    """What probing a source found (`portal sources check`)."""

    UP = "up"
    DOWN = "down"  # no answer, or an error status
    SLOW = "slow"  # answered, but slower than the source's timeout allows for comfort
    MOVED = "moved"  # answered with a redirect (or 404/410 where data was)
    SHORT = "short"  # answered, but the publisher now counts fewer rows than at the last run
    DRIFTED = "drifted"  # answered, but a mapped column is missing or renamed
    REFUSED = "refused"  # the URL is not one the portal may fetch (private address, file://)


class EntityKind(StrEnum):
    """What an entity resolved from parties is: suppliers and buyers are resolved apart."""

    SUPPLIER = "supplier"
    BUYER = "buyer"


class Evidence(StrEnum):
    """Why a party belongs to its entity (the vendor page says it beside each spelling)."""

    PUBLISHED = "published"  # the party the entity started from
    IDENTIFIER = "identifier"  # the same scheme and id, with names that agree
    NAME = "name"  # the same words under the same legal form (a rule of portal/domain/vendor_rules.toml)
    MANUAL = "manual"  # merged by an official


class ReviewReason(StrEnum):
    """Why a pair of parties awaits an official's look instead of being merged."""

    IDENTIFIER_NAMES_DISAGREE = "identifier, names disagree"  # registers reuse ids
    LEGAL_FORMS_DIFFER = "legal forms differ"  # EDGE SYSTEMS INC / EDGE SYSTEMS LLC
    WEAK_NAME = "weak name"  # initials or generic words only
    SIMILAR_NAMES = "similar names"  # a fuzzy proposal


class ReviewStatus(StrEnum):
    OPEN = "open"
    MERGED = "merged"
    KEPT_APART = "kept apart"


class DecisionAction(StrEnum):
    """An official's decision about entities, applied above the rules on every resolution, and undoable."""

    MERGE = "merge"
    SPLIT = "split"


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
    CONCERN_ANSWERED = "concern answered"  # an official answer to a resident's concern
    # Vendor entities: an administrator's merge, split, undo, and settling of the review queue.
    VENDORS_MERGED = "vendors merged"
    VENDOR_SPLIT = "vendor split"
    VENDOR_DECISION_UNDONE = "vendor decision undone"
    VENDOR_REVIEW_SETTLED = "vendor review settled"
    VENDOR_REVIEW_REOPENED = "vendor review reopened"


class NoticeKind(StrEnum):
    """A notice published here: an award (with its contract, if signed), or an amendment of one."""

    AWARD = "award"
    AMENDMENT = "amendment"


class ProcurementMethod(StrEnum):
    """The OCDS method codelist: how competitive a win was. Every method but open needs a justification before
    an official publishes it."""

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


class ConcernCategory(StrEnum):
    """What a resident's concern about a tender is about (the form's choices)."""

    SPECIFICATION = "specification favours one vendor"
    TOO_LITTLE_TIME = "too little time to bid"
    PRICE = "price looks wrong"
    CONFLICT_OF_INTEREST = "conflict of interest"
    DELIVERY = "delivery not happening"
    OTHER = "other"


class ConcernStatus(StrEnum):
    """Where a concern stands; each change is a step of its public timeline (rejected ones are never public)."""

    RECEIVED = "received"  # waits in the moderation queue
    PUBLISHED = "published"  # on the process page; the buyer's deadline runs
    REJECTED = "rejected"  # not published; the reason goes to the author, if they left an email
    ANSWERED = "answered"  # the buyer (or a moderator, for an answer received by other means) answered
    RESOLVED = "resolved"  # closed: the matter is settled
    REFERRED = "referred"  # closed: passed to an oversight body


class ModerationAction(StrEnum):
    """What a moderator does with a concern."""

    PUBLISH = "publish"
    REJECT = "reject"
    RESOLVE = "resolve"
    REFER = "refer"


class FlagOutcome(StrEnum):
    """What an indicator says of one process (portal.domain.redflags)."""

    FIRED = "fired"
    NOT_FIRED = "not fired"
    NOT_ENOUGH_DATA = "not enough data"  # a field it needs is not published
    NOT_APPLICABLE = "not applicable"  # e.g. a single bid in a direct award
