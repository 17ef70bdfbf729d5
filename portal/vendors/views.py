"""Vendor and buyer entities, and comparisons: each page with its JSON and CSV twins, through `portal.render`.

An entity merged or split away answers a redirect to where its parties went (its twins likewise); a party's
own page (`/supplier/<party>`) stays where it was and links here.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, redirect, request, stream_with_context, url_for
from flask_babel import format_percent

from portal.db import get_session
from portal.domain.attribution import Terms, as_columns, terms_of
from portal.domain.concerns import buyer_responsiveness
from portal.domain.derive import whole_title
from portal.domain.entity_flags import stored_entity_flags
from portal.domain.languages import content_languages
from portal.domain.packages import record_package, release_package
from portal.domain.redflags import EntityFlags, entity_flags
from portal.domain.vendor_figures import (
    MAX_COMPARED,
    CompareError,
    Comparison,
    CurrencyFigures,
    Entity,
    EntityAward,
    Moved,
    VendorFigures,
    VendorNotFound,
    all_entity_awards,
    compare_vendors,
    entity_awards,
    entity_process_ids,
    find_vendors,
    get_entity,
    live_vendor,
    names_of,
    vendors_of_processes,
)
from portal.render import (
    MAX_ID,
    csv_response,
    csv_rows,
    dumps,
    error_response,
    page_route,
    render,
    requested_format,
    url_with,
)
from portal.vocabulary import EntityKind
from search_index.query import search_processes

blueprint = Blueprint("vendors", __name__)
ID = f"int(max={MAX_ID})"
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
    page = request.args.get("page", "")  # a page of the awards, or of a package, stays that page
    query = f"?{urlencode({'page': page})}" if page.isascii() and page.isdigit() else ""
    return redirect(url_for(endpoint, **args) + query, code=301)  # type: ignore[return-value]


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


def _page_number() -> int:
    try:
        return int(request.args.get("page", 1))
    except ValueError:
        return 1


def award_row(a: EntityAward, languages: dict[str, str], terms: dict[str, list[Terms]]) -> dict[str, Any]:
    """One award as the JSON twin lists it and the CSV twin writes it (the columns of AWARD_COLUMNS)."""
    return {
        "ocid": a.ocid,
        "title": whole_title(a.title, a.description),
        "language": languages.get(a.ocid),
        "award_id": a.award.award_id,
        "date": a.award.date,
        "value": _money(a.award.value_amount, a.award.value_currency),
        "suppliers": "; ".join(a.suppliers),
        "url": url_for("public.process", ocid=a.ocid),
        **as_columns(terms.get(a.ocid, [])),
    }


AWARD_COLUMNS = (
    *("ocid", "title", "language", "award_id", "date", "value.amount", "value.currency"),
    *("suppliers", "url", "source", "licence", "attribution"),
)


def _export(kind: EntityKind, vendor_id: int) -> Response:
    """Every award of the entity as CSV, streamed a chunk at a time (the page lists ENTITY_AWARDS_PER_PAGE)."""
    live_vendor(get_session(), vendor_id, kind)  # unknown: 404; merged or split away: a redirect (`moved`)

    def rows() -> Iterator[dict[str, Any]]:
        # The view's session is closed when it returns: the stream asks for its own, closed when it ends.
        session = get_session()
        for chunk in all_entity_awards(session, vendor_id, kind):
            ocids = [a.ocid for a in chunk]
            languages = content_languages(session, ocids=ocids)
            terms = terms_of(session, ocids)
            yield from (award_row(a, languages, terms) for a in chunk)

    return csv_response(rows(), AWARD_COLUMNS, f"{kind}-awards.csv")


def _page(kind: EntityKind, vendor_id: int) -> Response:
    if requested_format() == "csv":
        return _export(kind, vendor_id)
    session = get_session()
    entity = get_entity(session, vendor_id, kind=kind, latest=0)
    listed = entity_awards(session, entity.vendor, page=_page_number())
    flags = stored_entity_flags(session, entity.vendor.id, kind) or entity_flags(
        session, process_ids=entity_process_ids(session, entity.vendor.id, kind)
    )
    ocids = [a.ocid for a in listed.awards]
    wanted = requested_format() != "html"
    languages = content_languages(session, ocids=ocids) if wanted else {}
    terms = terms_of(session, ocids) if wanted else {}

    def data() -> dict[str, Any]:
        return {
            **entity_data(entity, kind, flags),
            "award_count": listed.award_count,
            "page": listed.page,
            "pages": listed.pages,
            "next": url_with(page=listed.page + 1) if listed.page < listed.pages else None,
            # `awards` is the figures' count: the list is `award_list`, `award_count` rows over `pages` pages.
            "award_list": [award_row(a, languages, terms) for a in listed.awards],
        }

    return render("vendors/entity.html", data, entity=entity, flags=flags, kind=kind, listed=listed)


@page_route(blueprint, f"/vendor/<{ID}:vendor_id>", csv=True)
def vendor(vendor_id: int) -> Response:
    return _page(EntityKind.SUPPLIER, vendor_id)


@page_route(blueprint, f"/buyer/<{ID}:vendor_id>", csv=True)
def buyer(vendor_id: int) -> Response:
    return _page(EntityKind.BUYER, vendor_id)


BY_YEAR_COLUMNS = ("year", "currency", "awarded", "contracted", "awards")


@blueprint.get(f"/vendor/<{ID}:vendor_id>/by-year.csv", defaults={"kind": "supplier"}, endpoint="vendor_by_year")
@blueprint.get(f"/buyer/<{ID}:vendor_id>/by-year.csv", defaults={"kind": "buyer"}, endpoint="buyer_by_year")
def by_year(vendor_id: int, kind: str) -> Response:
    """The entity's awarded and contracted totals by year and currency (the page's charts) as CSV."""
    entity = get_entity(get_session(), vendor_id, kind=EntityKind(kind), latest=0)
    rows = figures_data(entity.figures)["by_year"]
    response = Response(stream_with_context(csv_rows(rows, BY_YEAR_COLUMNS)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'inline; filename="{kind}-by-year.csv"'
    return response


@blueprint.get(f"/vendor/<{ID}:vendor_id>/releases.json", defaults={"kind": "releases"}, endpoint="vendor_releases")
@blueprint.get(f"/vendor/<{ID}:vendor_id>/records.json", defaults={"kind": "records"}, endpoint="vendor_records")
def vendor_ocds(vendor_id: int, kind: str) -> Response:
    """The processes of one page of the supplier's awards (as on its page) as an OCDS release or record package."""
    return _ocds(EntityKind.SUPPLIER, vendor_id, kind)


