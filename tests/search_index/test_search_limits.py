"""What no query may do: raise, take the site down with expansions, or overflow a filter."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from whoosh import index as whoosh_index

from search_index import parsing
from search_index.highlighting import Highlighter
from search_index.query import SORTS, Filters, SearchIndex, search_processes
from search_index.schema import process_schema

WORDS = [f"{a}{b}{c}" for a in "abcdefgh" for b in "aeiou" for c in "lmnrst"]  # 240 words


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> SearchIndex:
    directory = tmp_path_factory.mktemp("limits")
    ix = whoosh_index.create_in(directory, process_schema())
    with ix.writer() as writer:
        for number, word in enumerate(WORDS):
            text = f"École {word} entretien des parcs {WORDS[(number * 7) % len(WORDS)]}"
            writer.add_document(
                ocid=f"ocds-{number}",
                text=text,
                pairs=text,
                title=text,
                description=f"Réfection de l'école {word}",
                currency="CAD",
                amount=number * 100 + 1,
                when=1_500_000_000 + number * 86_400,
            )
    return SearchIndex(directory)


@pytest.mark.parametrize("text", ["*a*", "??*", "?a", "*l", "a?l", "*a* OR *b* OR *c*", "title:*ol*", "e*"])
def test_patterns_without_enough_leading_letters_are_refused_with_a_message(index, text):
    page = search_processes(index, q=text)
    assert page.total == 0 and page.hits == []
    assert "letters before the first * or ?" in page.notice


def test_a_pattern_with_leading_letters_is_answered(index):
    page = search_processes(index, q="ca*")
    expected = [n for n, word in enumerate(WORDS) if word.startswith("ca") or WORDS[(n * 7) % len(WORDS)][:2] == "ca"]
    assert page.notice is None and page.total == len(expected)


def test_too_many_expansions_are_refused(index, monkeypatch):
    monkeypatch.setattr(parsing, "MAX_EXPANSIONS", 5)
    page = search_processes(index, q="ca*")
    assert page.total == 0 and "more than 5 different words" in page.notice
    assert search_processes(index, q="cal*").notice is None
    page = search_processes(index, q="[a TO z]")
    assert page.total == 0 and "more than 5 different words" in page.notice


def test_queries_reading_too_many_postings_are_refused(index, monkeypatch):
    monkeypatch.setattr(parsing, "MAX_POSTINGS", 100)
    assert "too broad" in search_processes(index, q="entretien OR parc*").notice
    assert "too broad" in search_processes(index, q="NOT entretien").notice
    assert search_processes(index, q="entretien").total == len(WORDS)  # one word is not read by Whoosh's matchers
    assert search_processes(index, q="aal OR bel").notice is None


ODD = [
    "NOT NOT a",
    "NOT NOT",
    "NOT",
    "AND OR NOT",
    "a AND",
    "(((",
    ")))",
    '"',
    '""',
    "text:",
    ":",
    "title:(",
    "[a TO",
    "[ TO ]",
    "{a TO b]",
    "amount:[x TO y]",
    "amount:[1 TO 999999999999999999999999]",
    "when:>5",
    "a^999999999999999999",
    "a^1e400",
    "a~",
    "a~99",
    "entretien~2",
    "*",
    "?",
    "\\",
    "a" * 600,
    "é" * 10,
    "\x00",
    "\ud800",
    "nope:field",
    "ANDNOT ANDMAYBE",
    "a ANDMAYBE b",
    "NOT (a OR b)",
]


@pytest.mark.parametrize("text", ODD)
def test_no_query_text_raises(index, text):
    for sort in SORTS:
        for filters in (None, Filters(currency="CAD", min_amount=Decimal(1))):
            page = search_processes(index, q=text, sort=sort, filters=filters)
            assert page.total >= 0


@pytest.mark.parametrize(
    "filters",
    [
        Filters(date_to=date.max),
        Filters(date_from=date.max),
        Filters(date_from=date.min, date_to=date.max),
        Filters(date_from=date.min),
        Filters(currency="CAD", min_amount=Decimal("1e400"), max_amount=Decimal("-1e400")),
        Filters(currency="CAD", min_amount=Decimal("-Infinity"), max_amount=Decimal("Infinity")),
        Filters(currency="CAD", min_amount=Decimal("NaN")),
    ],
)
def test_filters_at_the_ends_of_their_range_clamp(index, filters):
    page = search_processes(index, q="", filters=filters)
    assert page.total in (0, len(WORDS))


def test_filter_bounds_beyond_the_columns_keep_their_meaning(index):
    assert search_processes(index, filters=Filters(date_to=date.max)).total == len(WORDS)
    assert search_processes(index, filters=Filters(date_from=date.max)).total == 0
    assert search_processes(index, filters=Filters(date_from=date.min)).total == len(WORDS)
    everything = Filters(currency="CAD", min_amount=Decimal("-1e30"), max_amount=Decimal("1e30"))
    assert search_processes(index, filters=everything).total == len(WORDS)
    assert search_processes(index, filters=Filters(currency="CAD", min_amount=Decimal("1e30"))).total == 0


def test_a_word_class_depends_on_its_own_search_only(index):
    first = search_processes(index, q="entretien parcs")
    assert re.search(r'<mark class="hl t0">entretien</mark>', first.hits[0].title_html)
    assert re.search(r'<mark class="hl t1">parcs</mark>', first.hits[0].title_html)
    # Before, the formatter was one for the whole process: "école" got t2 after the search above.
    later = search_processes(index, q="école")
    assert re.search(r'<mark class="hl t0">École</mark>', later.hits[0].title_html)
    # Within one search a word keeps its class from hit to hit, title and snippet alike.
    marks = Highlighter(frozenset({"ecole", "parcs"}))
    assert "t0" in marks.title("École et parcs") and "t0" in marks.snippet("Une École")


def test_the_search_page_shows_the_notice_and_never_fails(demo_client):
    body = demo_client.get("/search.json?q=*a*").get_json()
    assert body["total"] == 0 and "letters before the first * or ?" in body["notice"]
    assert demo_client.get("/search?q=??*").status_code == 200
    assert demo_client.get("/search.json?q=NOT+NOT+a").status_code == 200
    for query in ("date_to=9999-12-31", "date_from=0001-01-01", "date_from=9999-12-31&sort=amount"):
        assert demo_client.get(f"/search?{query}").status_code == 200, query
        assert demo_client.get(f"/search.json?{query}").status_code == 200, query
