"""A reporter's session through the JSON API: every contract of one supplier above 100,000 signed in one year,
the year before for comparison, the export, and the feed to follow it. tests/browser/test_reporter.py plays the
same session in Chromium."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select

from portal.models import Award, AwardSupplier, Contract, Process

THRESHOLD = Decimal(100_000)
ATOM = "{http://www.w3.org/2005/Atom}"


@dataclass
class ReporterCase:
    supplier: str
    currency: str
    year: int
    expected: set[str]  # ocids: the supplier's processes above the threshold whose first contract was signed then
    year_before: set[str]

    def query(self, year: int) -> dict[str, str]:
        return {
            "supplier": self.supplier,
            "currency": self.currency,
            "min_amount": str(THRESHOLD),
            "dates": "signed",
            "date_from": str(year),
            "date_to": str(year),
        }


def reporter_case(session) -> ReporterCase:
    """The supplier and year with the most processes above the threshold, counted in SQL (as a reporter's
    spreadsheet would), with the processes of the year before."""
    signed = dict(
        session.execute(select(Contract.process_id, func.min(Contract.date_signed)).group_by(Contract.process_id)).all()
    )
    rows = session.execute(
        select(AwardSupplier.name, Process.id, Process.ocid, Process.value_units, Process.value_currency)
        .join(Award, Award.id == AwardSupplier.award_id)
        .join(Process, Process.id == Award.process_id)
        .distinct()
    ).all()
    found: dict[tuple[str, str, int], set[str]] = defaultdict(set)
    for name, process_id, ocid, units, currency in rows:
        when = signed.get(process_id)
        if units is not None and currency and when is not None and Decimal(units).scaleb(-4) >= THRESHOLD:
            found[(name.strip(), currency, when.year)].add(ocid)
    # The most processes, then the most the year before (the demo set is small: often one of each).
    supplier, currency, year = max(found, key=lambda k: (len(found[k]), len(found.get((k[0], k[1], k[2] - 1), ())), k))
    return ReporterCase(
        supplier, currency, year, found[(supplier, currency, year)], found[(supplier, currency, year - 1)]
    )


def test_a_reporters_session_through_the_api(demo_client, demo_app):
    with demo_app.extensions["portal.sessions"]() as session:
        case = reporter_case(session)
    assert case.expected

    def every_row(year: int) -> list[dict]:
        page = demo_client.get("/search.json", query_string=case.query(year)).get_json()
        rows = list(page["results"])
        while page["next"]:
            page = demo_client.get(page["next"]).get_json()
            rows += page["results"]
        return rows

    rows = every_row(case.year)
    assert {r["ocid"] for r in rows} == case.expected
    assert all(case.supplier in [s.strip() for s in r["suppliers"]] for r in rows)
    assert all(Decimal(r["value"]["amount"]) >= THRESHOLD and r["value"]["currency"] == case.currency for r in rows)
    before = every_row(case.year - 1)
    assert {r["ocid"] for r in before} == case.year_before

    export = demo_client.get("/search.csv", query_string=case.query(case.year))
    table = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert [r["ocid"] for r in table] == [r["ocid"] for r in rows]

    feed = ET.fromstring(demo_client.get("/search.atom", query_string=case.query(case.year)).data)
    ids = {e.findtext(f"{ATOM}id") for e in feed.iter(f"{ATOM}entry")}
    assert ids == {f"urn:ocid:{ocid}" for ocid in case.expected} or len(ids) == 50
