"""Searching processes: one page of hits for a query, filters and an order.

Knows nothing of Flask: `search_processes` takes plain values and returns plain dataclasses. The parts live
beside it: `store` (the index and its per-thread searchers), `parsing` (query text, and what a query may
cost), `columns` (filters and sorts over the sortable columns), `highlighting`, and `whoosh_internals` (word
queries answered with numpy over Whoosh's posting lists, behind a guard).
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice

import numpy as np
from markupsafe import Markup
from whoosh.query import Every, Query, Term
from whoosh.searching import Searcher

from search_index.columns import Columns, Filters, cents, day_start
from search_index.highlighting import Highlighter
from search_index.indexer import apply_queue, open_index, rebuild
from search_index.parsing import (
    MAX_QUERY_LENGTH,
    Refused,
    _attached,
    check_cost,
    parse_query,
    query_words,
    stemmed,
    suggestion,
)
from search_index.parsing import words_query as _words_query
from search_index.schema import ID_FIELD, MISSING, looks_like_id
from search_index.store import IndexMissing, SearchIndex
from search_index.whoosh_internals import usable
from search_index.whoosh_internals.postings import Postings, leaf_term_docs
from search_index.whoosh_internals.stored import read_stored, stored_readers

__all__ = [
    "MAX_PAGE",
    "MAX_QUERY_LENGTH",
    "SORTS",
    "BadCursor",
    "Ordered",
    "Filters",
    "Hit",
    "SearchIndex",
    "SearchPage",
    "apply_queue",
    "cents",
    "day_start",
    "hits_at",
    "ordered_matches",
    "open_index",
    "parse_query",
    "rebuild",
    "search_processes",
]

log = logging.getLogger(__name__)

SORTS = ("relevance", "amount", "date", "amount_asc", "date_asc")  # amounts grouped by currency either way
MAX_PAGE = 500  # deeper pages cost a full sort for little use; narrow the query instead
NOT_BUILT = "The search index has not been built yet."
UNMARKED = Markup()  # the title and snippet HTML of a hit read without them


@dataclass
class Hit:
    ocid: str
    title: str
    title_html: Markup
    snippet_html: Markup
    buyer: str
    suppliers: list[str]
    status: str
    amount: str
    currency: str
    date: datetime | None
    flags: list[str] = field(default_factory=list)  # codes of the red flags that fired
    description: str = ""


@dataclass
class SearchPage:
    query: str
    sort: str
    page: int
    per_page: int
    total: int
    hits: list[Hit] = field(default_factory=list)
    corrected: str | None = None
    notice: str | None = None  # why the query was refused or read differently, for the reader
    process: str | None = None  # the ocid of the one process whose ocid or tender, award or contract id is `query`
    # Facet -> (value, processes) among all the results, with the query and every filter applied (FACETS).
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return min(MAX_PAGE, max(1, -(-self.total // self.per_page)))


def columns_of(searcher: Searcher) -> Columns:
    return _attached(searcher, "columns", Columns)


def postings_of(searcher: Searcher) -> Postings | None:
    """The numpy posting reader, or None where the guard finds Whoosh or the index not as verified."""
    return _attached(searcher, "postings", Postings) if internals_allowed(searcher) else None


def internals_allowed(searcher: Searcher) -> bool:
    """Whether search_index.whoosh_internals may read this searcher's index (checked once per searcher)."""
    return _attached(searcher, "internals_usable", lambda searcher, _: [usable(searcher)])[0]


def _hit(fields: dict, marks: Highlighter | None) -> Hit:
    """A hit from its stored fields; without `marks`, no title or snippet HTML (an export shows neither)."""
    title = fields.get("title") or fields["ocid"]
    return Hit(
        ocid=fields["ocid"],
        title=title,
        title_html=marks.title(title) if marks else UNMARKED,
        snippet_html=marks.snippet(fields.get("description", "")) if marks else UNMARKED,
        buyer=fields.get("buyer", ""),
        suppliers=[s for s in fields.get("suppliers", "").split("\n") if s],
        status=fields.get("status", ""),
        amount=fields.get("amount_text", ""),
        currency=fields.get("currency", ""),
        date=datetime.fromisoformat(fields["date"]) if fields.get("date") else None,
        flags=fields.get("flags", "").split(),
        description=fields.get("description", ""),
    )


