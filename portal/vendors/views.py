"""Vendor and buyer entities, and comparisons: each page with its JSON and CSV twins, through `portal.render`.

An entity merged or split away answers a redirect to where its parties went (its twins likewise); a party's
own page (`/supplier/<party>`) stays where it was and links here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any
from urllib.parse import urlencode

import pandas as pd
from flask import Blueprint, Response, current_app, redirect, request, url_for
from flask_babel import format_percent

from portal.db import get_session
from portal.domain.concerns import buyer_responsiveness
from portal.domain.ocds import from_units
from portal.domain.redflags import EntityFlags, entity_flags
from portal.domain.vendor_figures import (
    MAX_COMPARED,
    CompareError,
    Comparison,
    CurrencyFigures,
    Entity,
    Moved,
    VendorFigures,
    VendorNotFound,
    compare_vendors,
    entity_process_ids,
    find_vendors,
    get_entity,
    names_of,
    vendors_of_processes,
)
from portal.render import MAX_ID, error_response, page_route, render
from portal.vocabulary import EntityKind
from search_index.query import search_processes

blueprint = Blueprint("vendors", __name__)
ID = f"int(max={MAX_ID})"
AWARDS_SHOWN = 200  # the page lists the latest awards; the JSON and CSV twins carry the figures
SEARCH_RESULTS_COMPARED = 500  # search results read to find the suppliers winning most among them


@blueprint.errorhandler(VendorNotFound)
def not_found(error: VendorNotFound) -> Response:
    return error_response(404, str(error), show_detail=False)


@blueprint.errorhandler(CompareError)
def cannot_compare(error: CompareError) -> Response:
    return error_response(400, str(error))


@blueprint.errorhandler(Moved)
def moved(error: Moved) -> Response:
    """A merged or split entity's address leads to where its parties went, in the same format."""
    endpoint = request.endpoint or "vendors.vendor"
    args = {**(request.view_args or {}), "vendor_id": error.vendor_id}
    return redirect(url_for(endpoint, **args), code=301)  # type: ignore[return-value]


@blueprint.app_template_filter("percent")
def percent(value: float | None) -> str:
    return "—" if value is None else format_percent(value, format="#,##0.#%")


def _money(amount: Any, currency: str | None) -> dict | None:
    return None if amount is None else {"amount": amount, "currency": currency}


def figures_data(f: VendorFigures) -> dict[str, Any]:
    return {
        "id": f.vendor_id,
        "name": f.name,
        "processes": f.processes,
        "awards": f.awards,
        "buyers": f.buyers,
        "by_currency": [
            {
                "currency": c.currency,
                "awarded": c.awarded,
                "contracted": c.contracted,
                "awards": c.awards,
                "mean": c.mean,
                "median": c.median,
                "value_increases": c.value_increases,
                "increase": c.increase,
            }
            for c in f.currencies
        ],
        "by_year": [
            {
                "year": y.year,
                "currency": y.currency,
                "awarded": y.awarded,
                "contracted": y.contracted,
                "awards": y.awards,
            }
            for y in f.years
        ],
        "methods": f.methods,
        "single_bid": f.single_bid,
        "direct": f.direct,
        "single_bid_or_direct": f.single_bid_or_direct,
        "single_bid_or_direct_share": f.single_bid_or_direct_share,
        "amendments": f.amendments,
    }


def entity_flags_data(flags: EntityFlags) -> dict[str, Any]:
    return {
        "processes": flags.processes,
        "flagged": flags.flagged,
        "by_code": [
            {"code": c, "title": t, "processes": n, "rate": rate, "rate_all_processes": peers}
            for c, t, n, rate, peers in flags.codes
        ],
        "transparency_score": flags.transparency,
        "transparency_score_all_processes": flags.peers_transparency,
    }


def entity_data(entity: Entity, kind: EntityKind, flags: EntityFlags | None = None) -> dict[str, Any]:
    f = entity.figures
    other, endpoint = ("buyer", "vendors.buyer") if kind == EntityKind.SUPPLIER else ("supplier", "vendors.vendor")
    return {
        "kind": kind,
        **figures_data(f),
        "parties": [
            {
                "id": party.id,
                "name": party.name,
                "publisher": party.publisher,
                "identifier": {"scheme": party.scheme, "id": party.identifier} if party.identifier else None,
                "evidence": evidence,
                "rule": detail,
                "url": url_for("public.supplier", party_id=party.id) if kind == EntityKind.SUPPLIER else None,
            }
            for party, evidence, detail in entity.parties
        ],
        f"top_{other}s": [
            {"id": v, "name": name, "processes": n, "url": url_for(endpoint, vendor_id=v)}
            for v, name, n in f.top_buyers
        ],
        "compare": url_for("vendors.compare", vendor=f.vendor_id) if kind == EntityKind.SUPPLIER else None,
        # A buyer's residents' concerns: open, answered, past the deadline (portal.domain.concerns).
        **({"concerns": buyer_responsiveness(get_session(), f.vendor_id)} if kind == EntityKind.BUYER else {}),
        **({"red_flags": entity_flags_data(flags)} if flags is not None else {}),
    }


