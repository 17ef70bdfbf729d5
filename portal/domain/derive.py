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
from portal.vocabulary import PartyRole, ValueBasis

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


@dataclass
class Versions:
    """Per ocid, the most recently loaded version of each release, and how many releases were republished."""

    releases: dict[str, list[tuple[int, datetime | None, dict]]]  # ocid -> [(row id, date, release)]
    conflicts: dict[str, int]


def current_releases(session: Session, ocids: list[str], known: dict[str, dict] | None = None) -> Versions:
    """Read what compiling these ocids needs. `known` maps checksums to releases the caller already holds
    parsed (those it has just stored), so that only the others are read back and parsed."""
    known = known or {}
    latest: dict[tuple[str, str], tuple[int, datetime | None, str]] = {}
    versions: dict[tuple[str, str], int] = defaultdict(int)
    query = select(Release.id, Release.ocid, Release.release_id, Release.date, Release.checksum)
    for row_id, ocid, release_id, date, digest in session.execute(query.where(Release.ocid.in_(ocids))):
        versions[(ocid, release_id)] += 1
        kept = latest.get((ocid, release_id))
        if kept is None or row_id > kept[0]:
            latest[(ocid, release_id)] = (row_id, date, digest)
    unknown = [row_id for row_id, _, digest in latest.values() if digest not in known]
    texts: dict[int, str] = {}
    for chunk in _chunks(unknown, 500):
        texts.update((i, d) for i, d in session.execute(select(Release.id, Release.data).where(Release.id.in_(chunk))))
    releases: dict[str, list] = defaultdict(list)
    for (ocid, _), (row_id, date, digest) in latest.items():
        release = known[digest] if digest in known else json.loads(texts[row_id])
        releases[ocid].append((row_id, date, release))
    conflicts: dict[str, int] = defaultdict(int)
    for (ocid, _), n in versions.items():
        if n > 1:
            conflicts[ocid] += 1
    return Versions(releases, conflicts)


PartyKey = tuple[str, str, str | None, str | None]  # key, name, scheme, identifier


def party_key(org: dict, lookup: dict[str, dict]) -> PartyKey | None:
    """Parties are keyed per publisher by identifier where one is given, else by normalised name."""
    full = lookup.get(org.get("id")) if isinstance(org.get("id"), str) else None
    identifier = (full or {}).get("identifier") or org.get("identifier") or {}
    name = _text(org.get("name")) or _text((full or {}).get("name"))
    scheme = _text(identifier.get("scheme")) if isinstance(identifier, dict) else None
    ident = identifier.get("id") if isinstance(identifier, dict) else None
    ident = str(ident).strip()[:200] if ident not in (None, "") else None
    if ident:
        return f"id:{scheme or ''}/{ident}", name or ident, scheme, ident
    if name:
        return f"name:{normalise_name(name)}", name, None, None
    return None


def _chunks(seq: list, size: int) -> Iterable[list]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


def _organisations(compiled: dict) -> list[tuple[str, dict]]:
    """(role, organisation) pairs in both OCDS 1.1 (`parties` with roles) and 1.0 (inline objects) forms."""
    found: list[tuple[str, dict]] = []
    for party in _dicts(compiled.get("parties")):
        for role in party.get("roles") or []:
            if role in set(PartyRole):
                found.append((role, party))
    if isinstance(compiled.get("buyer"), dict):
        found.append((PartyRole.BUYER, compiled["buyer"]))
    tender = compiled.get("tender") if isinstance(compiled.get("tender"), dict) else {}
    if isinstance(tender.get("procuringEntity"), dict):
        found.append((PartyRole.PROCURING_ENTITY, tender["procuringEntity"]))
    found.extend(("tenderer", org) for org in _dicts(tender.get("tenderers")))
    for award in _dicts(compiled.get("awards")):
        found.extend((PartyRole.SUPPLIER, org) for org in _dicts(award.get("suppliers")))
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
    contracts: list[dict], awards: list[dict], tender: dict | None
) -> tuple[Decimal | None, str | None, ValueBasis | None]:
    """Sum of committed contracts, else of committed awards, else the tender's value; never across currencies."""
    candidates = (
        (ValueBasis.CONTRACTS, [c for c in contracts if c["status"] not in NOT_COMMITTED]),
        (ValueBasis.AWARDS, [a for a in awards if a["status"] not in NOT_COMMITTED]),
        (ValueBasis.TENDER, [tender] if tender is not None else []),
    )
    for basis, rows in candidates:
        values = [(r["value_amount"], r["value_currency"]) for r in rows if r["value_amount"] is not None]
        if not values:
            continue
        currencies = {currency for _, currency in values}
        if len(currencies) > 1:
            return None, None, ValueBasis.MIXED_CURRENCIES
        return sum((amount for amount, _ in values), Decimal(0)), currencies.pop(), basis
    return None, None, None


