"""The Whoosh schema for processes.

Words are searched in one catch-all field, `text` (title, description, buyer, suppliers, items): one posting
list per word instead of one per field keeps multi-word queries and counts cheap at a million documents. The
title goes in twice, which is how it weighs more in the ranking. `title`, `buyer` and `suppliers` are also
indexed on their own for field queries (`buyer:finanzas`). Filters and sorts read sortable columns.

`pairs` holds each two neighbouring words of `text` as one term ("entretien parcs"), so a phrase is found and
scored by looking up its word pairs instead of decoding the word positions of every document that has all its
words (seconds for a phrase of common words at a million documents).

`stems` holds the words of `text` stemmed by the process's language (its release's `language`), each stem
prefixed with that language ("fr_entretien"): a query carries no language, so its words are looked up in
`text` as typed and, stemmed by each language in the index, in `stems`; an exact word scores in both and ranks
above a stem match. `language` lists the languages the index holds. Both are absent from an index built before
them: its queries are not stemmed until `portal reindex`.

`flags` holds the codes of the red flags that fired on a process (portal.domain.redflags). An index built
before it has no flag facet and no badges until `portal reindex`; its updates leave the field out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache

from whoosh.analysis import (
    CharsetFilter,
    RegexTokenizer,
    ShingleFilter,
    SpaceSeparatedTokenizer,
    StandardAnalyzer,
    Token,
)
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.lang import has_stemmer, stemmer_for_language
from whoosh.support.charset import accent_map

# No stop words (the corpus mixes French, Spanish, Ukrainian and English, and phrases must match exactly) and no
# stemming (no single language's stemmer fits); accents folded so "equipement" finds "équipement". This chain
# defines the words; FoldedWords gives the same tokens in one pass, for the index build.
WORDS_CHAIN = StandardAnalyzer(stoplist=None, minsize=1) | CharsetFilter(accent_map)


class FoldedWords(RegexTokenizer):
    """WORDS_CHAIN's tokens (text, positions, characters) in one generator instead of three: a word matched by
    Whoosh's default pattern, lowercased, then its accents folded. Analysis was a third of the index build, and
    each document's text is read for words, word pairs and stems. tests/search_index/test_analysis.py holds the
    two to the same tokens. An index's schema names this class: it must keep its name and module."""

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: object,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            matches: Iterable = [None]
        else:
            matches = self.expression.finditer(value)
        for pos, match in enumerate(matches):
            raw = value if match is None else match.group(0)
            if keeporiginal:
                token.original = raw
            token.text = raw.lower().translate(accent_map)
            token.boost = 1.0
            token.stopped = False
            if positions:
                token.pos = start_pos + pos
            if chars:
                start, end = (0, len(value)) if match is None else match.span()
                token.startchar, token.endchar = start_char + start, start_char + end
            yield token


class FoldedPairs(FoldedWords):
    """Each two neighbouring words joined by a space, which the analyser never leaves inside a word; a text of
    one word gives that word (as Whoosh's ShingleFilter does)."""

    def __call__(self, value: str, **kwargs: object) -> Iterator[Token]:  # type: ignore[override]
        previous = None
        paired = False
        for token in super().__call__(value, **kwargs):  # type: ignore[arg-type]
            word = token.text
            if previous is not None:
                token.text = f"{previous} {word}"
                paired = True
                yield token
            previous = word
        if not paired and previous is not None:
            token.text = previous
            yield token


ANALYZER = FoldedWords()
PAIR_ANALYZER = FoldedPairs()
# What PAIR_ANALYZER gives, as a chain of Whoosh's own filters: what an index built before FoldedPairs holds in
# its schema, and what tests/search_index/test_analysis.py holds FoldedPairs to.
PAIRS_CHAIN = WORDS_CHAIN | ShingleFilter(size=2, sep=" ")

SEARCH_FIELD = "text"
PAIR_FIELD = "pairs"  # the word pairs of SEARCH_FIELD
STEM_FIELD = "stems"  # the words of SEARCH_FIELD stemmed by the document's language, "fr_entretien"
LANGUAGE_FIELD = "language"  # the document's language, where a stemmer exists for it
# Which date a date filter applies to -> its column: the last update, the tender, the award, the contract signing.
DATE_COLUMNS = {"updated": "when", "tender": "tender_when", "award": "award_when", "signed": "signed_when"}
ID_FIELD = "ids"  # the tender, award and contract ids of a process
NAME_ANALYZER = RegexTokenizer(r"[^\n]+")  # one term per line: a whole name
# Facet -> the field whose terms are its values ("year" comes from the `when` column).
FACET_FIELDS = {
    "buyer": "buyer_name",
    "supplier": "supplier_names",
    "method": "method",
    "status": "status",
    "currency": "currency",
    "flag": "flags",  # the codes of the red flags that fired (absent from an index built before them)
}


