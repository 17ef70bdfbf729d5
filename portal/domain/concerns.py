"""Residents' concerns about tenders: raised without an account, moderated, answered by the buyer, in public.

A concern is `received` into the moderation queue; a moderator publishes it (hiding personal data in its text if
need be) or rejects it with a reason that only its author hears of. Once published, the buyer has a set number of
days to answer: a publisher of the buyer's department answers; where the buyer has no publisher on this portal, a
moderator may record an answer the buyer gave by other means, marked as such. A moderator closes a concern as
resolved or referred. Every moderation and every answer is an audit entry (the content is hashed, never stored
there).

The author's email, if given, is kept in `ConcernContact`, apart from the concern, never shown, used only to write
notifications to the outbox, and deleted by `purge_contacts` a set number of days after the concern is closed.
Nothing here ever sees the author's network address.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.orm import Session

from portal.domain.audit import append_entry
from portal.domain.publishing import NotAllowed, NotFoundError, process_department
from portal.models import (
    Account,
    Concern,
    ConcernContact,
    ConcernEvent,
    Department,
    OutboxMessage,
    Party,
    Process,
    VendorParty,
    utcnow,
)
from portal.vocabulary import AuditAction, ConcernCategory, ConcernStatus, EntityKind, ModerationAction, Role

MIN_TEXT = 20  # characters: shorter is not a concern anyone can act on
MAX_TEXT = 5000  # characters of a concern or an answer
MAX_REASON = 1000
MAX_EMAIL = 254  # RFC 5321's limit on a path
MAX_FLAGS = 20  # indicator codes a concern may cite
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}")
_FLAG = re.compile(r"[A-Za-z0-9_.-]{1,40}")

PUBLIC = (ConcernStatus.PUBLISHED, ConcernStatus.ANSWERED, ConcernStatus.RESOLVED, ConcernStatus.REFERRED)
CLOSED = (ConcernStatus.REJECTED, ConcernStatus.RESOLVED, ConcernStatus.REFERRED)


class ConcernError(ValueError):
    """A concern, answer or moderation that cannot be accepted; `field` names the form field, `reason` a key the
    web app translates."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


# ---------------------------------------------------------------------------------------------------------------
# Raising.


def read_flags(values: list[str] | None) -> list[str] | None:
    """Indicator codes cited, kept as given (deduplicated, in order); None when none are cited."""
    if not values:
        return None
    codes = list(dict.fromkeys(v.strip() for v in values if v and v.strip()))
    if len(codes) > MAX_FLAGS or any(not _FLAG.fullmatch(c) for c in codes):
        raise ConcernError("flags", "bad flags")
    return codes or None


def raise_concern(
    session: Session,
    *,
    ocid: str,
    category: str,
    text: str,
    email: str | None = None,
    flags: list[str] | None = None,
    citable: Collection[str] | None = None,
) -> Concern:
    """A new concern in the moderation queue. Raises `NotFoundError` for an unknown process, `ConcernError` for
    a bad field (checked in form order, so the first is reported). With `citable` (the red flags that fired on
    the process), a concern may cite only those."""
    if session.scalar(select(Process.id).where(Process.ocid == ocid)) is None:
        raise NotFoundError(f"no process {ocid!r}")
    try:
        chosen = ConcernCategory(category)
    except ValueError:
        raise ConcernError("category", "bad category") from None
    text = text.strip()
    if len(text) < MIN_TEXT:
        raise ConcernError("text", "too short")
    if len(text) > MAX_TEXT:
        raise ConcernError("text", "too long")
    email = (email or "").strip() or None
    if email is not None and (len(email) > MAX_EMAIL or not _EMAIL.fullmatch(email)):
        raise ConcernError("email", "bad email")
    cited = read_flags(flags)
    if cited and citable is not None and not set(cited) <= set(citable):
        raise ConcernError("flags", "bad flags")
    concern = Concern(
        ocid=ocid,
        category=str(chosen),
        text=text,
        flags=cited,
        status=str(ConcernStatus.RECEIVED),
        received_at=utcnow(),
    )
    concern.events.append(ConcernEvent(status=str(ConcernStatus.RECEIVED), at=concern.received_at))
    session.add(concern)
    session.flush()
    if email is not None:
        session.add(ConcernContact(concern_id=concern.id, email=email))
        _notify(
            session,
            concern,
            email,
            f"Your concern {concern.id} was received",
            "A moderator will read it before it is published. You will hear here when it is published or answered.",
        )
    return concern


# ---------------------------------------------------------------------------------------------------------------
# Who answers.


def answering_department(session: Session, ocid: str) -> Department | None:
    """The department that answers for a process's buyer: the one that published it here, else the one whose
    identifier is the buyer's published identifier; None when the buyer is not a department of this portal."""
    department_id = process_department(session, ocid)
    if department_id is not None:
        return session.get(Department, department_id)
    buyer = session.execute(
        select(Party.scheme, Party.identifier).join(Process, Process.buyer_id == Party.id).where(Process.ocid == ocid)
    ).first()
    if buyer is None or not buyer.identifier:
        return None
    return session.scalars(
        select(Department).where(Department.scheme == buyer.scheme, Department.identifier == buyer.identifier)
    ).first()


