"""Reading numbers, money and dates as published."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from portal.domain.ocds import canonical_json, exact_numbers, from_units, loads, read_date, read_money, to_units


def test_numbers_are_read_exactly():
    value = loads('{"a": 1e400, "b": 12345678901234567.89, "c": 0.1, "d": 7}')
    assert value == {"a": Decimal("1e400"), "b": Decimal("12345678901234567.89"), "c": 0.1, "d": 7}
    assert canonical_json(value) == '{"a":1E+400,"b":12345678901234567.89,"c":0.1,"d":7}'
    assert loads(canonical_json(value)) == value


def test_units_of_ten_thousandths_within_a_bigint():
    assert to_units(Decimal("9100.50")) == 91_005_000
    assert str(from_units(91_005_000)) == "9100.50"
    assert str(from_units(1234)) == "0.1234"
    assert to_units(Decimal("922337203685477.5807")) == 2**63 - 1
    assert to_units(Decimal("922337203685477.5808")) is None


def test_money_beyond_the_range_is_kept_as_published_and_noted():
    for amount, published in ((1e17, "1e+17"), ("1e30", "1e30"), (Decimal("1e400"), "1E+400")):
        money = read_money({"amount": amount, "currency": "USD"})
        assert (money.published, money.units, money.amount) == (published, None, None)
        assert "not summed" in money.notes[0]
    assert read_money({"amount": "12,5", "currency": "EUR"}).notes == [
        "amount '12,5' is not a number: shown as published, not summed"
    ]


def test_currency_codes_are_compared_upper_cased_with_a_note():
    money = read_money({"amount": 1, "currency": "mdl"})
    assert (money.currency, money.notes) == ("MDL", ["currency 'mdl' read as 'MDL'"])
    assert read_money({"amount": 1, "currency": "XYZ"}).notes == ["currency 'XYZ' is not in the OCDS currency codelist"]


def test_dates_in_every_published_form():
    forms = {
        "2016-09-30T00:00:00Z": 0,
        "2016-09-30T00:00:00+04:00": 240,
        "2016-09-30T00:00:00-05:00": -300,
        "2016-09-30T00:00:00": None,
        "2016-09-30": None,
    }
    for text, offset in forms.items():
        read = read_date(text)
        assert read.offset == offset, text
        assert read.utc.utcoffset() == timedelta(0)
        assert read.local.date().isoformat() == "2016-09-30", text
        assert (read.note is None) == (offset is not None), text


def test_numbers_from_a_streaming_parser_are_read_as_loads_reads_them():
    streamed = {"a": [Decimal("1E+5"), Decimal("400.1"), Decimal("1e400")], "b": 3}
    assert exact_numbers(streamed) == loads('{"a": [1e5, 400.1, 1e400], "b": 3}')
    assert canonical_json(exact_numbers(streamed)) == canonical_json(loads('{"a": [1e5, 400.1, 1e400], "b": 3}'))
