"""Searching processes: words through Whoosh's query language, order and filters through sortable columns.

Knows nothing of Flask: `search_processes` takes plain values and returns plain dataclasses.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import numpy as np
from markupsafe import Markup, escape
from whoosh import highlight
from whoosh.qparser import OrGroup, QueryParser
from whoosh.query import Every, Query, Term
from whoosh.searching import Searcher
from whoosh.support.charset import accent_map

from search_index.indexer import open_index
from search_index.postings import PostingCache, Postings
from search_index.schema import ANALYZER, MISSING, SEARCH_FIELD

SORTS = ("relevance", "amount", "date")
MAX_QUERY_LENGTH = 500  # longer text is cut: nobody types more, and parse time grows with it
MAX_PAGE = 500  # deeper pages cost a full sort for little use; narrow the query instead


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


@dataclass
class SearchPage:
    query: str
    sort: str
    page: int
    per_page: int
    total: int
    hits: list[Hit] = field(default_factory=list)
    corrected: str | None = None

    @property
    def pages(self) -> int:
        return min(MAX_PAGE, max(1, -(-self.total // self.per_page)))


class SearchIndex:
    """An open index with one searcher per thread, refreshed cheaply when the index has changed.

    A rebuild swaps in a new folder: searchers then start afresh, since reusing segment readers across two
    different indexes would mix their documents. The arrays built from an index version (columns, posting
    lists) are shared by all threads searching that version.
    """

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self._local = threading.local()
        self._shared: dict[tuple[int, int], dict] = {}

    def _folder_id(self) -> int:
        return self.directory.stat().st_ino

    def searcher(self) -> Searcher:
        local = self._local
        searcher = getattr(local, "searcher", None)
        if searcher is not None and getattr(local, "folder", None) != self._folder_id():
            searcher.close()
            searcher = None
        if searcher is None:
            searcher = open_index(self.directory).searcher()
            local.folder = self._folder_id()
        elif not searcher.up_to_date():
            searcher = searcher.refresh()
        local.searcher = searcher
        version = (local.folder, searcher.reader().generation())
        shared = self._shared.get(version)
        if shared is None:
            shared = {"columns": {}, "postings": PostingCache()}
            self._shared = {version: shared}  # older versions' arrays go once no searcher uses them
        searcher._portal_shared = shared
        return searcher


_PLAIN_WORD = re.compile(r"\w+")


def _parsers(searcher: Searcher) -> tuple[QueryParser, QueryParser]:
    """The query parsers, built once per searcher: building one costs as much as a rare word's search."""
    return _attached(
        searcher,
        "parsers",
        lambda searcher, _: (
            QueryParser(SEARCH_FIELD, searcher.schema),
            QueryParser(SEARCH_FIELD, searcher.schema, group=OrGroup),
        ),
    )


def parse_query(searcher: Searcher, text: str) -> Query:
    """Whoosh syntax (AND/OR/NOT, "phrases", field:word, prefix*); text that will not parse is read as words."""
    text = text.strip()[:MAX_QUERY_LENGTH]
    if not text:
        return Every()
    if _PLAIN_WORD.fullmatch(text) and text not in ("AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"):
        # One plain word, the commonest query: the term the parser would make, without its dozen passes.
        tokens = [token.text for token in ANALYZER(text)]
        if len(tokens) == 1:
            return Term(SEARCH_FIELD, tokens[0])
    strict, lenient = _parsers(searcher)
    try:
        return strict.parse(text)
    except Exception:  # whoosh raises a variety of errors on odd syntax; a reader's typo is not a server error
        words = [w for w in "".join(c if c.isalnum() else " " for c in text).split()]
        return lenient.parse(" ".join(words)) if words else Every()


_FORMATTER = highlight.HtmlFormatter(tagname="mark", classname="hl", termclass="t")
_WHOLE = highlight.WholeFragmenter()
_CONTEXT = highlight.ContextFragmenter(maxchars=240, surround=60)


def _cut(text: str, limit: int) -> Markup:
    return escape(text if len(text) <= limit else text[: limit - 1] + "…")


def _folded(text: str) -> str:
    lowered = text.lower()
    return lowered if lowered.isascii() else lowered.translate(accent_map)