def _items(parent: str, parent_id: str | None, block: dict) -> list[dict]:
    rows = []
    for item in _dicts(block.get("items")):
        classification = item.get("classification") if isinstance(item.get("classification"), dict) else {}
        unit = item.get("unit") if isinstance(item.get("unit"), dict) else {}
        rows.append(
            {
                "parent": parent,
                "parent_id": parent_id,
                "item_id": _id(item),
                "description": _text(item.get("description")),
                "classification_scheme": _text(classification.get("scheme")),
                "classification_id": _id(classification),
                "classification_description": _text(classification.get("description")),
                "quantity": parse_amount(item.get("quantity")),
                "unit": _text(unit.get("name")),
            }
        )
    return rows


def _amendments(parent: str, parent_id: str | None, block: dict, date_of) -> list[dict]:  # type: ignore[no-untyped-def]
    entries = _dicts(block.get("amendments"))
    if isinstance(block.get("amendment"), dict):  # OCDS 1.0 had a single amendment object
        entries.append(block["amendment"])
    return [
        {
            "parent": parent,
            "parent_id": parent_id,
            "amendment_id": _id(entry),
            "date": date_of(entry.get("date")),
            "rationale": _text(entry.get("rationale")),
            "description": _text(entry.get("description")),
        }
        for entry in entries
    ]


def _id(block: dict, key: str = "id") -> str | None:
    value = block.get(key)
    return str(value)[:200] if value not in (None, "") else None


@dataclass
class Derived:
    """The rows one compiled release gives, with parties named by key until their ids are known."""

    fields: dict
    buyer: str | None
    roles: set[tuple[str, str]]  # (party key, role)
    parties: dict[str, PartyKey]
    tender: dict | None
    awards: list[tuple[dict, list[tuple[str, str]]]]  # (award row, [(party key, name as published)])
    contracts: list[dict]
    items: list[dict]
    amendments: list[dict]
    notes: list[str]


def derive(compiled: dict) -> Derived:
    """Everything the pages and the index read about a process, taken from its compiled release."""
    notes: list[str] = []
    lookup = {p["id"]: p for p in _dicts(compiled.get("parties")) if isinstance(p.get("id"), str)}
    tender_data = compiled.get("tender") if isinstance(compiled.get("tender"), dict) else {}

    def date_of(value: object) -> datetime | None:
        parsed, note = parse_date(value)
        if note:
            notes.append(note)
        return parsed

    parties: dict[str, PartyKey] = {}
    roles: set[tuple[str, str]] = set()
    buyer = None
    for role, org in _organisations(compiled):
        if key := party_key(org, lookup):
            parties.setdefault(key[0], key)
            roles.add((key[0], role))
            if role == PartyRole.BUYER:
                buyer = key[0]

    tender = None
    items, amendments = [], []
    if tender_data:
        amount, currency = money(tender_data.get("value"))
        period = tender_data.get("tenderPeriod") if isinstance(tender_data.get("tenderPeriod"), dict) else {}
        tender = {
            "tender_id": _id(tender_data),
            "title": _text(tender_data.get("title")),
            "description": _text(tender_data.get("description")),
            "status": _text(tender_data.get("status")),
            "procurement_method": _text(tender_data.get("procurementMethod")),
            "main_category": _text(tender_data.get("mainProcurementCategory")),
            "value_amount": amount,
            "value_currency": currency,
            "period_start": date_of(period.get("startDate")),
            "period_end": date_of(period.get("endDate")),
        }
        items += _items("tender", tender["tender_id"], tender_data)
        amendments += _amendments("tender", tender["tender_id"], tender_data, date_of)

    awards = []
    for data in _dicts(compiled.get("awards")):
        amount, currency = money(data.get("value"))
        award = {
            "award_id": _id(data),
            "title": _text(data.get("title")),
            "status": _text(data.get("status")),
            "date": date_of(data.get("date")),
            "value_amount": amount,
            "value_currency": currency,
        }
        suppliers: dict[str, str] = {}
        for org in _dicts(data.get("suppliers")):
            if key := party_key(org, lookup):
                parties.setdefault(key[0], key)
                suppliers.setdefault(key[0], key[1])
        awards.append((award, list(suppliers.items())))
        items += _items("award", award["award_id"], data)
        amendments += _amendments("award", award["award_id"], data, date_of)

    contracts = []
    for data in _dicts(compiled.get("contracts")):
        amount, currency = money(data.get("value"))
        period = data.get("period") if isinstance(data.get("period"), dict) else {}
        contract = {
            "contract_id": _id(data),
            "award_id": _id(data, "awardID"),
            "title": _text(data.get("title")),
            "status": _text(data.get("status")),
            "value_amount": amount,
            "value_currency": currency,
            "date_signed": date_of(data.get("dateSigned")),
            "period_start": date_of(period.get("startDate")),
            "period_end": date_of(period.get("endDate")),
        }
        contracts.append(contract)
        items += _items("contract", contract["contract_id"], data)
        amendments += _amendments("contract", contract["contract_id"], data, date_of)

    title, description = _title_and_description(compiled, tender_data)
    value, currency, basis = headline_value(contracts, [a for a, _ in awards], tender)
    fields = {
        "title": title,
        "description": description,
        "status": tender["status"] if tender else None,
        "procurement_method": tender["procurement_method"] if tender else None,
        "value_amount": value,
        "value_currency": currency,
        "value_basis": basis,
    }
    return Derived(fields, buyer, roles, parties, tender, awards, contracts, items, amendments, notes)