def _top(docnums: np.ndarray, scores: np.ndarray, limit: int) -> np.ndarray:
    """The `limit` best-scoring documents, ties to the lower document number, as Whoosh orders them."""
    if len(docnums) > limit:
        head = np.argpartition(-scores, limit - 1)[:limit]
        cut = scores[head].min()
        head = np.flatnonzero(scores >= cut)  # keep every tie at the cut, then order exactly
        docnums, scores = docnums[head], scores[head]
    return docnums[np.lexsort((docnums, -scores))][:limit]


def _count(searcher: Searcher, query: Query, results) -> int:
    """How many documents match. A single word's count is its document frequency, read from the term index,
    unless deleted documents (left by updates until segments merge) could be among them; anything else is
    counted by walking the matches."""
    if isinstance(query, Term) and not searcher.reader().has_deletions():
        return searcher.doc_frequency(query.fieldname, query.text)
    return len(results)


def _matching(
    searcher: Searcher, query: Query, text: str, sort: str, start: int, end: int, mask: np.ndarray | None
) -> tuple[list[dict], int, np.ndarray | None]:
    """The stored fields of the page's hits, how many documents match in all, and which (None where only
    Whoosh's matchers know: they are read again if the facets need them)."""
    columns = columns_of(searcher)
    postings = None if isinstance(query, Every) else postings_of(searcher)
    fast = postings.match(query) if postings is not None else None
    if fast is not None:
        keep = columns.live()[fast.docnums] if mask is None else mask[fast.docnums]
        matched, scores = fast.docnums[keep], fast.scores[keep]
        ordered = _top(matched, scores, end) if sort == "relevance" else columns.order(matched, sort, end)
        return [searcher.stored_fields(int(d)) for d in ordered[start:]], len(matched), matched
    if not isinstance(query, Every):
        check_cost(searcher, query, text)
    if sort == "relevance" and mask is None:
        results = searcher.search(query, limit=end)
        return [hit.fields() for hit in results[start:end]], _count(searcher, query, results), None
    if isinstance(query, Every):
        matched = np.flatnonzero(mask if mask is not None else columns.live())
    else:
        matched = np.fromiter(searcher.docs_for_query(query), dtype=np.int64)
        if mask is not None:
            matched = matched[mask[matched]]
    if sort == "relevance":
        results = searcher.search(query, limit=end, filter=set(matched.tolist()))
        return [hit.fields() for hit in results[start:end]], len(matched), matched
    ordered = columns.order(matched, sort, end)
    return [searcher.stored_fields(int(d)) for d in ordered[start:]], len(matched), matched


def identified(searcher: Searcher, text: str) -> str | None:
    """The ocid of the one live process whose ocid, or tender, award or contract id, is the whole text."""
    text = text.strip()
    if not text or len(text) > 200 or " " in text:
        return None
    candidates = [Term("ocid", text)]
    if ID_FIELD in searcher.schema and looks_like_id(text):
        candidates.append(Term(ID_FIELD, text.lower()))
    for term in candidates:
        found = list(islice(searcher.docs_for_query(term), 2))
        if len(found) == 1:
            return searcher.stored_fields(found[0])["ocid"]
    return None


