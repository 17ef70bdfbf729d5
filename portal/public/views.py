"""Public pages: home, search, process, supplier. Each page has a JSON twin at the same URL plus `.json`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for

from portal.db import get_session
from portal.domain.processes import (
    Figures,
    NotFound,
    data_version,
    get_process,
    get_release,
    get_supplier,
    home_figures,
)
from search_index.query import SORTS, Filters, search_processes

MAX_AMOUNT = Decimal("1e16")  # beyond any contract; keeps the cents inside the index's 64-bit columns

blueprint = Blueprint("public", __name__)


@blueprint.errorhandler(NotFound)
def not_found(error: NotFound):  # type: ignore[no-untyped-def]
    if request.path.endswith(".json"):
        return jsonify(error=str(error)), 404
    return render_template("public/not_found.html", message=str(error)), 404


def _money(amount: Decimal | None, currency: str | None) -> dict | None:
    # Amounts travel as strings so that no client rounds them through a float.
    return None if amount is None else {"amount": str(amount), "currency": currency}


def _iso(value) -> str | None:  # type: ignore[no-untyped-def]
    return value.isoformat() if value else None


@blueprint.get("/")
@blueprint.get("/index.json", endpoint="home_json")
def home():  # type: ignore[no-untyped-def]
    figures = cached_figures()
    if request.path.endswith(".json"):
        return jsonify(
            processes=figures.processes,
            releases=figures.releases,
            buyers=figures.buyers,
            suppliers=figures.suppliers,
            value_by_currency=[
                {"currency": c, "amount": str(v), "processes": n} for c, v, n in figures.value_by_currency
            ],
            sources=[{"name": n, "releases": r, "last_loaded": _iso(d)} for n, r, d in figures.sources],
            latest=[{"ocid": p.ocid, "title": p.title} for p in figures.latest],
        )
    return render_template("public/home.html", figures=figures)


def search_filters(args) -> Filters:  # type: ignore[no-untyped-def]
    """Filters from the query string; a value that does not parse is ignored rather than refused."""

    def parsed(name: str, parse):  # type: ignore[no-untyped-def]
        try:
            return parse(args[name]) if args.get(name) else None
        except (ValueError, ArithmeticError):
            return None

    def amount(text: str) -> Decimal:
        value = Decimal(text)
        if not value.is_finite() or abs(value) > MAX_AMOUNT:
            raise ValueError(text)
        return value

    currency = (args.get("currency") or "").strip().upper()
    return Filters(
        currency=currency if len(currency) == 3 and currency.isalpha() else None,
        min_amount=parsed("min_amount", amount),
        max_amount=parsed("max_amount", amount),
        date_from=parsed("date_from", date.fromisoformat),
        date_to=parsed("date_to", date.fromisoformat),
    )


def cached_figures() -> Figures:
    """Headline figures scan whole tables; they change only with an ingest run, so they are kept until then."""
    session = get_session()
    version = data_version(session)
    cached = current_app.extensions.get("portal.figures")
    if cached is None or cached[0] != version:
        cached = current_app.extensions["portal.figures"] = (version, home_figures(session))
    return cached[1]


def _int_arg(name: str, default: int) -> int:
    try:
        return int(request.args.get(name, default))
    except ValueError:
        return default


@blueprint.get("/search")
@blueprint.get("/search.json", endpoint="search_json")
def search():  # type: ignore[no-untyped-def]
    filters = search_filters(request.args)
    results = search_processes(
        current_app.extensions["portal.search"],
        q=request.args.get("q", ""),
        sort=request.args.get("sort", "relevance"),
        page=_int_arg("page", 1),
        per_page=current_app.config["PER_PAGE"],
        filters=filters,
    )
    if request.path.endswith(".json"):
        return jsonify(
            query=results.query,
            sort=results.sort,
            page=results.page,
            pages=results.pages,
            total=results.total,
            corrected=results.corrected,
            notice=results.notice,
            results=[
                {
                    "ocid": hit.ocid,
                    "title": hit.title,
                    "buyer": hit.buyer,
                    "suppliers": hit.suppliers,
                    "status": hit.status,
                    "value": {"amount": hit.amount, "currency": hit.currency} if hit.amount else None,
                    "last_updated": _iso(hit.date),
                    "url": url_for("public.process", ocid=hit.ocid, _external=True),
                }
                for hit in results.hits
            ],
        )
    return render_template("public/search.html", results=results, sorts=SORTS, filters=filters)


@blueprint.get("/process/<ocid>")
@blueprint.get("/process/<ocid>.json", endpoint="process_json")
def process(ocid: str):  # type: ignore[no-untyped-def]
    view = get_process(get_session(), ocid)
    if request.path.endswith(".json"):
        p = view.process
        return jsonify(
            ocid=p.ocid,
            title=p.title,
            buyer=view.buyer.name if view.buyer else None,
            status=p.status,
            procurement_method=p.procurement_method,
            value=_money(p.value_amount, p.value_currency),
            value_basis=p.value_basis,
            conflicting_release_ids=view.conflicts,
            releases=[
                {
                    "id": e.release.release_id,
                    "date": e.release.date_published,
                    "tag": e.tag,
                    "stages": e.stages,
                    "checksum": e.release.checksum,
                    "source": e.source,
                    "package": e.package_location,
                    "used_in_record": e.used,
                    "url": url_for("public.release", ocid=p.ocid, row_id=e.release.id, _external=True),
                }
                for e in view.timeline
            ],
            compiledRelease=view.compiled,
        )
    return render_template("public/process.html", view=view)


@blueprint.get("/process/<ocid>/releases/<int:row_id>.json")
def release(ocid: str, row_id: int) -> Response:
    """The release exactly as stored, for anyone who wants to check a number against its source."""
    stored = get_release(get_session(), ocid, row_id)
    return Response(stored.data, mimetype="application/json")


@blueprint.get("/process/<ocid>/published-record/<int:record_id>.json")
def published_record(ocid: str, record_id: int) -> Response:
    view = get_process(get_session(), ocid)
    for record in view.published_records:
        if record.id == record_id:
            return Response(record.data, mimetype="application/json")
    raise NotFound(f"no published record {record_id} for {ocid!r}")


@blueprint.get("/supplier/<int:party_id>")
@blueprint.get("/supplier/<int:party_id>.json", endpoint="supplier_json")
def supplier(party_id: int):  # type: ignore[no-untyped-def]
    view = get_supplier(get_session(), party_id)
    if request.path.endswith(".json"):
        return jsonify(
            id=view.party.id,
            name=view.party.name,
            identifier={"scheme": view.party.scheme, "id": view.party.identifier} if view.party.identifier else None,
            spellings=view.spellings,
            totals=[{"currency": c, "amount": str(t), "awards": n} for c, t, n in view.totals],
            awards=[
                {
                    "ocid": a.process.ocid,
                    "title": a.process.title,
                    "award_id": a.award.award_id,
                    "date": _iso(a.award.date),
                    "value": _money(a.award.value_amount, a.award.value_currency),
                    "name_as_published": a.name_as_published,
                }
                for a in view.awards
            ],
        )
    return render_template("public/supplier.html", view=view)
