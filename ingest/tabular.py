"""Tabular registers (CSV, XLSX, and the rows of Socrata and CKAN) mapped onto OCDS releases.

Shapes accepted: a header row or none (`columns` name them); UTF-8 or Windows-1252; quoted cells with line
breaks; thousands separators (including U+00A0) and decimal commas; amounts with currency symbols; `NA`,
`null`, `-` and empty cells as missing; fully duplicated rows (loaded once); several rows sharing one contract
number (one row per supplier of a multi-supplier award, some with amount 0: one award, its amounts summed);
contract numbers that are placeholders (`PLUSIEURS`) rather than ids.

What a row is decides its release: rows are grouped by contract number and revision. Revision 0 (or a register
without revisions) is the award and the contract; a later revision is an amendment of the same contract — the
same ocid, a release of its own — never a new contract. A placeholder contract number is not an id: such a row
gets an ocid from a stable hash of its content. Every release carries its rows as published (`sourceRows`),
so a value the mapping could not read (a date in the year 0201) is kept as text and reported, never blanked.

What a bad row loses: a row that does not map (no supplier, an amount that is not a number, a line with the
wrong number of fields) is returned as `Rejected` with its reason, and the other rows load. A file whose mapped
columns are missing or renamed raises `SchemaDrift` before any row is read: loading it would store garbage.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import math
import re
import unicodedata
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from ingest.ocds import Found, IngestError
from ingest.sources import SourceConfig, TableFormat
from portal.domain.ocds import release_schema
from portal.vocabulary import FoundKind

MAX_NOTES = 500  # notes kept per table; beyond this only the count grows (the run keeps as many)
CHUNK_ROWS = 20_000  # rows pandas reads at a time: bounds memory whatever the file size
EARLIEST_YEAR = 1900  # dates before this are typing errors in a contract register (Chicago has 0201 and 0204)
SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,80}")
CURRENCY_SIGNS = re.compile(r"[$€£¥]|\b(?:CA|US)\$|\b(?:CAD|USD|EUR|GBP|MXN)\b", flags=re.IGNORECASE)
BAD_LINE = re.compile(r"Skipping line (\d+): (.*)")


class SchemaDrift(IngestError):
    """The register's columns are not the ones its mapping names: renamed, missing, or a different count."""


@dataclass
class Row:
    """One row as published: `values` maps each column to its text, None where the cell is missing."""

    number: int  # the row's position among the file's records (1 is the first after any header)
    values: dict[str, str | None]
    location: str = ""


@dataclass
class Rejected:
    """A row that does not map, with the reason; recorded once per source, while the other rows load."""

    number: int
    reason: str
    values: dict[str, str | None]
    location: str = ""

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.values, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass
class TableStats:
    """What reading a table found, for the run's comparison with the publisher's own row count."""

    rows: int = 0
    duplicates: int = 0
    rejected: int = 0
    unread: int = 0  # lines the reader could not split into the columns (also counted in `rejected`)
    releases: int = 0
    encoding: str = "utf-8"
    notes: list[tuple[str, str]] = field(default_factory=list)
    notes_dropped: int = 0

    def note(self, where: str, note: str) -> None:
        if len(self.notes) < MAX_NOTES:
            self.notes.append((where, note))
        else:
            self.notes_dropped += 1


# ---- reading ------------------------------------------------------------------------------------------------


