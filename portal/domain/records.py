"""Compiling processes: merge each ocid's releases into our record and derive the rows pages and search read.

Everything written here is derived from the stored releases, so recompiling is always safe and gives the same
rows for the same releases.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal

from ocdsmerge.exceptions import OCDSMergeError
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from portal.domain.ocds import (
    canonical_json,
    checksum,
    compile_releases,
    money,
    normalise_name,
    parse_amount,
    parse_date,
    publisher_of,
    release_content,
)
from portal.models import (
    Amendment,
    Award,
    AwardSupplier,
    Contract,
    IndexQueue,
    Item,
    Party,
    Process,
    ProcessParty,
    Release,
    Tender,
)

EARLIEST = datetime.min.replace(tzinfo=timezone.utc)
# Statuses that do not commit money: such awards and contracts are left out of a process's headline value.
NOT_COMMITTED = {"pending", "cancelled", "unsuccessful"}
TITLE_LENGTH = 160  # a title made from a description is cut here


@dataclass
class CompileReport:
    changed: list[str] = field(default_factory=list)  # ocids whose compiled record changed
    notes: list[dict] = field(default_factory=list)  # {"where": ocid, "note": ...}


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _dicts(value: object) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def current_releases(session: Session, ocids: Iterable[str]) -> dict[str, list[tuple[int, str, datetime | None, str]]]:
    """Per ocid, the most recently loaded version of each release: (row id, release id, date, JSON)."""
    latest: dict[tuple[str, str], tuple] = {}
    rows = session.execute(
        select(Release.id, Release.ocid, Release.release_id, Release.date, Release.data).where(
            Release.ocid.in_(list(ocids))
        )
    )
    for row_id, ocid, release_id, date, data in rows:
        kept = latest.get((ocid, release_id))
        if kept is None or row_id > kept[0]:
            latest[(ocid, release_id)] = (row_id, release_id, date, data)
    by_ocid: dict[str, list] = defaultdict(list)
    for (ocid, _), version in latest.items():
        by_ocid[ocid].append(version)
    return by_ocid


class _Parties:
    """Get-or-create parties for one batch, keyed per publisher by identifier, else by normalised name."""

    def __init__(self, session: Session):
        self.session = session
        self.cache: dict[tuple[str, str], Party] = {}

    @staticmethod
    def key(org: dict, lookup: dict[str, dict]) -> tuple[str, str, str | None, str | None] | None:
        full = lookup.get(org.get("id")) if isinstance(org.get("id"), str) else None
        identifier = (full or {}).get("identifier") or org.get("identifier") or {}
        name = _text(org.get("name")) or _text((full or {}).get("name"))
        scheme = _text(identifier.get("scheme")) if isinstance(identifier, dict) else None
        ident = identifier.get("id") if isinstance(identifier, dict) else None
        ident = str(ident).strip() if ident not in (None, "") else None
        if ident:
            return f"id:{scheme or ''}/{ident}", name or ident, scheme, ident
        if name:
            return f"name:{normalise_name(name)}", name, None, None
        return None

    def preload(self, publisher_keys: set[tuple[str, str]]) -> None:
        keys = {key for _, key in publisher_keys if (_, key) not in self.cache}
        for chunk in _chunks(sorted(keys), 500):
            for party in self.session.scalars(select(Party).where(Party.key.in_(chunk))):
                self.cache[(party.publisher, party.key)] = party

    def get(self, publisher: str, key: str, name: str, scheme: str | None, ident: str | None) -> Party:
        party = self.cache.get((publisher, key))
        if party is None:
            party = Party(publisher=publisher, key=key[:400], name=name, scheme=scheme, identifier=ident)
            self.session.add(party)
            self.cache[(publisher, key)] = party
        elif party.name != name:
            party.name = name  # the latest spelling; older ones stay on each award
        return party


def _chunks(seq: list, size: int) -> Iterable[list]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


def _organisations(compiled: dict) -> list[tuple[str, dict]]:
    """(role, organisation) pairs in both OCDS 1.1 (`parties` with roles) and 1.0 (inline objects) forms."""
    found: list[tuple[str, dict]] = []
    for party in _dicts(compiled.get("parties")):
        for role in party.get("roles") or []:
            if role in ("buyer", "supplier", "procuringEntity", "tenderer", "payer", "payee"):
                found.append((role, party))
    if isinstance(compiled.get("buyer"), dict):
        found.append(("buyer", compiled["buyer"]))
    tender = compiled.get("tender") if isinstance(compiled.get("tender"), dict) else {}
    if isinstance(tender.get("procuringEntity"), dict):
        found.append(("procuringEntity", tender["procuringEntity"]))
    found.extend(("tenderer", org) for org in _dicts(tender.get("tenderers")))
    for award in _dicts(compiled.get("awards")):
        found.extend(("supplier", org) for org in _dicts(award.get("suppliers")))
    return found


def _title_and_description(compiled: dict, tender: dict) -> tuple[str | None, str | None]:
    awards, contracts = _dicts(compiled.get("awards")), _dicts(compiled.get("contracts"))
    blocks = [tender, *awards, *contracts]
    title = next((t for b in blocks if (t := _text(b.get("title")))), None)
    description = next((d for b in blocks if (d := _text(b.get("description")))), None)
    if description is None:
        items = [i for b in blocks for i in _dicts(b.get("items"))]
        description = " ".join(d for i in items if (d := _text(i.get("description")))) or None
    if title is None and description:
        description = " ".join(description.split())
        # Montréal publishes no titles: the description's opening words are what a reader would call it.
        title = description if len(description) <= TITLE_LENGTH else description[: TITLE_LENGTH - 1] + "…"
    return title, description


def headline_value(
    contracts: list[Contract], awards: list[Award], tender: Tender | None
) -> tuple[Decimal | None, str | None, str | None]:
    """Sum of committed contracts, else of committed awards, else the tender's value; never across currencies."""
    candidates = (
        ("contracts", [c for c in contracts if c.status not in NOT_COMMITTED]),
        ("awards", [a for a in awards if a.status not in NOT_COMMITTED]),
        ("tender", [tender] if tender is not None else []),
    )
    for basis, rows in candidates:
        values = [(r.value_amount, r.value_currency) for r in rows if r.value_amount is not None]
        if not values:
            continue
        currencies = {currency for _, currency in values}
        if len(currencies) > 1:
            return None, None, "mixed currencies"
        return sum((amount for amount, _ in values), Decimal(0)), currencies.pop(), basis
    return None, None, None


