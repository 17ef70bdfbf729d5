"""The numpy path answers word queries exactly as Whoosh's own matchers do: same documents, same scores, same
order. These tests are what makes reading Whoosh's posting blocks directly safe."""

from __future__ import annotations

import json

import pytest

from search_index.query import SearchIndex, _top, parse_query
from search_index.whoosh_internals.postings import Postings
from tests.conftest import DEMO_DATA

QUERIES = [
    "entretien",
    "arrendamiento",
    "entretien parcs",
    "de la",
    '"entretien et"',
    '"arrendamiento de bienes"',
    "buyer:finanzas",
    "suppliers:(consulting de)",
    "лимони",
    "title:entretien réparation",
    "nothing-like-this",
    "entretien OR parcs",
    "entretien NOT parcs",
    "entretien -parcs",
    "arrendamiento OR лимони OR entretien",
]


@pytest.fixture
def searcher(app, load, tmp_path):
    load(DEMO_DATA)
    # Update one process, so that the index holds a deleted document as after any incremental ingest.
    release = json.loads((DEMO_DATA / "ukraine-prozorro").glob("*.json").__next__().read_text(encoding="utf-8"))
    release.update(id="later", date="2030-01-01T00:00:00Z")
    (tmp_path / "later.json").write_text(json.dumps(release), encoding="utf-8")
    load(tmp_path / "later.json")
    searcher = SearchIndex(app.config["INDEX_DIR"]).searcher()
    assert searcher.reader().has_deletions()
    return searcher


@pytest.mark.parametrize("text", QUERIES)
def test_word_queries_match_and_score_as_whoosh_does(searcher, text):
    query = parse_query(searcher, text)
    matches = Postings(searcher).match(query)
    assert matches is not None, query
    deleted = set(range(searcher.doc_count_all())) - set(searcher.reader().all_doc_ids())
    live = [d not in deleted for d in matches.docnums.tolist()]
    docnums, scores = matches.docnums[live], matches.scores[live]

    assert sorted(docnums.tolist()) == sorted(searcher.docs_for_query(query))
    whoosh = searcher.search(query, limit=10)
    ours = _top(docnums, scores, 10).tolist()
    if query.__class__.__name__ != "Phrase" and '"' not in text:
        # Phrases are scored as the sum of their words, not with Whoosh's span scoring: same documents, own order.
        assert ours == [hit.docnum for hit in whoosh]
        by_docnum = dict(zip(docnums.tolist(), scores.tolist(), strict=True))
        assert [round(by_docnum[hit.docnum], 9) for hit in whoosh] == [round(hit.score, 9) for hit in whoosh]
    else:
        assert sorted(ours) == sorted(hit.docnum for hit in whoosh)


@pytest.mark.parametrize("text", ["entret*", "NOT entretien", "entre?ien", "entretien OR parc*"])
def test_other_query_shapes_are_left_to_whoosh(searcher, text):
    assert Postings(searcher).match(parse_query(searcher, text)) is None


def test_a_phrase_needs_its_words_in_order_not_only_its_word_pairs(tmp_path):
    from whoosh import index as whoosh_index

    from search_index.indexer import WRITER_OPTIONS
    from search_index.schema import process_schema

    ix = whoosh_index.create_in(tmp_path, process_schema())
    texts = {
        "both pairs, apart": "alpha beta, then beta gamma",
        "the phrase": "a note on alpha beta gamma",
        "reversed": "gamma beta alpha",
    }
    with ix.writer(**WRITER_OPTIONS) as writer:
        for ocid, text in texts.items():
            writer.add_document(ocid=ocid, text=text, pairs=text)
    with ix.searcher() as searcher:
        found = {}
        for phrase in ('"alpha beta gamma"', '"beta gamma"', '"beta alpha"'):
            matches = Postings(searcher).match(parse_query(searcher, phrase))
            found[phrase] = sorted(searcher.stored_fields(int(d))["ocid"] for d in matches.docnums)
            assert found[phrase] == sorted(
                searcher.stored_fields(d)["ocid"] for d in searcher.docs_for_query(parse_query(searcher, phrase))
            )
    assert found == {
        '"alpha beta gamma"': ["the phrase"],
        '"beta gamma"': ["both pairs, apart", "the phrase"],
        '"beta alpha"': ["reversed"],
    }