def detect_encoding(path: Path, declared: str | None) -> str:
    """The declared encoding, else UTF-8 if the whole file decodes as UTF-8, else Windows-1252 (which decodes
    any byte; Montréal's older exports are in it). Read in blocks, so any file size is fine."""
    if declared:
        return declared
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as stream:
        first = stream.read(3)
        stream.seek(0)
        try:
            for block in iter(lambda: stream.read(1 << 20), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8-sig" if first == b"\xef\xbb\xbf" else "utf-8"


def _clean(value: object, missing: frozenset[str]) -> str | None:
    if value is None or (isinstance(value, float) and value != value):  # NaN: a cell pandas found no text for
        return None
    text = str(value).strip()
    return None if text in missing else text


def read_columns(path: Path, config: SourceConfig, encoding: str) -> list[str]:
    """The columns as the file names them (or as configured for a headerless file, checked against its width)."""
    table = config.table
    if config.kind == "xlsx":
        head = pd.read_excel(path, sheet_name=table.sheet, dtype=str, nrows=1, header=0 if table.header else None)
    else:
        head = pd.read_csv(
            path, dtype=str, nrows=1, header=0 if table.header else None, sep=table.delimiter, encoding=encoding
        )
    if table.header:
        return [str(c).strip() for c in head.columns]
    if len(head.columns) != len(table.columns):
        raise SchemaDrift(
            f"{config.name}: the file has {len(head.columns)} columns where the configuration names "
            f"{len(table.columns)} ({', '.join(table.columns)}): the register's layout changed"
        )
    return list(table.columns)


def check_columns(config: SourceConfig, columns: Iterable[str]) -> None:
    """Stop before loading when a mapped column is missing: a renamed column would otherwise map to nothing."""
    present = set(columns)
    absent = [f"{name} → {column!r}" for name, column in config.mapping.items() if column not in present]
    if absent:
        raise SchemaDrift(
            f"{config.name}: mapped column(s) missing from the data: {', '.join(absent)}; "
            f"the data has: {', '.join(sorted(present))}. Update the mapping in the sources file."
        )


def read_table(path: Path, config: SourceConfig, stats: TableStats, *, location: str = "") -> Iterator[Row | Rejected]:
    """Every row of a CSV or XLSX register, in file order, as text. CSV is read in chunks (flat memory); an
    XLSX workbook is read whole, as openpyxl cannot stream through pandas."""
    table = config.table
    stats.encoding = encoding = detect_encoding(path, table.encoding) if config.kind != "xlsx" else "xlsx"
    columns = read_columns(path, config, encoding)
    check_columns(config, columns)
    missing = frozenset(table.missing)
    names = list(table.columns) if not table.header else None
    if config.kind == "xlsx":
        frames: Iterable[pd.DataFrame] = [
            pd.read_excel(path, sheet_name=table.sheet, dtype=str, header=0 if table.header else None, names=names)
        ]
    else:
        frames = pd.read_csv(
            path,
            dtype=str,
            header=0 if table.header else None,
            names=names,
            sep=table.delimiter,
            encoding=encoding,
            keep_default_na=False,
            na_filter=False,
            on_bad_lines="warn",
            chunksize=CHUNK_ROWS,
        )
    number = 0
    reader = iter(frames)
    while True:
        # pandas reports lines with too many fields as warnings while it reads a chunk: catch them per chunk.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frame = next(reader, None)
        for warning in caught:
            for line, reason in BAD_LINE.findall(str(warning.message)):
                yield Rejected(0, f"line {line} not read: {reason.strip()}", {"line": line}, location)
        if frame is None:
            return
        frame.columns = columns
        for record in frame.itertuples(index=False, name=None):
            number += 1
            yield Row(number, {c: _clean(v, missing) for c, v in zip(columns, record, strict=True)}, location)


# ---- parsing values -----------------------------------------------------------------------------------------


def parse_amount_text(text: str, table: TableFormat) -> Decimal:
    """An amount as registers write it: `3 500 $`, `7801,41`, `25,222.00`, `(1,000.00)`, `-105880.80`."""
    value = text.strip()
    negative = value.startswith("(") and value.endswith(")")
    value = CURRENCY_SIGNS.sub("", value.strip("()"))
    value = "".join(ch for ch in value if not ch.isspace() and unicodedata.category(ch) != "Zs")
    if table.thousands and not table.thousands.isspace() and table.thousands != "\u00a0":
        value = value.replace(table.thousands, "")
    if table.decimal != ".":
        value = value.replace(table.decimal, ".")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"amount {text!r} is not a number") from None
    if not amount.is_finite():
        raise ValueError(f"amount {text!r} is not a number")
    return -amount if negative else amount


def parse_date_text(text: str, table: TableFormat, zone: ZoneInfo) -> tuple[str | None, str | None]:
    """An ISO 8601 timestamp with the offset the register's time zone had that day, or a note saying why not."""
    return _parse_date(text, table.date_format, zone)


