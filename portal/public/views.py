"""Public pages: home, search, process, supplier. Each builds one dict of plain values, its JSON twin (at the same
URL plus `.json`), and hands it to `portal.render.render` with the template and the objects the template needs.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

from flask import Blueprint, Response, current_app, redirect, request, send_from_directory, url_for
from flask_babel import gettext as _

from portal.db import get_session
from portal.domain.attribution import Terms, as_columns, terms_of
from portal.domain.derive import whole_title
from portal.domain.downloads import FORMULA_START, DownloadFile, read_manifest, spreadsheet_safe
from portal.domain.languages import content_languages
from portal.domain.packages import record_package, release_package
from portal.domain.processes import (
    Figures,
    NamePages,
    NotFound,
    ProcessView,
    Recurring,
    ResultDetails,
    SupplierAward,
    SupplierView,
    all_supplier_awards,
    data_version,
    get_process,
    get_release,
    get_supplier,
    home_figures,
    name_pages,
    result_details,
)
from portal.domain.redflags import FlagLine, process_flags
from portal.domain.vendor_figures import vendor_of_party
from portal.public.params import filters_in_use, search_filters
from portal.render import (
    MAX_ID,
    Invalid,
    Missing,
    TooLarge,
    csv_response,
    csv_stream,
    dumps,
    encode_ocid,
    error_response,
    page_route,
    render,
    requested_format,
    url_maker,
    url_with,
)
from portal.vocabulary import FlagOutcome
from search_index.query import (
    MAX_PAGE,
    SORTS,
    BadCursor,
    Hit,
    Ordered,
    SearchPage,
    hits_at,
    ordered_matches,
    search_processes,
)

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
    "flag": "flag",
    "amount_band": "amount_band",
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
                "title": whole_title(p.title, p.description),
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
    """The `page` asked for: 1 when it is not a number, nor a page (0, negative)."""
    try:
        return max(1, int(request.args.get("page", 1)))
    except ValueError:
        return 1


def buyer_url(pages: NamePages, ocid: str) -> str | None:
    vendor_id = pages.buyers.get(ocid)
    return url_for("vendors.buyer", vendor_id=vendor_id) if vendor_id else None


def supplier_url(pages: NamePages, ocid: str, name: str) -> str | None:
    party_id = pages.suppliers.get((ocid, name.strip()))
    return url_for("public.supplier", party_id=party_id) if party_id else None


def result_row(hit: Hit, languages: dict[str, str], pages: NamePages, terms: dict[str, list[Terms]]) -> dict[str, Any]:
    """One result as the JSON twin and the CSV give it: the title whole, never cut for display."""
    return {
        "ocid": hit.ocid,
        "title": whole_title(hit.title, hit.description),
        "language": languages.get(hit.ocid),
        "buyer": hit.buyer,
        "buyer_url": buyer_url(pages, hit.ocid),
        "suppliers": hit.suppliers,
        "supplier_urls": [supplier_url(pages, hit.ocid, name) for name in hit.suppliers],
        "status": hit.status,
        "value": _money(hit.amount, hit.currency),
        "last_updated": hit.date,
        "flags": hit.flags,
        "url": url_for("public.process", ocid=hit.ocid),
        **as_columns(terms.get(hit.ocid, [])),  # the source's licence and attribution travel with the row
    }


def search_data(
    results: SearchPage,
    filters: Any,
    notes: list,
    languages: dict[str, str],
    pages: NamePages,
    terms: dict[str, list[Terms]],
    next_cursor: str | None = None,
) -> dict[str, Any]:
    return {
        "query": results.query,
        "sort": results.sort,
        "page": results.page,
        "pages": results.pages,
        "total": results.total,
        # The page after this one, by keyset (`cursor`): it follows on from this page's last row even when
        # processes are added meanwhile, and goes on past the last numbered page.
        "next": url_with("public.search_json", cursor=next_cursor, page=None) if next_cursor else None,
        "corrected": results.corrected,
        "notice": results.notice,
        # The process whose ocid, or tender, award or contract id, is the query: the page goes straight there.
        "process": url_for("public.process", ocid=results.process) if results.process else None,
        "filters": filters,
        "notes": [
            {"parameter": n.parameter, "given": n.given, "problem": n.problem, "read_as": n.read_as} for n in notes
        ],
        "facets": facet_links(results),
        "results": [result_row(hit, languages, pages, terms) for hit in results.hits],
    }


def facet_links(results: SearchPage) -> dict[str, list[dict[str, Any]]]:
    """Each facet's values among the results, with their counts and the search narrowed to each."""
    return {
        name: [
            {
                "value": value,
                "count": count,
                "url": url_with("public.search", **{FACET_PARAMETER[name]: value, "page": None, "cursor": None}),
            }
            for value, count in values
        ]
        for name, values in results.facets.items()
    }


