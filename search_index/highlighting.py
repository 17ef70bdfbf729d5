"""Marking a search's words in titles and descriptions.

Whoosh's HTML formatter remembers every word it has marked, to give each its own CSS class (`t0`, `t1`, ...).
One formatter per search keeps that memory to the search's own words: a module-wide one grew with every
request, and the class a word got depended on earlier searches (and on other threads).
"""

from __future__ import annotations

from markupsafe import Markup, escape
from whoosh import highlight
from whoosh.support.charset import accent_map

from search_index.schema import ANALYZER

WHOLE = highlight.WholeFragmenter()
CONTEXT = highlight.ContextFragmenter(maxchars=240, surround=60)
TITLE_LIMIT = 400
SNIPPET_LIMIT = 240


def formatter() -> highlight.HtmlFormatter:
    return highlight.HtmlFormatter(tagname="mark", classname="hl", termclass="t")


def _cut(text: str, limit: int) -> Markup:
    return escape(text if len(text) <= limit else text[: limit - 1] + "…")


def _folded(text: str) -> str:
    lowered = text.lower()
    return lowered if lowered.isascii() else lowered.translate(accent_map)


def highlight_text(
    text: str,
    words: frozenset[str],
    fragmenter: highlight.Fragmenter,
    limit: int,
    marker: highlight.HtmlFormatter | None = None,
) -> Markup:
    """The text with the query's words marked; the formatter escapes everything it does not mark."""
    # Analysed words are the text's own characters lower-cased and folded, so a word absent from the folded
    # text cannot be marked: skip the highlighter, which analyses the whole text, for most hits' descriptions.
    folded = _folded(text) if words else ""
    if folded and any(word in folded for word in words):
        try:
            marked = highlight.highlight(text, words, ANALYZER, fragmenter, marker or formatter(), top=2)
        except Exception:  # highlighting is decoration; a failure must not lose the hit
            marked = ""
        if marked:
            return Markup(marked)
    return _cut(text, limit)


class Highlighter:
    """Marks one search's words: one formatter for the page, so a word keeps its class from hit to hit."""

    def __init__(self, words: frozenset[str]):
        self.words = words
        self.marker = formatter()

    def title(self, text: str) -> Markup:
        return highlight_text(text, self.words, WHOLE, TITLE_LIMIT, self.marker)

    def snippet(self, text: str) -> Markup:
        return highlight_text(text, self.words, CONTEXT, SNIPPET_LIMIT, self.marker)
