"""Reading what a reader typed: Whoosh's query language, with limits on what a query may cost.

No query text raises: text the parser cannot read is searched as its words. Queries that would read a large
part of the index through Whoosh's own matchers are refused with a message instead of a slow answer: a word
with * or ? needs a few letters before the first of them (`*a*` or `??*` would test every word of the index),
and a query may expand to a limited number of words and posting entries.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import islice

from whoosh.qparser import QueryParser
from whoosh.query import And, Every, MultiTerm, Phrase, Prefix, Query, Regex, Term, Wildcard
from whoosh.searching import Searcher

from search_index.schema import ANALYZER, SEARCH_FIELD

MAX_QUERY_LENGTH = 500  # longer text is cut: nobody types more, and parse time grows with it
MIN_PATTERN_PREFIX = 2  # letters before the first * or ? of a word
MAX_EXPANSIONS = 500  # words a query's patterns, ranges and fuzzy words may stand for, in all
# Posting entries a query answered by Whoosh's matchers (OR, NOT, patterns) may read: Whoosh walks them one by one
# in Python, about a microsecond each, so this keeps such a query near a second at worst.
MAX_POSTINGS = 1_000_000
OPERATORS = ("AND", "OR", "NOT", "ANDNOT", "ANDMAYBE")

_PLAIN_WORD = re.compile(r"\w+")


class Refused(Exception):
    """A query that would cost too much, with the message to show in its place."""


def _attached(searcher: Searcher, name: str, make):
    """One helper per searcher, built on the arrays its index version shares with the other threads."""
    found = getattr(searcher, f"_portal_{name}", None)
    if found is None:
        found = make(searcher, getattr(searcher, "_portal_shared", {}).get(name))
        setattr(searcher, f"_portal_{name}", found)
    return found


def _parser(searcher: Searcher) -> QueryParser:
    """The query parser, built once per searcher: building one costs as much as a rare word's search."""
    return _attached(searcher, "parser", lambda searcher, _: QueryParser(SEARCH_FIELD, searcher.schema))


def words_query(text: str) -> Query:
    """Every word of the text, all required, without the query language: what odd syntax is read as."""
    terms = [Term(SEARCH_FIELD, token.text) for token in ANALYZER(text)]
    if not terms:
        return Every()
    return terms[0] if len(terms) == 1 else And(terms)


def parse_query(searcher: Searcher, text: str) -> Query:
    """Whoosh syntax (AND/OR/NOT, "phrases", field:word, prefix*); text that will not parse is read as words."""
    text = text.strip()[:MAX_QUERY_LENGTH]
    if not text:
        return Every()
    if _PLAIN_WORD.fullmatch(text) and text not in OPERATORS:
        # One plain word, the commonest query: the term the parser would make, without its dozen passes.
        tokens = [token.text for token in ANALYZER(text)]
        if len(tokens) == 1:
            return Term(SEARCH_FIELD, tokens[0])
    try:
        return _parser(searcher).parse(text)
    except Exception:  # whoosh raises a variety of errors on odd syntax; a reader's typo is not a server error
        return words_query(text)


def query_words(query: Query) -> frozenset[str]:
    """The analysed words a query looks for, whatever field it names, for highlighting."""
    words = set()
    try:
        for _, text in query.all_terms():
            words.add(text.decode() if isinstance(text, bytes) else str(text))
    except Exception:  # highlighting is decoration
        return frozenset()
    return frozenset(words)


def _leaves(query: Query) -> Iterator[Query]:
    if query.is_leaf():
        yield query
    else:
        for child in query.children():
            yield from _leaves(child)


def _literal_prefix(leaf: Query) -> str | None:
    """The letters a pattern starts with, before its first special character; None for other queries."""
    if isinstance(leaf, Prefix):
        return leaf.text
    if isinstance(leaf, (Wildcard, Regex)):
        return leaf._find_prefix(leaf.text) if leaf.text[:1] not in leaf.SPECIAL_CHARS else ""
    return None


def check_cost(searcher: Searcher, query: Query, text: str) -> None:
    """Raise Refused, with a message for the reader, for a query too costly to answer."""
    if isinstance(query, Every):
        return
    reader = searcher.reader()
    expansions = 0
    postings = 0
    for leaf in _leaves(query):
        prefix = _literal_prefix(leaf)
        if prefix is not None and len(prefix) < MIN_PATTERN_PREFIX and str(getattr(leaf, "text", "")) != "":
            raise Refused(
                f"A word with * or ? needs at least {MIN_PATTERN_PREFIX} letters before the first * or ? "
                f"(“{leaf.text}” would test every word in the index)."
            )
        if isinstance(leaf, MultiTerm):
            left = MAX_EXPANSIONS - expansions
            terms = list(islice(leaf.expanded_terms(reader), left + 1))
            expansions += len(terms)
            if expansions > MAX_EXPANSIONS:
                raise Refused(
                    f"“{text.strip()[:80]}” stands for more than {MAX_EXPANSIONS} different words: "
                    "add letters before the * or ?, or search for whole words."
                )
            postings += sum(reader.doc_frequency(field, word) for field, word in terms)
        elif isinstance(leaf, Term):
            postings += reader.doc_frequency(leaf.fieldname, leaf.text)
        elif isinstance(leaf, Phrase):  # one with slop (`"a b"~3`): Whoosh reads every word's positions
            postings += sum(reader.doc_frequency(leaf.fieldname, word) for word in leaf.words)
        if postings > MAX_POSTINGS:
            raise Refused(
                f"“{text.strip()[:80]}” is too broad to answer quickly: use fewer alternatives (OR, *, ?), "
                "or more words, or a filter."
            )


def suggestion(searcher: Searcher, query: Query, text: str) -> str | None:
    """A spelling suggestion for a query that found nothing, from words in the index."""
    try:
        corrected = searcher.correct_query(query, text)
    except Exception:  # whoosh's corrector trips over some parsed queries; a suggestion is optional
        return None
    return corrected.string if corrected.query != query else None
