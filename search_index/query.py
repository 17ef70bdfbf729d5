"""Searching processes: words through Whoosh's query language, order and filters through sortable columns.

Knows nothing of Flask: `search_processes` takes plain values and returns plain dataclasses.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from markupsafe import Markup, escape
from whoosh import highlight, sorting
from whoosh.qparser import MultifieldParser, OrGroup
from whoosh.query import Every, Query, Term
from whoosh.searching import Searcher

from search_index.indexer import open_index
from search_index.schema import TEXT_FIELDS

SORTS = ("relevance", "amount", "date")
MAX_QUERY_LENGTH = 500  # longer text is cut: nobody types more, and parse time grows with it
MAX_PAGE = 500  # deeper pages cost a full sort for little use; narrow the query instead
FIELD_BOOSTS = {"title": 3.0, "suppliers": 2.0, "buyer": 1.5, "description": 1.0, "items": 1.0}


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
    different indexes would mix their documents.
    """

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self._local = threading.local()

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
        return searcher


def parse_query(searcher: Searcher, text: str) -> Query:
    """Whoosh syntax (AND/OR/NOT, "phrases", field:word, prefix*); text that will not parse is read as words."""
    text = text.strip()[:MAX_QUERY_LENGTH]
    if not text:
        return Every()
    parser = MultifieldParser(list(TEXT_FIELDS), searcher.schema, fieldboosts=FIELD_BOOSTS)
    try:
        return parser.parse(text)
    except Exception:  # whoosh raises a variety of errors on odd syntax; a reader's typo is not a server error
        words = [w for w in "".join(c if c.isalnum() else " " for c in text).split()]
        plain = MultifieldParser(list(TEXT_FIELDS), searcher.schema, group=OrGroup)
        return plain.parse(" ".join(words)) if words else Every()


def _sort_facet(sort: str) -> sorting.FacetType | None:
    if sort == "amount":
        # Amounts are compared within one currency only (there are no exchange rates): currency first.
        return sorting.MultiFacet([sorting.FieldFacet("currency"), sorting.FieldFacet("amount", reverse=True)])
    if sort == "date":
        return sorting.FieldFacet("when", reverse=True)
    return None


_FORMATTER = highlight.HtmlFormatter(tagname="mark", classname="hl", termclass="t")


def _highlight(hit, fieldname: str, fallback: str, limit: int, fragmenter) -> Markup:  # type: ignore[no-untyped-def]
    hit.results.fragmenter = fragmenter
    try:
        fragment = hit.highlights(fieldname, top=2)
    except Exception:  # highlighting is decoration; a failure must not lose the hit
        fragment = ""
    if fragment:
        return Markup(fragment)
    return escape(fallback if len(fallback) <= limit else fallback[: limit - 1] + "…")


def _suggestion(searcher: Searcher, query: Query, text: str) -> str | None:
    """A spelling suggestion for a query that found nothing, from words in the index."""
    try:
        corrected = searcher.correct_query(query, text)
    except Exception:  # whoosh's corrector trips over some parsed queries; a suggestion is optional
        return None
    return corrected.string if corrected.query != query else None


def search_processes(
    index: SearchIndex,
    *,
    q: str = "",
    sort: str = "relevance",
    page: int = 1,
    per_page: int = 20,
    currency: str | None = None,
) -> SearchPage:
    """One page of processes matching `q`; an empty query lists every process, newest first."""
    searcher = index.searcher()
    sort = sort if sort in SORTS else "relevance"
    if not q.strip() and sort == "relevance":
        sort = "date"
    page = min(max(page, 1), MAX_PAGE)
    query = parse_query(searcher, q)
    results = searcher.search_page(
        query,
        page,
        pagelen=per_page,
        sortedby=_sort_facet(sort),
        filter=Term("currency", currency) if currency else None,
        terms=True,
    )
    results.results.formatter = _FORMATTER
    whole, context = highlight.WholeFragmenter(), highlight.ContextFragmenter(maxchars=240, surround=60)
    hits = []
    for hit in results:
        title = hit.get("title") or hit["ocid"]
        hits.append(
            Hit(
                ocid=hit["ocid"],
                title=title,
                title_html=_highlight(hit, "title", title, 400, whole),
                snippet_html=_highlight(hit, "description", hit.get("description", ""), 240, context),
                buyer=hit.get("buyer", ""),
                suppliers=[s for s in hit.get("suppliers", "").split("\n") if s],
                status=hit.get("status", ""),
                amount=hit.get("amount_text", ""),
                currency=hit.get("currency", ""),
                date=datetime.fromisoformat(hit["date"]) if hit.get("date") else None,
            )
        )
    page_result = SearchPage(query=q, sort=sort, page=page, per_page=per_page, total=len(results.results), hits=hits)
    if not hits and q.strip():
        page_result.corrected = _suggestion(searcher, query, q)
    return page_result