@lru_cache(maxsize=8192)
def _parse_date(text: str, date_format: str, zone: ZoneInfo) -> tuple[str | None, str | None]:
    """Cached: a register repeats its dates (a day per row), and `strptime` was a tenth of mapping a row."""
    try:
        if date_format == "iso":
            parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        else:
            parsed = datetime.strptime(text.strip(), date_format)
    except ValueError:
        return None, f"date {text!r} does not read as {date_format}: kept as published in sourceRows"
    if parsed.year < EARLIEST_YEAR:
        return None, f"date {text!r} is before {EARLIEST_YEAR}: kept as published in sourceRows"
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.isoformat(), None


def json_amount(amount: Decimal) -> int | float:
    """JSON has no decimals: whole amounts stay integers; cents round-trip through float repr (15 digits)."""
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def ocid_part(contract_id: str) -> str:
    """A contract number as it can sit in an ocid and a URL; anything else gets a readable slug plus a hash so
    that two numbers never collide."""
    if SAFE_ID.fullmatch(contract_id):
        return contract_id
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", contract_id).strip("_")[:40]
    return f"{slug}-{_short_hash(contract_id)[:8]}"


# ---- mapping ------------------------------------------------------------------------------------------------


@dataclass
class _Mapped:
    row: Row
    key: tuple[str, str]  # (contract id or row hash, revision)
    placeholder: bool
    fields: dict[str, str | None]
    amount: Decimal | None
    currency: str | None
    dates: dict[str, str | None]
    notes: list[str]