def has_publisher(session: Session, department: Department | None) -> bool:
    if department is None:
        return False
    found = session.scalar(
        select(Account.id).where(
            Account.department_id == department.id, Account.role == str(Role.PUBLISHER), Account.active.is_(True)
        )
    )
    return found is not None


# ---------------------------------------------------------------------------------------------------------------
# Moderating and answering.


def get_concern(session: Session, concern_id: int) -> Concern:
    concern = session.get(Concern, concern_id)
    if concern is None:
        raise NotFoundError(f"no concern {concern_id}")
    return concern


def _step(concern: Concern, status: ConcernStatus, account: Account | None, at: datetime) -> None:
    concern.status = str(status)
    concern.events.append(ConcernEvent(status=str(status), at=at, account_id=account.id if account else None))
    if status in CLOSED:
        concern.closed_at = at


def _notify(session: Session, concern: Concern, email: str | None, subject: str, body: str) -> None:
    """A message to the concern's author, if they left an email (written to the outbox, sent from there)."""
    if email is None:
        contact = session.get(ConcernContact, concern.id)
        if contact is None:
            return
        email = contact.email
    session.add(OutboxMessage(concern_id=concern.id, recipient=email, subject=subject, body=body))


def moderate(
    session: Session,
    account: Account,
    concern_id: int,
    *,
    action: ModerationAction,
    text: str | None = None,
    reason: str | None = None,
    answer_days: int,
) -> Concern:
    """Publish (with `text` replacing the resident's, to hide personal data), reject (with a reason for the
    author), or close as resolved or referred. Moderators only; each action is an audit entry."""
    if account.role != Role.MODERATOR:
        raise NotAllowed("only a moderator moderates concerns")
    concern = get_concern(session, concern_id)
    now = utcnow()
    status = ConcernStatus(concern.status)
    if action == ModerationAction.PUBLISH:
        if status != ConcernStatus.RECEIVED:
            raise ConcernError("action", "not in queue")
        if text is not None and text.strip() and text.strip() != concern.text:
            if len(text.strip()) > MAX_TEXT:
                raise ConcernError("text", "too long")
            concern.text = text.strip()  # what was hidden is not kept anywhere
        concern.answer_due = now + timedelta(days=answer_days)
        _step(concern, ConcernStatus.PUBLISHED, account, now)
        _notify(session, concern, None, f"Your concern {concern.id} is published", f"It is public now: {concern.ocid}")
    elif action == ModerationAction.REJECT:
        if status != ConcernStatus.RECEIVED:
            raise ConcernError("action", "not in queue")
        reason = (reason or "").strip()
        if not reason:
            raise ConcernError("reason", "reason needed")
        if len(reason) > MAX_REASON:
            raise ConcernError("reason", "too long")
        concern.rejection_reason = reason
        _step(concern, ConcernStatus.REJECTED, account, now)
        _notify(session, concern, None, f"Your concern {concern.id} was not published", f"The reason: {reason}")
    elif action in (ModerationAction.RESOLVE, ModerationAction.REFER):
        if status not in (ConcernStatus.PUBLISHED, ConcernStatus.ANSWERED):
            raise ConcernError("action", "not open")
        closing = ConcernStatus.RESOLVED if action == ModerationAction.RESOLVE else ConcernStatus.REFERRED
        _step(concern, closing, account, now)
        _notify(session, concern, None, f"Your concern {concern.id} is closed", f"It was marked {closing}.")
    else:  # pragma: no cover - the enum has no other member
        raise ConcernError("action", "bad action")
    append_entry(
        session,
        action=AuditAction.FLAG_MODERATED,
        subject=f"concern:{concern.id}",
        content={"concern": concern.id, "action": str(action), "status": concern.status, "text": concern.text},
        actor_id=account.id,
    )
    session.flush()
    return concern


@dataclass(frozen=True)
class Answerer:
    """Who may answer a concern: the buyer's department (None: not on this portal), whether it has a publisher
    here, and so whether a moderator may record an answer received by other means."""

    department: Department | None
    has_publisher: bool

    @property
    def by_other_means(self) -> bool:
        return not self.has_publisher


def answerer(session: Session, ocid: str) -> Answerer:
    department = answering_department(session, ocid)
    return Answerer(department, has_publisher(session, department))


def may_answer(session: Session, account: Account, concern: Concern) -> bool:
    if concern.status != ConcernStatus.PUBLISHED:
        return False
    who = answerer(session, concern.ocid)
    if account.role == Role.PUBLISHER:
        return who.department is not None and who.has_publisher and account.department_id == who.department.id
    return account.role == Role.MODERATOR and who.by_other_means