def _delete_children(session: Session, process_ids: list[int]) -> None:
    award_ids = select(Award.id).where(Award.process_id.in_(process_ids))
    session.execute(delete(AwardSupplier).where(AwardSupplier.award_id.in_(award_ids)))
    for model in (Award, Contract, Amendment, Item, ProcessParty, Tender):
        session.execute(delete(model).where(model.process_id.in_(process_ids)))


def _party_ids(session: Session, wanted: dict[tuple[str, str], PartyKey]) -> dict[tuple[str, str], int]:
    """Ids for (publisher, key) pairs, creating the parties not seen before and keeping the latest spelling."""
    found: dict[tuple[str, str], tuple[int, str]] = {}
    # Constrained on publisher and key, so that the unique index on (publisher, key) answers: by key alone,
    # every chunk of processes scanned the whole party table. A batch has one publisher or very few.
    publishers = sorted({publisher for publisher, _ in wanted})
    query = select(Party.id, Party.publisher, Party.key, Party.name)
    for chunk in _chunks(sorted({key for _, key in wanted}), 500):
        rows = session.execute(query.where(Party.publisher.in_(publishers), Party.key.in_(chunk)))
        for party_id, publisher, key, name in rows:
            if (publisher, key) in wanted:
                found[(publisher, key)] = (party_id, name)
    renamed = [{"id": found[k][0], "name": wanted[k][1]} for k in wanted if k in found and found[k][1] != wanted[k][1]]
    if renamed:
        session.execute(update(Party), renamed)  # bulk UPDATE by primary key
    missing = [k for k in wanted if k not in found]
    ids = {k: value[0] for k, value in found.items()}
    if missing:
        rows = [
            {
                "publisher": k[0],
                "key": k[1][:400],
                "name": wanted[k][1],
                "scheme": wanted[k][2],
                "identifier": wanted[k][3],
            }
            for k in missing
        ]
        statement = insert(Party.__table__).returning(Party.__table__.c.id, sort_by_parameter_order=True)
        created = session.execute(statement, rows).scalars()
        ids.update(zip(missing, created, strict=True))
    return ids


@dataclass
class Compiled:
    """One process compiled: its record's JSON and checksum, and its derived rows unless the record is unchanged."""

    ocid: str
    text: str | None = None
    digest: str | None = None
    derived: Derived | None = None
    error: str | None = None


def compile_one(job: tuple[str, list[dict], str | None]) -> Compiled:
    """Merge one process's releases (already in order) and derive its rows.

    Pure: no session, no shared state. `job` is (ocid, releases, checksum of the current compiled record or None).
    """
    ocid, releases, previous = job
    try:
        compiled = compile_releases([release_content(release) for release in releases])
    except (OCDSMergeError, ValueError, TypeError) as error:
        return Compiled(ocid, error=f"could not compile: {error}")
    text = canonical_json(compiled)
    digest = checksum(text)
    if digest == previous:
        return Compiled(ocid, digest=digest)
    return Compiled(ocid, text, digest, derive(compiled))