@blueprint.get(f"/buyer/<{ID}:vendor_id>/releases.json", defaults={"kind": "releases"}, endpoint="buyer_releases")
@blueprint.get(f"/buyer/<{ID}:vendor_id>/records.json", defaults={"kind": "records"}, endpoint="buyer_records")
def buyer_ocds(vendor_id: int, kind: str) -> Response:
    """The processes of one page of the buyer's awards (as on its page) as an OCDS release or record package."""
    return _ocds(EntityKind.BUYER, vendor_id, kind)


def _ocds(entity_kind: EntityKind, vendor_id: int, kind: str) -> Response:
    session = get_session()
    listed = entity_awards(session, live_vendor(session, vendor_id, entity_kind), page=_page_number())
    ocids = list(dict.fromkeys(a.ocid for a in listed.awards))
    next_url = url_with(page=listed.page + 1) if listed.page < listed.pages else None
    if kind == "releases":
        package = release_package(session, ocids=ocids, uri=url_with(), next_url=next_url)
    else:

        def release_url(ocid: str, row_id: int) -> str:
            return url_for("public.release", ocid=ocid, row_id=row_id)

        package = record_package(session, ocids=ocids, uri=url_with(), release_url=release_url, next_url=next_url)
    return Response(dumps(package), mimetype="application/json")


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
