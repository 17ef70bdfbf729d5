"""A fix to Whoosh's segment writer, applied to one writer at a time.

When Whoosh writes a segment's posting lists it looks up each posting's field length in the segment's length
columns, one lookup per posting: a seek and a one-byte read where the field keeps lengths, and, where it keeps
none (ids, numbers), a file-system check for the column that is not remembered. Profiled, these were 40% of
writing a segment. Here each length column is read once per segment and the postings look their lengths up in
memory; what each lookup returns is unchanged (tests/search_index/test_whoosh_internals.py compares the
segment files written with and without the fix byte for byte).

`writer(ix, **options)` is the only way in: it opens Whoosh's writer and, when the guard passes, gives that
writer's field writer the fix. A multi-process writer builds its segments in child processes, which only see
a class-level change: for that case the class is changed for the writer's lifetime and put back after
(`portal reindex --procs N` is a process of its own).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import MethodType

from whoosh.codec import base, whoosh3
from whoosh.index import Index
from whoosh.util.numeric import byte_to_length
from whoosh.writing import IndexWriter

from search_index.whoosh_internals import installed_problems, report


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


_original_add_postings = base.FieldWriter.add_postings


def _add_postings(self, schema, lengths, items):
    if isinstance(lengths, whoosh3.W3PerDocReader):
        lengths = _SegmentLengths(lengths)
    return _original_add_postings(self, schema, lengths, items)


def enabled() -> bool:
    problems = installed_problems()
    report(problems, "segment writer fix not applied")
    return not problems


_class_lock = threading.Lock()


@contextmanager
def _class_fixed() -> Iterator[None]:
    with _class_lock:
        base.FieldWriter.add_postings = _add_postings
        try:
            yield
        finally:
            base.FieldWriter.add_postings = _original_add_postings


def writer(ix: Index, *, fix: bool | None = None, **options) -> IndexWriter:
    """Whoosh's writer for `ix`, with the length fix when the installed Whoosh is the verified one.

    For a multi-process writer the caller must hold `multiprocess_fix()` until the writer has committed."""
    made = ix.writer(**options)
    if (enabled() if fix is None else fix) and hasattr(made, "fieldwriter"):
        made.fieldwriter.add_postings = MethodType(_add_postings, made.fieldwriter)
    return made


@contextmanager
def multiprocess_fix(fix: bool | None = None) -> Iterator[None]:
    """The fix for writers whose segments are written in child processes (they see only the class)."""
    if enabled() if fix is None else fix:
        with _class_fixed():
            yield
    else:
        yield