class Mapper:
    """Rows in, releases out: groups rows by contract and revision and builds one release per group."""

    def __init__(self, config: SourceConfig, stats: TableStats) -> None:
        self.config = config
        self.stats = stats
        self.zone = ZoneInfo(config.timezone)
        self._seen_placeholders: set[tuple[str, str]] = set()  # rows without an id, keyed by their hash
        # Hash of a contract number -> its lowest revision, for the contracts of a register whose revision 0 is
        # not in it (from the first pass, see `count_keys`); None when unknown (the pages of an API).
        self.first_revisions: dict[int, int] | None = None

    def group_key(self, values: dict[str, str | None]) -> tuple[str, str] | None:
        """The grouping key a row would have, from its id columns alone (None for a placeholder or no id)."""
        mapping = self.config.mapping
        contract_id = values.get(mapping["contract_id"]) if "contract_id" in mapping else None
        if not contract_id or self.config.is_placeholder(contract_id):
            return None
        revision = (values.get(mapping["revision"]) if "revision" in mapping else None) or "0"
        return contract_id, revision

    def map_row(self, row: Row) -> _Mapped | Rejected:
        config, mapping = self.config, self.config.mapping
        fields = {name: row.values.get(column) for name, column in mapping.items()}
        notes: list[str] = []
        if not fields.get("amount") and not fields.get("contract_id"):
            filled = [c for c, v in row.values.items() if v is not None]
            return Rejected(
                row.number,
                f"not a contract row: no contract number and no amount (filled: {', '.join(filled) or 'nothing'})",
                row.values,
                row.location,
            )
        if not fields.get("supplier"):
            return Rejected(row.number, f"no supplier ({mapping['supplier']!r} is empty)", row.values, row.location)
        amount = None
        if fields.get("amount"):
            try:
                amount = parse_amount_text(fields["amount"] or "", config.table)
            except ValueError as error:
                return Rejected(row.number, str(error), row.values, row.location)
        else:
            notes.append(f"no amount ({mapping['amount']!r} is empty)")
        dates: dict[str, str | None] = {}
        for name in ("date", "date_signed", "start_date", "end_date"):
            if fields.get(name):
                dates[name], note = parse_date_text(fields[name] or "", config.table, self.zone)
                if note:
                    notes.append(f"{mapping[name]}: {note}")
        if dates.get("start_date") and dates.get("end_date") and dates["end_date"] < dates["start_date"]:  # type: ignore[operator]
            notes.append("ends before it starts: both dates kept as published")
        key = self.group_key(row.values)
        placeholder = key is None
        if key is None:
            key = (f"row-{_short_hash(json.dumps(row.values, sort_keys=True, ensure_ascii=False))}", "0")
            if fields.get("contract_id"):
                notes.append(f"contract number {fields['contract_id']!r} is a placeholder: ocid from the row's content")
        currency = (fields.get("currency") or config.currency or "").upper() or None
        return _Mapped(row, key, placeholder, fields, amount, currency, dates, notes)

    def releases(self, rows: Iterable[Row | Rejected], expected: Expected | None = None) -> Iterator[Found | Rejected]:
        """Map rows and yield a release as soon as its group is complete: at once for a key `expected` (from a
        first pass over the id columns, see `count_keys`) does not list, when its last row is read for one it
        lists, else (pages of an API) at the end. Rows of a group need not be adjacent."""
        pending: dict[tuple[str, str], list[_Mapped]] = {}
        for row in rows:
            if isinstance(row, Rejected):  # a line the reader could not split into the columns
                self.stats.rejected += 1
                self.stats.unread += 1
                yield row
                continue
            self.stats.rows += 1
            mapped = self.map_row(row)
            if isinstance(mapped, Rejected):
                self.stats.rejected += 1
                yield mapped
                if expected is not None and (key := self.group_key(row.values)) is not None:
                    yield from self._complete(pending, key, expected)
                continue
            # An exact duplicate has the same key as its original: for ids, within its group; for placeholder
            # rows, whose key is the row's own hash, among the placeholder keys seen.
            group = pending.setdefault(mapped.key, [])
            if (mapped.placeholder and mapped.key in self._seen_placeholders) or any(
                member.row.values == row.values for member in group
            ):
                self.stats.duplicates += 1
                self.stats.note(f"{row.location} row {row.number}", "repeats an earlier row exactly: loaded once")
            else:
                group.append(mapped)
            if mapped.placeholder:
                self._seen_placeholders.add(mapped.key)
                yield from self._emit(pending.pop(mapped.key, []))
            elif expected is not None:
                yield from self._complete(pending, mapped.key, expected)
        for group in pending.values():
            yield from self._emit(group)

    def _complete(self, pending: dict, key: tuple[str, str], expected: Expected) -> Iterator[Found]:
        """One more row of `key` has been read: release its group if that was the last."""
        shared = hash(key)
        if shared in expected:
            expected[shared] -= 1
            if expected[shared] > 0:
                return
            del expected[shared]
        yield from self._emit(pending.pop(key, []))

    def _emit(self, group: list[_Mapped]) -> Iterator[Found]:
        if group:
            self.stats.releases += 1
            yield self.build_release(group)

    def _first_of_amendment_only(self, contract_id: str, revision: str) -> bool:
        """Whether this is the earliest revision of a contract whose revision 0 the register does not hold."""
        if self.first_revisions is None or not revision.isdigit():
            return False
        return self.first_revisions.get(hash(contract_id)) == int(revision)

    def build_release(self, group: list[_Mapped]) -> Found:
        config = self.config
        first = group[0]
        contract_id, revision = first.key
        ocid = f"{config.ocid_prefix}-{ocid_part(contract_id)}"
        has_revisions = "revision" in config.mapping
        release_id = f"revision-{revision}" if has_revisions else "contract"
        where = f"{first.row.location} row {first.row.number}"
        notes = [note for member in group for note in member.notes]
        date = first.dates.get("date") or first.dates.get("date_signed")
        release: dict = {
            "ocid": ocid,
            "id": release_id,
            "initiationType": "tender",
            "sourceRows": [member.row.values for member in group],
        }
        if date:
            release["date"] = date
        if config.language:
            release["language"] = config.language
        currencies = {m.currency for m in group if m.amount is not None}
        amounts = [m.amount for m in group if m.amount is not None]
        value = None
        if amounts and len(currencies) == 1:
            value = {"amount": json_amount(sum(amounts, Decimal(0))), "currency": currencies.pop()}
        elif len(currencies) > 1:
            notes.append(f"rows in {len(currencies)} currencies: amounts not summed")
        amendment_only = revision != "0" and self._first_of_amendment_only(contract_id, revision)
        if amendment_only:
            notes.append(
                f"revision 0 of contract {contract_id!r} is not in the register: the contract is described by "
                f"its earliest revision ({revision}), amount included"
            )
        amendment: dict = {}
        if revision != "0":
            described = first.fields.get("contract_type") or "Revision"
            change = f"{described} (revision {revision})"
            if value:
                change += f": {sum(amounts, Decimal(0))} {value['currency']}"
            if first.fields.get("title"):
                change += f" — {first.fields['title']}"
            amendment = {"id": f"revision-{revision}", "description": change}
            if date:
                amendment["date"] = date
        if revision != "0" and not amendment_only:
            # A later revision amends the contract of revision 0: same ocid, an amendment, no new award.
            release["tag"] = ["contractAmendment"]
            # awardID: the schema requires it; the award is revision 0's (or the earliest revision's, above).
            release["contracts"] = [{"id": contract_id, "awardID": contract_id, "amendments": [amendment]}]
            return Found(FoundKind.RELEASE, release, where, notes=notes, valid=plainly_valid(release))
        buyer_name = first.fields.get("buyer")
        parties: list[dict] = []
        if buyer_name:
            buyer = {"id": f"buyer-{_short_hash(buyer_name.upper())[:10]}", "name": buyer_name}
            release["buyer"] = buyer
            parties.append({**buyer, "roles": ["buyer"]})
        suppliers: list[dict] = []
        for member in group:
            name, supplier_id = member.fields.get("supplier") or "", member.fields.get("supplier_id")
            party_id = f"supplier-{supplier_id}" if supplier_id else f"supplier-{_short_hash(name.upper())[:10]}"
            if any(s["id"] == party_id for s in suppliers):
                continue
            suppliers.append({"id": party_id, "name": name})
            party: dict = {"id": party_id, "name": name, "roles": ["supplier"]}
            if supplier_id:
                party["identifier"] = {"id": supplier_id, "legalName": name}
                if config.supplier_scheme:
                    party["identifier"]["scheme"] = config.supplier_scheme
            parties.append(party)
        release["parties"] = parties
        release["tag"] = ["award", "contract"]
        tender: dict = {"id": first.fields.get("tender_id") or contract_id}
        method = first.fields.get("method")
        if method:
            tender["procurementMethodDetails"] = method
            if method.upper() in {k.upper(): k for k in config.method_values}:
                lookup = {k.upper(): v for k, v in config.method_values.items()}
                tender["procurementMethod"] = lookup[method.upper()]
        release["tender"] = tender
        award: dict = {"id": contract_id, "suppliers": suppliers}
        contract: dict = {"id": contract_id, "awardID": contract_id}
        for block in (award, contract):
            for name in ("title", "description"):
                if first.fields.get(name):
                    block[name] = first.fields[name]
            if value:
                block["value"] = value
        status = first.fields.get("status") or config.award_status
        if status:
            award["status"] = status
        if date:
            award["date"] = date
        if first.dates.get("date_signed"):
            contract["dateSigned"] = first.dates["date_signed"]
        period = {k: first.dates.get(d) for k, d in (("startDate", "start_date"), ("endDate", "end_date"))}
        period = {k: v for k, v in period.items() if v}
        if period:
            contract["period"] = period
            award["contractPeriod"] = period
        if first.fields.get("document_url"):
            contract["documents"] = [
                {"id": "contract", "documentType": "contractSigned", "url": first.fields["document_url"]}
            ]
        release["awards"] = [award]
        release["contracts"] = [contract]
        if amendment_only:
            release["tag"] = ["award", "contract", "contractAmendment"]
            contract["amendments"] = [amendment]
        if len(group) > 1:
            notes.append(f"{len(group)} rows share contract number {contract_id!r}: one award, amounts summed")
        return Found(FoundKind.RELEASE, release, where, notes=notes, valid=plainly_valid(release))