MAX_EXPORT_ROWS = 1_000_000  # a whole-result CSV longer than this is refused with the reason (use /downloads)
EXPORT_CHUNK = 500  # rows read from the index, and looked up in the database, at a time


@page_route(blueprint, "/search", csv=True)
def search() -> Response:
    filters, notes = search_filters(request.args)
    q, sort = request.args.get("q", ""), request.args.get("sort", "relevance")
    index = current_app.extensions["portal.search"]
    if requested_format() == "csv":
        return search_export(ordered_matches(index, q=q, sort=sort, filters=filters))
    asked = _page_number()
    cursor = request.args.get("cursor") or None
    per_page = current_app.config["PER_PAGE"]
    results = search_processes(
        index,
        q=q,
        sort=sort,
        page=1 if cursor else asked,
        per_page=per_page,
        filters=filters,
        facets=FACET_LIMIT,
    )
    if results.process and asked == 1 and not cursor and requested_format() == "html":
        return redirect(url_for("public.process", ocid=results.process))  # type: ignore[return-value]
    if not cursor and asked > results.pages:
        # Rather than "page 500 of 2": there is no such page.
        if asked > MAX_PAGE and results.pages == MAX_PAGE:
            raise Missing(_("Only the first %(pages)d pages are shown: narrow the search.", pages=MAX_PAGE))
        raise Missing(_("There are %(pages)d pages of results, not %(page)d.", pages=results.pages, page=asked))
    next_cursor = None
    if cursor or requested_format() == "json":
        # Keyset pages: the rows after the cursor's row (or this numbered page's), in the same order.
        ordered = ordered_matches(index, q=q, sort=sort, filters=filters)
        try:
            first = ordered.after(cursor) if cursor else (asked - 1) * per_page
        except BadCursor:
            raise Invalid(_("This page link is not one this site wrote: start the search again.")) from None
        results.hits = hits_at(ordered, first, first + per_page, q)
        results.page = first // per_page + 1
        if first + per_page < len(ordered):
            next_cursor = ordered.cursor(first + per_page - 1)
    ocids = [hit.ocid for hit in results.hits]
    languages = content_languages(get_session(), ocids=ocids)
    pages = name_pages(get_session(), ocids=ocids)
    terms = terms_of(get_session(), ocids) if requested_format() != "html" else {}
    return render(
        "public/search.html",
        partial(search_data, results, filters, notes, languages, pages, terms, next_cursor),
        table="results",
        results=results,
        facets=facet_links(results),
        sorts=SORTS,
        filters=filters,
        filters_in_use=filters_in_use(filters),
        notes=notes,
        languages=languages,
        buyer_url=partial(buyer_url, pages),
        supplier_url=partial(supplier_url, pages),
    )


