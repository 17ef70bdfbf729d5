"""Everything that depends on Whoosh's internals, in one place, behind a guard.

Three things here read or change Whoosh below its public API:

- `postings`: word queries answered with numpy over Whoosh's posting blocks (the block reader's private
  methods, the Positions format decoded by hand, BM25F recomputed over arrays);
- `writer`: a fix to the segment writer that reads each field-length column once per segment;
- `stored`: stored fields read from each segment's stored column, for the rows of an export.

All three were verified against one exact version of `whoosh-reloaded` (pinned in setup.cfg), its W3 codec and its
BM25F weighting. `problems()` checks that what is installed and what an index was written with are still those;
when anything differs, the portal answers through Whoosh's own matchers and writer (slower, never wrong) and
says so once in the log. Nothing here changes Whoosh on import: the writer fix is applied per writer.
"""

from __future__ import annotations

import inspect
import logging
from functools import cache
from importlib import metadata

from whoosh import columns, scoring
from whoosh.codec import base, whoosh3
from whoosh.reading import SegmentReader
from whoosh.searching import Searcher

log = logging.getLogger(__name__)

VERIFIED_VERSION = "2.7.5"  # whoosh-reloaded, as pinned in setup.cfg
# The private names the two modules use: methods, and attributes the class sets on itself. A Whoosh that renames
# any of them takes the slow, safe path.
_NEEDED = (
    (whoosh3.W3LeafMatcher, ("_read_data", "_next_block"), ("_atend", "_maxid", "_data")),
    (whoosh3.W3PerDocReader, ("_cached_reader",), ()),
    (base.FieldWriter, ("add_postings",), ()),
    (SegmentReader, (), ("_perdoc",)),
)


def _installed_version() -> str | None:
    try:
        return metadata.version("whoosh-reloaded")
    except metadata.PackageNotFoundError:
        return None


@cache
def installed_problems() -> tuple[str, ...]:
    """What differs in the installed Whoosh from the version the internals were verified against."""
    found = []
    version = _installed_version()
    if version != VERIFIED_VERSION:
        found.append(f"whoosh-reloaded {version} installed, {VERIFIED_VERSION} verified")
    from whoosh.codec import default_codec

    if type(default_codec()) is not whoosh3.W3Codec:
        found.append(f"default codec {type(default_codec()).__name__}, W3Codec verified")
    for owner, methods, attributes in _NEEDED:
        try:
            source = inspect.getsource(owner) if attributes else ""
        except (OSError, TypeError):  # installed without its source: nothing to check the attributes against
            found.append(f"the source of {owner.__name__} is not installed")
            continue
        for name in methods:
            if not callable(getattr(owner, name, None)):
                found.append(f"{owner.__name__}.{name}() is gone")
        for name in attributes:
            if f"self.{name} =" not in source:
                found.append(f"{owner.__name__}.{name} is no longer set")
    if not callable(getattr(whoosh3, "_lenfield", None)):
        found.append("whoosh3._lenfield() is gone")
    if not isinstance(getattr(whoosh3, "STORED_COLUMN", None), columns.PickleColumn):
        found.append("whoosh3.STORED_COLUMN is gone or no longer pickled")
    if list(inspect.signature(base.FieldWriter.add_postings).parameters) != ["self", "schema", "lengths", "items"]:
        found.append("FieldWriter.add_postings has another signature")
    if (scoring.BM25F().B, scoring.BM25F().K1) != (0.75, 1.2):
        found.append("BM25F's default constants changed")
    return tuple(found)


def searcher_problems(searcher: Searcher) -> tuple[str, ...]:
    """What differs in this searcher's index (codec of each segment, weighting) from what was verified."""
    found = list(installed_problems())
    weighting = searcher.weighting
    if type(weighting) is not scoring.BM25F or getattr(weighting, "_field_B", None):
        found.append(f"weighting {weighting!r} is not plain BM25F")
    for reader, _ in searcher.reader().leaf_readers():
        segment = reader.segment()
        codec = segment.codec() if segment is not None else None
        if codec is not None and type(codec) is not whoosh3.W3Codec:
            found.append(f"segment {segment.segment_id()} written with {type(codec).__name__}")
            break
    return tuple(found)


_reported: set[tuple[str, ...]] = set()


def report(problems: tuple[str, ...], what: str) -> None:
    """Say once in the log that Whoosh's own code answers instead, and why."""
    if problems and problems not in _reported:
        _reported.add(problems)
        log.warning("%s: using Whoosh's own code instead (%s)", what, "; ".join(problems))


def usable(searcher: Searcher) -> bool:
    """Whether the numpy posting reader may answer for this searcher."""
    problems = searcher_problems(searcher)
    report(problems, "search through posting blocks disabled")
    return not problems