def _items(process_id: int, parent: str, parent_id: str | None, block: dict) -> list[dict]:
    rows = []
    for item in _dicts(block.get("items")):
        classification = item.get("classification") if isinstance(item.get("classification"), dict) else {}
        unit = item.get("unit") if isinstance(item.get("unit"), dict) else {}
        rows.append(
            {
                "process_id": process_id,
                "parent": parent,
                "parent_id": parent_id,
                "item_id": _text(str(item["id"])) if item.get("id") not in (None, "") else None,
                "description": _text(item.get("description")),
                "classification_scheme": _text(classification.get("scheme")),
                "classification_id": _text(str(classification.get("id") or "")),
                "classification_description": _text(classification.get("description")),
                "quantity": parse_amount(item.get("quantity")),
                "unit": _text(unit.get("name")),
            }
        )
    return rows


def _amendments(process_id: int, parent: str, parent_id: str | None, block: dict, notes: list) -> list[dict]:
    entries = _dicts(block.get("amendments"))
    if isinstance(block.get("amendment"), dict):  # OCDS 1.0 had a single amendment object
        entries.append(block["amendment"])
    rows = []
    for entry in entries:
        date, note = parse_date(entry.get("date"))
        if note:
            notes.append(note)
        rows.append(
            {
                "process_id": process_id,
                "parent": parent,
                "parent_id": parent_id,
                "amendment_id": _text(str(entry.get("id") or "")),
                "date": date,
                "rationale": _text(entry.get("rationale")),
                "description": _text(entry.get("description")),
            }
        )
    return rows


def _id(block: dict, key: str = "id") -> str | None:
    value = block.get(key)
    return str(value) if value not in (None, "") else None


