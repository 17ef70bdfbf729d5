"""Reading what a reader typed: Whoosh's query language, with limits on what a query may cost.

No query text raises: text the parser cannot read is searched as its words. Queries that would read a large
part of the index through Whoosh's own matchers are refused with a message instead of a slow answer: a word
with * or ? needs a few letters before the first of them (`*a*` or `??*` would test every word of the index),
and a query may expand to a limited number of words and posting entries.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from itertools import islice

from whoosh.lang import has_stemmer, has_stopwords, stopwords_for_language
from whoosh.qparser import QueryParser
from whoosh.query import And, Every, MultiTerm, Not, Or, Phrase, Prefix, Query, Regex, Term, Wildcard
from whoosh.searching import Searcher

from search_index.schema import (
    ANALYZER,
    EXACT_BOOST,
    LANGUAGE_FIELD,
    SEARCH_FIELD,
    STEM_FIELD,
    stem,
)

log = logging.getLogger(__name__)

MAX_QUERY_LENGTH = 500  # longer text is cut: nobody types more, and parse time grows with it
MIN_PATTERN_PREFIX = 2  # letters before the first * or ? of a word
MAX_EXPANSIONS = 500  # words a query's patterns, ranges and fuzzy words may stand for, in all
# Posting entries a query answered by Whoosh's matchers (OR, NOT, patterns) may read: Whoosh walks them one by one
# in Python, about a microsecond each, so this keeps such a query near a second at worst.
MAX_POSTINGS = 1_000_000
OPERATORS = ("AND", "OR", "NOT", "ANDNOT", "ANDMAYBE")

_PLAIN_WORD = re.compile(r"\w+")
# "-word" (or -"a phrase", -(a OR b)) at the start of the text or after a space: the word is excluded.
_MINUS = re.compile(r"(^|(?<=[\s(]))-(?=[\w(])")
_MINUS_PHRASE = re.compile(r"(^|[\s(])-$")
MIN_SUGGESTED = 3  # words shorter than this are never corrected
SHORT_WORD = 6  # words shorter than this are corrected by one edit, longer ones by up to two
# Words never corrected: they are the query language's or too common to mean anything alone.
_STOP_LANGUAGES = ("en", "fr", "es", "pt", "it", "de", "ro", "ru")
STOP_WORDS = frozenset(
    w for lang in _STOP_LANGUAGES if has_stopwords(lang) for w in stopwords_for_language(lang)
) | frozenset(o.lower() for o in OPERATORS)


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


def _minus_as_not(text: str) -> str:
    """`-word` written as `NOT word`, outside quoted phrases; a hyphen inside a word is left alone."""
    if "-" not in text:
        return text
    parts = text.split('"')
    for i in range(0, len(parts), 2):  # the even parts lie outside quotes
        parts[i] = _MINUS.sub("NOT ", parts[i])
        if i + 1 < len(parts) and _MINUS_PHRASE.search(parts[i]):
            parts[i] = parts[i][:-1] + "NOT "  # -"a phrase"
    return '"'.join(parts)


def parse_query(searcher: Searcher, text: str) -> Query:
    """Whoosh syntax (AND/OR/NOT, "phrases", field:word, prefix*); text that will not parse is read as words.
    `-word` excludes, as `NOT word` does."""
    text = _minus_as_not(text.strip()[:MAX_QUERY_LENGTH])
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


def index_languages(searcher: Searcher) -> tuple[str, ...]:
    """The languages whose stems the index holds; none in an index built before stems were indexed."""

    def read(searcher: Searcher, _: object) -> tuple[str, ...]:
        schema = searcher.schema
        if STEM_FIELD not in schema or LANGUAGE_FIELD not in schema:
            return ()
        found = (t.decode() if isinstance(t, bytes) else str(t) for t in searcher.reader().lexicon(LANGUAGE_FIELD))
        return tuple(lang for lang in found if has_stemmer(lang))

    return _attached(searcher, "languages", read)


def stemmed(searcher: Searcher, query: Query) -> Query:
    """The query with each word of the catch-all field also looked up by its stems, in every language the index
    holds: `services` finds `service`. The exact word weighs EXACT_BOOST times more, and a document holding it
    also holds its stem, so an exact match ranks above a stem match. Phrases and named fields stay exact."""
    languages = index_languages(searcher)
    if not languages:
        return query

    def expand(node: Query) -> Query:
        if isinstance(node, Term):
            if node.fieldname != SEARCH_FIELD or not isinstance(node.text, str):
                return node
            stems = dict.fromkeys(stem(lang, node.text) for lang in languages)
            exact = Term(SEARCH_FIELD, node.text, boost=node.boost * EXACT_BOOST)
            return Or([exact, *(Term(STEM_FIELD, s, boost=node.boost) for s in stems)])
        if node.is_leaf() or isinstance(node, Phrase):
            return node
        return node.apply(expand)

    return expand(query)


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


def _found(searcher: Searcher, query: Query) -> bool:
    try:
        return next(iter(searcher.docs_for_query(stemmed(searcher, query))), None) is not None
    except Exception:  # a suggestion is optional
        return False


def _lacking(searcher: Searcher, query: Query) -> list[str]:
    """The query's words (catch-all field, not excluded) that the index holds neither as written nor by stem,
    leaving out stop-words, the query language's operators, field names and very short words."""
    reader = searcher.reader()
    names = set(searcher.schema.names())
    languages = index_languages(searcher)
    lacking = []

    def visit(node: Query) -> None:
        if isinstance(node, Not):
            return
        if isinstance(node, Term):
            word = node.text
            if (
                node.fieldname == SEARCH_FIELD
                and isinstance(word, str)
                and len(word) >= MIN_SUGGESTED
                and not word.isdigit()
                and word not in STOP_WORDS
                and word not in names
                and not reader.doc_frequency(SEARCH_FIELD, word)
                and not any(reader.doc_frequency(STEM_FIELD, stem(lang, word)) for lang in languages)
            ):
                lacking.append(word)
            return
        if not node.is_leaf():
            for child in node.children():
                visit(child)

    visit(query)
    return list(dict.fromkeys(lacking))


def _respelled(text: str, word: str, replacement: str) -> str:
    """The text with each written form of `word` (as the analyser reads it) replaced."""

    def swap(found: re.Match) -> str:
        tokens = [t.text for t in ANALYZER(found.group())]
        return replacement if tokens == [word] else found.group()

    return _PLAIN_WORD.sub(swap, text)


def suggestion(searcher: Searcher, query: Query, text: str) -> str | None:
    """A spelling suggestion for a query that found nothing: only words the index lacks are corrected, never
    stop-words, operators or field names, and only a correction that finds something is suggested."""
    try:
        lacking = _lacking(searcher, query)
        if not lacking:
            return None
        corrector = searcher.reader().corrector(SEARCH_FIELD)
        corrected, written = query, text.strip()
        for word in lacking:
            # One edit for a short word: two would turn "road" into "rojas".
            for candidate in corrector.suggest(word, limit=5, maxdist=1 if len(word) < SHORT_WORD else 2):
                if candidate in STOP_WORDS or len(candidate) < MIN_SUGGESTED or candidate.isdigit():
                    continue
                trial = corrected.replace(SEARCH_FIELD, word, candidate)
                if _found(searcher, trial):
                    corrected, written = trial, _respelled(written, word, candidate)
                    break
        if corrected == query or not _found(searcher, corrected):
            return None
        return written
    except Exception:  # a suggestion is optional
        log.warning("no suggestion for %r", text, exc_info=True)
        return None
