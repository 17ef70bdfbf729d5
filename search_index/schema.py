"""The Whoosh schema for processes: words from titles, descriptions, parties and items; filters and sorts from
sortable columns."""

from __future__ import annotations

from whoosh.analysis import CharsetFilter, StandardAnalyzer
from whoosh.fields import ID, NUMERIC, STORED, TEXT, Schema
from whoosh.support.charset import accent_map

# No stop words (the corpus mixes French, Spanish, Ukrainian and English, and phrases must match exactly) and no
# stemming (no single language's stemmer fits); accents folded so "equipement" finds "équipement".
ANALYZER = StandardAnalyzer(stoplist=None, minsize=1) | CharsetFilter(accent_map)

TEXT_FIELDS = ("title", "description", "buyer", "suppliers", "items")
# What sortable columns hold where a process has no amount or date. Columns keep numbers in Whoosh's unsigned
# "sortable" form, where 0 is below every real value (Chicago publishes negative amounts): "largest first" and
# "newest first" put the unknowns last.
MISSING = 0


def process_schema() -> Schema:
    return Schema(
        ocid=ID(stored=True, unique=True),
        title=TEXT(analyzer=ANALYZER, stored=True, field_boost=2.0),
        description=TEXT(analyzer=ANALYZER, stored=True),
        buyer=TEXT(analyzer=ANALYZER, stored=True),
        suppliers=TEXT(analyzer=ANALYZER, stored=True),
        items=TEXT(analyzer=ANALYZER),
        status=ID(stored=True),
        method=ID(stored=True),
        currency=ID(stored=True, sortable=True),
        # Sortable integer columns order and filter (cents, epoch seconds); display values are stored as text.
        amount=NUMERIC(numtype=int, bits=64, sortable=True, default=MISSING),
        amount_text=STORED(),
        when=NUMERIC(numtype=int, bits=64, sortable=True, default=MISSING),
        date=STORED(),
    )
