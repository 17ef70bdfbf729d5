"""The index's one-pass analysers give exactly the tokens of the Whoosh filter chains that define the words, on
hand-made texts and on every indexed text of the demo set, so an index built with either answers alike."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.models import Process
from search_index.indexer import documents
from search_index.schema import ANALYZER, PAIR_ANALYZER, PAIRS_CHAIN, WORDS_CHAIN, stemmed_text

TEXTS = [
    "",
    "   \n\t ",
    "word",
    "Entretien",
    "Entretien des parcs – Équipement",
    "ÉQUIPEMENT équipement Equipement",
    "Straße œuvre Æsir naïve Ångström",
    "Ремонт доріг у Києві 2016",
    "İstanbul DİYARBAKIR ǅemal",  # lowercasing that changes length or gives combining marks
    "cafe\u0301 déjà",  # a combining accent after the letter
    "3.141 big-time under_score v1.2.3 24/7 No. 24-00005",
    "Arrendamiento de equipos; SERVICIOS, s.a. de c.v.",
    "a\nb\nc",
    "x" * 300 + " " + "y",
    "ﬁnance ﬀ ½ ² ℃",  # ligatures and compatibility characters
]

OPTIONS = [
    {},
    {"positions": True},
    {"chars": True},
    {"positions": True, "chars": True, "start_pos": 3, "start_char": 7},
    {"keeporiginal": True},
    {"tokenize": False, "positions": True, "chars": True, "keeporiginal": True},
    {"mode": "index", "positions": True},
    {"mode": "query"},
]


def tokens(analyzer, text: str, **options) -> list[tuple]:
    return [
        (t.text, t.boost, t.stopped, getattr(t, "pos", None), getattr(t, "startchar", None))
        + (getattr(t, "endchar", None), getattr(t, "original", None))
        for t in analyzer(text, **options)
    ]


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(o) or "plain")
@pytest.mark.parametrize("text", TEXTS)
def test_words_are_the_chains_words(text, options):
    assert tokens(ANALYZER, text, **options) == tokens(WORDS_CHAIN, text, **options)


@pytest.mark.parametrize("text", TEXTS)
def test_pairs_are_the_shingle_filters_pairs(text):
    # The pair field keeps frequencies only: the terms and their boosts are what is written.
    assert [(t.text, t.boost) for t in PAIR_ANALYZER(text)] == [(t.text, t.boost) for t in PAIRS_CHAIN(text)]


def test_pairs_of_short_texts():
    assert [t.text for t in PAIR_ANALYZER("")] == []
    assert [t.text for t in PAIR_ANALYZER("Parcs")] == ["parcs"]
    assert [t.text for t in PAIR_ANALYZER("entretien des parcs")] == ["entretien des", "des parcs"]


def test_every_demo_text_analyses_alike(demo_app):
    with demo_app.extensions["portal.sessions"]() as session:
        ids = list(session.scalars(select(Process.id)))
        docs = list(documents(session, ids))
    assert len(docs) == len(ids) > 30
    for doc in docs:
        for name in ("text", "title", "buyer", "suppliers"):
            value = doc[name]
            assert tokens(ANALYZER, value, positions=True, chars=True) == tokens(
                WORDS_CHAIN, value, positions=True, chars=True
            )
        assert [t.text for t in PAIR_ANALYZER(doc["pairs"])] == [t.text for t in PAIRS_CHAIN(doc["pairs"])]
        # Stems are made from the same words.
        assert stemmed_text(doc["title"], "fr") == " ".join(
            stemmed_text(t.text, "fr") for t in WORDS_CHAIN(doc["title"])
        )


def test_every_line_of_the_shared_data_analyses_alike(shared_data):
    """Every line of every file of the shared data set (OCDS in four languages, registers in French number
    formats, one package in ISO-8859-1 read as UTF-8 with replacement characters)."""
    lines = set()
    for path in sorted(shared_data.rglob("*")):
        if path.suffix in (".json", ".csv"):
            lines.update(path.read_text(encoding="utf-8", errors="replace").splitlines())
    assert len(lines) > 40_000
    for line in lines:
        words = tokens(WORDS_CHAIN, line, positions=True, chars=True)
        assert tokens(ANALYZER, line, positions=True, chars=True) == words, line[:200]
        pairs = [f"{a[0]} {b[0]}" for a, b in zip(words, words[1:], strict=False)] or [w[0] for w in words]
        assert [t.text for t in PAIR_ANALYZER(line)] == pairs, line[:200]
