"""Reading what people type into the search page's filters, and saying what was not understood.

Flask-free: a mapping of query parameters in, `Filters` and a list of `Note`s out. Amounts come as people write
them ("1 000 000", "1.234,50", "12,5", "10k", "CAD 5000"), dates as a day, a month or a year. Nothing is
guessed silently: each value read differently from how it was typed, or not applied, gets a note that the page
shows beside the form.
"""

from __future__ import annotations

import re
from calendar import monthrange
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from search_index.columns import AMOUNT_BANDS
from search_index.query import SORTS, Filters
from search_index.schema import DATE_COLUMNS

MAX_AMOUNT = Decimal("1e16")  # beyond any contract; keeps the cents inside the index's 64-bit columns
# The index orders dates by midnight UTC of the day after `date_to`: the last day a date can name is the one
# before the last day Python can represent.
LATEST_DAY = date(9998, 12, 31)
EARLIEST_DAY = date(1, 1, 1)
MAX_TEXT = 100  # a filter value longer than this is not an amount or a date anyone typed
# Each one value of the facet of its name (the currency facet is the `currency` filter).
FACET_PARAMETERS = ("buyer", "supplier", "method", "status", "year", "amount_band", "flag")
AMOUNT_BAND_NAMES = tuple(name for name, _, _ in AMOUNT_BANDS)
MAX_NAME = 1000  # a buyer's or supplier's name, as published, is rarely longer


class Problem(StrEnum):
    READ_AS = "read as"  # understood, but written differently: the page says how it was read
    NOT_AMOUNT = "not an amount"
    TOO_LARGE = "too large"
    NOT_DATE = "not a date"
    OUT_OF_RANGE = "out of range"
    NOT_CURRENCY = "not a currency"
    NEEDS_CURRENCY = "needs a currency"  # amounts are compared within one currency only
    SWAPPED = "swapped"  # from was after to
    NOT_SORT = "not a sort"
    NOT_DATES = "not a kind of date"  # `dates` names which date the date filters apply to
    NOT_BAND = "not an amount band"  # `amount_band` names one of search_index.columns.AMOUNT_BANDS


@dataclass(frozen=True)
class Note:
    parameter: str
    given: str
    problem: Problem
    read_as: str | None = None

    @property
    def applied(self) -> bool:
        return self.problem in (Problem.READ_AS, Problem.SWAPPED)


_SPACES = re.compile(r"[\s\u00a0\u202f'’_]")
_CODE = re.compile(r"^([A-Za-z]{3})\s*(.*)$|^(.*?)\s*([A-Za-z]{3})$")
# One separator before exactly three digits, after one to three that do not start with 0: "1,500" and "1.500"
# are both fifteen hundred (amounts with three decimals are rarer than either way of grouping thousands).
_THOUSANDS = re.compile(r"[-+]?[1-9]\d{0,2}[.,]\d{3}")
_MULTIPLIERS = {"k": Decimal(1000), "m": Decimal(1_000_000)}


def read_amount(text: str) -> tuple[Decimal | None, str | None, Problem | None]:
    """(amount, currency code found beside it, problem). Thousand separators may be spaces, apostrophes,
    commas or dots; the decimal separator a dot or a comma: with both, the last one is the decimal separator;
    a lone one before exactly three digits separates thousands ("1,500", "1.500"), else it is decimal ("12,5").
    The page says how each amount was read, so a reader who meant otherwise can see it."""
    text = text.strip()
    currency = None
    match = _CODE.match(text)
    if match:
        code, rest = (match[1], match[2]) if match[1] else (match[4], match[3])
        if code.lower() not in ("nan", "inf"):
            currency, text = code.upper(), rest
    multiplier = _MULTIPLIERS.get(text[-1:].lower())
    if multiplier is not None:
        text = text[:-1]
    text = _SPACES.sub("", text)
    if "," in text and "." in text:
        decimal_mark = "," if text.rfind(",") > text.rfind(".") else "."
        text = text.replace("." if decimal_mark == "," else ",", "").replace(",", ".")
    elif _THOUSANDS.fullmatch(text) or text.count(",") > 1 or text.count(".") > 1:
        text = text.replace(",", "").replace(".", "")
    else:
        text = text.replace(",", ".")
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d{1,3})?", text):
        return None, currency, Problem.NOT_AMOUNT
    try:
        value = Decimal(text) * (multiplier or 1)
    except InvalidOperation:
        return None, currency, Problem.NOT_AMOUNT
    if not value.is_finite() or abs(value) > MAX_AMOUNT:
        return None, currency, Problem.TOO_LARGE
    return Decimal(format(value, "f")), currency, None  # plain digits: 1e5 -> 100000, not 1E+5


