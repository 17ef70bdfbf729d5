"""Word queries answered with numpy over Whoosh's own posting lists.

Whoosh matches and scores one posting at a time in Python: at a million documents a common word or a two-word
AND costs hundreds of milliseconds. Its posting blocks, though, are stored as arrays (document-number deltas
and term weights), so a posting list can be read a block at a time into numpy; intersections, counts and BM25
scores then become array operations. The scores are Whoosh's BM25F (same idf, same field-length
normalisation), so the ranking is the one Whoosh would give.

Only the query shapes this can answer exactly go this way: a word, words joined by AND or OR (a word and its
stems are an OR), words excluded from an AND (`NOT word`, `-word`), and phrases (found and scored by their word
pairs in the catch-all field, with word positions checked where pairs alone cannot tell; elsewhere scored as the
sum of their words). Anything else (NOT alone, prefixes, ranges) returns None and goes through Whoosh's own
matchers.

This reads Whoosh's on-disk format through the block reader's private methods (`_read_data`, `_next_block`)
and decodes the Positions format by hand. `search_index.whoosh_internals.usable` checks the Whoosh version,
codec and weighting before a searcher's postings are read this way; the tests compare every answer with
Whoosh's own on an index of several segments with deletions and posting lists of many blocks.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate
from math import log
from pickle import loads

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.query import And, Not, Or, Phrase, Query, Term
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length

from search_index.schema import PAIR_FIELD, SEARCH_FIELD

# Postings kept in memory per index version (16 bytes each), counting those of the unions kept for ORs of terms:
# common words recur across queries and pages, and a million-document index holds words with hundreds of
# thousands of postings.
CACHED_POSTINGS = 4_000_000
LENGTH_OF_BYTE = np.array([byte_to_length(b) or 1 for b in range(256)], dtype=np.float64)
LENGTH_OF_BYTE[0] = 1  # Whoosh scores a missing length as 1
# An OR whose lists hold more than 1/DENSE_SHARE of the index's size in all is added up in a dense array.
DENSE_SHARE = 32
POSITION_SPAN = 1 << 32  # document numbers and word positions packed in one int64 key


def _unfiltered(reader, field: str, text: str):
    """A segment's posting list at its first block, deleted documents included. `reader.postings` wraps it in a
    filter that has already stepped past the deleted documents at its start (past whole blocks of them), which
    lost those postings from the term's document count, and so from its idf."""
    return reader._terms.matcher(field, reader._text_to_bytes(field, text), reader.schema[field].format)


def leaf_term_docs(reader, field: str, text: str) -> np.ndarray:
    """A term's document numbers within one segment, deleted documents included, read a block at a time."""
    if (field, text) not in reader:
        return np.empty(0, dtype=np.int64)
    matcher = _unfiltered(reader, field, text)
    ids = []
    while not matcher._atend:
        matcher._read_data()
        ids.append(np.cumsum(np.asarray(matcher._data[0], dtype=np.int64)))
        matcher._next_block()
    return np.concatenate(ids) if ids else np.empty(0, dtype=np.int64)


@dataclass
class Matches:
    """Matching documents (sorted global document numbers) and their scores."""

    docnums: np.ndarray
    scores: np.ndarray


class PostingCache:
    """Arrays read from one version of the index, shared by every thread searching that version: each term's
    documents and BM25F scores, and the union of an OR of terms (a word and its stems) with its summed scores,
    so that a word searched again costs a look-up whether or not it is expanded by its stems. Scores depend on
    the index's document count and average field lengths, which are fixed for a version. The arrays are shared
    and read-only."""

    def __init__(self) -> None:
        self.terms: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self.lengths: dict[str, np.ndarray] = {}
        self.postings = 0
        self.lock = threading.Lock()


