"""Whoosh's internals, used by search_index.whoosh_internals, checked at the size where that code runs: an index
of several segments, with deleted documents, whose common words' posting lists span many blocks (Whoosh writes
128 postings a block) and do not fit the posting cache. Every answer of the numpy path is compared with Whoosh's
own: the same documents, the same scores, the same order; and the segment writer's output with its fix is the
same, byte for byte, as without it."""

from __future__ import annotations

import logging
import random
from pathlib import Path

import numpy as np
import pytest
from whoosh import index as whoosh_index
from whoosh.codec import base
from whoosh.query import Or, Phrase, Term

from search_index import whoosh_internals
from search_index.indexer import WRITER_OPTIONS
from search_index.parsing import parse_query, stemmed
from search_index.query import SearchIndex, _top, postings_of, search_processes, stored_in_order
from search_index.schema import SEARCH_FIELD, process_schema, stemmed_text
from search_index.whoosh_internals import postings as postings_module
from search_index.whoosh_internals import writer as fixed_writer
from search_index.whoosh_internals.postings import Postings
from search_index.whoosh_internals.stored import read_stored, stored_readers

DOCUMENTS = 4000
SEGMENTS = 4  # written by separate commits that do not merge
UPDATED = 500  # documents written again, which leaves deleted documents in the older segments
BLOCK = 128  # postings per block in Whoosh's W3 codec

COMMON = [
    "entretien",
    "travaux",
    "services",
    "de",
    "la",
    "des",
    "du",
    "et",
    "contrat",
    "achat",
    "entretiens",
    "service",
]
RARE = [f"mot{n}" for n in range(400)]
BUYERS = ["Ville de Montréal", "Secretaría de Finanzas", "Prozorro Київ", "Mairie de Lyon"]


def _words(rng: random.Random, count: int) -> str:
    words = []
    for _ in range(count):
        words.append(rng.choice(COMMON) if rng.random() < 0.6 else RARE[min(int(rng.paretovariate(1.0)) - 1, 399)])
    return " ".join(words)


def generated(seed: int, number: int) -> dict:
    rng = random.Random(seed * 100_003 + number)
    title = _words(rng, rng.randint(2, 8))
    description = _words(rng, rng.randint(0, 40))
    buyer = rng.choice(BUYERS)
    text = "\n".join((title, title, description, buyer))
    language = rng.choice(["fr", "en", None])
    return {
        "stems": stemmed_text(text, language),
        "language": language or "",
        "ocid": f"ocds-test-{number}",
        "text": text,
        "pairs": text,
        "title": title,
        "description": description,
        "buyer": buyer,
        "currency": rng.choice(["CAD", "MXN", "UAH"]),
        "amount": rng.randint(1, 10**9),
        "when": 1_400_000_000 + rng.randint(0, 10**8),
    }


