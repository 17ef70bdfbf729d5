"""Public pages: home, search, process, supplier. Each builds one dict of plain values, its JSON twin (at the same
URL plus `.json`), and hands it to `portal.render.render` with the template and the objects the template needs.
"""

from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

from flask import Blueprint, Response, current_app, redirect, request, url_for
from flask_babel import gettext as _

from portal.db import get_session
from portal.domain.attribution import Terms, as_columns, terms_of
from portal.domain.languages import content_languages
from portal.domain.processes import (
    Figures,
    NotFound,
    ProcessView,
    SupplierView,
    data_version,
    get_process,
    get_release,
    get_supplier,
    home_figures,
)
from portal.domain.vendor_figures import vendor_of_party
from portal.public.params import search_filters
from portal.render import MAX_ID, Missing, error_response, page_route, render, requested_format, url_with
from search_index.query import MAX_PAGE, SORTS, SearchPage, search_processes

blueprint = Blueprint("public", __name__)
FACET_LIMIT = 10  # values shown per facet, the most frequent first
# Facet -> the query parameter that filters by one of its values.
FACET_PARAMETER = {
    "buyer": "buyer",
    "supplier": "supplier",
    "method": "method",
    "status": "status",
    "currency": "currency",
    "year": "year",
}
ID = f"int(max={MAX_ID})"  # a path id: larger ones are 404 before the database is asked


@blueprint.errorhandler(NotFound)
def not_found(error: NotFound) -> Response:
    # The domain's words are English and about rows: they go into the JSON's detail, not onto the page.
    return error_response(404, str(error), show_detail=False)


def _money(amount: Any, currency: str | None) -> dict | None:
    return None if amount is None or amount == "" else {"amount": amount, "currency": currency}


def cached_figures() -> tuple[Figures, dict[str, str]]:
    """Headline figures scan whole tables; they change only with an ingest run, so they are kept until then,
    with the languages of the latest processes they list."""
    session = get_session()
    version = data_version(session)
    cached = current_app.extensions.get("portal.figures")
    if cached is None or cached[0] != version:
        figures = home_figures(session)
        languages = content_languages(session, ocids=[p.ocid for p in figures.latest])
        cached = current_app.extensions["portal.figures"] = (version, figures, languages)
    return cached[1], cached[2]


def home_data(figures: Figures, languages: dict[str, str]) -> dict[str, Any]:
    return {
        "processes": figures.processes,
        "releases": figures.releases,
        "buyers": figures.buyers,
        "suppliers": figures.suppliers,
        "value_by_currency": [{"currency": c, "amount": v, "processes": n} for c, v, n in figures.value_by_currency],
        "sources": [{"name": n, "releases": r, "last_loaded": d} for n, r, d in figures.sources],
        "latest": [
            {
                "ocid": p.ocid,
                "title": p.title,
                "language": languages.get(p.ocid),
                "buyer": p.buyer.name if p.buyer else None,
                "last_updated": p.last_date,
                "url": url_for("public.process", ocid=p.ocid),
            }
            for p in figures.latest
        ],
    }


@page_route(blueprint, "/", twins="/index", csv=True)
def home() -> Response:
    figures, languages = cached_figures()
    return render(
        "public/home.html",
        partial(home_data, figures, languages),
        table="value_by_currency",
        figures=figures,
        languages=languages,
    )


def _page_number() -> int:
    try:
        return int(request.args.get("page", 1))
    except ValueError:
        return 1


def search_data(
    results: SearchPage, filters: Any, notes: list, languages: dict[str, str], terms: dict[str, list[Terms]]
) -> dict[str, Any]:
    return {
        "query": results.query,
        "sort": results.sort,
        "page": results.page,
        "pages": results.pages,
        "total": results.total,
        "corrected": results.corrected,
        "notice": results.notice,
        # The process whose ocid, or tender, award or contract id, is the query: the page goes straight there.
        "process": url_for("public.process", ocid=results.process) if results.process else None,
        "filters": filters,
        "notes": [
            {"parameter": n.parameter, "given": n.given, "problem": n.problem, "read_as": n.read_as} for n in notes
        ],
        "facets": facet_links(results),
        "results": [
            {
                "ocid": hit.ocid,
                "title": hit.title,
                "language": languages.get(hit.ocid),
                "buyer": hit.buyer,
                "suppliers": hit.suppliers,
                "status": hit.status,
                "value": _money(hit.amount, hit.currency),
                "last_updated": hit.date,
                "url": url_for("public.process", ocid=hit.ocid),
                **as_columns(terms.get(hit.ocid, [])),
            }
            for hit in results.hits
        ],
    }


