"""Reading OCDS values the way publishers actually write them: 1.0 and 1.1 forms, strings where numbers belong,
timestamps without offsets. Pure functions, no database."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib.resources import files
from typing import Any

import ocdsmerge
from ocdsmerge.merge import CompiledRelease

from portal.vocabulary import Stage

# Keys the sample-data collection script added to each release: package metadata and its own validation output,
# not release content. Kept in the stored JSON, left out of the checksum and of the compiled record.
NOT_RELEASE_CONTENT = ("packageInfo", "validationErrors")


def release_content(release: dict) -> dict:
    return {k: v for k, v in release.items() if k not in NOT_RELEASE_CONTENT}


def canonical_json(value: Any) -> str:
    """Key order is not meaning: two copies of a release differing only in key order are the same release."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def checksum(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def publisher_of(ocid: str) -> str:
    """The registered ocid prefix ("ocds-a1234567"), which names the publisher that minted the ocid."""
    return "-".join(ocid.split("-")[:2]).lower()


def parse_date(value: Any) -> tuple[datetime | None, str | None]:
    """An aware UTC datetime and, when the text was not a complete timestamp, a note saying what was assumed."""
    if value in (None, ""):
        return None, None
    if not isinstance(value, str):
        return None, f"date {value!r} is not text"
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None, f"date {value!r} is not ISO 8601"
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc), f"date {value!r} has no time-zone offset: read as UTC"
    try:
        return parsed.astimezone(timezone.utc), None
    except OverflowError:
        return None, f"date {value!r} is out of range"


def parse_amount(value: Any) -> Decimal | None:
    """Decimal from a JSON number or numeric text; floats go through repr so 8923.94 stays 8923.94."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def money(value: Any) -> tuple[Decimal | None, str | None]:
    if not isinstance(value, dict):
        return None, None
    currency = value.get("currency")
    return parse_amount(value.get("amount")), currency if isinstance(currency, str) else None


def normalise_name(name: str) -> str:
    """ "ACME Corp." and "acme  corp" key the same party; accents are kept apart ("Société" is not "Societe")."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return re.sub(r"[\s.,;]+", " ", folded).strip()


def release_stages(release: dict) -> list[Stage]:
    """The stages a release carries, read from its content rather than its (often wrong) `tag`."""
    stages: list[Stage] = []
    if release.get("planning"):
        stages.append(Stage.PLANNING)
    if release.get("tender"):
        stages.append(Stage.TENDER)
    if release.get("awards"):
        stages.append(Stage.AWARD)
    contracts = release.get("contracts") or []
    if contracts:
        stages.append(Stage.CONTRACT)
    if any(isinstance(c, dict) and c.get("implementation") for c in contracts):
        stages.append(Stage.IMPLEMENTATION)
    if release.get("amendment") or any(
        isinstance(block, dict) and (block.get("amendments") or block.get("amendment"))
        for block in [release.get("tender"), *(release.get("awards") or []), *contracts]
    ):
        stages.append(Stage.AMENDMENT)
    return stages


@cache
def release_schema() -> dict:
    """The OCDS 1.1.5 release schema shipped in the package, so merging never reaches the network."""
    return json.loads(files("portal").joinpath("schema/release-schema.json").read_text(encoding="utf-8"))


@cache
def merge_rules() -> dict:
    return ocdsmerge.Merger(schema=release_schema()).merge_rules


def compile_releases(releases: list[dict]) -> dict:
    """Merge releases, already in the order to apply them, by the OCDS merge rules.

    ocdsmerge would sort by the `date` text, which misorders dates with different offsets; the caller sorts by
    the parsed UTC date instead.
    """
    merged = CompiledRelease(merge_rules=merge_rules())
    for release in releases:
        merged.append(release)
    return merged.asdict()
