"""A process's headline value: which awards, contracts or tender estimate count, and what the page says it summed.

Pure: rows in, a `Headline` out. Statuses are read against the OCDS 1.1.5 codelists; a status outside them is
kept as published, noted, and never counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from portal.domain.ocds import MAX_UNITS, codelist
from portal.vocabulary import ValueBasis

# Statuses under which an award or contract commits money, and so counts towards the headline. A contract that
# is `terminated` was signed and in force: its value was committed, and the label names the status.
COUNTED = {
    ValueBasis.CONTRACTS: ("active", "terminated"),
    ValueBasis.AWARDS: ("active",),
}
# A tender in one of these never contributes its estimate: nothing will be bought under it.
TENDER_NOT_COUNTED = frozenset({"cancelled", "unsuccessful", "withdrawn"})
CODELISTS = {
    ValueBasis.CONTRACTS: "contractStatus",
    ValueBasis.AWARDS: "awardStatus",
    ValueBasis.TENDER: "tenderStatus",
}
NO_STATUS = "no status"  # how a missing status is named among the statuses summed
SINGULAR = {ValueBasis.CONTRACTS: "contract", ValueBasis.AWARDS: "award", ValueBasis.TENDER: "tender"}


def status_in_codelist(basis: ValueBasis, status: str | None) -> bool:
    return status is None or status in codelist(CODELISTS[basis])


def counted(basis: ValueBasis, status: str | None) -> bool:
    """Whether an award or contract with this status counts towards sums (a missing status counts, and says so)."""
    if status is None:
        return True
    return status in COUNTED[basis]


@dataclass
class Headline:
    units: int | None = None  # the sum in 10^-4 units
    currency: str | None = None
    basis: ValueBasis | None = None
    statuses: list[str] = field(default_factory=list)  # the statuses summed, in codelist order, NO_STATUS last
    count: int = 0  # values summed
    of: int = 0  # awards or contracts counted on this basis, with or without a value
    notes: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.count == self.of


def headline_value(contracts: Sequence[dict], awards: Sequence[dict], tender: dict | None) -> Headline:
    """Sum of the counted contracts, else of the counted awards, else the tender's estimate unless the tender was
    cancelled, unsuccessful or withdrawn; never across currencies, never an amount beyond the 10^-4 BIGINT range.

    Each row has `status`, `value_units`, `value_published` and `value_currency` (as `derive` gives them).
    """
    notes: list[str] = []
    for basis, rows in ((ValueBasis.CONTRACTS, contracts), (ValueBasis.AWARDS, awards)):
        for row in rows:
            if not status_in_codelist(basis, row["status"]):
                notes.append(
                    f"{SINGULAR[basis]} status {row['status']!r} is not in the OCDS {CODELISTS[basis]} codelist: "
                    "shown as published, not counted"
                )
    if tender is not None and not status_in_codelist(ValueBasis.TENDER, tender["status"]):
        notes.append(f"tender status {tender['status']!r} is not in the OCDS tenderStatus codelist: shown as published")
    candidates: list[tuple[ValueBasis, list[dict]]] = [
        (ValueBasis.CONTRACTS, [c for c in contracts if counted(ValueBasis.CONTRACTS, c["status"])]),
        (ValueBasis.AWARDS, [a for a in awards if counted(ValueBasis.AWARDS, a["status"])]),
    ]
    if tender is not None and tender["status"] not in TENDER_NOT_COUNTED:
        candidates.append((ValueBasis.TENDER, [tender]))
    for basis, rows in candidates:
        summable = [r for r in rows if r["value_units"] is not None]
        if not summable:
            continue
        left_out = [r for r in rows if r["value_units"] is None and r["value_published"] is not None]
        if left_out:
            notes.append(
                f"{len(left_out)} {SINGULAR[basis]} value{'s' if len(left_out) > 1 else ''} could not be summed "
                f"({', '.join(r['value_published'] for r in left_out)}): shown as published"
            )
        statuses = _statuses(basis, summable)
        headline = Headline(basis=basis, statuses=statuses, count=len(summable), of=len(rows), notes=notes)
        currencies = {r["value_currency"] for r in summable}
        if len(currencies) > 1:
            headline.basis = ValueBasis.MIXED_CURRENCIES
            return headline
        total = sum(r["value_units"] for r in summable)
        if abs(total) > MAX_UNITS:
            notes.append(f"the sum of the {SINGULAR[basis]} values is beyond what is summed: not shown")
            headline.basis = None
            return headline
        headline.units, headline.currency = total, currencies.pop()
        return headline
    return Headline(notes=notes)


def _statuses(basis: ValueBasis, rows: list[dict]) -> list[str]:
    if basis == ValueBasis.TENDER:
        return []
    present = {r["status"] for r in rows}
    ordered = [s for s in COUNTED[basis] if s in present]
    return ordered + ([NO_STATUS] if None in present else [])


def describe(basis: str | None, statuses: str | None, count: int | None, of: int | None) -> str:
    """What the page says the headline is: "sum of its active and terminated contracts (2 of 3 carry a value)"."""
    if basis is None:
        return ""
    if basis == ValueBasis.MIXED_CURRENCIES:
        return "not summed: several currencies"
    if basis == ValueBasis.TENDER:
        return "the tender’s estimated value"
    words = [s for s in (statuses or "").split(", ") if s]
    named = " and ".join(w for w in words if w != NO_STATUS)
    noun = "contracts" if basis == ValueBasis.CONTRACTS else "awards"
    text = f"sum of its {named} {noun}" if named else f"sum of its {noun}"
    if NO_STATUS in words:
        text += " and those without a status" if named else " (no status published)"
    if count is not None and of is not None and count < of:
        text += f" ({count} of {of} {noun} carry a value)"
    return text
