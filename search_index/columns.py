"""Structured filters and sorts, as numpy operations over the index's sortable columns."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
from whoosh.query import Term
from whoosh.searching import Searcher

from search_index.schema import DATE_COLUMNS, FACET_FIELDS, MISSING

FACETS = (*FACET_FIELDS, "year", "amount_band")
# The amount bands of the `amount_band` facet: a process's headline value (in its own currency: there is no
# conversion, so a band is the same figure in every currency) lies in [low, high). Each band's name is its bounds
# as the filter parameter takes them; "below-0" holds the negative values some publishers print (refunds,
# corrections). Processes without a value are in no band. The bounds are in whole units of the currency.
AMOUNT_BANDS: tuple[tuple[str, int | None, int | None], ...] = (
    ("below-0", None, 0),
    ("0-10000", 0, 10_000),
    ("10000-100000", 10_000, 100_000),
    ("100000-1000000", 100_000, 1_000_000),
    ("1000000-10000000", 1_000_000, 10_000_000),
    ("10000000-", 10_000_000, None),
)
SEGMENT_FACETS_KEPT = 512  # (segment, field) facet arrays kept across index versions
_SEGMENTS: OrderedDict[tuple[str, str], tuple[np.ndarray, np.ndarray, list[str]]] = OrderedDict()
_SEGMENTS_LOCK = threading.Lock()
SIGN = np.uint64(1 << 63)  # a signed column value v is stored as v + 2**63

EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class Filters:
    """Structured filters. Amount bounds apply only with a currency: amounts are never compared across currencies."""

    currency: str | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    date_from: date | None = None  # inclusive, on the date `dates` names
    date_to: date | None = None
    dates: str = "updated"  # which date: a key of DATE_COLUMNS
    # (facet, value) pairs, all required: ("buyer", "Ville de Montréal"), ("year", "2024"); see FACETS.
    facets: tuple[tuple[str, str], ...] = ()

    def active(self) -> bool:
        return (
            any(v is not None for v in (self.currency, self.date_from, self.date_to))
            or (self.currency is not None and (self.min_amount is not None or self.max_amount is not None))
            or bool(self.facets)
        )


def cents(amount: Decimal) -> int:
    return int((Decimal(amount) * 100).to_integral_value())


def day_start(day: date) -> int:
    """Epoch seconds at the start of the day (UTC); any date, even the last one there is."""
    return (day - EPOCH).days * 86_400


def day_end(day: date) -> int:
    """Epoch seconds at the start of the next day: the exclusive end of `day`."""
    return day_start(day) + 86_400


class Columns:
    """A searcher's sortable columns as numpy arrays, built once per index version, so that filters and orders
    over every document are array operations rather than a Python loop or a range query per request."""

    def __init__(self, searcher: Searcher, cache: dict | None = None):
        self.searcher = searcher
        self.reader = searcher.reader()
        self.size = self.reader.doc_count_all()
        self._cache: dict = cache if cache is not None else {}
        # How a term's documents within one segment are read (the numpy posting reader where the guard allows
        # it; else Whoosh's matcher).
        self.term_docs: Callable[[Any, str, str], np.ndarray] | None = None

    def _segment_facet(self, leaf: Any, field: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(local documents, codes, values) of a field in one segment. Segments never change once written (a
        deletion only hides documents, which `live` handles), so this is read once per segment and kept across
        index versions: after an update only the new segment is read."""
        key = (leaf.segment().segment_id(), field)
        with _SEGMENTS_LOCK:
            if key in _SEGMENTS:
                _SEGMENTS.move_to_end(key)
                return _SEGMENTS[key]
        terms = (t.decode() if isinstance(t, bytes) else str(t) for t in leaf.lexicon(field))
        names = sorted(t for t in terms if t)  # an ID field indexes "" for "none"
        docs, codes = [], []
        for code, value in enumerate(names):
            if self.term_docs is not None:
                found = self.term_docs(leaf, field, value)
            else:
                found = np.fromiter(leaf.postings(field, value).all_ids(), dtype=np.int64)
            docs.append(found)
            codes.append(np.full(len(found), code, dtype=np.int32))
        read = (
            np.concatenate(docs) if docs else np.empty(0, dtype=np.int64),
            np.concatenate(codes) if codes else np.empty(0, dtype=np.int32),
            names,
        )
        with _SEGMENTS_LOCK:
            _SEGMENTS[key] = read
            while len(_SEGMENTS) > SEGMENT_FACETS_KEPT:
                _SEGMENTS.popitem(last=False)
        return read

    def facet(self, name: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(documents, value codes, values) of a facet: one pair per document and value it has (a process has
        several suppliers), values in code order. Built once per index version."""
        key = ("facet", name)
        if key not in self._cache:
            if name == "amount_band":
                self._cache[key] = self._amount_bands()
            elif name == "year":
                when = self.numeric("when")
                known = np.flatnonzero(when != MISSING)
                seconds = (when[known] - SIGN).astype(np.int64)  # stored as value + 2**63, never below it here
                years = seconds.astype("datetime64[s]").astype("datetime64[Y]").astype(np.int64) + 1970
                values, codes = np.unique(years, return_inverse=True)
                self._cache[key] = (known, codes.astype(np.int32), [str(v) for v in values.tolist()])
            else:
                field = FACET_FIELDS[name]
                parts = []
                if field in self.searcher.schema:
                    parts = [(self._segment_facet(leaf, field), offset) for leaf, offset in self.reader.leaf_readers()]
                names = sorted({value for (_, _, values), _ in parts for value in values})
                docs = [local + offset for (local, _, _), offset in parts]
                # Each segment's codes, renumbered into the values of the whole index.
                renumbered = [
                    np.searchsorted(names, values).astype(np.int32)[local_codes] if values else local_codes
                    for (_, local_codes, values), _ in parts
                ]
                self._cache[key] = (
                    np.concatenate(docs) if docs else np.empty(0, dtype=np.int64),
                    np.concatenate(renumbered) if renumbered else np.empty(0, dtype=np.int32),
                    names,
                )
        return self._cache[key]

    def _amount_bands(self) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Each document with a value, and the code of its band in AMOUNT_BANDS (values in band order)."""
        amounts = self.numeric("amount")
        known = np.flatnonzero(amounts != MISSING)
        # The column holds cents as value + 2**63: compare in that form, with each band's lower bound likewise.
        bounds = np.array(
            [self.sortable("amount", (low or 0) * 100) for _, low, _ in AMOUNT_BANDS[1:]], dtype=np.uint64
        )
        codes = np.searchsorted(bounds, amounts[known], side="right").astype(np.int32)
        return known, codes, [name for name, _, _ in AMOUNT_BANDS]

    def facet_mask(self, name: str, value: str) -> np.ndarray:
        mask = np.zeros(self.size, dtype=bool)
        if name in FACETS:
            docs, codes, values = self.facet(name)
            if value in values:
                mask[docs[codes == values.index(value)]] = True
        return mask

    def facet_counts(self, matched: np.ndarray, limit: int) -> dict[str, list[tuple[str, int]]]:
        """Per facet, its values among these documents with how many have each: the most frequent first
        (years newest first), at most `limit` of them."""
        chosen = np.zeros(self.size, dtype=bool)
        chosen[matched] = True
        chosen &= self.live()
        found = {}
        for name in FACETS:
            docs, codes, values = self.facet(name)
            counts = np.bincount(codes[chosen[docs]], minlength=len(values))
            present = np.flatnonzero(counts)
            # Years newest first, amount bands in their order; other values the most frequent first, then in
            # code (alphabetical) order.
            if name == "year":
                order = present[::-1]
            elif name == "amount_band":
                order = present
            else:
                order = present[np.lexsort((present, -counts[present]))]
            found[name] = [(values[i], int(counts[i])) for i in order[:limit].tolist()]
        return found

    def numeric(self, name: str) -> np.ndarray:
        """Values in Whoosh's sortable (order-preserving unsigned) form; MISSING (0) sorts below everything."""
        if name not in self._cache:
            values = self.reader.column_reader(name, translate=False)
            self._cache[name] = np.fromiter(values, dtype=np.uint64, count=self.size)
        return self._cache[name]

    def live(self) -> np.ndarray:
        if "live" not in self._cache:
            live = np.ones(self.size, dtype=bool)
            if self.reader.has_deletions():
                live[:] = False
                live[np.fromiter(self.reader.all_doc_ids(), dtype=np.int64)] = True
            self._cache["live"] = live
        return self._cache["live"]

    def currency(self) -> tuple[np.ndarray, list[str]]:
        """A code per document (-1: none) and the currencies in code order, which is alphabetical."""
        if "currency" not in self._cache:
            names = sorted(t.decode() for t in self.reader.lexicon("currency"))
            codes = np.full(self.size, -1, dtype=np.int16)
            for code, name in enumerate(names):
                codes[np.fromiter(self.searcher.docs_for_query(Term("currency", name)), dtype=np.int64)] = code
            self._cache["currency_names"] = names
            self._cache["currency"] = codes
        return self._cache["currency"], self._cache["currency_names"]

    def sortable(self, name: str, value: int) -> int:
        """A value in the column's sortable form, clamped to what the column can hold (a bound beyond it
        excludes or includes everything on that side, as it would with unlimited columns)."""
        field = self.searcher.schema[name]
        value = min(max(int(value), field.min_value), field.max_value)
        return int(field.to_column_value(value))

    def mask(self, filters: Filters) -> np.ndarray:
        mask = self.live().copy()
        if filters.currency is not None:
            codes, names = self.currency()
            mask &= codes == (names.index(filters.currency) if filters.currency in names else -2)
            amounts = self.numeric("amount")
            if filters.min_amount is not None:
                low = _cents_or_none(filters.min_amount)
                mask &= amounts >= self.sortable("amount", low) if low is not None else False
            if filters.max_amount is not None:
                high = _cents_or_none(filters.max_amount)
                mask &= (amounts <= self.sortable("amount", high)) & (amounts != MISSING) if high is not None else False
        for name, value in filters.facets:
            mask &= self.facet_mask(name, value)
        if filters.date_from is None and filters.date_to is None:
            return mask
        column = DATE_COLUMNS.get(filters.dates, "when")
        if column not in self.searcher.schema:  # an index built before these dates: `portal reindex` adds them
            return mask & False
        when = self.numeric(column)
        if filters.date_from is not None:
            mask &= (when >= self.sortable(column, day_start(filters.date_from))) & (when != MISSING)
        if filters.date_to is not None:
            mask &= (when < self.sortable(column, day_end(filters.date_to))) & (when != MISSING)
        return mask

    def order(self, docnums: np.ndarray, sort: str, limit: int) -> np.ndarray:
        """The first `limit` of these documents, newest or largest first (amounts grouped by currency); with a
        sort ending in `_asc`, oldest or smallest first. Documents without the value come last either way."""
        ascending = sort.endswith("_asc")
        column = "amount" if sort.startswith("amount") else "when"
        values = self.numeric(column)[docnums]
        key = np.where(values == MISSING, np.iinfo(np.uint64).max, values) if ascending else ~values
        if column == "amount":
            codes, _ = self.currency()
            # Documents without a currency (code -1) go after every currency, as with missing amounts.
            group = np.where(codes[docnums] < 0, np.iinfo(np.int16).max, codes[docnums])
            keys: tuple[np.ndarray, ...] = (docnums, key, group)  # lexsort: last key first
        else:
            keys = (docnums, key)
        if len(docnums) > limit * 4:
            # Only the head is shown: partition on the primary key first, then sort that head exactly.
            primary = keys[-1]
            cut = np.partition(primary, limit - 1)[limit - 1]
            head = primary <= cut
            keys = tuple(k[head] for k in keys)
            docnums = docnums[head]
        return docnums[np.lexsort(keys)][:limit]


def _cents_or_none(amount: Decimal) -> int | None:
    """Cents of a bound; None for a bound that is not a number (NaN), which nothing satisfies."""
    try:
        value = Decimal(amount)
        if value.is_infinite():
            return (1 << 64) if value > 0 else -(1 << 64)  # clamped to the column by `sortable`
        return cents(value)
    except (InvalidOperation, ValueError, TypeError):
        return None