def answer_concern(session: Session, account: Account, concern_id: int, *, text: str) -> Concern:
    """The official answer to a published concern: from a publisher of the buyer's department; or, where the
    buyer has no publisher here, recorded by a moderator as received by other means. An audit entry."""
    concern = get_concern(session, concern_id)
    if concern.status != ConcernStatus.PUBLISHED:
        raise ConcernError("action", "not awaiting answer")
    if not may_answer(session, account, concern):
        raise NotAllowed(f"account {account.id} may not answer concern {concern.id}")
    text = text.strip()
    if not text:
        raise ConcernError("answer", "answer needed")
    if len(text) > MAX_TEXT:
        raise ConcernError("answer", "too long")
    who = answerer(session, concern.ocid)
    now = utcnow()
    concern.answer = text
    concern.answered_at = now
    concern.answer_department_id = who.department.id if who.department else None
    concern.answer_by_other_means = account.role == Role.MODERATOR
    _step(concern, ConcernStatus.ANSWERED, account, now)
    _notify(session, concern, None, f"Your concern {concern.id} was answered", text)
    append_entry(
        session,
        action=AuditAction.CONCERN_ANSWERED,
        subject=f"concern:{concern.id}",
        content={"concern": concern.id, "answer": text, "by_other_means": concern.answer_by_other_means},
        actor_id=account.id,
    )
    session.flush()
    return concern


# ---------------------------------------------------------------------------------------------------------------
# Reading.


def public_concerns(session: Session, ocid: str) -> list[Concern]:
    """The concerns anyone sees on a process: published, answered or closed after publication; newest first."""
    return list(
        session.scalars(
            select(Concern)
            .where(Concern.ocid == ocid, Concern.status.in_([str(s) for s in PUBLIC]))
            .order_by(Concern.received_at.desc(), Concern.id.desc())
        )
    )


def moderation_queue(session: Session) -> list[Concern]:
    """Concerns waiting for a moderator, oldest first."""
    return list(
        session.scalars(
            select(Concern).where(Concern.status == str(ConcernStatus.RECEIVED)).order_by(Concern.received_at)
        )
    )


def open_concerns(session: Session) -> list[Concern]:
    """Published concerns not yet closed (answered or waiting for an answer), by deadline."""
    return list(
        session.scalars(
            select(Concern)
            .where(Concern.status.in_([str(ConcernStatus.PUBLISHED), str(ConcernStatus.ANSWERED)]))
            .order_by(Concern.answer_due, Concern.id)
        )
    )


def department_concerns(session: Session, department_id: int) -> list[Concern]:
    """Published concerns awaiting this department's answer."""
    waiting = [c for c in open_concerns(session) if c.status == ConcernStatus.PUBLISHED]
    return [c for c in waiting if (d := answering_department(session, c.ocid)) is not None and d.id == department_id]


@dataclass(frozen=True)
class Responsiveness:
    """A buyer's public concerns: open (published, not answered), answered (and closed after answering), overdue
    (open past their deadline)."""

    open: int
    answered: int
    overdue: int


def buyer_responsiveness(session: Session, vendor_id: int) -> Responsiveness:
    """Counts over the processes whose buyer is one of the buyer entity's parties."""
    rows = session.execute(
        select(Concern.status, Concern.answered_at, Concern.answer_due)
        .join(Process, Process.ocid == Concern.ocid)
        .join(
            VendorParty,
            and_(VendorParty.party_id == Process.buyer_id, VendorParty.kind == str(EntityKind.BUYER)),
        )
        .where(VendorParty.vendor_id == vendor_id, Concern.status.in_([str(s) for s in PUBLIC]))
    ).all()
    now = utcnow()
    open_ = [r for r in rows if r.status == ConcernStatus.PUBLISHED]
    return Responsiveness(
        open=len(open_),
        answered=sum(1 for r in rows if r.answered_at is not None),
        overdue=sum(1 for r in open_ if r.answer_due is not None and r.answer_due < now),
    )


# ---------------------------------------------------------------------------------------------------------------
# Retention.


def purge_contacts(session: Session, *, days: int, now: datetime | None = None) -> int:
    """Delete the emails, and the notifications addressed to them, of concerns closed more than `days` days ago,
    and the words of those that were rejected. Returns how many emails were deleted. Deletes only what is due, so
    running it again (from cron) is safe."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    due = select(Concern.id).where(Concern.closed_at.is_not(None), Concern.closed_at < cutoff)
    count = session.scalar(select(func.count()).select_from(ConcernContact).where(ConcernContact.concern_id.in_(due)))
    session.execute(delete(OutboxMessage).where(OutboxMessage.concern_id.in_(due)))
    session.execute(delete(ConcernContact).where(ConcernContact.concern_id.in_(due)))
    # A rejected concern was never moderated into public text: it may hold personal data, so its words go too.
    session.execute(
        update(Concern)
        .where(Concern.id.in_(due), Concern.status == str(ConcernStatus.REJECTED))
        .values(text="", rejection_reason=None)
    )
    return int(count or 0)


def take_unsent(session: Session) -> list[OutboxMessage]:
    """The notifications not yet sent, oldest first, marked sent now: the caller delivers them in the same
    transaction (a failure rolls the marks back)."""
    messages = list(
        session.scalars(select(OutboxMessage).where(OutboxMessage.sent_at.is_(None)).order_by(OutboxMessage.id))
    )
    now = utcnow()
    for message in messages:
        message.sent_at = now
    return messages
