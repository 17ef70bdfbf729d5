"""Award notices published by the city's officials: what a notice holds, the coherence checks run before it is
published, the OCDS release it becomes, and who may publish what.

A notice is never edited once published. A correction is an amendment: a new release (`awardUpdate`) with the
same award id, carrying the reason in the award's `amendments`; the earlier release stays stored and shown.
Storing the release is ingest's job (`ingest.published`), so a published notice takes the path every
ingested release takes. No Flask here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from portal.domain.audit import append_entry
from portal.domain.ocds import canonical_json, loads
from portal.domain.validation import schema_errors
from portal.models import Account, Department, PublishedNotice, Release, utcnow
from portal.vocabulary import AuditAction, Check, NoticeKind, ProcurementMethod, Role

# Checks that stop a notice; the others warn, and the publisher confirms after reading them.
BLOCKING = frozenset(
    {
        Check.DATES_IN_ORDER,
        Check.SUPPLIER_INCOMPLETE,
        Check.NO_SUPPLIER,
        Check.METHOD_NOT_JUSTIFIED,
        Check.AMOUNT_NOT_POSITIVE,
        Check.DOCUMENT_LINK,
        Check.REASON_MISSING,
        Check.NOTHING_CHANGED,
        Check.PARTY_NOT_LISTED,
    }
)
AWARD_DOCUMENT = "awardNotice"  # the documentType codelist's word for a notice of award
MAX_SUPPLIERS = 10
MAX_DOCUMENTS = 10


class NotAllowed(Exception):
    """The account may not publish this (another department's buyer or process, or not a publisher)."""


class NotFoundError(LookupError):
    """No such notice or process to publish into."""


@dataclass(frozen=True)
class Supplier:
    name: str
    scheme: str
    identifier: str

    @property
    def party_id(self) -> str:
        return f"{self.scheme}-{self.identifier}"


@dataclass(frozen=True)
class DocumentLink:
    title: str
    url: str


@dataclass(frozen=True)
class Notice:
    """An award notice as a publisher filled it in. Dates are days; amounts exact, in one currency."""

    title: str
    description: str = ""
    suppliers: tuple[Supplier, ...] = ()
    amount: Decimal | None = None
    currency: str = ""
    award_date: date | None = None
    method: ProcurementMethod = ProcurementMethod.OPEN
    justification: str = ""
    contract_amount: Decimal | None = None
    contract_signed: date | None = None
    contract_start: date | None = None
    contract_end: date | None = None
    documents: tuple[DocumentLink, ...] = ()

    @property
    def has_contract(self) -> bool:
        return any(
            v is not None for v in (self.contract_amount, self.contract_signed, self.contract_start, self.contract_end)
        )


@dataclass(frozen=True)
class Finding:
    check: Check
    field: str  # the form field it concerns

    @property
    def blocking(self) -> bool:
        return self.check in BLOCKING


def check_notice(
    notice: Notice, *, today: date, previous: Notice | None = None, reason: str | None = None
) -> list[Finding]:
    """The coherence checks, in the order a reader of the form meets the fields. `previous` and `reason` are
    given for an amendment."""
    found: list[Finding] = []
    if not notice.suppliers:
        found.append(Finding(Check.NO_SUPPLIER, "suppliers"))
    for supplier in notice.suppliers:
        if not (supplier.name.strip() and supplier.scheme.strip() and supplier.identifier.strip()):
            found.append(Finding(Check.SUPPLIER_INCOMPLETE, "suppliers"))
            break
    for name, amount in (("amount", notice.amount), ("contract_amount", notice.contract_amount)):
        if amount is not None and amount <= 0:
            found.append(Finding(Check.AMOUNT_NOT_POSITIVE, name))
    if notice.method != ProcurementMethod.OPEN and not notice.justification.strip():
        found.append(Finding(Check.METHOD_NOT_JUSTIFIED, "justification"))
    steps = [
        ("award_date", notice.award_date),
        ("contract_signed", notice.contract_signed),
        ("contract_start", notice.contract_start),
        ("contract_end", notice.contract_end),
    ]
    known = [(name, day) for name, day in steps if day is not None]
    for (_, earlier), (name, later) in zip(known, known[1:], strict=False):
        if later < earlier:
            found.append(Finding(Check.DATES_IN_ORDER, name))
            break
    if notice.award_date is not None and notice.award_date > today:
        found.append(Finding(Check.DATE_IN_FUTURE, "award_date"))
    if notice.contract_amount is not None and notice.amount is not None and notice.contract_amount > notice.amount:
        found.append(Finding(Check.CONTRACT_OVER_AWARD, "contract_amount"))
    for document in notice.documents:
        if not document.url.lower().startswith(("https://", "http://")):
            found.append(Finding(Check.DOCUMENT_LINK, "documents"))
            break
    if previous is not None:
        if not (reason or "").strip():
            found.append(Finding(Check.REASON_MISSING, "reason"))
        if notice == previous:
            found.append(Finding(Check.NOTHING_CHANGED, "title"))
    return found


def blocking(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.blocking]


# ---------------------------------------------------------------------------------------------------------------
# The release.


def _day(value: date | None) -> str | None:
    return None if value is None else f"{value.isoformat()}T00:00:00Z"


def _timestamp(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _value(amount: Decimal | None, currency: str) -> dict[str, Any] | None:
    return None if amount is None else {"amount": amount, "currency": currency}


def _prune(value: Any) -> Any:
    """Drop empty values: OCDS leaves out what is not known rather than publishing nulls and empty strings."""
    if isinstance(value, dict):
        kept = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


@dataclass(frozen=True)
class Amending:
    """What an amendment release says about the release it corrects."""

    reason: str
    amends_release_id: str
    description: str = ""


def build_release(
    notice: Notice,
    *,
    ocid: str,
    release_id: str,
    award_id: str,
    department: Department,
    published: datetime,
    amending: Amending | None = None,
) -> dict[str, Any]:
    """The OCDS 1.1 release for a notice: tag `award` (with `contract` when a contract is given), or
    `awardUpdate` (and `contractAmendment`) for an amendment, whose reason goes into the award's and contract's
    `amendments`. The buyer and every supplier are listed in `parties`."""
    buyer_id = f"{department.scheme}-{department.identifier}"
    parties = [
        {
            "id": buyer_id,
            "name": department.name,
            "identifier": {"scheme": department.scheme, "id": department.identifier, "legalName": department.name},
            "roles": ["buyer"],
        }
    ]
    for supplier in notice.suppliers:
        parties.append(
            {
                "id": supplier.party_id,
                "name": supplier.name,
                "identifier": {"scheme": supplier.scheme, "id": supplier.identifier, "legalName": supplier.name},
                "roles": ["supplier"],
            }
        )
    amendments = []
    if amending is not None:
        amendments = [
            {
                "id": f"{release_id}-amendment",
                "date": _timestamp(published),
                "rationale": amending.reason,
                "description": amending.description,
                "amendsReleaseID": amending.amends_release_id,
                "releaseID": release_id,
            }
        ]
    award = {
        "id": award_id,
        "title": notice.title,
        "description": notice.description,
        "status": "active",
        "date": _day(notice.award_date),
        "value": _value(notice.amount, notice.currency),
        "suppliers": [{"id": s.party_id, "name": s.name} for s in notice.suppliers],
        "documents": [
            {"id": f"{award_id}-doc-{n}", "documentType": AWARD_DOCUMENT, "title": d.title, "url": d.url}
            for n, d in enumerate(notice.documents, start=1)
        ],
        "amendments": amendments,
    }
    tags = ["awardUpdate"] if amending else ["award"]
    contracts = []
    if notice.has_contract:
        tags.append("contractAmendment" if amending else "contract")
        contracts.append(
            {
                "id": f"{award_id}-contract",
                "awardID": award_id,
                "title": notice.title,
                "status": "active",
                "value": _value(notice.contract_amount, notice.currency),
                "dateSigned": _day(notice.contract_signed),
                "period": {"startDate": _day(notice.contract_start), "endDate": _day(notice.contract_end)},
                "amendments": amendments,
            }
        )
    release = {
        "ocid": ocid,
        "id": release_id,
        "date": _timestamp(published),
        "tag": tags,
        "initiationType": "tender",
        "language": "en",
        "parties": parties,
        "buyer": {"id": buyer_id, "name": department.name},
        "tender": {
            "id": f"{ocid}-tender",
            "title": notice.title,
            "procurementMethod": str(notice.method),
            "procurementMethodRationale": notice.justification,
        },
        "awards": [award],
        "contracts": contracts,
    }
    return _prune(release)


def release_findings(release: dict[str, Any]) -> list[Finding]:
    """Checks on the release itself: every party it references is listed in `parties`."""
    listed = {p.get("id") for p in release.get("parties", [])}
    referenced = [release.get("buyer", {}).get("id")]
    referenced += [s.get("id") for a in release.get("awards", []) for s in a.get("suppliers", [])]
    if any(ref not in listed for ref in referenced):
        return [Finding(Check.PARTY_NOT_LISTED, "suppliers")]
    return []


def release_schema_errors(release: dict[str, Any]) -> list[str]:
    """The release as it will be stored (exact numbers written as JSON), against the OCDS 1.1.5 release schema."""
    return schema_errors(loads(canonical_json(release)))


def notice_from_release(release: dict[str, Any]) -> Notice:
    """A published release read back as the notice it came from: what an amendment form starts from."""
    award = (release.get("awards") or [{}])[0]
    contract = (release.get("contracts") or [{}])[0]
    tender = release.get("tender", {})
    parties = {p.get("id"): p for p in release.get("parties", [])}
    suppliers = []
    for s in award.get("suppliers", []):
        identifier = parties.get(s.get("id"), {}).get("identifier", {})
        suppliers.append(Supplier(s.get("name", ""), identifier.get("scheme", ""), identifier.get("id", "")))

    def day(text: str | None) -> date | None:
        return date.fromisoformat(text[:10]) if text else None

    def amount(value: dict | None) -> Decimal | None:
        return None if not value or value.get("amount") is None else Decimal(str(value["amount"]))

    return Notice(
        title=award.get("title", ""),
        description=award.get("description", ""),
        suppliers=tuple(suppliers),
        amount=amount(award.get("value")),
        currency=(award.get("value") or {}).get("currency", ""),
        award_date=day(award.get("date")),
        method=ProcurementMethod(tender.get("procurementMethod", "open")),
        justification=tender.get("procurementMethodRationale", ""),
        contract_amount=amount(contract.get("value")),
        contract_signed=day(contract.get("dateSigned")),
        contract_start=day((contract.get("period") or {}).get("startDate")),
        contract_end=day((contract.get("period") or {}).get("endDate")),
        documents=tuple(DocumentLink(d.get("title", ""), d.get("url", "")) for d in award.get("documents", [])),
    )


def parse_amount(text: str) -> Decimal | None:
    """An amount as typed in the form ("1 234.50", "1234,50" is refused: one decimal mark, the point)."""
    cleaned = text.strip().replace(" ", "").replace("\u202f", "").replace(",", "")
    if not cleaned:
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(text) from None
    if not value.is_finite() or value.as_tuple().exponent < -4:  # type: ignore[operator]
        raise ValueError(text)
    return value


# ---------------------------------------------------------------------------------------------------------------
# Who may publish what.


def publishing_department(session: Session, account: Account, department_id: int | None) -> Department:
    """The department a publisher publishes for: their own, and only theirs."""
    if account.role != Role.PUBLISHER or account.department_id is None:
        raise NotAllowed("only a publisher publishes notices")
    if department_id is not None and department_id != account.department_id:
        raise NotAllowed(f"account {account.id} publishes for department {account.department_id} only")
    department = session.get(Department, account.department_id)
    if department is None:
        raise NotAllowed("the account's department is gone")
    return department


def process_department(session: Session, ocid: str) -> int | None:
    """The department that published the first notice of a process here; None if no notice was published here."""
    return session.scalar(
        select(PublishedNotice.department_id).where(PublishedNotice.ocid == ocid).order_by(PublishedNotice.id).limit(1)
    )


def check_process(session: Session, account: Account, ocid: str) -> None:
    """A publisher may add a notice to a process their department opened here, and to no other."""
    department_id = process_department(session, ocid)
    if department_id is None:
        raise NotFoundError(f"no process {ocid!r} was published here")
    if department_id != account.department_id:
        raise NotAllowed(f"process {ocid!r} belongs to department {department_id}")


def new_ocid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def new_release_id(kind: NoticeKind, published: datetime) -> str:
    """Unique within the process: the kind and the time to the microsecond, readable in a list of releases."""
    return f"{kind}-{published.astimezone(timezone.utc).strftime('%Y%m%dT%H%M%S%fZ')}"


def latest_notices(session: Session, *, department_id: int | None = None) -> list[PublishedNotice]:
    """Notices not yet amended (the current version of each award), newest first."""
    later = aliased(PublishedNotice)
    query = (
        select(PublishedNotice)
        .outerjoin(later, later.amends_id == PublishedNotice.id)
        .where(later.id.is_(None))
        .order_by(PublishedNotice.id.desc())
    )
    if department_id is not None:
        query = query.where(PublishedNotice.department_id == department_id)
    return list(session.scalars(query))


def notice_history(session: Session, notice: PublishedNotice) -> list[PublishedNotice]:
    """The notice and every version it amends, newest first."""
    chain = [notice]
    while chain[-1].amends_id is not None:
        earlier = session.get(PublishedNotice, chain[-1].amends_id)
        if earlier is None:
            break
        chain.append(earlier)
    return chain


def amendable_notice(session: Session, account: Account, notice_id: int) -> PublishedNotice:
    """The notice a publisher wants to amend: theirs (their department's) and not already amended."""
    notice = session.get(PublishedNotice, notice_id)
    if notice is None:
        raise NotFoundError(f"no notice {notice_id}")
    if account.role != Role.PUBLISHER or notice.department_id != account.department_id:
        raise NotAllowed(f"notice {notice_id} belongs to department {notice.department_id}")
    if session.scalar(select(PublishedNotice.id).where(PublishedNotice.amends_id == notice.id)) is not None:
        raise NotFoundError(f"notice {notice_id} was amended since: amend its latest version")
    return notice


def stored_release(session: Session, notice: PublishedNotice) -> dict[str, Any]:
    data = session.scalar(
        select(Release.data).where(
            Release.ocid == notice.ocid,
            Release.release_id == notice.release_id,
            Release.checksum == notice.release_checksum,
        )
    )
    if data is None:
        raise NotFoundError(f"the release of notice {notice.id} is not stored")
    return loads(data)


@dataclass
class Prepared:
    """A notice ready to store: its release, the findings, and what the notice row will say."""

    release: dict[str, Any]
    findings: list[Finding] = field(default_factory=list)
    kind: NoticeKind = NoticeKind.AWARD
    award_id: str = ""
    amends: PublishedNotice | None = None
    reason: str | None = None

    @property
    def blocked(self) -> bool:
        return bool(blocking(self.findings))


def prepare_award(
    session: Session, account: Account, notice: Notice, *, department_id: int | None, ocid: str | None, prefix: str
) -> Prepared:
    """An award notice for a new process (ocid None) or one the publisher's department opened here."""
    department = publishing_department(session, account, department_id)
    if ocid:
        check_process(session, account, ocid)
    published = utcnow()
    ocid = ocid or new_ocid(prefix)
    award_id = f"award-{uuid.uuid4().hex[:12]}"
    release = build_release(
        notice,
        ocid=ocid,
        release_id=new_release_id(NoticeKind.AWARD, published),
        award_id=award_id,
        department=department,
        published=published,
    )
    findings = check_notice(notice, today=published.date()) + release_findings(release)
    return Prepared(release, findings, NoticeKind.AWARD, award_id)


def prepare_amendment(
    session: Session, account: Account, notice_id: int, notice: Notice, *, reason: str, description: str = ""
) -> Prepared:
    earlier = amendable_notice(session, account, notice_id)
    department = publishing_department(session, account, earlier.department_id)
    previous = stored_release(session, earlier)
    published = utcnow()
    release = build_release(
        notice,
        ocid=earlier.ocid,
        release_id=new_release_id(NoticeKind.AMENDMENT, published),
        award_id=earlier.award_id,
        department=department,
        published=published,
        amending=Amending(reason.strip(), earlier.release_id, description.strip()),
    )
    findings = check_notice(notice, today=published.date(), previous=notice_from_release(previous), reason=reason)
    findings += release_findings(release)
    return Prepared(release, findings, NoticeKind.AMENDMENT, earlier.award_id, earlier, reason.strip())


def record_notice(session: Session, account: Account, prepared: Prepared, *, release_checksum: str) -> PublishedNotice:
    """The notice row and its audit entry, in the transaction that stored the release."""
    release = prepared.release
    notice = PublishedNotice(
        kind=prepared.kind,
        ocid=release["ocid"],
        release_id=release["id"],
        release_checksum=release_checksum,
        award_id=prepared.award_id,
        department_id=account.department_id,
        account_id=account.id,
        amends_id=prepared.amends.id if prepared.amends else None,
        reason=prepared.reason,
    )
    session.add(notice)
    session.flush()
    append_entry(
        session,
        action=AuditAction.NOTICE_AMENDED if prepared.amends else AuditAction.NOTICE_PUBLISHED,
        subject=f"release:{release['ocid']}/{release['id']}",
        content={"release": release_checksum, "notice": notice.id, "amends": notice.amends_id},
        actor_id=account.id,
    )
    return notice


def with_suppliers(notice: Notice, suppliers: list[Supplier]) -> Notice:
    return replace(notice, suppliers=tuple(suppliers))
