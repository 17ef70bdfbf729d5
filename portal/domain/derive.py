"""From a compiled release to the rows the pages and the index read: pure mapping, no database.

Every value is read as published (statuses, ids and names kept whole), with a data-quality note where something
had to be assumed or could not be read.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from portal.domain.headline import Headline, headline_value
from portal.domain.ocds import ARRAYS_OF_ENTRIES, check_key, entries, filled, normalise_name, read_date, read_money
from portal.models import KEY_LENGTH
from portal.vocabulary import Block, PartyRole

TITLE_LENGTH = 160  # a title made from a description is cut here
PARTY_KEY_LENGTH = 400  # a longer party key is replaced by its digest (the column is indexed on every database)
LANGUAGE_SUFFIX = re.compile(r"^(?P<field>[a-zA-Z]+)_(?P<lang>[a-zA-Z]{2,3}(?:[-_][a-zA-Z0-9]{2,8})*)$")

PartyKey = tuple[str, str, str | None, str | None]  # key, name, scheme, identifier
ROLES = frozenset(PartyRole)


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _dicts(value: object) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _id(block: dict, key: str = "id") -> str | None:
    value = block.get(key)
    return str(value) if value not in (None, "") else None


def translated(block: dict, name: str) -> tuple[str | None, str | None]:
    """The field as published, else its first translation (`title_en`, `title_fr`, … the OCDS `field_lang`
    convention): (text, language), language None for the base field."""
    base = _text(block.get(name))
    if base is not None:
        return base, None
    prefix = f"{name}_"
    for key in sorted(k for k in block if k.startswith(prefix)):
        match = LANGUAGE_SUFFIX.match(key)
        if match and match["field"] == name and (text := _text(block[key])) is not None:
            return text, match["lang"]
    return None, None


def party_key(org: dict, lookup: dict[str, dict]) -> PartyKey | None:
    """Parties are keyed per publisher by identifier where one is given, else by normalised name."""
    reference = org.get("id")
    full = lookup.get(reference) if isinstance(reference, str) else None
    identifier = _dict((full or {}).get("identifier")) or _dict(org.get("identifier"))
    name = translated(org, "name")[0] or (translated(full, "name")[0] if full else None)
    scheme = _text(identifier.get("scheme"))
    ident = identifier.get("id")
    ident = check_key("party identifier", str(ident).strip(), KEY_LENGTH) if ident not in (None, "") else None
    if ident:
        key = f"id:{scheme or ''}/{ident}"
        shown = name or ident
    elif name:
        key, shown = f"name:{normalise_name(name)}", name
    else:
        return None
    if len(key) > PARTY_KEY_LENGTH:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key, shown, scheme, ident


def _organisations(compiled: dict) -> list[tuple[str, dict]]:
    """(role, organisation) pairs in both OCDS 1.1 (`parties` with roles) and 1.0 (inline objects) forms."""
    found: list[tuple[str, dict]] = []
    for party in _dicts(compiled.get("parties")):
        roles = party.get("roles")
        for role in roles if isinstance(roles, list) else []:
            if role in ROLES:
                found.append((role, party))
    if isinstance(compiled.get("buyer"), dict):
        found.append((PartyRole.BUYER, compiled["buyer"]))
    tender = _dict(compiled.get("tender"))
    if isinstance(tender.get("procuringEntity"), dict):
        found.append((PartyRole.PROCURING_ENTITY, tender["procuringEntity"]))
    found.extend((PartyRole.TENDERER, org) for org in _dicts(tender.get("tenderers")))
    for award in _dicts(compiled.get("awards")):
        found.extend((PartyRole.SUPPLIER, org) for org in _dicts(award.get("suppliers")))
    return found


def title_and_description(compiled: dict) -> tuple[str | None, str | None, str | None]:
    """The process's title and description, and the language of the title when it came from a translation."""
    tender = _dict(compiled.get("tender"))
    blocks = [tender, *_dicts(compiled.get("awards")), *_dicts(compiled.get("contracts"))]
    title, language = next(((t, lang) for b in blocks for t, lang in [translated(b, "title")] if t), (None, None))
    description = next((d for b in blocks if (d := translated(b, "description")[0])), None)
    if description is None:
        items = [i for b in blocks for i in _dicts(b.get("items"))]
        description = " ".join(d for i in items if (d := translated(i, "description")[0])) or None
    if title is None and description:
        description = " ".join(description.split())
        # Montréal publishes no titles: the description's opening words are what a reader would call it.
        title = description if len(description) <= TITLE_LENGTH else description[: TITLE_LENGTH - 1] + "…"
    return title, description, language