@lru_cache(maxsize=1)
def _closed_codes() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """The closed codelists a mapped release takes values from the register for: currency, award status and
    procurement method, as the bundled release schema lists them."""
    definitions = release_schema()["definitions"]

    def codes(field: dict) -> frozenset[str]:
        return frozenset(code for code in field["enum"] if isinstance(code, str))

    return (
        codes(definitions["Value"]["properties"]["currency"]),
        codes(definitions["Award"]["properties"]["status"]),
        codes(definitions["Tender"]["properties"]["procurementMethod"]),
    )


def _plain(value: object) -> bool:
    """Text that is not empty, or objects and arrays of it: what every mapped field other than amounts is."""
    if isinstance(value, str):
        return value != ""
    if isinstance(value, dict):
        return all(_plain(v) for v in value.values())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return False


def plainly_valid(release: dict) -> bool:
    """Whether a release built by `Mapper.build_release` is valid OCDS without running the schema over it.

    Its shape is fixed by the code above (tests/ingest/test_tabular.py validates every release of the real
    registers against the schema and checks this answer agrees); what comes from the register is text, amounts,
    the date and the codes of three closed codelists. So: True when the release has its date, every amount is
    a number with a listed currency, every code is listed and every other value is non-empty text. False means
    "not known": the runner then validates the release against the schema as it does a publisher's, and
    records the errors it finds."""
    currencies, award_statuses, methods = _closed_codes()
    if not isinstance(release.get("date"), str) or release.get("initiationType") != "tender":
        return False
    for key, value in release.items():
        if key == "sourceRows":  # the rows as published: not OCDS, not validated (an extension's field)
            continue
        if key in ("awards", "contracts"):
            for block in value:
                money = block.get("value")
                if money is not None:
                    amount = money.get("amount")
                    if money.keys() != {"amount", "currency"} or money.get("currency") not in currencies:
                        return False
                    if isinstance(amount, bool) or not isinstance(amount, int | float) or not math.isfinite(amount):
                        return False
                if key == "awards" and "status" in block and block["status"] not in award_statuses:
                    return False
                if not all(_plain(v) for k, v in block.items() if k != "value"):
                    return False
        elif key == "tender":
            if "procurementMethod" in value and value["procurementMethod"] not in methods:
                return False
            if not _plain(value):
                return False
        elif not _plain(value):
            return False
    return True


