"""Reading OCDS values the way publishers actually write them: 1.0 and 1.1 forms, strings where numbers belong,
timestamps without offsets. Pure functions, no database."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import cache, lru_cache
from importlib.resources import files
from typing import Any, cast

import ocdsmerge
from ocdsmerge.merge import CompiledRelease

from portal.vocabulary import OcdsVersion, Stage

# Keys the sample-data collection script added to each release: package metadata and its own validation output,
# not release content. Kept in the stored JSON, left out of the checksum and of the compiled record.
NOT_RELEASE_CONTENT = ("packageInfo", "validationErrors")


class KeyTooLong(ValueError):
    """A key (ocid, release id, party identifier) longer than the one limit every database keeps."""


def check_key(name: str, value: str, limit: int) -> str:
    if len(value) > limit:
        raise KeyTooLong(f"{name} {value[:40]!r}… is {len(value)} characters long; keys are limited to {limit}")
    return value


def release_content(release: dict) -> dict:
    return {k: v for k, v in release.items() if k not in NOT_RELEASE_CONTENT}


def _number(text: str) -> float | Decimal:
    """A JSON number with a fraction or exponent: a float when the float says exactly what the text says (short
    numbers, nearly all), else a Decimal, so 1e400 is not infinity and 12345678901234567.89 keeps its cents."""
    if len(text) < 16 and "e" not in text and "E" not in text:
        return float(text)
    number = float(text)
    exact = Decimal(text)
    if number in (float("inf"), float("-inf")) or Decimal(repr(number)) != exact:
        return exact
    return number


def exact_numbers(value: Any) -> Any:
    """Decimals from another parser (ijson) as `loads` would give them, so a release read either way is the same."""
    if isinstance(value, Decimal):
        return _number(str(value))
    if isinstance(value, dict):
        return {k: exact_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [exact_numbers(v) for v in value]
    return value


def loads(text: str | bytes) -> Any:
    """JSON as published, numbers exactly: what ingest reads files with and what stored releases are read back with."""
    return json.loads(text, parse_float=_number)


_DECIMAL = re.compile(r'"\\u0000D:([^"\\]*)\\u0000"')


def _decimal_marker(value: object) -> str:
    if isinstance(value, Decimal):
        return f"\x00D:{value}\x00"
    raise TypeError(f"{type(value).__name__} is not JSON")


def canonical_json(value: Any) -> str:
    """Key order is not meaning: two copies of a release differing only in key order are the same release.

    Numbers that only a Decimal holds exactly (see `loads`) are written as their exact text."""
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except TypeError:
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_decimal_marker)
        return _DECIMAL.sub(lambda match: match.group(1), text)


def checksum(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def publisher_of(ocid: str) -> str:
    """The registered ocid prefix ("ocds-a1234567"), which names the publisher that minted the ocid."""
    return "-".join(ocid.split("-")[:2]).lower()


@dataclass(frozen=True)
class PublishedDate:
    """A date as published: `utc` for ordering and storage, `offset` (minutes east of UTC) as the publisher gave
    it, None when the text had no offset (then read as UTC, with a note)."""

    utc: datetime | None
    offset: int | None = None
    note: str | None = None

    @property
    def local(self) -> datetime | None:
        """The moment in the offset it was published with: 2016-09-30T00:00:00+04:00 stays the 30th."""
        return as_published(self.utc, self.offset)


def as_published(utc: datetime | None, offset: int | None) -> datetime | None:
    if utc is None or offset is None:
        return utc
    try:
        return utc.astimezone(timezone(timedelta(minutes=offset)))
    except OverflowError:
        return utc


def read_date(value: Any) -> PublishedDate:
    """Parse an OCDS date; a note says what was assumed when the text was not a complete timestamp."""
    if value in (None, ""):
        return PublishedDate(None)
    if not isinstance(value, str):
        return PublishedDate(None, note=f"date {value!r} is not text")
    return _read_date_text(value)


@lru_cache(maxsize=1 << 16)
def _read_date_text(value: str) -> PublishedDate:
    """Cached: a register's releases repeat their dates (a day per contract), and the result is immutable."""
    text = value.strip()
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return PublishedDate(None, note=f"date {value!r} is not ISO 8601")
    if parsed.tzinfo is None:
        return PublishedDate(
            parsed.replace(tzinfo=timezone.utc), None, f"date {value!r} has no time-zone offset: read as UTC"
        )
    offset = parsed.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    try:
        return PublishedDate(parsed.astimezone(timezone.utc), minutes)
    except OverflowError:
        return PublishedDate(None, note=f"date {value!r} is out of range")


def parse_date(value: Any) -> tuple[datetime | None, str | None]:
    """An aware UTC datetime and, when the text was not a complete timestamp, a note saying what was assumed."""
    read = read_date(value)
    return read.utc, read.note


