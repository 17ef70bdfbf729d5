"""The interface is translatable: every string marked, the locale chosen by the reader, dates and money written
their way; published text keeps the language it was published in."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from portal.resources import templates_folder
from portal.templating import format_date, format_money
from tests.conftest import ROOT, make_app

CDMX = "OCDS-87SD3T-AD-SF-DRM-063-2015"
UKRAINE = "ocds-be6bcu-UA-2017-04-12-001619-b"
POT = ROOT / "portal" / "translations" / "messages.pot"
# Attributes whose text a reader hears or sees.
READ_ATTRIBUTES = {"placeholder", "aria-label", "title", "alt", "aria-description"}
LETTER = re.compile(r"[^\W\d_]")
CODE = re.compile(r"[A-Z]{2,4}")  # an example currency code, such as placeholder="CAD", is not a word to translate
MARK = " "  # stands for whatever a Jinja tag or a translated block puts there (a space keeps tags parseable)


def _untranslated_text(source: str, env) -> str:
    """The template with every Jinja tag and every {% trans %} block replaced by MARK: what is left is the
    literal text and markup that no translation can reach."""
    out, in_trans, block = [], False, []
    for _, kind, value in env.lex(source):
        if kind == "data":
            out.append(MARK if in_trans else value)
            continue
        out.append(MARK)
        if kind == "block_begin":
            block = []
        elif kind == "name":
            block.append(value)
        elif kind == "block_end" and block:
            if block[0] == "trans":
                in_trans = True
            elif block[0] == "endtrans":
                in_trans = False
    return "".join(out)


class _Literals(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            text = (value or "").replace(MARK, " ").strip()
            if name in READ_ATTRIBUTES and LETTER.search(text) and not CODE.fullmatch(text):
                self.found.append(f"<{tag} {name}={value!r}>")

    def handle_data(self, data):
        text = data.replace(MARK, " ").strip()
        if LETTER.search(text):
            self.found.append(text)


def _unmarked_constants(tree) -> list[str]:
    """String constants printed as they are ({{ "not published" }}): words or capitalised text outside a
    gettext call. Keys and comparisons (`value_basis == 'mixed currencies'`) are data, not text."""
    from jinja2 import nodes

    found = []

    def walk(node) -> None:
        if isinstance(node, nodes.Call | nodes.Compare | nodes.Test | nodes.Filter):
            if isinstance(node, nodes.Filter):
                walk(node.node)
            return
        if isinstance(node, nodes.Getitem):
            walk(node.node)
            return
        if isinstance(node, nodes.Pair):
            walk(node.value)
            return
        if isinstance(node, nodes.Const) and isinstance(node.value, str):
            text = node.value.strip()
            if re.search(r"[^\W\d_]{2,}\s+[^\W\d_]{2,}", text) or re.fullmatch(r"[A-Z][a-z]+\W*", text):
                found.append(text)
        for child in node.iter_child_nodes():
            walk(child)

    for output in tree.find_all(nodes.Output):
        for child in output.nodes:
            if not isinstance(child, nodes.TemplateData):
                walk(child)
    return found


def test_every_template_string_is_marked_for_translation(demo_app):
    env = demo_app.jinja_env
    problems = {}
    templates = sorted(templates_folder().rglob("*.html"))
    assert len(templates) >= 6
    for path in templates:
        source = path.read_text(encoding="utf-8")
        parser = _Literals()
        parser.feed(_untranslated_text(source, env))
        found = parser.found + _unmarked_constants(env.parse(source))
        if found:
            problems[str(path.relative_to(templates_folder()))] = found
    assert not problems, problems


def test_the_marking_check_catches_unmarked_text(demo_app):
    env = demo_app.jinja_env
    parser = _Literals()
    parser.feed(_untranslated_text('<p>{{ _("Fine") }}</p><h2>Not marked</h2><input placeholder="e.g. x">', env))
    assert sorted(parser.found) == ["<input placeholder='e.g. x'>", "Not marked"]
    assert _unmarked_constants(env.parse('{{ "not published" if x }}{{ _("ok words") }}{{ "selected" }}')) == [
        "not published"
    ]


def test_flash_messages_are_marked():
    """Every `flash(...)` in the portal passes its text through gettext first."""
    unmarked = []
    for path in (ROOT / "portal").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "flash":
                first = node.args[0] if node.args else None
                name = getattr(getattr(first, "func", None), "id", None)
                if name not in ("_", "gettext", "ngettext", "lazy_gettext", "_l"):
                    unmarked.append(f"{path.name}:{node.lineno}")
    assert not unmarked


def test_the_message_catalogue_template_is_up_to_date(tmp_path):
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-o", str(fresh), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with fresh.open("rb") as new, POT.open("rb") as kept:
        assert {m.id for m in read_po(new) if m.id} == {m.id for m in read_po(kept) if m.id}, "run `make translations`"


# ---------------------------------------------------------------------------------------------------------------
# The locale.


def test_the_locale_follows_accept_language_and_numbers_follow_it(demo_client):
    english = demo_client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in english
    assert re.search(r'<td class="num">[\d,]+\.\d\d CAD</td>', english)
    french = demo_client.get("/", headers={"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"})
    text = french.get_data(as_text=True)
    # No French catalogue yet: the words stay English and say so, the numbers are written the French way.
    assert '<html lang="en">' in text
    assert re.search(r'<td class="num">[\d\u202f]+,\d\d CAD</td>', text)
    assert "Accept-Language" in french.headers["Vary"]
    assert '<a href="/?lang=fr" lang="fr" hreflang="fr" aria-current="true">Français</a>' in text


def test_the_language_switch_is_remembered(demo_app):
    client = demo_app.test_client()
    response = client.get("/search?q=entretien&lang=es")
    assert "lang=es" in response.headers["Set-Cookie"]
    following = client.get("/").get_data(as_text=True)  # the cookie, not Accept-Language, now decides
    assert 'hreflang="es" aria-current="true"' in following


def test_a_catalogue_translates_the_pages(database_url, tmp_path):
    """With a catalogue for a language, the interface speaks it and the page says so in its `lang`."""
    catalog = Catalog(locale="fr")
    catalog.add("Public contracts, as published", "Les contrats publics, tels que publiés")
    catalog.add("Search", "Rechercher")
    folder = tmp_path / "translations" / "fr" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "messages.mo").open("wb") as mo:
        write_mo(mo, catalog)
    app = make_app(database_url, tmp_path, BABEL_TRANSLATION_DIRECTORIES=str(tmp_path / "translations"))
    page = app.test_client().get("/?lang=fr").get_data(as_text=True)
    assert '<html lang="fr">' in page
    assert "<h1>Les contrats publics, tels que publiés</h1>" in page
    assert '<button type="submit">Rechercher</button>' in page
    app.extensions["portal.engine"].dispose()


# ---------------------------------------------------------------------------------------------------------------
# Dates and money.

PLUS_FOUR = timezone(timedelta(hours=4))
MINUS_FIVE = timezone(timedelta(hours=-5))


@pytest.mark.parametrize(
    ("value", "with_time", "language", "expected"),
    [
        (datetime(2016, 9, 30, 0, 0, tzinfo=PLUS_FOUR), False, "en", "Sep 30, 2016"),  # 29th in UTC
        (datetime(2016, 9, 30, 0, 0, tzinfo=PLUS_FOUR), True, "en", "Sep 30, 2016, 12:00\u202fAM UTC+04:00"),
        (datetime(2017, 6, 30, 23, 30, tzinfo=MINUS_FIVE), False, "en", "Jun 30, 2017"),  # July 1st in UTC
        (datetime(2017, 6, 30, 23, 30, tzinfo=MINUS_FIVE), True, "fr", "30 juin 2017, 23:30 UTC−05:00"),
        (datetime(2017, 6, 30, 12, 0), True, "en", "Jun 30, 2017, 12:00\u202fPM UTC"),  # no offset: UTC
        (None, False, "en", "—"),
    ],
)
def test_dates_are_shown_in_the_offset_they_were_published_with(demo_app, value, with_time, language, expected):
    with demo_app.test_request_context(f"/?lang={language}"):
        assert format_date(value, with_time) == expected


@pytest.mark.parametrize(
    ("amount", "currency", "language", "expected"),
    [
        (Decimal("1311264"), "MXN", "en", "1,311,264.00 MXN"),
        (Decimal("1311264"), "MXN", "fr", "1\u202f311\u202f264,00 MXN"),
        ("2000.68", "cad", "es", "2.000,68 CAD"),
        (Decimal("5"), "?", "en", "5.00 ?"),
        (None, "CAD", "en", "—"),
    ],
)
def test_money_is_written_the_readers_way_with_its_currency_code(demo_app, amount, currency, language, expected):
    with demo_app.test_request_context(f"/?lang={language}"):
        assert format_money(amount, currency) == expected


# ---------------------------------------------------------------------------------------------------------------
# Published text keeps its language.


def test_published_text_carries_the_language_it_was_published_in(demo_client):
    page = demo_client.get(f"/process/{UKRAINE}").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert re.search(r'<h1 lang="uk">[^<]*[а-яіїє]', page)
    assert demo_client.get(f"/process/{UKRAINE}.json").get_json()["language"] == "uk"
    spanish = demo_client.get(f"/process/{CDMX}").get_data(as_text=True)
    assert '<h1 lang="es">' in spanish
    results = demo_client.get("/search?q=entretien").get_data(as_text=True)
    titles = re.findall(r'<h2><a href="/process/[^"]+"( lang="\w+")?>', results)
    assert titles and set(titles) == {' lang="fr"'}