def build(directory: Path, *, fix: bool = True, documents: int = DOCUMENTS, merge: bool = False) -> None:
    """SEGMENTS segments of new documents, then one of updates; with merge, the last commit merges them all."""
    ix = whoosh_index.create_in(directory, process_schema())
    per_segment = documents // SEGMENTS
    for segment in range(SEGMENTS):
        writer = fixed_writer.writer(ix, fix=fix, **WRITER_OPTIONS)
        for number in range(segment * per_segment, (segment + 1) * per_segment):
            writer.add_document(**generated(1, number))
        writer.commit(merge=False)
    writer = fixed_writer.writer(ix, fix=fix, **WRITER_OPTIONS)
    for number in range(0, documents, documents // (UPDATED * documents // DOCUMENTS)):
        writer.update_document(**generated(2, number))
    writer.commit(optimize=True) if merge else writer.commit(merge=False)


@pytest.fixture(scope="module")
def large(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("large")
    build(directory)
    return directory


@pytest.fixture
def searcher(large):
    searcher = SearchIndex(large).searcher()
    yield searcher
    searcher.close()


def test_the_index_has_what_the_code_must_handle(searcher):
    reader = searcher.reader()
    assert len(list(reader.leaf_readers())) == SEGMENTS + 1
    assert reader.has_deletions()
    assert searcher.doc_count() == DOCUMENTS
    # A common word's posting list spans many blocks in each segment.
    for leaf, _ in reader.leaf_readers():
        if leaf.doc_count_all() < 1000:
            continue
        matcher = leaf.postings(SEARCH_FIELD, "entretien")
        matcher = getattr(matcher, "child", matcher)
        blocks = 0
        while not matcher._atend:
            blocks += 1
            matcher._next_block()
        assert blocks >= 5, blocks


QUERIES = [
    "entretien",
    "de",
    "mot0",
    "mot3",
    "mot150",
    "entretien travaux",
    "de la des",
    "mot1 contrat",
    "title:services",
    "buyer:montreal",
    "title:entretien achat",
    "entretien AND mot2",
    "entretien OR mot3",
    "mot1 OR mot2 OR contrat",
    "entretien NOT mot1",
    "de -la",
    "travaux -mot0 -mot1",
]
# Each word also looked up by its stems in every language of the index (`stemmed`).
STEMMED = ["entretien", "services", "mot3", "entretiens travaux", "service -mot0", "mot1 OR services", "de la des"]
PHRASES = ['"de la"', '"entretien et"', '"travaux de la"', '"mot0 mot0"', 'buyer:"ville de"']


def _whoosh_scores(searcher, query) -> dict[int, float]:
    return {hit.docnum: hit.score for hit in searcher.search(query, limit=None)}


@pytest.mark.parametrize("text", QUERIES)
def test_words_match_score_and_order_as_whoosh_does(searcher, text):
    _same_as_whoosh(searcher, parse_query(searcher, text))


@pytest.mark.parametrize("text", STEMMED)
def test_stemmed_words_match_score_and_order_as_whoosh_does(searcher, text):
    query = stemmed(searcher, parse_query(searcher, text))
    assert "stems:" in str(query)
    # Whoosh's top-N, which skips blocks by their best possible score, leaves out some of the best documents
    # when terms of one OR carry different boosts; its full scoring does not: the order is checked against that.
    _same_as_whoosh(searcher, query, exact_top=True)


def _same_as_whoosh(searcher, query, *, exact_top: bool = False) -> None:
    matches = Postings(searcher).match(query)
    assert matches is not None
    live = np.isin(matches.docnums, np.fromiter(searcher.reader().all_doc_ids(), dtype=np.int64))
    docnums, scores = matches.docnums[live], matches.scores[live]
    whoosh = _whoosh_scores(searcher, query)
    assert len(whoosh) > 0
    assert sorted(docnums.tolist()) == sorted(whoosh)
    ours = dict(zip(docnums.tolist(), scores.tolist(), strict=True))
    assert all(abs(ours[d] - s) <= 1e-9 * max(1.0, abs(s)) for d, s in whoosh.items())
    # The same order, except that two scores equal but for the last bit of a float sum (Whoosh adds a
    # document's word scores in an order of its own) may come either way round.
    whoosh_top = [(hit.docnum, hit.score) for hit in searcher.search(query, limit=100)]
    if exact_top:
        whoosh_top = sorted(whoosh.items(), key=lambda hit: (-hit[1], hit[0]))[:100]
    our_top = _top(docnums, scores, 100).tolist()
    assert len(our_top) == len(whoosh_top)
    for ours_at, (theirs_at, score) in zip(our_top, whoosh_top, strict=True):
        assert ours_at == theirs_at or abs(ours[ours_at] - score) <= 1e-12 * score, (ours_at, theirs_at)
    assert sum(ours_at != theirs_at for ours_at, (theirs_at, _) in zip(our_top, whoosh_top, strict=True)) <= 4


@pytest.mark.parametrize("text", PHRASES)
def test_phrases_find_whoosh_documents(searcher, text):
    query = parse_query(searcher, text)
    assert isinstance(query, Phrase)
    matches = Postings(searcher).match(query)
    live = set(searcher.reader().all_doc_ids())
    assert sorted(d for d in matches.docnums.tolist() if d in live) == sorted(searcher.docs_for_query(query))


def test_answers_stay_the_same_when_the_posting_cache_evicts(large, monkeypatch):
    monkeypatch.setattr(postings_module, "CACHED_POSTINGS", 3 * BLOCK)
    index = SearchIndex(large)
    first = {text: search_processes(index, q=text, per_page=50) for text in QUERIES}
    cache = index.searcher()._portal_shared["postings"]
    assert cache.postings <= 3 * BLOCK or len(cache.terms) == 1
    again = {text: search_processes(index, q=text, per_page=50) for text in reversed(QUERIES)}
    for text in QUERIES:
        assert [h.ocid for h in again[text].hits] == [h.ocid for h in first[text].hits]
        assert again[text].total == first[text].total


def test_a_word_and_its_stems_are_read_and_added_up_once_per_index_version(large, monkeypatch):
    index = SearchIndex(large)
    first = {text: search_processes(index, q=text, per_page=50) for text in STEMMED}
    done = []
    read, union = Postings.read, Postings._union
    monkeypatch.setattr(Postings, "read", lambda self, *args: done.append(args) or read(self, *args))
    monkeypatch.setattr(Postings, "_union", lambda self, query: done.append(query) or union(self, query))
    again = {text: search_processes(index, q=text, per_page=50) for text in STEMMED}
    # Only an OR of words expanded by their stems is added up again ("mot1 OR services"), from kept unions.
    assert all(isinstance(sub, Or) for query in done for sub in query.subqueries), done
    for text in STEMMED:
        assert [(h.ocid, h.title) for h in again[text].hits] == [(h.ocid, h.title) for h in first[text].hits]
        assert again[text].total == first[text].total


def test_positions_are_read_across_blocks(searcher):
    """A three-word phrase checks word positions, skipping blocks by their headers."""
    postings = Postings(searcher)
    wanted = np.array(sorted(searcher.docs_for_query(Term(SEARCH_FIELD, "entretien")))[::7], dtype=np.int64)
    docs, positions = postings._positions(SEARCH_FIELD, "entretien", wanted)
    assert sorted(set(docs.tolist())) == wanted.tolist()
    for docnum in wanted[:: max(1, len(wanted) // 20)].tolist():
        vector = dict(searcher.reader().postings(SEARCH_FIELD, "entretien").items_as("positions"))
        assert sorted(positions[docs == docnum].tolist()) == sorted(vector[docnum])


def test_the_segment_writer_fix_changes_nothing_written(tmp_path, monkeypatch):
    names = iter(f"segment{n:03d}abcdef" for n in range(1000))
    monkeypatch.setattr(base.Segment, "_random_id", classmethod(lambda cls, size=16: next(names)))
    # Smaller than the module's index, and merged at the end: the fix runs for new documents and for merges.
    (tmp_path / "fixed").mkdir()
    (tmp_path / "plain").mkdir()
    build(tmp_path / "fixed", fix=True, documents=1200, merge=True)
    names = iter(f"segment{n:03d}abcdef" for n in range(1000))
    build(tmp_path / "plain", fix=False, documents=1200, merge=True)
    fixed = {p.name: p.read_bytes() for p in (tmp_path / "fixed").iterdir() if not p.name.endswith(".lock")}
    plain = {p.name: p.read_bytes() for p in (tmp_path / "plain").iterdir() if not p.name.endswith(".lock")}
    assert sorted(fixed) == sorted(plain) and len(fixed) > SEGMENTS
    assert [name for name in fixed if fixed[name] != plain[name]] == []


def test_the_writer_fix_is_applied_per_writer_never_to_the_class(tmp_path):
    original = base.FieldWriter.add_postings
    ix = whoosh_index.create_in(tmp_path, process_schema())
    writer = fixed_writer.writer(ix, **WRITER_OPTIONS)
    assert base.FieldWriter.add_postings is original
    assert writer.fieldwriter.add_postings.__func__ is fixed_writer._add_postings
    writer.cancel()
    with fixed_writer.multiprocess_fix():
        assert base.FieldWriter.add_postings is fixed_writer._add_postings
    assert base.FieldWriter.add_postings is original


def test_stored_fields_read_from_the_columns_are_whoosh_own_in_any_order(searcher):
    every = np.flatnonzero([not searcher.reader().is_deleted(d) for d in range(searcher.reader().doc_count_all())])
    assert read_stored(stored_readers(searcher), every.tolist()) == [searcher.stored_fields(d) for d in every]
    shuffled = np.random.default_rng(3).permutation(every)[:700]  # across every segment, in no order
    expected = [searcher.stored_fields(int(d)) for d in shuffled]
    assert stored_in_order(searcher, shuffled) == expected
    assert stored_in_order(searcher, shuffled[:0]) == []


def test_the_guard_passes_for_the_pinned_version(searcher):
    assert whoosh_internals.installed_problems() == ()
    assert whoosh_internals.searcher_problems(searcher) == ()
    setup = (Path(__file__).resolve().parents[2] / "setup.cfg").read_text()
    assert f"whoosh-reloaded=={whoosh_internals.VERIFIED_VERSION}" in setup


def test_another_whoosh_falls_back_to_whoosh_own_code_and_says_so(large, monkeypatch, caplog, tmp_path):
    expected = {text: search_processes(SearchIndex(large), q=text, per_page=30) for text in QUERIES}
    monkeypatch.setattr(whoosh_internals, "_installed_version", lambda: "2.7.6")
    whoosh_internals.installed_problems.cache_clear()
    monkeypatch.setattr(whoosh_internals, "_reported", set())
    try:
        index = SearchIndex(large)
        with caplog.at_level(logging.WARNING, logger="search_index.whoosh_internals"):
            assert postings_of(index.searcher()) is None
            shuffled = np.random.default_rng(4).permutation(index.searcher().doc_count_all())[:50]
            shuffled = np.array([d for d in shuffled if not index.searcher().reader().is_deleted(int(d))])
            expected_fields = [index.searcher().stored_fields(int(d)) for d in shuffled]
            assert stored_in_order(index.searcher(), shuffled) == expected_fields  # Whoosh's own reads
            for text in QUERIES:
                page = search_processes(index, q=text, per_page=30)
                assert page.total == expected[text].total
                if " " not in text:  # one word's scores are not sums, so not even float ties can differ
                    assert [h.ocid for h in page.hits] == [h.ocid for h in expected[text].hits]
            writer = fixed_writer.writer(whoosh_index.create_in(tmp_path, process_schema()))
            assert "add_postings" not in vars(writer.fieldwriter)
            writer.cancel()
        warnings = [r.getMessage() for r in caplog.records]
        assert any("2.7.6 installed, 2.7.5 verified" in m and "Whoosh's own" in m for m in warnings), warnings
    finally:
        whoosh_internals.installed_problems.cache_clear()


def test_another_weighting_falls_back(large):
    from whoosh import scoring

    with whoosh_index.open_dir(large).searcher(weighting=scoring.BM25F(B=0.5)) as searcher:
        assert whoosh_internals.searcher_problems(searcher) == ()  # same class, other constants: still exact
        weighted = Postings(searcher).match(Term(SEARCH_FIELD, "entretien"))
        whoosh = _whoosh_scores(searcher, Term(SEARCH_FIELD, "entretien"))
        ours = dict(zip(weighted.docnums.tolist(), weighted.scores.tolist(), strict=True))
        assert all(abs(ours[d] - s) < 1e-9 for d, s in whoosh.items())
    with whoosh_index.open_dir(large).searcher(weighting=scoring.TF_IDF()) as searcher:
        assert whoosh_internals.searcher_problems(searcher) != ()