class Postings:
    """Posting lists and field lengths of one searcher, as numpy arrays."""

    def __init__(self, searcher: Searcher, cache: PostingCache | None = None):
        self.searcher = searcher
        self.leaves = list(searcher.reader().leaf_readers())
        self.size = searcher.reader().doc_count_all()
        self.cache = cache or PostingCache()

    def term(self, field: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(document numbers, BM25F scores without boost) of a term across all segments; deleted documents
        included."""
        return self._cached((field, text), lambda: self._scored(field, text))

    def _scored(self, field: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        docnums, weights = self.read(field, text)
        return docnums, self.score(field, docnums, weights)

    def _cached(self, key: tuple, make: Callable[[], tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        """The arrays kept under `key` for this index version, made (outside the lock) and kept if missing; the
        least recently used go first once CACHED_POSTINGS are kept."""
        cache = self.cache
        with cache.lock:
            if key in cache.terms:
                cache.terms.move_to_end(key)
                return cache.terms[key]
        found = make()
        for array in found:
            array.flags.writeable = False  # shared by every search of this version
        with cache.lock:
            if key not in cache.terms:
                cache.terms[key] = found
                cache.postings += len(found[0])
            while cache.postings > CACHED_POSTINGS and len(cache.terms) > 1:
                _, (dropped, _) = cache.terms.popitem(last=False)
                cache.postings -= len(dropped)
        return found

    def read(self, field: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """A term's (document numbers, weights), read from disk and not cached (facet values, read once)."""
        ids, weights = [], []
        for reader, offset in self.leaves:
            if (field, text) not in reader:
                continue
            matcher = _unfiltered(reader, field, text)
            while not matcher._atend:
                matcher._read_data()
                deltas, block_weights = matcher._data[0], matcher._data[1]
                ids.append(np.cumsum(np.asarray(deltas, dtype=np.int64)) + offset)
                if block_weights is None or isinstance(block_weights, float):
                    weights.append(np.full(len(deltas), block_weights or 1.0, dtype=np.float64))
                else:
                    weights.append(np.asarray(block_weights, dtype=np.float64))
                matcher._next_block()
        if not ids:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
        return np.concatenate(ids), np.concatenate(weights)

    def lengths(self, field: str) -> np.ndarray:
        """Each document's length in a field, as Whoosh stores it (one byte, decoded)."""
        lengths = self.cache.lengths
        if field not in lengths:
            parts = []
            for reader, _ in self.leaves:
                column = reader._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
                count = reader.doc_count_all()
                if column is None:
                    parts.append(np.zeros(count, dtype=np.uint8))
                else:
                    parts.append(np.fromiter(iter(column), dtype=np.uint8, count=count))
            lengths[field] = LENGTH_OF_BYTE[np.concatenate(parts)] if parts else np.empty(0)
        return lengths[field]

    def score(self, field: str, docnums: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """BM25F over a term's whole posting list, as whoosh.scoring.BM25F computes it."""
        if not len(docnums):
            return np.empty(0, dtype=np.float64)
        searcher = self.searcher
        weighting = searcher.weighting  # plain BM25F, as the guard checked
        b, k1 = weighting.B, weighting.K1
        # The term's document frequency is its number of postings (deleted documents included, as in Whoosh).
        idf = log(searcher.doc_count_all() / (len(docnums) + 1)) + 1
        average = searcher.avg_field_length(field) or 1
        lengths = self.lengths(field)[docnums]
        return idf * ((weights * (k1 + 1)) / (weights + k1 * ((1 - b) + b * lengths / average)))

    def match(self, query: Query) -> Matches | None:
        """The matches of a word, AND of words, or phrase; None for any other shape."""
        if isinstance(query, Term):
            docnums, scores = self.term(query.fieldname, query.text)
            return Matches(docnums, scores if query.boost == 1 else scores * query.boost)
        if isinstance(query, Phrase):
            return self._phrase(query)
        if isinstance(query, Or) and query.subqueries and not query.minmatch and not query.scale:
            if all(type(sub) is Term for sub in query.subqueries):
                # A word and its stems (or words joined by OR): the union is kept with the terms it is made of.
                key = ("or", query.boost, tuple((sub.fieldname, sub.text, sub.boost) for sub in query.subqueries))
                return Matches(*self._cached(key, lambda: self._terms_union(query)))
            found = self._union(query)
            return None if found is None else Matches(*found)
        if isinstance(query, And) and query.subqueries:
            wanted = [sub for sub in query.subqueries if not isinstance(sub, Not)]
            excluded = [sub.query for sub in query.subqueries if isinstance(sub, Not)]
            if not wanted:
                return None  # only exclusions: every other document, which Whoosh's matchers walk
            parts = [self.match(sub) for sub in wanted]
            others = [self.match(sub) for sub in excluded]
            if any(part is None for part in parts) or any(part is None for part in others):
                return None
            kept = [part for part in parts if part is not None]
            docnums = kept[0].docnums
            for part in kept[1:]:
                docnums = np.intersect1d(docnums, part.docnums, assume_unique=True)
            for other in others:
                if other is not None:
                    docnums = docnums[~np.isin(docnums, other.docnums, assume_unique=True)]
            # Whoosh's matcher for an excluded part matches every other document with a score of 1.
            scores = np.full(len(docnums), float(len(others)))
            for part in kept:
                scores += part.scores[np.searchsorted(part.docnums, docnums)]
            return Matches(docnums, scores * query.boost)
        return None

    def _terms_union(self, query: Or) -> tuple[np.ndarray, np.ndarray]:
        found = self._union(query)
        assert found is not None  # a term always has an answer here
        return found

    def _union(self, query: Or) -> tuple[np.ndarray, np.ndarray] | None:
        """Whoosh's union: a document's score is the sum of the scores of the parts it matches."""
        found = [self.match(sub) for sub in query.subqueries]
        if any(part is None for part in found):
            return None
        union = [part for part in found if part is not None]
        if sum(len(part.docnums) for part in union) * DENSE_SHARE > self.size:
            # Long lists (a common word and its stems): add scores into one array the index's size, which
            # costs less than sorting their concatenation. A part's documents are distinct, so `+=` adds once.
            dense = np.zeros(self.size)
            hit = np.zeros(self.size, dtype=bool)
            for part in union:
                dense[part.docnums] += part.scores
                hit[part.docnums] = True
            docnums = np.flatnonzero(hit)
            return docnums, dense[docnums] * query.boost
        docnums = np.unique(np.concatenate([part.docnums for part in union]))
        scores = np.zeros(len(docnums))
        for part in union:
            scores[np.searchsorted(docnums, part.docnums)] += part.scores
        return docnums, scores * query.boost

    def _phrase(self, query: Phrase) -> Matches | None:
        if query.slop != 1 or not query.words:
            return None
        field, words = query.fieldname, query.words
        if len(words) > 1 and field == SEARCH_FIELD and PAIR_FIELD in self.searcher.schema:
            # Documents holding every neighbouring pair of the phrase, scored by those pairs: exactly the
            # phrase's documents for two words; for more, a few candidates whose word positions are then
            # checked. The words' own posting lists, long for common words, are not read.
            pairs = [Term(PAIR_FIELD, f"{first} {second}") for first, second in zip(words, words[1:], strict=False)]
            together = self.match(And(pairs))
            if together is None or len(words) == 2 or not len(together.docnums):
                return together
        else:
            together = self.match(And([Term(field, word) for word in words]))
            if together is None or not len(together.docnums) or len(words) == 1:
                return together
        # A (document, position - offset) key for each word: a phrase starts wherever every word's keys meet.
        starts: np.ndarray | None = None
        for offset, word in enumerate(query.words):
            docs, positions = self._positions(query.fieldname, word, together.docnums)
            keys = np.unique(docs * POSITION_SPAN + (positions - offset))
            starts = keys if starts is None else np.intersect1d(starts, keys, assume_unique=True)
        assert starts is not None  # the phrase has words
        keep = np.isin(together.docnums, np.unique(starts // POSITION_SPAN))
        return Matches(together.docnums[keep], together.scores[keep])

    def _positions(self, field: str, word: str, docnums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(document, position) pairs of a word in these documents, decoding only the postings asked for and
        skipping, by their headers, the blocks that hold none of them."""
        docs: list[int] = []
        positions: list[int] = []
        bounds = [offset for _, offset in self.leaves] + [self.size]
        for (reader, offset), end in zip(self.leaves, bounds[1:], strict=True):
            local = docnums[(docnums >= offset) & (docnums < end)] - offset
            if not len(local) or (field, word) not in reader:
                continue
            matcher = _unfiltered(reader, field, word)
            wanted = 0  # index in `local` of the next document whose positions are wanted
            while not matcher._atend and wanted < len(local):
                if matcher._maxid < local[wanted]:
                    matcher._next_block()
                    continue
                matcher._read_data()
                ids = np.cumsum(np.asarray(matcher._data[0], dtype=np.int64))
                at = np.minimum(np.searchsorted(local, ids), len(local) - 1)
                values = matcher._data[2]
                for i in np.flatnonzero(local[at] == ids).tolist():
                    # Whoosh's Positions format: a count, then the pickled gaps between positions.
                    gaps = loads(values[i][4:])
                    positions.extend(accumulate(gaps))
                    docs.extend([int(ids[i]) + offset] * len(gaps))
                wanted = int(np.searchsorted(local, ids[-1], side="right"))
                matcher._next_block()
        return np.asarray(docs, dtype=np.int64), np.asarray(positions, dtype=np.int64)
