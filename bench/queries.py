"""The query classes, drawn deterministically from the indexed documents so every query has answers, each given
in the portal's syntax and as the equivalent SQLite FTS5 query."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from whoosh.searching import Searcher

from search_index.query import Filters, day_start
from search_index.schema import ANALYZER

PER_CLASS = 40
WORD = re.compile(r"^[^\W\d_]{4,}$")


def fts_words(query: str) -> str:
    """Words are searched in the catch-all column, as the portal searches its catch-all field."""
    return f"text : ({query})"


@dataclass
class Query:
    """One query in both engines' terms."""

    q: str
    fts: str
    sort: str = "relevance"
    page: int = 1
    filters: Filters | None = None
    fts_where: str = ""
    fts_params: tuple = ()
    fts_order: str = "rank"


def _phrase(words: list[str]) -> str:
    return '"' + " ".join(words) + '"'


def query_classes(searcher: Searcher, *, seed: int = 7, per_class: int = PER_CLASS) -> dict[str, list[Query]]:
    rng = random.Random(seed)
    reader = searcher.reader()
    common = [t.decode() for _, t in reader.most_frequent_terms("title", 40) if WORD.match(t.decode())][:15]
    rare = []
    for term, info in reader.iter_field("text"):
        text = term.decode()
        if 2 <= info.doc_frequency() <= 50 and WORD.match(text):
            rare.append(text)
            if len(rare) >= 2000:
                break
    size = reader.doc_count_all()
    samples = [searcher.stored_fields(rng.randrange(size)) for _ in range(per_class * 4)]
    titles = [[w for w in re.findall(r"[^\W\d_]{4,}", s.get("title", "").lower())] for s in samples]
    titles = [t for t in titles if len(t) >= 3]
    # Phrases are two words that stand side by side in a title, as the analyser splits it.
    pairs = []
    for sample in samples:
        tokens = [token.text for token in ANALYZER(sample.get("title", ""))]
        pairs += [tokens[i : i + 2] for i in range(len(tokens) - 1) if min(map(len, tokens[i : i + 2])) >= 3][:1]
    suppliers = [s["suppliers"].split("\n")[0] for s in samples if s.get("suppliers")]
    buyers = [re.findall(r"[^\W\d_]{4,}", s.get("buyer", "").lower()) for s in samples]
    buyers = [b for b in buyers if b]
    amounts = sorted(int(Decimal(s["amount_text"]) * 100) for s in samples if s.get("currency") == "CAD")
    low, high = amounts[len(amounts) // 4], amounts[3 * len(amounts) // 4]

    def pick(values: list) -> list:
        return [values[i % len(values)] for i in range(per_class)]

    classes: dict[str, list[Query]] = {
        "common word": [Query(w, fts_words(w)) for w in pick(common)],
        "rare word": [Query(w, fts_words(w)) for w in pick(rng.sample(rare, min(len(rare), per_class)))],
        "2-3 words AND": [
            Query(" ".join(ws), fts_words(" AND ".join(ws)))
            for t in pick(titles)
            for ws in [rng.sample(t, rng.choice((2, 3)))]
        ],
        "phrase": [Query(_phrase(pair), fts_words(_phrase(pair))) for pair in pick(pairs)],
        # A supplier by name: every word of the name in the supplier field.
        "supplier name": [
            Query(f"suppliers:({' '.join(n.split())})", f"suppliers : ({' AND '.join(n.split())})")
            for n in pick([re.sub(r"[^\w\s]", " ", n).lower() for n in suppliers])
        ],
        "field query": [Query(f"buyer:{b[0]}", f"buyer : {b[0]}") for b in pick(buyers)],
    }
    year = [(date(y, 1, 1), date(y, 12, 31)) for y in range(2015, 2025)]
    ranged = []
    for word, (start, end) in zip(pick(common), pick(year), strict=True):
        word_fts = fts_words(word)
        filters = Filters(
            currency="CAD", min_amount=Decimal(low) / 100, max_amount=Decimal(high) / 100, date_from=start, date_to=end
        )
        ranged.append(
            Query(
                word,
                word_fts,
                filters=filters,
                fts_where='AND doc.currency = ? AND doc.amount BETWEEN ? AND ? AND doc."when" BETWEEN ? AND ?',
                fts_params=("CAD", low, high, day_start(start), day_start(end) + 86399),
            )
        )
    classes["date + amount range filter"] = ranged
    classes["sort by amount"] = [
        Query(w, fts_words(w), sort="amount", fts_order="doc.currency, doc.amount DESC") for w in pick(common)
    ]
    classes["page 50"] = [Query(w, fts_words(w), page=50) for w in pick(common)]
    return classes