def _highlight(text: str, words: frozenset[str], fragmenter: highlight.Fragmenter, limit: int) -> Markup:
    """The text with the query's words marked; the formatter escapes everything it does not mark."""
    # Analysed words are the text's own characters lower-cased and folded, so a word absent from the folded
    # text cannot be marked: skip the highlighter, which analyses the whole text, for most hits' descriptions.
    folded = _folded(text) if words else ""
    if folded and any(word in folded for word in words):
        try:
            marked = highlight.highlight(text, words, ANALYZER, fragmenter, _FORMATTER, top=2)
        except Exception:  # highlighting is decoration; a failure must not lose the hit
            marked = ""
        if marked:
            return Markup(marked)
    return _cut(text, limit)


def query_words(query: Query) -> frozenset[str]:
    """The analysed words a query looks for, whatever field it names, for highlighting."""
    words = set()
    for _, text in query.all_terms():
        words.add(text.decode() if isinstance(text, bytes) else str(text))
    return frozenset(words)


def _suggestion(searcher: Searcher, query: Query, text: str) -> str | None:
    """A spelling suggestion for a query that found nothing, from words in the index."""
    try:
        corrected = searcher.correct_query(query, text)
    except Exception:  # whoosh's corrector trips over some parsed queries; a suggestion is optional
        return None
    return corrected.string if corrected.query != query else None


@dataclass(frozen=True)
class Filters:
    """Structured filters. Amount bounds apply only with a currency: amounts are never compared across currencies."""

    currency: str | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    date_from: date | None = None  # on the date the process was last updated, inclusive
    date_to: date | None = None

    def active(self) -> bool:
        return any(v is not None for v in (self.currency, self.date_from, self.date_to)) or (
            self.currency is not None and (self.min_amount is not None or self.max_amount is not None)
        )


class Columns:
    """A searcher's sortable columns as numpy arrays, built once per searcher, so that filters and orders over
    every document are array operations rather than a Python loop or a range query per request."""

    def __init__(self, searcher: Searcher, cache: dict | None = None):
        self.searcher = searcher
        self.reader = searcher.reader()
        self.size = self.reader.doc_count_all()
        self._cache: dict = cache if cache is not None else {}

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

    def sortable(self, name: str, value: object) -> int:
        return int(self.searcher.schema[name].to_column_value(value))

    def mask(self, filters: Filters) -> np.ndarray:
        mask = self.live().copy()
        if filters.currency is not None:
            codes, names = self.currency()
            mask &= codes == (names.index(filters.currency) if filters.currency in names else -2)
            if filters.min_amount is not None:
                mask &= self.numeric("amount") >= self.sortable("amount", cents(filters.min_amount))
            if filters.max_amount is not None:
                mask &= self.numeric("amount") <= self.sortable("amount", cents(filters.max_amount))
        when = self.numeric("when") if filters.date_from or filters.date_to else None
        if filters.date_from is not None:
            mask &= when >= self.sortable("when", day_start(filters.date_from))
        if filters.date_to is not None:
            mask &= (when < self.sortable("when", day_start(filters.date_to + timedelta(days=1)))) & (when != MISSING)
        return mask

    def order(self, docnums: np.ndarray, sort: str, limit: int) -> np.ndarray:
        """The first `limit` of these documents, newest or largest first (amounts grouped by currency)."""
        if sort == "amount":
            codes, _ = self.currency()
            # Documents without a currency (code -1) go after every currency, as with missing amounts.
            group = np.where(codes[docnums] < 0, np.iinfo(np.int16).max, codes[docnums])
            keys = (docnums, ~self.numeric("amount")[docnums], group)  # lexsort: last key first
        else:
            keys = (docnums, ~self.numeric("when")[docnums])
        if len(docnums) > limit * 4:
            # Only the head is shown: partition on the primary key first, then sort that head exactly.
            primary = keys[-1]
            cut = np.partition(primary, limit - 1)[limit - 1]
            head = primary <= cut
            keys = tuple(k[head] for k in keys)
            docnums = docnums[head]
        return docnums[np.lexsort(keys)][:limit]


def cents(amount: Decimal) -> int:
    return int((Decimal(amount) * 100).to_integral_value())


def day_start(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp())


def _attached(searcher: Searcher, name: str, make):  # type: ignore[no-untyped-def]
    """One helper per searcher, built on the arrays its index version shares with the other threads."""
    found = getattr(searcher, f"_portal_{name}", None)
    if found is None:
        found = make(searcher, getattr(searcher, "_portal_shared", {}).get(name))
        setattr(searcher, f"_portal_{name}", found)
    return found