def compile_processes(session: Session, ocids: Iterable[str], known: dict[str, dict] | None = None) -> CompileReport:
    """Recompile these processes from their stored releases and queue the changed ones for the search index.

    A process whose compiled record comes out the same is left untouched, which is what makes re-ingesting a
    file a no-op. A process the merge rules cannot compile keeps its previous record and is reported. Rows are
    written in bulk, a few statements per table for each chunk of processes. `known`: see current_releases.
    """
    report = CompileReport()
    for chunk in _chunks(sorted(set(ocids)), 500):
        versions = current_releases(session, chunk, known)
        existing, checksums = {}, {}
        for ocid, process_id, digest in session.execute(
            select(Process.ocid, Process.id, Process.compiled_checksum).where(Process.ocid.in_(chunk))
        ):
            existing[ocid], checksums[ocid] = process_id, digest
        ordered = {
            ocid: sorted(versions.releases[ocid], key=lambda v: (v[1] or EARLIEST, v[0]))
            for ocid in chunk
            if versions.releases.get(ocid)
        }
        jobs = [
            (ocid, [release for _, _, release in releases], checksums.get(ocid)) for ocid, releases in ordered.items()
        ]
        now = datetime.now(timezone.utc)
        changed: dict[str, tuple[dict, Derived]] = {}
        recount = []
        for result in map(compile_one, jobs):
            ocid = result.ocid
            if result.error:
                report.notes.append({"where": ocid, "note": result.error})
                continue
            conflicts = versions.conflicts.get(ocid, 0)
            if result.derived is None:
                recount.append({"id": existing[ocid], "conflict_count": conflicts})
                continue
            dates = [date for _, date, _ in ordered[ocid] if date is not None]
            row = {
                "ocid": ocid,
                "publisher": publisher_of(ocid),
                "compiled": result.text,
                "compiled_checksum": result.digest,
                "first_date": min(dates) if dates else None,
                "last_date": max(dates) if dates else None,
                "release_count": len(ordered[ocid]),
                "conflict_count": conflicts,
                "compiled_at": now,
                **result.derived.fields,
            }
            changed[ocid] = (row, result.derived)
            report.notes.extend({"where": ocid, "note": n} for n in dict.fromkeys(result.derived.notes))
        if recount:
            session.execute(update(Process), recount)
        if not changed:
            continue
        _write(session, existing, changed)
        report.changed.extend(changed)
        queue_for_index(session, list(changed))
    return report


def _write(session: Session, existing: dict[str, int], changed: dict[str, tuple[dict, Derived]]) -> None:
    wanted = {
        (publisher_of(ocid), key): party
        for ocid, (_, derived) in changed.items()
        for key, party in derived.parties.items()
    }
    party_ids = _party_ids(session, wanted)
    for ocid, (row, derived) in changed.items():
        row["buyer_id"] = party_ids[(publisher_of(ocid), derived.buyer)] if derived.buyer else None

    stale = [existing[ocid] for ocid in changed if ocid in existing]
    if stale:
        _delete_children(session, stale)
        session.execute(
            update(Process), [{"id": existing[ocid], **row} for ocid, (row, _) in changed.items() if ocid in existing]
        )
    fresh = [ocid for ocid in changed if ocid not in existing]
    if fresh:
        statement = insert(Process.__table__).returning(Process.__table__.c.id, sort_by_parameter_order=True)
        ids = session.execute(statement, [changed[ocid][0] for ocid in fresh]).scalars()
        existing = {**existing, **dict(zip(fresh, ids, strict=True))}

    tenders, awards, suppliers, contracts, items, amendments, roles = [], [], [], [], [], [], []
    for ocid, (_, derived) in changed.items():
        process_id, publisher = existing[ocid], publisher_of(ocid)
        if derived.tender:
            tenders.append({"process_id": process_id, **derived.tender})
        for award, award_suppliers in derived.awards:
            awards.append({"process_id": process_id, **award})
            suppliers.append([(party_ids[(publisher, key)], name) for key, name in award_suppliers])
        contracts += [{"process_id": process_id, **c} for c in derived.contracts]
        items += [{"process_id": process_id, **i} for i in derived.items]
        amendments += [{"process_id": process_id, **a} for a in derived.amendments]
        roles += [
            {"process_id": process_id, "party_id": party_ids[(publisher, key)], "role": role}
            for key, role in sorted(derived.roles)
        ]
    if awards:
        statement = insert(Award.__table__).returning(Award.__table__.c.id, sort_by_parameter_order=True)
        award_ids = session.execute(statement, awards).scalars()
        links = [
            {"award_id": award_id, "party_id": party_id, "name": name}
            for award_id, award_suppliers in zip(award_ids, suppliers, strict=True)
            for party_id, name in award_suppliers
        ]
        if links:
            session.execute(insert(AwardSupplier.__table__), links)
    for model, rows in ((Tender, tenders), (Contract, contracts), (Item, items), (Amendment, amendments)):
        if rows:
            session.execute(insert(model.__table__), rows)
    if roles:
        session.execute(
            insert(ProcessParty.__table__),
            list({(r["party_id"], r["role"], r["process_id"]): r for r in roles}.values()),
        )


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
        session.execute(insert(IndexQueue.__table__), fresh)