def search_export(ordered: Ordered) -> Response:
    """The whole result set as CSV, streamed: rows are read from the index and looked up in the database
    EXPORT_CHUNK at a time, so memory stays flat however many there are. Beyond MAX_EXPORT_ROWS the answer is
    a plain reason, not a cut file."""
    if len(ordered) > MAX_EXPORT_ROWS:
        raise TooLarge(
            _(
                "This search has %(rows)d results; an export holds at most %(limit)d. Narrow the search, or take "
                "the whole data from the downloads page.",
                rows=len(ordered),
                limit=MAX_EXPORT_ROWS,
            )
        )
    return csv_stream(search_csv(ordered), "search.csv")


# The export's columns: a result row (result_row) flattened as `portal.render.flatten` does.
SEARCH_COLUMNS = (
    *("ocid", "title", "language", "buyer", "buyer_url", "suppliers", "supplier_urls", "status"),
    *("value.amount", "value.currency", "last_updated", "flags", "url", "source", "licence", "attribution"),
)
NO_TERMS: dict[str, str | None] = {"source": None, "licence": None, "attribution": None}


@dataclasses.dataclass
class ExportLinks:
    """The three links of an export row, each built from a template made once per export (`url_maker`)."""

    process: Callable[[str], str]
    buyer: Callable[[int], str]
    supplier: Callable[[int], str]

    @classmethod
    def of_request(cls) -> ExportLinks:
        return cls(
            process=url_maker("public.process", "ocid", "stand-in", encode_ocid),
            buyer=url_maker("vendors.buyer", "vendor_id", MAX_ID, str),
            supplier=url_maker("public.supplier", "party_id", MAX_ID, str),
        )


def search_csv(ordered: Ordered) -> Iterator[str]:
    """The export as CSV text, EXPORT_CHUNK rows at a time: the text `csv_rows` writes of each `result_row`
    (tests/portal/test_search_exports.py compares the two), written straight from a hit to the cells of
    SEARCH_COLUMNS. The generic path built a JSON row, flattened it (`flatten`, over any JSON) and asked the
    router for three links a row, and those, with the database lookups now in `result_details`, were most of
    an export's time (docs/performance.md)."""
    session = get_session()
    links = ExportLinks.of_request()
    recurring = Recurring()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(SEARCH_COLUMNS)
    for start in range(0, len(ordered), EXPORT_CHUNK):
        hits = hits_at(ordered, start, start + EXPORT_CHUNK, html=False)
        details = result_details(session, ocids=[hit.ocid for hit in hits], recurring=recurring)
        writer.writerows(search_cells(hits, details, links))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()  # the header of an export without rows


def search_cells(hits: list[Hit], details: ResultDetails, links: ExportLinks) -> list[list[str]]:
    """Hits as the cells of SEARCH_COLUMNS, as `_cell` leaves them: each `result_row` flattened, without the
    JSON in between."""
    buyers, party_of, languages, sources = (
        details.pages.buyers,
        details.pages.suppliers,
        details.languages,
        details.terms,
    )
    process_url, buyer_url, supplier_url = links.process, links.buyer, links.supplier
    rows = []
    for hit in hits:
        ocid = hit.ocid
        vendor_id = buyers.get(ocid)
        supplier_urls = []
        for name in hit.suppliers:
            party_id = party_of.get((ocid, name.strip()))
            supplier_urls.append(supplier_url(party_id) if party_id else "")
        valued = hit.amount is not None and hit.amount != ""  # _money
        terms = sources.get(ocid) or NO_TERMS
        cells = [
            ocid,
            whole_title(hit.title, hit.description) or "",
            languages.get(ocid) or "",
            hit.buyer,
            buyer_url(vendor_id) if vendor_id else "",
            "; ".join(hit.suppliers),
            "; ".join(supplier_urls),
            hit.status,
            hit.amount if valued else "",
            hit.currency if valued else "",
            hit.date.isoformat() if hit.date else "",
            "; ".join(hit.flags),
            process_url(ocid),
            terms["source"] or "",
            terms["licence"] or "",
            terms["attribution"] or "",
        ]
        rows.append([cell if cell[:1] not in FORMULA_START else spreadsheet_safe(cell) for cell in cells])
    return rows