def parse_amount(value: Any) -> Decimal | None:
    """Decimal from a JSON number or numeric text; floats go through repr so 8923.94 stays 8923.94."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


UNITS_PER_ONE = 10_000  # amounts are summed, sorted and indexed in units of 10^-4
MAX_UNITS = 2**63 - 1  # what a BIGINT holds, on every database


def to_units(amount: Decimal | None) -> int | None:
    """An amount in units of 10^-4 (half-even below that), or None when a BIGINT cannot hold it."""
    if amount is None:
        return None
    units = int((amount * UNITS_PER_ONE).to_integral_value(rounding=ROUND_HALF_EVEN))
    return units if -MAX_UNITS <= units <= MAX_UNITS else None


def from_units(units: int | None) -> Decimal | None:
    """The exact Decimal for an amount in units of 10^-4; whole cents keep two places (9100.50)."""
    if units is None:
        return None
    amount = Decimal(units).scaleb(-4)
    return amount.quantize(Decimal("0.01")) if units % 100 == 0 else amount.normalize()


@dataclass
class Money:
    """A value as published (`published`: the exact amount text) and as we compare it (`units`, 10^-4)."""

    published: str | None = None
    units: int | None = None
    currency: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def amount(self) -> Decimal | None:
        return from_units(self.units)


def _amount_text(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (int, Decimal)):
        return str(value)
    return value.strip() or None if isinstance(value, str) else canonical_json(value)


def read_money(value: Any) -> Money:
    """A Value object as published: its exact amount text, its units for sums, its currency upper-cased."""
    if not isinstance(value, dict):
        return Money()
    read = Money(published=_amount_text(value.get("amount")))
    currency = value.get("currency")
    if isinstance(currency, str) and currency.strip():
        read.currency = currency.strip().upper()
        if read.currency != currency:
            read.notes.append(f"currency {currency!r} read as {read.currency!r}")
        if read.currency not in codelist("currency"):
            read.notes.append(f"currency {currency!r} is not in the OCDS currency codelist")
    if read.published is None:
        return read
    amount = parse_amount(value.get("amount"))
    if amount is None:
        read.notes.append(f"amount {read.published!r} is not a number: shown as published, not summed")
        return read
    read.units = to_units(amount)
    if read.units is None:
        read.notes.append(
            f"amount {read.published} is beyond what is summed (±{from_units(MAX_UNITS)}): "
            "shown as published, not summed"
        )
    return read


def money(value: Any) -> tuple[Decimal | None, str | None]:
    read = read_money(value)
    return read.amount, read.currency


@cache
def codelist(name: str) -> frozenset[str]:
    """The codes of an OCDS 1.1.5 codelist shipped in portal/schema/codelists."""
    text = files("portal").joinpath(f"schema/codelists/{name}.csv").read_text(encoding="utf-8")
    return frozenset(row["Code"] for row in csv.DictReader(io.StringIO(text)))


def normalise_name(name: str) -> str:
    """ "ACME Corp." and "acme  corp" key the same party; accents are kept apart ("Société" is not "Societe")."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return re.sub(r"[\s.,;]+", " ", folded).strip()


ARRAYS_OF_ENTRIES = ("awards", "contracts", "parties")  # arrays some publishers write as one object


def entries(block: dict, name: str) -> list[dict]:
    """The objects of an array of entries; one object published where an array belongs (`"awards": {...}`) is
    read as that one entry, as a reader would, and the caller notes it."""
    value = block.get(name)
    if isinstance(value, dict):
        return [value] if filled(value) else []
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def release_stages(release: dict) -> list[Stage]:
    """The stages a release carries, read from its content rather than its (often wrong) `tag`."""
    stages: list[Stage] = []
    if release.get("planning"):
        stages.append(Stage.PLANNING)
    if release.get("tender"):
        stages.append(Stage.TENDER)
    awards, contracts = entries(release, "awards"), entries(release, "contracts")
    if awards:
        stages.append(Stage.AWARD)
    if contracts:
        stages.append(Stage.CONTRACT)
    if any(c.get("implementation") for c in contracts):
        stages.append(Stage.IMPLEMENTATION)
    blocks = [release.get("tender"), *awards, *contracts]
    if _amended(release) or any(isinstance(block, dict) and _amended(block) for block in blocks):
        stages.append(Stage.AMENDMENT)
    return stages


SCHEMAS = {OcdsVersion.V1_1: "schema/release-schema.json", OcdsVersion.V1_0: "schema/release-schema-1.0.3.json"}


def filled(entry: object) -> bool:
    """An object with at least one value that is not empty (null, blank text, [] or {})."""
    return isinstance(entry, dict) and any(
        not (v is None or v in ([], {}) or (isinstance(v, str) and not v.strip())) for v in entry.values()
    )


def _amended(block: dict) -> bool:
    """An `amendments` entry that is empty is not an amendment."""
    entries = block.get("amendments")
    entries = entries if isinstance(entries, list) else []
    return filled(block.get("amendment")) or any(filled(entry) for entry in entries)


@cache
def release_schema(version: OcdsVersion = OcdsVersion.V1_1) -> dict:
    """The OCDS release schema of that version shipped in the package, so merging never reaches the network."""
    return json.loads(files("portal").joinpath(SCHEMAS[version]).read_text(encoding="utf-8"))


