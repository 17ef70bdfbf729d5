"""Stored fields read straight from each segment's stored column.

`Searcher.stored_fields` finds a document's segment (a bisect), checks the reader is open, asks the per-document
reader for its cached column, and copies the fields into a new dict, keeping those the schema still names: a
fifth of the cost of reading one, paid again for every row of an export. The column itself (W3's `_stored`,
pickled dicts compressed one by one) is the same object, read here once per segment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from whoosh.codec import whoosh3
from whoosh.searching import Searcher


def stored_readers(searcher: Searcher) -> list[tuple[Callable[[int], dict | None], int]]:
    """Each segment's stored-fields lookup (a segment's document number -> its stored dict, or None for a
    document without any) with the segment's first document number, in document order."""
    readers = []
    for reader, base in searcher.reader().leaf_readers():
        column = reader._perdoc._cached_reader("_stored", whoosh3.STORED_COLUMN)
        readers.append((column.__getitem__ if column is not None else _nothing, base))
    return readers


def read_stored(readers: Sequence[tuple[Callable[[int], dict | None], int]], docnums: list[int]) -> list[dict]:
    """The stored fields of `docnums` (ascending), read forwards through each segment. Unlike
    `Searcher.stored_fields`, a field stored by a segment but since removed from the schema is not left out: a hit
    reads its fields by name, all of them in the schema (search_index.schema)."""
    found = []
    segment = 0
    read, base = readers[0]
    following = readers[1][1] if len(readers) > 1 else None
    for docnum in docnums:
        while following is not None and docnum >= following:
            segment += 1
            read, base = readers[segment]
            following = readers[segment + 1][1] if segment + 1 < len(readers) else None
        found.append(read(docnum - base) or {})
    return found


def _nothing(docnum: int) -> None:
    return None
