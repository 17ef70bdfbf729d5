"""Officials' accounts: passwords (argon2id), lock-out, an optional TOTP second factor, departments, and the
session version that lets one action end every session of an account.

Every change to an account is appended to the audit trail in the same transaction. No Flask here: the web app
and the command line call the same functions.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.domain.audit import append_entry
from portal.models import Account, Department, utcnow
from portal.vocabulary import AuditAction, Role

MAX_FAILURES = 5  # wrong passwords or codes in a row before an account is locked
LOCK_MINUTES = 15  # how long a lock lasts; it also ends early when an administrator resets the password
MIN_PASSWORD = 12  # characters; length is what makes a password hard to guess (NIST SP 800-63B)
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,62}")

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Checked against when the username is unknown, so that a wrong name takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password anyone has")


class AccountError(ValueError):
    """A request about an account that cannot be met; `reason` names which rule (for a translated message)."""

    def __init__(self, reason: str, **details: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details


class SignInRefused(Exception):
    """Sign-in failed. `reason`: "credentials" (unknown name or wrong password: never said which), "locked",
    "code needed" (the password was right and a second factor is set) or "code"."""

    def __init__(self, reason: str, locked_until: datetime | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.locked_until = locked_until


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_new_password(password: str, username: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError("password too short", minimum=MIN_PASSWORD)
    if username and username.lower() in password.lower():
        raise AccountError("password contains username")


def _subject(account: Account) -> str:
    return f"account:{account.id}"


def _audited(account: Account) -> dict:
    """What the trail hashes about an account: ids and role, never the person's name."""
    return {"id": account.id, "role": account.role, "department": account.department_id, "active": account.active}


def _audit(session: Session, action: AuditAction, account: Account, actor_id: int | None) -> None:
    append_entry(session, action=action, subject=_subject(account), content=_audited(account), actor_id=actor_id)


def _refusal(account: Account, now: datetime, reason: str) -> SignInRefused:
    """After a failure: "locked" if it was the one that locked the account, else `reason`."""
    if account.locked_until is not None and account.locked_until > now:
        return SignInRefused("locked", account.locked_until)
    return SignInRefused(reason)


def create_department(session: Session, *, name: str, scheme: str, identifier: str, actor_id: int | None) -> Department:
    name, scheme, identifier = name.strip(), scheme.strip(), identifier.strip()
    if not name or not scheme or not identifier:
        raise AccountError("department incomplete")
    if session.scalar(select(Department.id).where(Department.name == name)) is not None:
        raise AccountError("department exists")
    department = Department(name=name, scheme=scheme, identifier=identifier)
    session.add(department)
    session.flush()
    append_entry(
        session,
        action=AuditAction.DEPARTMENT_CREATED,
        subject=f"department:{department.id}",
        content={"id": department.id, "name": name, "scheme": scheme, "identifier": identifier},
        actor_id=actor_id,
    )
    return department


def create_account(
    session: Session,
    *,
    username: str,
    name: str,
    role: Role,
    password: str,
    department_id: int | None = None,
    actor_id: int | None,
) -> Account:
    """A new account; a publisher must belong to a department, and only a publisher does."""
    username = username.strip().lower()
    if not USERNAME.fullmatch(username):
        raise AccountError("bad username")
    if session.scalar(select(Account.id).where(Account.username == username)) is not None:
        raise AccountError("username taken")
    role = Role(role)
    if role == Role.PUBLISHER:
        if department_id is None or session.get(Department, department_id) is None:
            raise AccountError("publisher needs department")
    else:
        department_id = None
    check_new_password(password, username)
    account = Account(
        username=username,
        name=name.strip() or username,
        role=role,
        department_id=department_id,
        password_hash=hash_password(password),
        failed_logins=0,
        session_version=1,
        active=True,
    )
    session.add(account)
    session.flush()
    append_entry(
        session,
        action=AuditAction.ACCOUNT_CREATED,
        subject=_subject(account),
        content=_audited(account),
        actor_id=actor_id,
    )
    return account


def administrators(session: Session) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(Account).where(Account.role == Role.ADMINISTRATOR, Account.active)
        )
        or 0
    )


