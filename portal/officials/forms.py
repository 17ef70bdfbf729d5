"""Reading the officials' forms: plain HTML forms (CSRF from Flask-WTF's CSRFProtect), read into domain values
with an error per field, in the reader's language."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from portal.domain.publishing import DocumentLink, Finding, Notice, Supplier, parse_amount
from portal.vocabulary import Check, ProcurementMethod, Role

SUPPLIER_ROWS = 3  # supplier rows on the form (a consortium rarely has more)
DOCUMENT_ROWS = 3
CURRENCY = re.compile(r"[A-Z]{3}")


def method_labels() -> dict[str, str]:
    return {
        ProcurementMethod.OPEN: _("Open"),
        ProcurementMethod.SELECTIVE: _("Selective"),
        ProcurementMethod.LIMITED: _("Limited"),
        ProcurementMethod.DIRECT: _("Direct"),
    }


def role_labels() -> dict[str, str]:
    return {Role.ADMINISTRATOR: _("Administrator"), Role.PUBLISHER: _("Publisher"), Role.MODERATOR: _("Moderator")}


def check_messages() -> dict[Check, str]:
    return {
        Check.DATES_IN_ORDER: _(
            "Dates are out of order: the award comes first, then the signature, then the contract's start and end."
        ),
        Check.CONTRACT_OVER_AWARD: _("The contract's value is higher than the award's value."),
        Check.SUPPLIER_INCOMPLETE: _("Every supplier needs a name, an identifier scheme and an identifier."),
        Check.NO_SUPPLIER: _("Name at least one supplier."),
        Check.METHOD_NOT_JUSTIFIED: _("A method other than open must be justified."),
        Check.AMOUNT_NOT_POSITIVE: _("Amounts must be more than zero."),
        Check.DATE_IN_FUTURE: _("The award date is in the future."),
        Check.DOCUMENT_LINK: _("Document links must start with https:// or http://."),
        Check.REASON_MISSING: _("Give the reason for the amendment: it is published with it."),
        Check.NOTHING_CHANGED: _("This amendment changes nothing."),
        Check.PARTY_NOT_LISTED: _("A party is referenced but not listed."),
    }


def finding_messages(findings: list[Finding]) -> list[dict[str, Any]]:
    messages = check_messages()
    return [
        {"check": f.check, "field": f.field, "blocking": f.blocking, "message": messages[f.check]} for f in findings
    ]


@dataclass
class NoticeInput:
    """A notice form as read: the notice (when every field could be read), the errors per field, and the raw
    values to show again."""

    notice: Notice | None
    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)


def _date(form: MultiDict, name: str, errors: dict[str, str], *, required: bool = False) -> date | None:
    text = form.get(name, "").strip()
    if not text:
        if required:
            errors[name] = _("Required.")
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = _("A date such as 2026-11-27.")
        return None


def _amount(form: MultiDict, name: str, errors: dict[str, str], *, required: bool = False) -> Decimal | None:
    text = form.get(name, "")
    try:
        value = parse_amount(text)
    except ValueError:
        errors[name] = _("An amount such as 125000 or 125000.50.")
        return None
    if value is None and required:
        errors[name] = _("Required.")
    return value


def read_notice(form: MultiDict) -> NoticeInput:
    errors: dict[str, str] = {}
    values = {k: v for k, v in form.items() if k != "csrf_token"}
    title = form.get("title", "").strip()
    if not title:
        errors["title"] = _("Required.")
    currency = form.get("currency", "").strip().upper()
    if not CURRENCY.fullmatch(currency):
        errors["currency"] = _("A three-letter currency code, such as CAD.")
    try:
        method = ProcurementMethod(form.get("method", ProcurementMethod.OPEN))
    except ValueError:
        errors["method"] = _("Choose a method from the list.")
        method = ProcurementMethod.OPEN
    suppliers = []
    for n in range(1, SUPPLIER_ROWS + 1):
        row = [form.get(f"supplier_{part}_{n}", "").strip() for part in ("name", "scheme", "id")]
        if any(row):
            suppliers.append(Supplier(*row))
    documents = []
    for n in range(1, DOCUMENT_ROWS + 1):
        doc_title, url = form.get(f"document_title_{n}", "").strip(), form.get(f"document_url_{n}", "").strip()
        if doc_title or url:
            documents.append(DocumentLink(doc_title or url, url))
    notice = Notice(
        title=title,
        description=form.get("description", "").strip(),
        suppliers=tuple(suppliers),
        amount=_amount(form, "amount", errors, required=True),
        currency=currency,
        award_date=_date(form, "award_date", errors, required=True),
        method=method,
        justification=form.get("justification", "").strip(),
        contract_amount=_amount(form, "contract_amount", errors),
        contract_signed=_date(form, "contract_signed", errors),
        contract_start=_date(form, "contract_start", errors),
        contract_end=_date(form, "contract_end", errors),
        documents=tuple(documents),
    )
    return NoticeInput(None if errors else notice, errors, values)


def notice_values(notice: Notice) -> dict[str, str]:
    """A notice as form values: what an amendment form starts from."""

    def text(value: object) -> str:
        return "" if value is None else str(value)

    values = {
        "title": notice.title,
        "description": notice.description,
        "amount": text(notice.amount),
        "currency": notice.currency,
        "award_date": text(notice.award_date),
        "method": str(notice.method),
        "justification": notice.justification,
        "contract_amount": text(notice.contract_amount),
        "contract_signed": text(notice.contract_signed),
        "contract_start": text(notice.contract_start),
        "contract_end": text(notice.contract_end),
    }
    for n, supplier in enumerate(notice.suppliers[:SUPPLIER_ROWS], start=1):
        values |= {f"supplier_name_{n}": supplier.name, f"supplier_scheme_{n}": supplier.scheme}
        values[f"supplier_id_{n}"] = supplier.identifier
    for n, document in enumerate(notice.documents[:DOCUMENT_ROWS], start=1):
        values |= {f"document_title_{n}": document.title, f"document_url_{n}": document.url}
    return values


def optional_int(text: str | None) -> int | None:
    try:
        return int(text) if text not in (None, "") else None
    except ValueError:
        return -1  # a value that names nothing: refused as another department's
