"""Query parsing and highlighting, which every search page goes through."""

from __future__ import annotations

import re

import pytest
from whoosh import index as whoosh_index
from whoosh.qparser import QueryParser

from search_index.highlighting import CONTEXT, WHOLE, highlight_text
from search_index.parsing import parse_query
from search_index.schema import SEARCH_FIELD, process_schema


@pytest.fixture
def searcher(tmp_path):
    ix = whoosh_index.create_in(tmp_path, process_schema())
    with ix.searcher() as searcher:
        yield searcher


@pytest.mark.parametrize("word", ["entretien", "Équipement", "ÉCOLE", "2024", "lot_3", "лимони", "and", "Not"])
def test_a_single_word_is_the_term_the_parser_would_make(searcher, word):
    assert parse_query(searcher, word) == QueryParser(SEARCH_FIELD, searcher.schema).parse(word)


@pytest.mark.parametrize("text", ["AND", "NOT", "entretien*", "e.g", "l'école", '"parcs"', "title:parcs"])
def test_anything_else_still_goes_through_the_parser(searcher, text):
    assert parse_query(searcher, text) == QueryParser(SEARCH_FIELD, searcher.schema).parse(text)


def test_highlighting_marks_words_whatever_their_accents_and_case():
    marked = highlight_text("Réfection de l'ÉCOLE <Saint-Jean>", frozenset({"ecole"}), WHOLE, 400)
    assert re.search(r'<mark class="hl t\d+">ÉCOLE</mark>', marked)
    assert "&lt;Saint-Jean&gt;" in marked


def test_text_without_the_words_is_cut_and_escaped_not_marked():
    text = "<b>Entretien</b> " + "des parcs " * 40
    shown = highlight_text(text, frozenset({"ecole"}), CONTEXT, 60)
    assert shown.startswith("&lt;b&gt;Entretien&lt;/b&gt;") and shown.endswith("…") and "<mark" not in shown