def whole_title(title: str | None, description: str | None) -> str | None:
    """The title as data gives it: a title made from the opening words of the description (cut with "…" for
    pages) is the whole description again, so no export or JSON answer holds a cut title."""
    if title and description and title.endswith("…"):
        whole = " ".join(description.split())
        if whole.startswith(title[:-1]):
            return whole
    return title


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
    documents: list[dict] = field(default_factory=list)
    bids: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    headline: Headline = field(default_factory=Headline)


class _Reader:
    """Reads values into row fields, collecting data-quality notes as it goes."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def date(self, row: dict, name: str, value: object) -> None:
        read = read_date(value)
        if read.note:
            self.notes.append(read.note)
        row[name], row[f"{name}_offset"] = read.utc, read.offset

    def money(self, row: dict, value: object) -> None:
        read = read_money(value)
        self.notes.extend(read.notes)
        row["value_units"], row["value_published"], row["value_currency"] = read.units, read.published, read.currency

    def items(self, parent: Block, parent_id: str | None, block: dict) -> list[dict]:
        rows = []
        for item in _dicts(block.get("items")):
            classification, unit = _dict(item.get("classification")), _dict(item.get("unit"))
            quantity = item.get("quantity")
            rows.append(
                {
                    "parent": parent,
                    "parent_id": parent_id,
                    "item_id": _id(item),
                    "description": translated(item, "description")[0],
                    "classification_scheme": _text(classification.get("scheme")),
                    "classification_id": _id(classification),
                    "classification_description": translated(classification, "description")[0],
                    "quantity": None if quantity is None or isinstance(quantity, (dict, list)) else str(quantity),
                    "unit": translated(unit, "name")[0],
                }
            )
        return rows

    def amendments(self, parent: Block, parent_id: str | None, block: dict) -> list[dict]:
        entries = _dicts(block.get("amendments"))
        if isinstance(block.get("amendment"), dict):  # OCDS 1.0 had a single amendment object
            entries.append(block["amendment"])
        rows = []
        for entry in entries:
            if not filled(entry):
                continue  # an empty amendments entry is not an amendment
            row = {
                "parent": parent,
                "parent_id": parent_id,
                "amendment_id": _id(entry),
                "rationale": translated(entry, "rationale")[0],
                "description": translated(entry, "description")[0],
            }
            self.date(row, "date", entry.get("date"))
            rows.append(row)
        return rows

    def documents(self, parent: Block, parent_id: str | None, block: dict) -> list[dict]:
        rows = []
        for document in _dicts(block.get("documents")):
            row = {
                "parent": parent,
                "parent_id": parent_id,
                "document_id": _id(document),
                "title": translated(document, "title")[0],
                "document_type": _text(document.get("documentType")),
                "url": _text(document.get("url")),
            }
            self.date(row, "date", document.get("datePublished") or document.get("dateModified"))
            rows.append(row)
        return rows


def _count(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _as_arrays(compiled: dict, notes: list[str]) -> dict:
    """`awards`, `contracts` or `parties` published as one object is read as a one-entry array (what a reader
    takes it to mean), with a note; any other value where an array belongs cannot be read, and is noted too."""
    fixed = compiled
    for name in ARRAYS_OF_ENTRIES:
        value = compiled.get(name)
        if name not in compiled or isinstance(value, list):
            continue
        if isinstance(value, dict):
            fixed = fixed if fixed is not compiled else dict(compiled)
            fixed[name] = entries(compiled, name)
            notes.append(f"`{name}` is an object, not an array: read as one entry")
        else:
            notes.append(f"`{name}` is {type(value).__name__}, not an array: its entries cannot be read")
    return fixed


def derive(compiled: dict) -> Derived:
    """Everything the pages and the index read about a process, taken from its compiled release."""
    read = _Reader()
    compiled = _as_arrays(compiled, read.notes)
    lookup = {p["id"]: p for p in _dicts(compiled.get("parties")) if isinstance(p.get("id"), str)}
    tender_data = _dict(compiled.get("tender"))

    parties: dict[str, PartyKey] = {}
    roles: set[tuple[str, str]] = set()
    found: dict[str, str] = {}
    for role, org in _organisations(compiled):
        if key := party_key(org, lookup):
            parties.setdefault(key[0], key)
            roles.add((key[0], role))
            if role in (PartyRole.BUYER, PartyRole.PROCURING_ENTITY):
                found.setdefault(role, key[0])
    # A process without a buyer shows its procuring entity, labelled as such.
    buyer_role = next((r for r in (PartyRole.BUYER, PartyRole.PROCURING_ENTITY) if r in found), None)
    buyer = found.get(buyer_role) if buyer_role else None

    tender = None
    items, amendments, documents, bids = [], [], [], []
    if tender_data:
        tender_id = _id(tender_data)
        tender = {
            "tender_id": tender_id,
            "title": translated(tender_data, "title")[0],
            "description": translated(tender_data, "description")[0],
            "status": _text(tender_data.get("status")),
            "procurement_method": _text(tender_data.get("procurementMethod")),
            "main_category": _text(tender_data.get("mainProcurementCategory")),
            "number_of_tenderers": _count(tender_data.get("numberOfTenderers")),
        }
        if tender["number_of_tenderers"] is None and _dicts(tender_data.get("tenderers")):
            tender["number_of_tenderers"] = len(_dicts(tender_data.get("tenderers")))
        read.money(tender, tender_data.get("value"))
        period = _dict(tender_data.get("tenderPeriod"))
        read.date(tender, "period_start", period.get("startDate"))
        read.date(tender, "period_end", period.get("endDate"))
        items += read.items(Block.TENDER, tender_id, tender_data)
        amendments += read.amendments(Block.TENDER, tender_id, tender_data)
        documents += read.documents(Block.TENDER, tender_id, tender_data)

    awards = []
    for data in _dicts(compiled.get("awards")):
        award = {"award_id": _id(data), "title": translated(data, "title")[0], "status": _text(data.get("status"))}
        read.date(award, "date", data.get("date"))
        read.money(award, data.get("value"))
        suppliers: dict[str, str] = {}
        for org in _dicts(data.get("suppliers")):
            if key := party_key(org, lookup):
                parties.setdefault(key[0], key)
                suppliers.setdefault(key[0], key[1])
                if key[1] == key[3] and not translated(org, "name")[0]:
                    read.notes.append(f"a supplier of award {award['award_id']} has no name: shown by its identifier")
            else:
                reference = f" {org['id']!r}" if org.get("id") not in (None, "") else ""
                read.notes.append(
                    f"a supplier{reference} of award {award['award_id']} has neither a name nor an identifier, "
                    "in the award or in `parties`: not shown"
                )
        awards.append((award, list(suppliers.items())))
        items += read.items(Block.AWARD, award["award_id"], data)
        amendments += read.amendments(Block.AWARD, award["award_id"], data)
        documents += read.documents(Block.AWARD, award["award_id"], data)

    contracts = []
    for data in _dicts(compiled.get("contracts")):
        contract = {
            "contract_id": _id(data),
            "award_id": _id(data, "awardID"),
            "title": translated(data, "title")[0],
            "status": _text(data.get("status")),
        }
        read.money(contract, data.get("value"))
        read.date(contract, "date_signed", data.get("dateSigned"))
        period = _dict(data.get("period"))
        read.date(contract, "period_start", period.get("startDate"))
        read.date(contract, "period_end", period.get("endDate"))
        contracts.append(contract)
        items += read.items(Block.CONTRACT, contract["contract_id"], data)
        amendments += read.amendments(Block.CONTRACT, contract["contract_id"], data)
        documents += read.documents(Block.CONTRACT, contract["contract_id"], data)

    for data in _dicts(_dict(compiled.get("bids")).get("details")):
        bid = {"bid_id": _id(data), "status": _text(data.get("status"))}
        read.date(bid, "date", data.get("date"))
        read.money(bid, data.get("value"))
        names = [n for org in _dicts(data.get("tenderers")) if (n := (party_key(org, lookup) or (None, None))[1])]
        bid["tenderers"] = "; ".join(names) or None
        bids.append(bid)

    title, description, language = title_and_description(compiled)
    headline = headline_value(contracts, [a for a, _ in awards], tender)
    notes = read.notes + headline.notes
    fields = {
        "title": title,
        "description": description,
        "language": language,
        "buyer_role": buyer_role,
        "status": tender["status"] if tender else None,
        "procurement_method": tender["procurement_method"] if tender else None,
        "value_units": headline.units,
        "value_currency": headline.currency,
        "value_basis": headline.basis,
        "value_statuses": ", ".join(headline.statuses) if headline.basis else None,
        "value_count": headline.count if headline.basis else None,
        "value_of": headline.of if headline.basis else None,
        "notes": list(dict.fromkeys(notes)) or None,
    }
    return Derived(
        fields, buyer, roles, parties, tender, awards, contracts, items, amendments, documents, bids, notes, headline
    )