def _write_children(session: Session, process: Process, compiled: dict, parties: _Parties, notes: list) -> None:
    """Rebuild the derived rows of one process from its compiled release."""
    publisher = process.publisher
    lookup = {p["id"]: p for p in _dicts(compiled.get("parties")) if isinstance(p.get("id"), str)}
    tender_data = compiled.get("tender") if isinstance(compiled.get("tender"), dict) else {}

    def date_of(value: object) -> datetime | None:
        parsed, note = parse_date(value)
        if note:
            notes.append(note)
        return parsed

    tender = None
    if tender_data:
        amount, currency = money(tender_data.get("value"))
        period = tender_data.get("tenderPeriod") if isinstance(tender_data.get("tenderPeriod"), dict) else {}
        tender = Tender(
            process_id=process.id,
            tender_id=_id(tender_data),
            title=_text(tender_data.get("title")),
            description=_text(tender_data.get("description")),
            status=_text(tender_data.get("status")),
            procurement_method=_text(tender_data.get("procurementMethod")),
            main_category=_text(tender_data.get("mainProcurementCategory")),
            value_amount=amount,
            value_currency=currency,
            period_start=date_of(period.get("startDate")),
            period_end=date_of(period.get("endDate")),
        )
        session.add(tender)

    roles: set[tuple[int, str]] = set()
    resolved = [(role, org, _Parties.key(org, lookup)) for role, org in _organisations(compiled)]
    buyer = None
    for role, _, key in resolved:
        if key:
            party = parties.get(publisher, *key)
            if party.id is None:
                session.flush()
            roles.add((party.id, role))
            if role == "buyer":
                buyer = party

    awards = []
    items = _items(process.id, "tender", _id(tender_data), tender_data) if tender_data else []
    amendments = _amendments(process.id, "tender", _id(tender_data), tender_data, notes) if tender_data else []
    for data in _dicts(compiled.get("awards")):
        amount, currency = money(data.get("value"))
        award = Award(
            process_id=process.id,
            award_id=_id(data),
            title=_text(data.get("title")),
            status=_text(data.get("status")),
            date=date_of(data.get("date")),
            value_amount=amount,
            value_currency=currency,
        )
        seen: set[int] = set()
        for org in _dicts(data.get("suppliers")):
            key = _Parties.key(org, lookup)
            if key:
                party = parties.get(publisher, *key)
                if party.id is None:
                    session.flush()
                if party.id not in seen:
                    seen.add(party.id)
                    award.suppliers.append(AwardSupplier(party_id=party.id, name=key[1]))
        awards.append(award)
        items += _items(process.id, "award", award.award_id, data)
        amendments += _amendments(process.id, "award", award.award_id, data, notes)

    contracts = []
    for data in _dicts(compiled.get("contracts")):
        amount, currency = money(data.get("value"))
        period = data.get("period") if isinstance(data.get("period"), dict) else {}
        contract = Contract(
            process_id=process.id,
            contract_id=_id(data),
            award_id=_id(data, "awardID"),
            title=_text(data.get("title")),
            status=_text(data.get("status")),
            value_amount=amount,
            value_currency=currency,
            date_signed=date_of(data.get("dateSigned")),
            period_start=date_of(period.get("startDate")),
            period_end=date_of(period.get("endDate")),
        )
        contracts.append(contract)
        items += _items(process.id, "contract", contract.contract_id, data)
        amendments += _amendments(process.id, "contract", contract.contract_id, data, notes)

    session.add_all(awards + contracts)
    if items:
        session.execute(insert(Item), items)
    if amendments:
        session.execute(insert(Amendment), amendments)
    if roles:
        session.execute(
            insert(ProcessParty), [{"process_id": process.id, "party_id": p, "role": r} for p, r in sorted(roles)]
        )

    process.title, process.description = _title_and_description(compiled, tender_data)
    process.buyer_id = buyer.id if buyer else None
    process.status = tender.status if tender else None
    process.procurement_method = tender.procurement_method if tender else None
    process.value_amount, process.value_currency, process.value_basis = headline_value(contracts, awards, tender)


def _delete_children(session: Session, process_ids: list[int]) -> None:
    award_ids = select(Award.id).where(Award.process_id.in_(process_ids))
    session.execute(delete(AwardSupplier).where(AwardSupplier.award_id.in_(award_ids)))
    for model in (Award, Contract, Amendment, Item, ProcessParty, Tender):
        session.execute(delete(model).where(model.process_id.in_(process_ids)))