_DAY = re.compile(r"(\d{1,4})[-/.](\d{1,2})[-/.](\d{1,2})")
_MONTH = re.compile(r"(\d{4})[-/.](\d{1,2})")
_YEAR = re.compile(r"(\d{4})")


def read_day(text: str, *, end: bool) -> tuple[date | None, Problem | None]:
    """A day (2017-06-30, 2017/6/30), a month (2017-06) or a year (2017): its first day, or its last if `end`."""
    text = text.strip()
    try:
        if match := _DAY.fullmatch(text):
            day = date(int(match[1]), int(match[2]), int(match[3]))
        elif match := _MONTH.fullmatch(text):
            year, month = int(match[1]), int(match[2])
            day = date(year, month, monthrange(year, month)[1] if end else 1)
        elif match := _YEAR.fullmatch(text):
            day = date(int(match[1]), 12, 31) if end else date(int(match[1]), 1, 1)
        else:
            return None, Problem.NOT_DATE
    except ValueError:  # month 13, February 30th, year 0
        return None, Problem.NOT_DATE
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        return None, Problem.OUT_OF_RANGE
    return day, None


def search_filters(args: Mapping[str, str]) -> tuple[Filters, list[Note]]:
    """Filters from the query string, and a note for each value read differently from how it was typed or
    left out. Amount bounds apply only with a currency: amounts are never compared across currencies."""
    notes: list[Note] = []

    def given(name: str) -> str:
        return (args.get(name) or "").strip()[:MAX_TEXT]

    currency = given("currency").upper() or None
    if currency is not None and not re.fullmatch(r"[A-Z]{3}", currency):
        notes.append(Note("currency", given("currency"), Problem.NOT_CURRENCY))
        currency = None

    amounts: dict[str, Decimal | None] = {}
    for name in ("min_amount", "max_amount"):
        text = given(name)
        amounts[name] = None
        if not text:
            continue
        value, code, problem = read_amount(text)
        if problem:
            notes.append(Note(name, text, problem))
            continue
        if code and currency is None:
            currency = code
            notes.append(Note("currency", text, Problem.READ_AS, code))
        amounts[name] = value
        if format(value, "f") != text:
            notes.append(Note(name, text, Problem.READ_AS, format(value, "f")))
    low, high = amounts["min_amount"], amounts["max_amount"]
    if low is not None and high is not None and low > high:
        notes.append(Note("max_amount", given("max_amount"), Problem.SWAPPED))
        low, high = high, low
    if currency is None:
        for name in ("min_amount", "max_amount"):
            if amounts[name] is not None:
                notes.append(Note(name, given(name), Problem.NEEDS_CURRENCY))

    days: dict[str, date | None] = {}
    for name in ("date_from", "date_to"):
        text = given(name)
        days[name] = None
        if not text:
            continue
        day, problem = read_day(text, end=name == "date_to")
        if problem:
            notes.append(Note(name, text, problem))
            continue
        days[name] = day
        if day is not None and day.isoformat() != text:
            notes.append(Note(name, text, Problem.READ_AS, day.isoformat()))
    start, finish = days["date_from"], days["date_to"]
    if start is not None and finish is not None and start > finish:
        notes.append(Note("date_to", given("date_to"), Problem.SWAPPED))
        start, finish = finish, start

    dates = given("dates") or "updated"
    if dates not in DATE_COLUMNS:
        notes.append(Note("dates", dates, Problem.NOT_DATES))
        dates = "updated"

    sort = given("sort")
    if sort and sort not in SORTS:
        notes.append(Note("sort", sort, Problem.NOT_SORT))

    facets: list[tuple[str, str]] = []
    for name in FACET_PARAMETERS:
        chosen = (args.get(name) or "").strip()[:MAX_NAME]
        if not chosen:
            continue
        if name == "year" and not _YEAR.fullmatch(chosen):
            notes.append(Note(name, chosen[:MAX_TEXT], Problem.NOT_DATE))
            continue
        if name == "amount_band" and chosen not in AMOUNT_BAND_NAMES:
            notes.append(Note(name, chosen[:MAX_TEXT], Problem.NOT_BAND))
            continue
        facets.append((name, chosen))

    filters = Filters(
        currency=currency,
        min_amount=low,
        max_amount=high,
        date_from=start,
        date_to=finish,
        dates=dates,
        facets=tuple(facets),
    )
    return filters, notes


def filters_in_use(filters: Filters) -> int:
    """How many of the form's fields narrow the results: a phone shows the count on the folded filters, so that
    a filter out of sight is not forgotten. Amount bounds count only with a currency, as they apply only then."""
    bounds = (filters.min_amount, filters.max_amount) if filters.currency is not None else ()
    return sum(value is not None for value in (filters.currency, filters.date_from, filters.date_to, *bounds))