def _ocds(kind: str, ocids: list[str], next_url: str | None) -> Response:
    session = get_session()
    uri = url_with()
    if kind == "releases":
        package = release_package(session, ocids=ocids, uri=uri, next_url=next_url)
    else:

        def release_url(ocid: str, row_id: int) -> str:
            return url_for("public.release", ocid=ocid, row_id=row_id)

        package = record_package(session, ocids=ocids, uri=uri, release_url=release_url, next_url=next_url)
    return Response(dumps(package), mimetype="application/json")


@blueprint.get("/search/releases.json", defaults={"kind": "releases"}, endpoint="search_releases")
@blueprint.get("/search/records.json", defaults={"kind": "records"}, endpoint="search_records")
def search_ocds(kind: str) -> Response:
    """The search's page of processes as an OCDS release package (every release as stored) or record package
    (releases linked, and the compiled release), `links.next` leading on by keyset as the JSON twin's `next`."""
    filters, _notes = search_filters(request.args)
    q, sort = request.args.get("q", ""), request.args.get("sort", "relevance")
    per_page = current_app.config["PER_PAGE"]
    ordered = ordered_matches(current_app.extensions["portal.search"], q=q, sort=sort, filters=filters)
    cursor = request.args.get("cursor") or None
    try:
        first = ordered.after(cursor) if cursor else (_page_number() - 1) * per_page
    except BadCursor:
        raise Invalid(_("This page link is not one this site wrote: start the search again.")) from None
    hits = hits_at(ordered, first, first + per_page)
    more = first + per_page < len(ordered)
    next_url = url_with(cursor=ordered.cursor(first + per_page - 1), page=None) if more else None
    return _ocds(kind, [hit.ocid for hit in hits], next_url)


@blueprint.get(f"/supplier/<{ID}:party_id>/releases.json", defaults={"kind": "releases"}, endpoint="supplier_releases")
@blueprint.get(f"/supplier/<{ID}:party_id>/records.json", defaults={"kind": "records"}, endpoint="supplier_records")
def supplier_ocds(party_id: int, kind: str) -> Response:
    """The processes of one page of a supplier's awards (as on its page) as an OCDS release or record package."""
    view = get_supplier(get_session(), party_id, page=_page_number())
    next_url = url_with(page=view.page + 1) if view.page < view.pages else None
    return _ocds(kind, list(dict.fromkeys(a.process.ocid for a in view.awards)), next_url)


def downloads_data(files: list[DownloadFile]) -> dict[str, Any]:
    return {"files": [{**dataclasses.asdict(f), "url": url_for("public.download", name=f.name)} for f in files]}


@page_route(blueprint, "/downloads", csv=True)
def downloads() -> Response:
    """The whole data, as written by the last ingest, with sizes, dates and checksums."""
    files = read_manifest(current_app.config["DOWNLOADS_DIR"])
    return render("public/downloads.html", partial(downloads_data, files), table="files", files=files)


@blueprint.get("/downloads/<name>")
def download(name: str) -> Response:
    """One file of the last complete set: only names its manifest lists are served."""
    folder = current_app.config["DOWNLOADS_DIR"]
    if name not in {f.name for f in read_manifest(folder)}:
        raise Missing(_("There is no such download."))
    return send_from_directory(folder, name, as_attachment=True, mimetype="application/gzip")


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


def flags_data(flags: tuple[list[FlagLine], Any], releases: list[str]) -> dict[str, Any]:
    lines, computed_at = flags
    return {
        "computed_at": computed_at,
        "releases_read": releases,  # the release ids of the compiled record every indicator read
        "fired": [
            {
                "code": f.code,
                "title": f.title,
                "evidence": f.evidence,
                "methodology": url_for("flags.indicator", code=f.code),
            }
            for f in lines
            if f.outcome == FlagOutcome.FIRED
        ],
        "outcomes": {f.code: f.outcome for f in lines},
    }