def facet_links(results: SearchPage) -> dict[str, list[dict[str, Any]]]:
    """Each facet's values among the results, with their counts and the search narrowed to each."""
    return {
        name: [
            {
                "value": value,
                "count": count,
                "url": url_with("public.search", **{FACET_PARAMETER[name]: value, "page": None}),
            }
            for value, count in values
        ]
        for name, values in results.facets.items()
    }


@page_route(blueprint, "/search", csv=True)
def search() -> Response:
    filters, notes = search_filters(request.args)
    asked = _page_number()
    results = search_processes(
        current_app.extensions["portal.search"],
        q=request.args.get("q", ""),
        sort=request.args.get("sort", "relevance"),
        page=asked,
        per_page=current_app.config["PER_PAGE"],
        filters=filters,
        facets=FACET_LIMIT,
    )
    if results.process and asked == 1 and requested_format() == "html":
        return redirect(url_for("public.process", ocid=results.process))  # type: ignore[return-value]
    if asked > results.pages:
        # Rather than "page 500 of 2": there is no such page.
        if asked > MAX_PAGE and results.pages == MAX_PAGE:
            raise Missing(_("Only the first %(pages)d pages are shown: narrow the search.", pages=MAX_PAGE))
        raise Missing(_("There are %(pages)d pages of results, not %(page)d.", pages=results.pages, page=asked))
    languages = content_languages(get_session(), ocids=[hit.ocid for hit in results.hits])
    terms = terms_of(get_session(), [hit.ocid for hit in results.hits]) if requested_format() != "html" else {}
    return render(
        "public/search.html",
        partial(search_data, results, filters, notes, languages, terms),
        table="results",
        results=results,
        facets=facet_links(results),
        sorts=SORTS,
        filters=filters,
        notes=notes,
        languages=languages,
    )


FEED_ENTRIES = 50  # the latest processes a feed lists


@blueprint.get("/search.atom")
def search_feed() -> Response:
    """An Atom feed of a search: its processes most recently updated first, each entry's `updated` the
    process's last release date, so a feed reader shows new and changed processes. No account needed."""
    filters, _notes = search_filters(request.args)
    q = request.args.get("q", "")
    results = search_processes(
        current_app.extensions["portal.search"], q=q, sort="date", page=1, per_page=FEED_ENTRIES, filters=filters
    )
    page = url_with("public.search", page=None, sort=None)
    feed = url_with("public.search_feed", page=None, sort=None)
    dates = [hit.date for hit in results.hits if hit.date is not None]
    updated = max(dates).isoformat() if dates else "1970-01-01T00:00:00+00:00"
    title = _("Search: %(query)s", query=q) if q.strip() else _("All processes")
    # Links are relative, as everywhere on the site (a reader resolves them against the feed's own address): the
    # request's Host header is never written into an answer. Ids are URNs of the search and of each ocid.
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"<title>{escape(title)}</title>",
        f"<id>urn:portal:{escape(quote(feed, safe='/?=&'))}</id>",
        f'<link rel="self" href="{escape(feed)}"/>',
        f'<link rel="alternate" type="text/html" href="{escape(page)}"/>',
        f"<updated>{updated}</updated>",
        f"<author><name>{escape(_('Open procurement portal'))}</name></author>",
    ]
    for hit in results.hits:
        link = url_for("public.process", ocid=hit.ocid)
        summary = ", ".join(part for part in (hit.buyer, "; ".join(hit.suppliers), hit.status) if part)
        lines += [
            "<entry>",
            f"<title>{escape(hit.title)}</title>",
            f"<id>urn:ocid:{escape(quote(hit.ocid, safe=''))}</id>",
            f'<link rel="alternate" type="text/html" href="{escape(link)}"/>',
            f"<updated>{(hit.date.isoformat() if hit.date else updated)}</updated>",
            f"<summary>{escape(summary)}</summary>" if summary else "",
            "</entry>",
        ]
    lines.append("</feed>")
    return Response("\n".join(line for line in lines if line), mimetype="application/atom+xml")