def _page(kind: EntityKind, vendor_id: int) -> Response:
    entity = get_entity(get_session(), vendor_id, kind=kind, latest=AWARDS_SHOWN)
    flags = entity_flags(get_session(), process_ids=entity_process_ids(get_session(), entity.vendor.id, kind))
    awards = entity.awards.sort_values(["award_date", "award_row"], ascending=False, na_position="last")
    awards = awards.drop_duplicates("award_row").head(AWARDS_SHOWN)
    shown = [
        AwardRow(
            ocid=a.ocid,
            title=a.title,
            date=None if pd.isna(a.award_date) else a.award_date,
            amount=None if pd.isna(a.units) else from_units(int(a.units)),
            currency=a.currency or None,
        )
        for a in awards.itertuples(index=False)
    ]
    return render(
        "vendors/entity.html",
        partial(entity_data, entity, kind, flags),
        table="by_year",
        entity=entity,
        flags=flags,
        kind=kind,
        awards=shown,
    )


@dataclass
class AwardRow:
    ocid: str
    title: str | None
    date: datetime | None
    amount: Decimal | None
    currency: str | None


@page_route(blueprint, f"/vendor/<{ID}:vendor_id>", csv=True)
def vendor(vendor_id: int) -> Response:
    return _page(EntityKind.SUPPLIER, vendor_id)


@page_route(blueprint, f"/buyer/<{ID}:vendor_id>", csv=True)
def buyer(vendor_id: int) -> Response:
    return _page(EntityKind.BUYER, vendor_id)


def _ids(name: str) -> list[int]:
    found = []
    for value in request.args.getlist(name):
        for part in value.replace(",", " ").split():
            if part.isascii() and part.isdigit() and int(part) <= MAX_ID:
                found.append(int(part))
    return list(dict.fromkeys(found))


def comparison_data(comparison: Comparison | None, chosen: list[int]) -> dict[str, Any]:
    if comparison is None:
        return {"vendors": [], "table": [], "chosen": chosen}
    table = []
    for f in comparison.vendors:
        base = {
            "vendor": f.name,
            "vendor_id": f.vendor_id,
            "processes": f.processes,
            "awards": f.awards,
            "buyers": f.buyers,
            "single_bid_or_direct_share": f.single_bid_or_direct_share,
            "amendments": f.amendments,
        }
        currencies: list[CurrencyFigures | None] = list(f.currencies) or [None]
        for c in currencies:
            table.append(
                {
                    **base,
                    "currency": c.currency if c else None,
                    "awarded": c.awarded if c else None,
                    "contracted": c.contracted if c else None,
                    "median": c.median if c else None,
                    "mean": c.mean if c else None,
                }
            )
    return {
        "scope": comparison.scope,
        "scope_name": comparison.scope_name,
        "vendors": [
            {**figures_data(f), "url": url_for("vendors.vendor", vendor_id=f.vendor_id)} for f in comparison.vendors
        ],
        "more_vendors": comparison.more,
        "table": table,
        "concentration": [
            {
                "currency": c.currency,
                "total": c.total,
                "vendors": c.vendors,
                "hhi": c.hhi,
                "shares": [
                    {"vendor_id": s.vendor_id, "name": s.name, "awarded": s.awarded, "share": s.share} for s in c.shares
                ],
            }
            for c in comparison.concentration
        ],
        "competed": [
            {"a": r.a, "b": r.b, "processes": r.processes, "a_won": r.a_won, "b_won": r.b_won, "ocids": r.ocids}
            for r in comparison.rivalries
        ],
    }


@page_route(blueprint, "/compare", csv=True)
def compare() -> Response:
    """`?vendor=1&vendor=2` (2 to 6), `?buyer=ID` or `?category=works` (all of one), `?q=words` (the suppliers
    winning most among a search's results); `add=name` looks vendors up by name to add."""
    session = get_session()
    chosen = _ids("vendor")
    buyer_ids = _ids("buyer")
    category = request.args.get("category", "").strip() or None
    q = request.args.get("q", "").strip()
    if q and not chosen and not buyer_ids and not category:
        chosen = _search_vendors(q)
    found = find_vendors(session, q=request.args.get("add", "")) if request.args.get("add") else []
    comparison = None
    if buyer_ids or category:
        comparison = compare_vendors(session, buyer_id=buyer_ids[0] if buyer_ids else None, category=category)
    elif len(chosen) >= 2:
        comparison = compare_vendors(session, vendor_ids=chosen[:MAX_COMPARED])
    return render(
        "vendors/compare.html",
        partial(comparison_data, comparison, chosen),
        table="table",
        comparison=comparison,
        chosen=chosen,
        found=found,
        names=names_of(session, chosen),
        query=_own_query(chosen, buyer_ids, category, q),
        max_compared=MAX_COMPARED,
    )


def _own_query(chosen: list[int], buyer_ids: list[int], category: str | None, q: str) -> str:
    """The comparison's own parameters, as read, for its permalink and twins (nothing else is carried over)."""
    pairs: list[tuple[str, Any]] = [("vendor", v) for v in chosen[:MAX_COMPARED]]
    pairs += [("buyer", buyer_ids[0])] if buyer_ids else []
    pairs += [("category", category)] if category else []
    pairs += [("q", q)] if q and not pairs else []
    return urlencode(pairs)


def _search_vendors(q: str) -> list[int]:
    results = search_processes(
        current_app.extensions["portal.search"], q=q, sort="relevance", page=1, per_page=SEARCH_RESULTS_COMPARED
    )
    return vendors_of_processes(get_session(), ocids=[hit.ocid for hit in results.hits])