def columns_of(searcher: Searcher) -> Columns:
    return _attached(searcher, "columns", Columns)


def _hit(fields: dict, words: frozenset[str]) -> Hit:
    title = fields.get("title") or fields["ocid"]
    return Hit(
        ocid=fields["ocid"],
        title=title,
        title_html=_highlight(title, words, _WHOLE, 400),
        snippet_html=_highlight(fields.get("description", ""), words, _CONTEXT, 240),
        buyer=fields.get("buyer", ""),
        suppliers=[s for s in fields.get("suppliers", "").split("\n") if s],
        status=fields.get("status", ""),
        amount=fields.get("amount_text", ""),
        currency=fields.get("currency", ""),
        date=datetime.fromisoformat(fields["date"]) if fields.get("date") else None,
    )


def _top(docnums: np.ndarray, scores: np.ndarray, limit: int) -> np.ndarray:
    """The `limit` best-scoring documents, ties to the lower document number, as Whoosh orders them."""
    if len(docnums) > limit:
        head = np.argpartition(-scores, limit - 1)[:limit]
        cut = scores[head].min()
        head = np.flatnonzero(scores >= cut)  # keep every tie at the cut, then order exactly
        docnums, scores = docnums[head], scores[head]
    return docnums[np.lexsort((docnums, -scores))][:limit]


def postings_of(searcher: Searcher) -> Postings:
    return _attached(searcher, "postings", Postings)


def _count(searcher: Searcher, query: Query, results) -> int:  # type: ignore[no-untyped-def]
    """How many documents match. A single word's count is its document frequency, read from the term index,
    unless deleted documents (left by updates until segments merge) could be among them; anything else is
    counted by walking the matches."""
    if isinstance(query, Term) and not searcher.reader().has_deletions():
        return searcher.doc_frequency(query.fieldname, query.text)
    return len(results)


def search_processes(
    index: SearchIndex,
    *,
    q: str = "",
    sort: str = "relevance",
    page: int = 1,
    per_page: int = 20,
    filters: Filters | None = None,
) -> SearchPage:
    """One page of processes matching `q` and `filters`; an empty query lists every process, newest first.

    Words, AND and phrases are matched and scored with numpy over the posting lists (search_index.postings);
    other query shapes go through Whoosh's matchers. Filters are masks over the column arrays and non-relevance
    orders one numpy sort, so neither depends on how many documents match.
    """
    searcher = index.searcher()
    filters = filters or Filters()
    sort = sort if sort in SORTS else "relevance"
    page = min(max(page, 1), MAX_PAGE)
    query = parse_query(searcher, q)
    if isinstance(query, Every) and sort == "relevance":
        sort = "date"
    columns = columns_of(searcher)
    mask = columns.mask(filters) if filters.active() else None
    words = query_words(query)
    start, end = (page - 1) * per_page, page * per_page

    fast = None if isinstance(query, Every) else postings_of(searcher).match(query)
    if fast is not None:
        keep = columns.live()[fast.docnums] if mask is None else mask[fast.docnums]
        matched, scores = fast.docnums[keep], fast.scores[keep]
        total = len(matched)
        if sort == "relevance":
            shown = [searcher.stored_fields(int(d)) for d in _top(matched, scores, end)[start:]]
        else:
            shown = [searcher.stored_fields(int(d)) for d in columns.order(matched, sort, end)[start:]]
    elif sort == "relevance" and mask is None:
        results = searcher.search(query, limit=end)
        shown = [hit.fields() for hit in results[start:end]]
        total = _count(searcher, query, results)
    else:
        if isinstance(query, Every):
            matched = np.flatnonzero(mask if mask is not None else columns.live())
        else:
            matched = np.fromiter(searcher.docs_for_query(query), dtype=np.int64)
            if mask is not None:
                matched = matched[mask[matched]]
        total = len(matched)
        if sort == "relevance":
            results = searcher.search(query, limit=end, filter=set(matched.tolist()))
            shown = [hit.fields() for hit in results[start:end]]
        else:
            shown = [searcher.stored_fields(int(d)) for d in columns.order(matched, sort, end)[start:]]

    result = SearchPage(
        query=q, sort=sort, page=page, per_page=per_page, total=total, hits=[_hit(f, words) for f in shown]
    )
    if not shown and total == 0 and q.strip():
        result.corrected = _suggestion(searcher, query, q)
    return result
