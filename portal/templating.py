"""Pages in the reader's language: the locale, and money, numbers and dates formatted for it.

The interface text is English in the templates, marked for translation (Flask-Babel); catalogues live in
`portal/translations/`. The locale comes from `?lang=`, then the `lang` cookie that choice sets, then
`Accept-Language`. A locale without a catalogue still formats numbers and dates its own way, while its words
stay English, and the page's `lang` then says `en`.

Dates are shown in the offset they were published with: `2016-09-30T00:00:00+04:00` is the 30th, wherever the
server or the reader is. Flask-Babel's own date functions convert to one configured zone, so they are not
used; a datetime without an offset is read as UTC, as ingest stores it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale, dates, numbers, support
from flask import Flask, Response, current_app, g, request
from flask_babel import Babel, get_locale, get_translations
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

TRANSLATIONS = Path(__file__).parent / "translations"
# The languages a reader can pick, each named in itself. Words stay English where no catalogue exists yet.
LANGUAGES = {"en": "English", "fr": "Français", "es": "Español", "uk": "Українська"}
DEFAULT_LANGUAGE = "en"
LANGUAGE_COOKIE = "lang"
COOKIE_AGE = 365 * 24 * 3600


def select_locale() -> str:
    chosen = request.args.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES), default=DEFAULT_LANGUAGE)


@cache
def _catalogues_in(directories: str) -> frozenset[str]:
    found = {
        folder.name
        for directory in directories.split(";")
        for folder in Path(directory).glob("*")
        if (folder / "LC_MESSAGES" / "messages.mo").is_file()
    }
    return frozenset(found | {DEFAULT_LANGUAGE})


def catalogues() -> frozenset[str]:
    """Languages with a compiled catalogue in the app's translation folders, and English (the source)."""
    return _catalogues_in(current_app.config["BABEL_TRANSLATION_DIRECTORIES"])


def _locale() -> Locale:
    # Kept for the request: Flask-Babel looks its context up again on every call, dozens of times a page.
    locale = g.get("portal_locale")
    if locale is None:
        locale = g.portal_locale = get_locale() or Locale.parse(DEFAULT_LANGUAGE)
    return locale


def _translations() -> support.NullTranslations:
    found = g.get("portal_translations")
    if found is None:
        found = g.portal_translations = get_translations()
    return found


def interface_language() -> str:
    """The language the page's words are in: the reader's if a catalogue exists, else English."""
    language = _locale().language
    return language if language in catalogues() else DEFAULT_LANGUAGE


# Parsed once: Babel parses a pattern given as text on every call (a results page formats dozens of amounts).
_WITH_CODE = numbers.parse_pattern("#,##0.00 ¤¤")  # the ISO code, not a symbol: "$" is several countries' dollar
_AMOUNT = numbers.parse_pattern("#,##0.00")


def format_money(amount: Decimal | str | None, currency: str | None = None) -> str:
    """1234567.5, "CAD" -> "1,234,567.50 CAD" in English, "1 234 567,50 CAD" in French; never converted
    between currencies. The code, not a symbol: "$" means dollars of several countries."""
    if amount is None or amount == "":
        return "—"
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    locale = _locale()
    if currency and len(currency) == 3 and currency.isalpha():
        return _WITH_CODE.apply(value, locale, currency=currency.upper(), currency_digits=False)
    text = _AMOUNT.apply(value, locale)
    return f"{text} {currency}" if currency else text


def format_number(value: int | Decimal | None) -> str:
    return "—" if value is None else numbers.format_decimal(value, locale=_locale())


def _offset(value: datetime) -> str:
    offset = value.utcoffset() or timedelta(0)
    if not offset:
        return "UTC"
    sign = "+" if offset > timedelta(0) else "−"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def format_date(value: datetime | date | None, with_time: bool = False) -> str:
    """The day (and with `with_time` the time and its UTC offset) as published, in the reader's locale."""
    if value is None:
        return "—"
    locale = _locale()
    if not isinstance(value, datetime):
        return dates.format_date(value, "medium", locale=locale)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    # The wall-clock day and time in the value's own offset; nothing is converted.
    day = dates.format_date(value.date(), "medium", locale=locale)
    if not with_time:
        return day
    time = dates.format_time(value.time(), "short", locale=locale)
    # Babel types the pattern as a DateTimePattern; for datetime formats it is a str.
    pattern = str(dates.get_datetime_format("medium", locale=locale)).replace("'", "")
    return pattern.replace("{0}", time).replace("{1}", day) + " " + _offset(value)


@pass_context
def _template_gettext(context: Context, string: str, /, **variables: Any) -> str:
    """Jinja's newstyle gettext: the text translated, escaped for HTML, then formatted with `variables` (whose
    values are escaped by the formatting)."""
    text = _translations().ugettext(string)
    return (Markup(text) if context.eval_ctx.autoescape else text) % variables


@pass_context
def _template_ngettext(context: Context, singular: str, plural: str, number: int, /, **variables: Any) -> str:
    text = _translations().ungettext(singular, plural, number)
    variables.setdefault("num", number)
    return (Markup(text) if context.eval_ctx.autoescape else text) % variables


def _remember_language(response: Response) -> Response:
    chosen = request.args.get("lang")
    if chosen in LANGUAGES and request.cookies.get(LANGUAGE_COOKIE) != chosen:
        response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=COOKIE_AGE, samesite="Lax", httponly=True)
    if response.mimetype == "text/html":
        response.vary.update(("Accept-Language", "Cookie"))
    return response


def register_filters(app: Flask) -> None:
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["number"] = format_number
    app.jinja_env.globals["interface_languages"] = LANGUAGES
    app.jinja_env.globals["interface_language"] = interface_language
    app.jinja_env.globals["current_language"] = lambda: _locale().language


def init_app(app: Flask) -> None:
    """Flask-Babel with the locale chosen as above, `{% trans %}` blocks trimmed, and the filters."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    Babel(app, locale_selector=select_locale)
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    # The same callables as Flask-Babel's, with the catalogue looked up once a request rather than per string
    # (a process page has about eighty), and `_` calling gettext directly rather than through two more calls.
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]  # added by Jinja's i18n extension
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.jinja_env.globals["_"] = app.jinja_env.globals["gettext"] = _template_gettext
    app.jinja_env.globals["ngettext"] = _template_ngettext
    # Flask-Babel's date filters convert to one configured zone; pages show dates as published (`date` below).
    for name in ("datetimeformat", "dateformat", "timeformat"):
        app.jinja_env.filters.pop(name, None)
    app.after_request(_remember_language)
    register_filters(app)