def looks_like_id(text: str) -> bool:
    """Whether text could be a tender, award or contract id a reader pasted: no spaces or commas, a digit, and
    long enough that "1" or "2024" do not count."""
    return 5 <= len(text) <= 200 and any(c.isdigit() for c in text) and not any(c.isspace() or c == "," for c in text)


# An exact word weighs this much more than the same word's stem match.
EXACT_BOOST = 2.0
FIELD_QUERIES = ("title", "buyer", "suppliers")  # the fields a query can name
# What sortable columns hold where a process has no amount or date. Columns keep numbers in Whoosh's unsigned
# "sortable" form, where 0 is below every real value (Chicago publishes negative amounts): "largest first" and
# "newest first" put the unknowns last.
MISSING = 0


class SortableNumber(NUMERIC):
    """A number kept only as a sortable column: filters, facets and sorts read the column (search_index/columns.py)
    and no query reads its terms. Whoosh's NUMERIC also indexes 16 trie terms per 64-bit value, which were a
    third of a document's postings in the index build. An index's schema names this class."""

    indexed = False


def process_schema() -> Schema:
    return Schema(
        ocid=ID(stored=True, unique=True),
        text=TEXT(analyzer=ANALYZER),
        # How often each pair occurs, which scores a phrase; no positions to write.
        pairs=TEXT(analyzer=PAIR_ANALYZER, phrase=False),
        # Already analysed and stemmed by `stemmed_text`: only split on spaces; no positions (no phrases).
        stems=TEXT(analyzer=SpaceSeparatedTokenizer(), phrase=False),
        language=KEYWORD(),
        # The tender's, awards' and contracts' ids, for a pasted id to go straight to its process.
        ids=KEYWORD(commas=True, lowercase=True),
        # Facets: the buyer's and each supplier's name as published, one term each (names hold commas).
        buyer_name=TEXT(analyzer=NAME_ANALYZER, phrase=False),
        supplier_names=TEXT(analyzer=NAME_ANALYZER, phrase=False),
        title=TEXT(analyzer=ANALYZER, stored=True),
        description=STORED(),
        buyer=TEXT(analyzer=ANALYZER, stored=True),
        suppliers=TEXT(analyzer=ANALYZER, stored=True),
        status=ID(stored=True),
        method=ID(stored=True),
        # The codes of the red flags that fired on the process ("R003 R018"), for the facet and the badge.
        flags=KEYWORD(stored=True),
        currency=ID(stored=True, sortable=True),
        # Sortable integer columns order and filter (cents, epoch seconds); display values are stored as text.
        amount=SortableNumber(numtype=int, bits=64, sortable=True, default=MISSING),
        amount_text=STORED(),
        when=SortableNumber(numtype=int, bits=64, sortable=True, default=MISSING),
        date=STORED(),
        # When the tender period started, the first award was made and the first contract signed (epoch seconds).
        tender_when=SortableNumber(numtype=int, bits=64, sortable=True, default=MISSING),
        award_when=SortableNumber(numtype=int, bits=64, sortable=True, default=MISSING),
        signed_when=SortableNumber(numtype=int, bits=64, sortable=True, default=MISSING),
    )


def stem_language(tag: str | None) -> str | None:
    """The language a stemmer exists for, from a language tag ("fr-CA" -> "fr"); None where there is none."""
    if not tag:
        return None
    primary = tag.split("-")[0].split("_")[0].lower()
    return primary if primary.isalpha() and has_stemmer(primary) else None


@lru_cache(maxsize=200_000)
def stem(language: str, word: str) -> str:
    """A folded word's term in STEM_FIELD for a language that has a stemmer ("fr", "entretiens" -> "fr_entretien")."""
    return f"{language}_{stemmer_for_language(language)(word)}"


def stemmed_text(text: str, language: str | None) -> str:
    """STEM_FIELD's text: each word of `text` as ANALYZER reads it, stemmed; empty without a stemmer."""
    if language is None:
        return ""
    return " ".join(stem(language, token.text) for token in ANALYZER(text))