def search_processes(
    index: SearchIndex,
    *,
    q: str = "",
    sort: str = "relevance",
    page: int = 1,
    per_page: int = 20,
    filters: Filters | None = None,
    facets: int = 0,
) -> SearchPage:
    """One page of processes matching `q` and `filters`; an empty query lists every process, newest first.

    Words, AND and phrases are matched and scored with numpy over the posting lists
    (search_index.whoosh_internals.postings); other query shapes go through Whoosh's matchers, within the limits
    of search_index.parsing. Filters are masks over the column arrays and non-relevance orders one numpy sort,
    so neither depends on how many documents match. With `facets`, each facet's `facets` most frequent values
    among all the results are counted, from the same arrays. No query text raises: a refused query or a missing index
    gives an empty page whose `notice` says why.
    """
    filters = filters or Filters()
    sort = sort if sort in SORTS else "relevance"
    page = min(max(page, 1), MAX_PAGE)
    per_page = max(per_page, 1)
    result = SearchPage(query=q, sort=sort, page=page, per_page=per_page, total=0)
    try:
        searcher = index.searcher()
    except IndexMissing:
        result.notice = NOT_BUILT
        return result
    result.process = identified(searcher, q)
    query = parse_query(searcher, q)
    if isinstance(query, Every) and sort == "relevance":
        sort = result.sort = "date"
    columns = columns_of(searcher)
    postings = postings_of(searcher)
    if postings is not None and columns.term_docs is None:
        columns.term_docs = leaf_term_docs
    mask = columns.mask(filters) if filters.active() else None
    start, end = (page - 1) * per_page, page * per_page
    try:
        shown, total, matched = _matching(searcher, stemmed(searcher, query), q, sort, start, end, mask)
    except Refused as refusal:
        result.notice = str(refusal)
        return result
    except Exception:
        # Whoosh can trip over a query its own parser made; search for the words instead of failing the page.
        log.warning("query %r failed; searched as plain words", q, exc_info=True)
        query = _words_query(q.strip()[:MAX_QUERY_LENGTH])
        try:
            shown, total, matched = _matching(searcher, stemmed(searcher, query), q, sort, start, end, mask)
        except Refused as refusal:
            result.notice = str(refusal)
            return result
        result.notice = "The query could not be read as written; its words were searched instead."

    marks = Highlighter(query_words(query))
    result.total = total
    result.hits = [_hit(f, marks) for f in shown]
    if facets:
        if matched is None:
            matched = np.fromiter(searcher.docs_for_query(stemmed(searcher, query)), dtype=np.int64)
        result.facets = columns.facet_counts(matched, facets)
    if not shown and total == 0 and q.strip():
        result.corrected = suggestion(searcher, query, q)
    return result


# ---------------------------------------------------------------------------------------------------------------
# Every result in order: keyset pages and whole-result exports.


class BadCursor(ValueError):
    """A `cursor` this index did not write, or for another order."""