def _fail(session: Session, account: Account, now: datetime) -> None:
    account.failed_logins += 1
    if account.failed_logins >= MAX_FAILURES:
        account.locked_until = now + timedelta(minutes=LOCK_MINUTES)
        account.failed_logins = 0
        append_entry(
            session,
            action=AuditAction.ACCOUNT_LOCKED,
            subject=_subject(account),
            content=_audited(account),
            actor_id=None,
        )


def authenticate(
    session: Session, *, username: str, password: str, code: str | None = None, now: datetime | None = None
) -> Account:
    """The account these credentials open, or `SignInRefused`. Failures are counted in the caller's transaction,
    which must commit them even when refusing (else the lock-out never comes)."""
    now = now or utcnow()
    account = session.scalars(select(Account).where(Account.username == username.strip().lower())).first()
    if account is None or not account.active:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        raise SignInRefused("credentials")
    if account.locked_until is not None and account.locked_until > now:
        raise SignInRefused("locked", account.locked_until)
    try:
        _hasher.verify(account.password_hash, password)
    except (VerificationError, InvalidHashError):
        _fail(session, account, now)
        raise SignInRefused(
            "locked" if account.locked_until and account.locked_until > now else "credentials"
        ) from None
    if account.totp_secret:
        if not code:
            raise SignInRefused("code needed")
        if not pyotp.TOTP(account.totp_secret).verify(code.strip(), valid_window=1):
            _fail(session, account, now)
            raise _refusal(account, now, "code")
    account.failed_logins, account.locked_until = 0, None
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    return account


def end_sessions(session: Session, account: Account, *, actor_id: int | None) -> None:
    """Every session of the account ends: they carry the old version, checked on each request."""
    account.session_version += 1
    append_entry(
        session,
        action=AuditAction.SIGNED_OUT_EVERYWHERE,
        subject=_subject(account),
        content={"id": account.id, "session_version": account.session_version},
        actor_id=actor_id,
    )


def change_password(session: Session, account: Account, *, current: str | None, new: str, actor_id: int | None) -> None:
    """A new password (the current one is asked of the account's owner; an administrator resets without it). Every
    session of the account ends, and a lock is lifted."""
    if current is not None:
        try:
            _hasher.verify(account.password_hash, current)
        except (VerificationError, InvalidHashError):
            raise AccountError("current password wrong") from None
    check_new_password(new, account.username)
    account.password_hash = hash_password(new)
    account.session_version += 1
    account.failed_logins, account.locked_until = 0, None
    append_entry(
        session,
        action=AuditAction.PASSWORD_CHANGED,
        subject=_subject(account),
        content={"id": account.id, "session_version": account.session_version},
        actor_id=actor_id,
    )


def remove_account(session: Session, account: Account, *, actor_id: int | None) -> None:
    """Deactivate an account (its rows stay, named by the trail) and end its sessions. The last active
    administrator cannot be removed: nobody could manage accounts any more."""
    if not account.active:
        return
    if account.role == Role.ADMINISTRATOR and administrators(session) <= 1:
        raise AccountError("last administrator")
    account.active = False
    account.session_version += 1
    append_entry(
        session,
        action=AuditAction.ACCOUNT_REMOVED,
        subject=_subject(account),
        content=_audited(account),
        actor_id=actor_id,
    )


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(account: Account, secret: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account.username, issuer_name=issuer)


def enable_totp(session: Session, account: Account, *, secret: str, code: str) -> None:
    """Turn the second factor on, once the code from the authenticator app proves the secret was copied."""
    if not pyotp.TOTP(secret).verify(code.strip(), valid_window=1):
        raise AccountError("code wrong")
    account.totp_secret = secret
    account.session_version += 1  # sessions opened with the password alone end
    append_entry(
        session,
        action=AuditAction.TOTP_ENABLED,
        subject=_subject(account),
        content={"id": account.id, "session_version": account.session_version},
        actor_id=account.id,
    )


@dataclass(frozen=True)
class SessionAccount:
    """What a signed session cookie holds: the account and the session version it was opened with."""

    account_id: int
    version: int


def session_account(session: Session, held: SessionAccount) -> Account | None:
    """The account a session belongs to, if the session is still valid (same version, account active)."""
    account = session.get(Account, held.account_id)
    if account is None or not account.active or account.session_version != held.version:
        return None
    return account