@cache
def merge_rules(version: OcdsVersion = OcdsVersion.V1_1) -> dict:
    return ocdsmerge.Merger(schema=release_schema(version)).merge_rules


def ocds_version(declared: object, default: OcdsVersion = OcdsVersion.V1_1) -> OcdsVersion:
    """The merge rules for a package's `version`: a package that omits it is 1.0 by the standard; `default` is for
    releases that came without a package."""
    if declared is None:
        return OcdsVersion.V1_0
    return OcdsVersion.V1_0 if str(declared).strip().startswith("1.0") else OcdsVersion.V1_1


def compile_releases(releases: list[dict], version: OcdsVersion = OcdsVersion.V1_1) -> dict:
    """Merge releases, already in the order to apply them, by the OCDS merge rules of that version.

    ocdsmerge would sort by the `date` text, which misorders dates with different offsets; the caller sorts by
    the parsed UTC date instead. A single release is compiled by `compile_single` where it can be (most processes
    of a tabular register have one release); tests/domain/test_compile_single.py checks it against ocdsmerge.
    """
    if len(releases) == 1:
        compiled = compile_single(releases[0], merge_rules(version))
        if compiled is not None:
            return compiled
    merged = CompiledRelease(merge_rules=merge_rules(version))
    for release in releases:
        merged.append(release)
    return merged.asdict()


class _Unusual(Exception):
    """A shape whose compiled record ocdsmerge itself must give (ids repeated, of odd types, ...)."""


def compile_single(release: dict, rules: dict[tuple[str, ...], str]) -> dict | None:
    """The compiled record of one release by ocdsmerge's rules, without flattening it: a third of the store path's
    time was ocdsmerge's flatten and unflatten.

    What ocdsmerge does with one release, and so this: `tag` becomes ["compiled"], `id` becomes "{ocid}-{date}";
    fields omitted when merged are left out; nulls are left out, but the objects holding them stay (as {}),
    while empty objects and arrays are left out; arrays of objects are rebuilt object by object, each keeping its
    `id`; whole-list fields and arrays holding anything but objects are kept as they are. None when the release
    has a shape for which ocdsmerge's answer is its own (two objects of one array with the same `id` in text,
    an `id` that is neither text nor an integer, an `ocid` that is an object or array): the caller merges those.
    """
    ocid, date = release.get("ocid"), release.get("date")
    if isinstance(ocid, (dict, list)):
        return None
    compiled: dict[str, Any] = {"tag": ["compiled"], "id": f"{ocid}-{date}"}
    if date is not None:
        compiled["date"] = date
    if ocid is not None:
        compiled["ocid"] = ocid
    try:
        body = _compile_object({k: v for k, v in release.items() if k != "tag"}, _rule_tree(rules))
    except _Unusual:
        return None
    if body:
        compiled.update(body)
    return compiled


# The merge rules as a tree, so that walking a release looks each key up in a small dict rather than building
# its path: key -> (rule or None, the rules below it). Kept per rules dict (there is one per OCDS version).
RuleTree = dict[str, tuple[str | None, "RuleTree"]]
_NO_RULE: tuple[str | None, RuleTree] = (None, {})
_TREES: dict[int, tuple[dict, RuleTree]] = {}


def _rule_tree(rules: dict[tuple[str, ...], str]) -> RuleTree:
    kept = _TREES.get(id(rules))
    if kept is not None and kept[0] is rules:
        return kept[1]
    tree: RuleTree = {}
    for path in sorted(rules, key=len):
        node = tree
        for key in path[:-1]:
            node = node.setdefault(key, (None, {}))[1]
        rule, below = node.get(path[-1], _NO_RULE)
        node[path[-1]] = (rules[path], below if below is not _NO_RULE[1] else {})
    _TREES[id(rules)] = (rules, tree)
    return tree


def _compile_object(obj: dict, tree: RuleTree) -> dict | None:
    """None when nothing in `obj` has a value, null included (ocdsmerge then writes nothing for it)."""
    out: dict[str, Any] = {}
    held = False
    for key, value in obj.items():
        rule, below = tree.get(key, _NO_RULE)
        if rule == "omitWhenMerged":
            continue
        kind = type(value)
        if (
            rule == "wholeListMerge"
            or not isinstance(value, (dict, list))
            or (kind is list and any(not isinstance(item, dict) for item in value))
        ):
            held = True
            if value is not None:
                out[key] = value
        elif value:
            inner = (
                _compile_array(cast(list, value), below) if kind is list else _compile_object(cast(dict, value), below)
            )
            if inner is not None:
                out[key] = inner
    return out if (held or out) else None


def _compile_array(items: list, tree: RuleTree) -> list | None:
    """The objects of an array, each under the rules of the array's own path (ocdsmerge's rule paths have no
    positions)."""
    out = []
    ids: set[str] = set()
    for item in items:
        if "id" in item:
            identifier = item["id"]
            if type(identifier) is not str and type(identifier) is not int:
                raise _Unusual
            text = str(identifier)
            if text in ids:
                raise _Unusual
            ids.add(text)
        if item:
            inner = _compile_object(item, tree)
            if inner is not None:
                out.append(inner)
    return out or None