@dataclass
class Ordered:
    """All the documents a search matches, in the page's order, with the sort keys that order them (primary key
    first, the document number last), so that a page can start after any row: keyset paging."""

    searcher: Searcher
    sort: str
    docnums: np.ndarray
    keys: list[np.ndarray]
    notice: str | None = None

    def __len__(self) -> int:
        return len(self.docnums)

    def cursor(self, position: int) -> str:
        """An opaque token for the row at `position`: the next page starts after it. It holds the row's ocid
        and its sort keys: the ocid finds the row again after the index changes (document numbers move when
        segments merge); the keys place the page where the row was, if it has gone."""
        ocid = self.searcher.stored_fields(int(self.docnums[position]))["ocid"]
        keys = [k[position].item() for k in self.keys[:-1]]
        raw = json.dumps([self.sort, ocid, keys], ensure_ascii=False, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def after(self, cursor: str) -> int:
        """The position of the first row after the cursor's row."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            sort, ocid, keys = json.loads(raw)
            if sort != self.sort or not isinstance(ocid, str) or not isinstance(keys, list):
                raise BadCursor(cursor)
            if len(keys) != len(self.keys) - 1 or not all(isinstance(k, int | float) for k in keys):
                raise BadCursor(cursor)
        except (ValueError, TypeError, UnicodeDecodeError) as error:
            raise BadCursor(cursor) from error
        docnum = self.searcher.document_number(ocid=ocid)
        if docnum is not None:
            found = np.flatnonzero(self.docnums == docnum)
            if len(found):
                return int(found[0]) + 1
        # The row has gone (or no longer matches): rows whose keys come after it, ties in document order.
        later = np.zeros(len(self.docnums), dtype=bool)
        same = np.ones(len(self.docnums), dtype=bool)
        for column, value in zip(self.keys[:-1], keys, strict=True):
            later |= same & (column > value)
            same &= column == value
        return int(np.argmax(later)) if later.any() else len(self.docnums)


def _sort_keys(columns: Columns, docnums: np.ndarray, sort: str, scores: np.ndarray | None) -> list[np.ndarray]:
    """The keys that order `docnums` as the page does (Columns.order, _top), primary first, docnum last."""
    if sort == "relevance":
        assert scores is not None
        return [-scores, docnums]
    ascending = sort.endswith("_asc")
    column = "amount" if sort.startswith("amount") else "when"
    values = columns.numeric(column)[docnums]
    key = np.where(values == MISSING, np.iinfo(np.uint64).max, values) if ascending else ~values
    if column == "amount":
        codes, _ = columns.currency()
        group = np.where(codes[docnums] < 0, np.iinfo(np.int16).max, codes[docnums]).astype(np.int64)
        return [group, key, docnums]
    return [key, docnums]


def ordered_matches(
    index: SearchIndex, *, q: str = "", sort: str = "relevance", filters: Filters | None = None
) -> Ordered:
    """Every document matching `q` and `filters`, in the order `search_processes` pages through them. Costs a
    full sort of the matches (no early cut at the page), so it serves exports and keyset pages, not the page."""
    filters = filters or Filters()
    sort = sort if sort in SORTS else "relevance"
    searcher = index.searcher()
    query = parse_query(searcher, q)
    if isinstance(query, Every) and sort == "relevance":
        sort = "date"
    columns = columns_of(searcher)
    postings = postings_of(searcher)
    if postings is not None and columns.term_docs is None:
        columns.term_docs = leaf_term_docs
    mask = columns.mask(filters) if filters.active() else columns.live()
    notice = None
    try:
        docnums, scores = _all_matches(searcher, stemmed(searcher, query), q, sort, mask)
    except Refused as refusal:
        docnums, scores, notice = np.empty(0, dtype=np.int64), np.empty(0), str(refusal)
    keys = _sort_keys(columns, docnums, sort, scores)
    order = np.lexsort(tuple(reversed(keys)))
    return Ordered(searcher, sort, docnums[order], [k[order] for k in keys], notice)


def _all_matches(
    searcher: Searcher, query: Query, text: str, sort: str, mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    postings = None if isinstance(query, Every) else postings_of(searcher)
    fast = postings.match(query) if postings is not None else None
    if fast is not None:
        keep = mask[fast.docnums]
        return fast.docnums[keep], fast.scores[keep]
    if isinstance(query, Every):
        return np.flatnonzero(mask), None
    check_cost(searcher, query, text)
    matched = np.fromiter(searcher.docs_for_query(query), dtype=np.int64)
    matched = matched[mask[matched]]
    if sort != "relevance":
        return matched, None
    results = searcher.search(query, limit=None, filter=set(matched.tolist()))
    docnums = np.fromiter((hit.docnum for hit in results), dtype=np.int64, count=len(results))
    scores = np.fromiter((hit.score for hit in results), dtype=np.float64, count=len(results))
    return docnums, scores


def hits_at(ordered: Ordered, start: int, end: int, q: str = "", *, html: bool = True) -> list[Hit]:
    """The rows from `start` to `end` (exclusive) of an ordered result, marked for the words of `q`; with
    `html=False`, without their title and snippet HTML (a CSV export writes neither)."""
    marks = Highlighter(query_words(parse_query(ordered.searcher, q))) if html else None
    return [_hit(fields, marks) for fields in stored_in_order(ordered.searcher, ordered.docnums[start:end])]


def stored_in_order(searcher: Searcher, docnums: np.ndarray) -> list[dict]:
    """The stored fields of `docnums`, in their order, read in document order: each segment's stored column
    forwards, rather than jumping about it as a relevance or date order would (the reads an export makes for
    every one of its rows), straight from the column where the internals' guard allows."""
    order = np.argsort(docnums, kind="stable")
    ascending = docnums[order].tolist()
    if ascending and internals_allowed(searcher):
        fields = read_stored(_attached(searcher, "stored", lambda searcher, _: stored_readers(searcher)), ascending)
    else:
        fields = [searcher.stored_fields(docnum) for docnum in ascending]
    found: list[dict] = [{}] * len(ascending)
    for position, stored in zip(order.tolist(), fields, strict=True):
        found[position] = stored
    return found
