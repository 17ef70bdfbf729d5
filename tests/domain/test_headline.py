"""The headline rule on its own: rows in, a figure and its basis out. No database."""

from __future__ import annotations

from portal.domain.headline import describe, headline_value
from portal.vocabulary import ValueBasis


def row(status=None, units=None, currency="CAD", published=None):
    published = published if published is not None else (str(units) if units is not None else None)
    return {"status": status, "value_units": units, "value_published": published, "value_currency": currency}


def test_contracts_first_then_awards_then_the_tender():
    tender = row("active", 10_000)
    awards = [row("active", 20_000)]
    contracts = [row("active", 30_000)]
    assert headline_value(contracts, awards, tender).basis == ValueBasis.CONTRACTS
    assert headline_value([], awards, tender).basis == ValueBasis.AWARDS
    assert headline_value([], [], tender).units == 10_000


def test_a_tender_that_will_buy_nothing_never_counts():
    for status in ("cancelled", "unsuccessful", "withdrawn"):
        assert headline_value([], [], row(status, 10_000)).basis is None
    assert headline_value([], [], row("complete", 10_000)).basis == ValueBasis.TENDER


def test_only_committed_statuses_are_summed_and_named():
    contracts = [row("active", 1), row("terminated", 2), row("pending", 4), row("cancelled", 8), row("signed", 16)]
    headline = headline_value(contracts, [], None)
    assert (headline.units, headline.statuses, headline.count, headline.of) == (3, ["active", "terminated"], 2, 2)
    assert any("'signed' is not in the OCDS contractStatus codelist" in note for note in headline.notes)


def test_pending_and_unsuccessful_awards_do_not_count_and_a_missing_status_does():
    awards = [row("pending", 1), row("unsuccessful", 2), row(None, 4)]
    headline = headline_value([], awards, None)
    assert (headline.basis, headline.units, headline.statuses) == (ValueBasis.AWARDS, 4, ["no status"])


def test_a_sum_that_misses_values_says_so():
    headline = headline_value([row("active", 5), row("active"), row("active", 7)], [], None)
    assert (headline.units, headline.count, headline.of, headline.complete) == (12, 2, 3, False)
    assert describe(headline.basis, ", ".join(headline.statuses), headline.count, headline.of) == (
        "sum of its active contracts (2 of 3 contracts carry a value)"
    )


def test_amounts_beyond_the_range_are_left_out_and_noted():
    headline = headline_value([row("active", 5), row("active", None, published="1e30")], [], None)
    assert (headline.units, headline.count, headline.of) == (5, 1, 2)
    assert headline.notes == ["1 contract value could not be summed (1e30): shown as published"]


def test_currencies_are_never_added():
    headline = headline_value([row("active", 5, "CAD"), row("active", 7, "USD")], [], None)
    assert (headline.basis, headline.units) == (ValueBasis.MIXED_CURRENCIES, None)


def test_the_label_names_the_statuses():
    assert describe("contracts", "active, terminated", 2, 2) == "sum of its active and terminated contracts"
    assert describe("awards", "active, no status", 3, 3) == "sum of its active awards and those without a status"
    assert describe("tender", "", 1, 1) == "the tender’s estimated value"
    assert describe(None, None, None, None) == ""
