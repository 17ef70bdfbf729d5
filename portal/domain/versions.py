"""Which version of a republished release the record uses, and what differs between versions.

Pure: the rule is the same for compiling and for the page that shows which version is used. The version from the
package with the latest `publishedDate` wins; on a tie (or when no package dates it), the one loaded last, where
loading identical content again counts as loading it. File names and read order play no part.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar

EARLIEST = datetime.min.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Version:
    """What the rule reads of one stored version of a release."""

    row_id: int
    ocid: str
    release_id: str
    published: datetime | None  # the latest publishedDate of the packages that carried it
    loaded: int  # grows with every file loaded


def rank(version: Version) -> tuple[datetime, int, int]:
    """Larger wins. The row id only orders versions stored before load numbers existed (all 0)."""
    return (version.published or EARLIEST, version.loaded, version.row_id)


V = TypeVar("V", bound=Version)


def current(versions: Iterable[V]) -> dict[tuple[str, str], V]:
    """Per (ocid, release id), the version the record uses."""
    chosen: dict[tuple[str, str], V] = {}
    for version in versions:
        key = (version.ocid, version.release_id)
        kept = chosen.get(key)
        if kept is None or rank(version) > rank(kept):
            chosen[key] = version
    return chosen


@dataclass(frozen=True)
class Change:
    """One field that differs between two versions: its path (`awards[0].value.amount`), old and new JSON."""

    path: str
    old: Any
    new: Any
    old_absent: bool = False  # the field is in the new version only
    new_absent: bool = False  # the field is in the old version only


MISSING = object()  # a field present in one version only


def differences(old: Any, new: Any, path: str = "") -> list[Change]:
    """Field by field, what changed from `old` to `new` (both releases as published)."""
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[Change] = []
        for key in list(dict.fromkeys([*old, *new])):
            changes += differences(old.get(key, MISSING), new.get(key, MISSING), f"{path}.{key}" if path else key)
        return changes
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [c for i, (a, b) in enumerate(zip(old, new, strict=True)) for c in differences(a, b, f"{path}[{i}]")]
    if old is new or (type(old) is type(new) and old == new):
        return []
    if isinstance(old, (int, float)) and isinstance(new, (int, float)) and not isinstance(old, bool) and old == new:
        # 1311264.0 and 1311264 are the same number, but not the same text: shown, since the publisher changed it.
        return [Change(path, old, new)] if repr(old) != repr(new) else []
    return [
        Change(path, None if old is MISSING else old, None if new is MISSING else new, old is MISSING, new is MISSING)
    ]