Expected = dict[int, int]  # hash of a (contract, revision) key -> rows still to read, for keys with several rows


def count_keys(path: Path, config: SourceConfig, encoding: str) -> tuple[Expected, dict[int, int]]:
    """First pass over the id columns only: which (contract, revision) keys have several rows, and how many, so
    that a group can be released as soon as its last row is read however far apart its rows are. Keys are kept
    as their hashes and only when shared, so a register of a million unique contracts keeps next to nothing.

    Also, for the contracts whose revision 0 is not in the register (a slice, or a register that begins after
    the contract was signed), their lowest revision: that revision's release describes the contract."""
    table, mapping = config.table, config.mapping
    wanted = [mapping[name] for name in ("contract_id", "revision") if name in mapping]
    counts: Counter[int] = Counter()
    lowest: dict[int, int] = {}
    if not wanted:
        return {}, {}
    mapper = Mapper(config, TableStats())
    missing = frozenset(table.missing)
    if config.kind == "xlsx":
        frames: Iterable[pd.DataFrame] = [
            pd.read_excel(path, sheet_name=table.sheet, dtype=str, header=0 if table.header else None)
        ]
    else:
        frames = pd.read_csv(
            path,
            dtype=str,
            header=0 if table.header else None,
            names=list(table.columns) if not table.header else None,
            sep=table.delimiter,
            encoding=encoding,
            keep_default_na=False,
            na_filter=False,
            on_bad_lines="skip",
            usecols=wanted,
            chunksize=CHUNK_ROWS * 5,
        )
    for frame in frames:
        if config.kind == "xlsx":
            frame.columns = list(table.columns) if not table.header else [str(c).strip() for c in frame.columns]
            frame = frame[wanted]
        for record in frame.itertuples(index=False, name=None):
            key = mapper.group_key({c: _clean(v, missing) for c, v in zip(wanted, record, strict=True)})
            if key is not None:
                counts[hash(key)] += 1
                if key[1].isdigit():
                    contract, revision = hash(key[0]), int(key[1])
                    if revision < lowest.get(contract, revision + 1):
                        lowest[contract] = revision
    return {key: n for key, n in counts.items() if n > 1}, {c: r for c, r in lowest.items() if r != 0}


def map_file(path: Path, config: SourceConfig, stats: TableStats, *, location: str) -> Iterator[Found | Rejected]:
    """Every release of a register file, in flat memory; raises SchemaDrift before the first row if the layout
    changed. Duplicate rows in the file load once."""
    encoding = detect_encoding(path, config.table.encoding) if config.kind != "xlsx" else "xlsx"
    rows = read_table(path, config, stats, location=location)
    first = next(rows, None)  # reads the header and checks the columns before the first pass
    if first is None:
        return
    expected, first_revisions = count_keys(path, config, encoding)

    def all_rows() -> Iterator[Row | Rejected]:
        yield first
        yield from rows

    mapper = Mapper(config, stats)
    if "revision" in config.mapping:
        mapper.first_revisions = first_revisions
    yield from mapper.releases(all_rows(), expected)
