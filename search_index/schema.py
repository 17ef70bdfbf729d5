"""The Whoosh schema for processes.

Words are searched in one catch-all field, `text` (title, description, buyer, suppliers, items): one posting
list per word instead of one per field keeps multi-word queries and counts cheap at a million documents. The
title goes in twice, which is how it weighs more in the ranking. `title`, `buyer` and `suppliers` are also
indexed on their own for field queries (`buyer:finanzas`). Filters and sorts read sortable columns.

`pairs` holds each two neighbouring words of `text` as one term ("entretien parcs"), so a phrase is found and
scored by looking up its word pairs instead of decoding the word positions of every document that has all its
words (seconds for a phrase of common words at a million documents).
"""

from __future__ import annotations

from whoosh.analysis import CharsetFilter, ShingleFilter, StandardAnalyzer
from whoosh.fields import ID, NUMERIC, STORED, TEXT, Schema
from whoosh.support.charset import accent_map

# No stop words (the corpus mixes French, Spanish, Ukrainian and English, and phrases must match exactly) and no
# stemming (no single language's stemmer fits); accents folded so "equipement" finds "équipement".
ANALYZER = StandardAnalyzer(stoplist=None, minsize=1) | CharsetFilter(accent_map)

# Neighbouring words joined by a space, which the analyser never leaves inside a word.
PAIR_ANALYZER = ANALYZER | ShingleFilter(size=2, sep=" ")

SEARCH_FIELD = "text"
PAIR_FIELD = "pairs"  # the word pairs of SEARCH_FIELD
FIELD_QUERIES = ("title", "buyer", "suppliers")  # the fields a query can name
# What sortable columns hold where a process has no amount or date. Columns keep numbers in Whoosh's unsigned
# "sortable" form, where 0 is below every real value (Chicago publishes negative amounts): "largest first" and
# "newest first" put the unknowns last.
MISSING = 0


def process_schema() -> Schema:
    return Schema(
        ocid=ID(stored=True, unique=True),
        text=TEXT(analyzer=ANALYZER),
        # How often each pair occurs, which scores a phrase; no positions to write.
        pairs=TEXT(analyzer=PAIR_ANALYZER, phrase=False),
        title=TEXT(analyzer=ANALYZER, stored=True),
        description=STORED(),
        buyer=TEXT(analyzer=ANALYZER, stored=True),
        suppliers=TEXT(analyzer=ANALYZER, stored=True),
        status=ID(stored=True),
        method=ID(stored=True),
        currency=ID(stored=True, sortable=True),
        # Sortable integer columns order and filter (cents, epoch seconds); display values are stored as text.
        amount=NUMERIC(numtype=int, bits=64, sortable=True, default=MISSING),
        amount_text=STORED(),
        when=NUMERIC(numtype=int, bits=64, sortable=True, default=MISSING),
        date=STORED(),
    )