def process_data(view: ProcessView, language: str | None, terms: list[Terms], *, compiled: bool) -> dict[str, Any]:
    p = view.process
    by_source = {t.source: t for t in terms}
    return {
        "ocid": p.ocid,
        "title": p.title,
        "language": language,
        "buyer": view.buyer.name if view.buyer else None,
        "status": p.status,
        "procurement_method": p.procurement_method,
        "value": _money(p.value_amount, p.value_currency),
        "value_basis": p.value_basis,
        "release_count": p.release_count,  # distinct release ids; `releases` lists every version of each
        "conflicting_release_ids": view.conflicts,
        "sources": [t.as_json() for t in terms],  # licence and attribution: reuse credits each source
        "releases": [
            {
                "id": e.release.release_id,
                "date": e.release.date_published,
                "tag": e.tag,
                "stages": e.stages,
                "checksum": e.release.checksum,
                "source": e.source,
                "package": e.package_location,
                "used_in_record": e.used,
                "url": url_for("public.release", ocid=p.ocid, row_id=e.release.id),
                "licence": by_source[e.source].licence if e.source in by_source else None,
                "attribution": by_source[e.source].attribution if e.source in by_source else None,
            }
            for e in view.timeline
        ],
        # Parsed only for the JSON twin, where it is the point; the CSV lists the releases.
        **({"compiledRelease": view.compiled} if compiled else {}),
    }


@page_route(blueprint, "/process/<ocid:ocid>", csv=True)
def process(ocid: str) -> Response:
    session = get_session()
    view = get_process(session, ocid)
    language = content_languages(session, ocids=[ocid]).get(ocid)
    compiled = requested_format() == "json"
    terms = terms_of(session, [ocid]).get(ocid, [])
    data = partial(process_data, view, language, terms, compiled=compiled)
    return render("public/process.html", data, table="releases", view=view, language=language, terms=terms)


@blueprint.get(f"/process/<ocid:ocid>/releases/<{ID}:row_id>.json")
def release(ocid: str, row_id: int) -> Response:
    """The release exactly as stored, for anyone who wants to check a number against its source."""
    stored = get_release(get_session(), ocid, row_id)
    return Response(stored.data, mimetype="application/json")


@blueprint.get(f"/process/<ocid:ocid>/published-record/<{ID}:record_id>.json")
def published_record(ocid: str, record_id: int) -> Response:
    view = get_process(get_session(), ocid)
    for record in view.published_records:
        if record.id == record_id:
            return Response(record.data, mimetype="application/json")
    raise NotFound(f"no published record {record_id} for {ocid!r}")


def supplier_data(
    view: SupplierView,
    languages: dict[str, str],
    vendor_id: int | None = None,
    terms: dict[str, list[Terms]] | None = None,
) -> dict[str, Any]:
    terms = terms or {}
    party = view.party
    return {
        "id": party.id,
        "vendor": url_for("vendors.vendor", vendor_id=vendor_id) if vendor_id else None,
        "name": party.name,
        "identifier": {"scheme": party.scheme, "id": party.identifier} if party.identifier else None,
        "spellings": view.spellings,
        "totals": [{"currency": c, "amount": t, "awards": n} for c, t, n in view.totals],
        "award_count": view.award_count,
        "page": view.page,
        "pages": view.pages,
        "next": url_with(page=view.page + 1) if view.page < view.pages else None,
        "awards": [
            {
                "ocid": a.process.ocid,
                "title": a.process.title,
                "language": languages.get(a.process.ocid),
                "award_id": a.award.award_id,
                "date": a.award.date,
                "value": _money(a.award.value_amount, a.award.value_currency),
                "name_as_published": a.name_as_published,
                "url": url_for("public.process", ocid=a.process.ocid),
                **as_columns(terms.get(a.process.ocid, [])),
            }
            for a in view.awards
        ],
    }


@page_route(blueprint, f"/supplier/<{ID}:party_id>", csv=True)
def supplier(party_id: int) -> Response:
    session = get_session()
    view = get_supplier(session, party_id, page=_page_number())
    languages = content_languages(session, ocids=[a.process.ocid for a in view.awards])
    vendor_id = vendor_of_party(session, party_id)
    ocids = [a.process.ocid for a in view.awards]
    terms = terms_of(session, ocids) if requested_format() != "html" else {}
    data = partial(supplier_data, view, languages, vendor_id, terms)
    return render("public/supplier.html", data, table="awards", view=view, languages=languages, vendor_id=vendor_id)