def read_releases(view: ProcessView) -> list[str]:
    """The ids of the releases the compiled record was merged from: what the indicators read."""
    return sorted({e.release.release_id for e in view.timeline if e.used})


def process_data(
    view: ProcessView,
    language: str | None,
    terms: list[Terms],
    *,
    compiled: bool,
    flags: tuple[list[FlagLine], Any] = ([], None),
) -> dict[str, Any]:
    p = view.process
    by_source = {t.source: t for t in terms}
    return {
        "ocid": p.ocid,
        "title": whole_title(p.title, p.description),
        "language": language,
        "buyer": view.buyer.name if view.buyer else None,
        "status": p.status,
        "procurement_method": p.procurement_method,
        "value": _money(p.value_amount, p.value_currency),
        "value_basis": p.value_basis,
        "release_count": p.release_count,  # distinct release ids; `releases` lists every version of each
        "conflicting_release_ids": view.conflicts,
        "red_flags": flags_data(flags, read_releases(view)),
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
    flags = process_flags(session, view.process.id)
    terms = terms_of(session, [ocid]).get(ocid, [])
    data = partial(process_data, view, language, terms, compiled=compiled, flags=flags)
    return render(
        "public/process.html",
        data,
        table="releases",
        view=view,
        language=language,
        flags=flags,
        flag_releases=read_releases(view),
        terms=terms,
    )


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
        "awards": [award_row(a, languages, terms) for a in view.awards],
    }


def award_row(a: SupplierAward, languages: dict[str, str], terms: dict[str, list[Terms]]) -> dict[str, Any]:
    return {
        "ocid": a.process.ocid,
        "title": whole_title(a.process.title, a.process.description),
        "language": languages.get(a.process.ocid),
        "award_id": a.award.award_id,
        "date": a.award.date,
        "value": _money(a.award.value_amount, a.award.value_currency),
        "name_as_published": a.name_as_published,
        "url": url_for("public.process", ocid=a.process.ocid),
        **as_columns(terms.get(a.process.ocid, [])),
    }


AWARD_COLUMNS = (
    *("ocid", "title", "language", "award_id", "date", "value.amount", "value.currency"),
    *("name_as_published", "url", "source", "licence", "attribution"),
)


def supplier_export(party_id: int) -> Response:
    """Every award of the supplier as CSV, streamed a chunk at a time (the page shows 100 at a time)."""
    get_supplier(get_session(), party_id)  # a party without awards has no supplier page, nor export

    def rows() -> Iterator[dict[str, Any]]:
        # The view's session is closed when it returns: the stream asks for its own, closed when it ends.
        session = get_session()
        for chunk in all_supplier_awards(session, party_id):
            ocids = [a.process.ocid for a in chunk]
            languages = content_languages(session, ocids=ocids)
            terms = terms_of(session, ocids)
            yield from (award_row(a, languages, terms) for a in chunk)

    return csv_response(rows(), AWARD_COLUMNS, "supplier.csv")


@page_route(blueprint, f"/supplier/<{ID}:party_id>", csv=True)
def supplier(party_id: int) -> Response:
    if requested_format() == "csv":
        return supplier_export(party_id)
    session = get_session()
    view = get_supplier(session, party_id, page=_page_number())
    languages = content_languages(session, ocids=[a.process.ocid for a in view.awards])
    vendor_id = vendor_of_party(session, party_id)
    ocids = [a.process.ocid for a in view.awards]
    terms = terms_of(session, ocids) if requested_format() != "html" else {}
    data = partial(supplier_data, view, languages, vendor_id, terms)
    return render("public/supplier.html", data, table="awards", view=view, languages=languages, vendor_id=vendor_id)