def compile_processes(session: Session, ocids: Iterable[str]) -> CompileReport:
    """Recompile these processes from their stored releases and queue the changed ones for the search index.

    A process whose compiled record comes out the same is left untouched, which is what makes re-ingesting a
    file a no-op. A process the merge rules cannot compile keeps its previous record and is reported.
    """
    report = CompileReport()
    ocids = sorted(set(ocids))
    parties = _Parties(session)
    for chunk in _chunks(ocids, 500):
        versions = current_releases(session, chunk)
        existing = {p.ocid: p for p in session.scalars(select(Process).where(Process.ocid.in_(chunk)))}
        conflicts = _conflict_counts(session, chunk)
        compiled_by_ocid = {}
        for ocid in chunk:
            releases = sorted(versions.get(ocid, []), key=lambda v: (v[2] or EARLIEST, v[0]))
            if not releases:
                continue
            try:
                compiled = compile_releases([release_content(json.loads(data)) for _, _, _, data in releases])
            except (OCDSMergeError, ValueError, TypeError) as error:
                report.notes.append({"where": ocid, "note": f"could not compile: {error}"})
                continue
            text = canonical_json(compiled)
            digest = checksum(text)
            process = existing.get(ocid)
            if process is not None and process.compiled_checksum == digest:
                if process.conflict_count != conflicts.get(ocid, 0):
                    process.conflict_count = conflicts.get(ocid, 0)
                continue
            compiled_by_ocid[ocid] = (compiled, text, digest, releases)

        stale = [existing[o].id for o in compiled_by_ocid if o in existing]
        if stale:
            _delete_children(session, stale)
        keys = set()
        for ocid, (compiled, *_rest) in compiled_by_ocid.items():
            lookup = {p["id"]: p for p in _dicts(compiled.get("parties")) if isinstance(p.get("id"), str)}
            for _, org in _organisations(compiled):
                if key := _Parties.key(org, lookup):
                    keys.add((publisher_of(ocid), key[0]))
        parties.preload(keys)

        for ocid, (compiled, text, digest, releases) in compiled_by_ocid.items():
            process = existing.get(ocid) or Process(ocid=ocid, publisher=publisher_of(ocid))
            dates = [v[2] for v in releases if v[2] is not None]
            process.compiled, process.compiled_checksum = text, digest
            process.first_date, process.last_date = (min(dates), max(dates)) if dates else (None, None)
            process.release_count = len(releases)
            process.conflict_count = conflicts.get(ocid, 0)
            process.compiled_at = datetime.now(timezone.utc)
            if process.id is None:
                session.add(process)
                session.flush()
            notes: list[str] = []
            _write_children(session, process, compiled, parties, notes)
            report.notes.extend({"where": ocid, "note": n} for n in dict.fromkeys(notes))
            report.changed.append(ocid)
        session.flush()
        queue_for_index(session, list(compiled_by_ocid))
    return report


def _conflict_counts(session: Session, ocids: list[str]) -> dict[str, int]:
    """Per ocid, how many release ids were published in more than one version."""
    versions: dict[tuple[str, str], int] = defaultdict(int)
    for ocid, release_id in session.execute(select(Release.ocid, Release.release_id).where(Release.ocid.in_(ocids))):
        versions[(ocid, release_id)] += 1
    counts: dict[str, int] = defaultdict(int)
    for (ocid, _), n in versions.items():
        if n > 1:
            counts[ocid] += 1
    return counts


def queue_for_index(session: Session, ocids: list[str]) -> None:
    """Record that these processes need (re)indexing."""
    if not ocids:
        return
    now = datetime.now(timezone.utc)
    queued = set(session.scalars(select(IndexQueue.ocid).where(IndexQueue.ocid.in_(ocids))))
    if queued:
        # A new timestamp tells an indexer already working on the old entry to leave this one queued.
        session.execute(update(IndexQueue).where(IndexQueue.ocid.in_(queued)).values(queued_at=now))
    fresh = [{"ocid": o, "queued_at": now} for o in ocids if o not in queued]
    if fresh:
        session.execute(insert(IndexQueue), fresh)
