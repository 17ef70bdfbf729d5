"""Every page in every format from one place: HTML, its JSON twin (`.json` or `Accept`) and, for pages with a
table, CSV (`.csv`, streamed), each answer carrying `Link: rel=alternate` headers to the others.

Modelled on Datasette's `BaseView.render`: a view builds one dict of plain values (its JSON twin, exactly), and
the template gets the richer objects the dict is made from (tests check that the two show the same figures).
Domain values (Decimal, datetimes, enums, dataclasses, escaped markup) become JSON here and nowhere else; money
travels as strings so that no client rounds it through a float, and non-ASCII text stays readable.

Also here, because every page shares them: how an ocid is written in a URL (`OcidConverter`), the site's error
pages and their JSON form, and links that carry a page's own query parameters and nothing else.
"""

from __future__ import annotations

import csv
import dataclasses
import enum
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, current_app, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError, NotFound
from werkzeug.routing import BaseConverter, ValidationError

from portal.domain.downloads import spreadsheet_safe

FORMATS = {"html": "text/html", "json": "application/json", "csv": "text/csv"}
SUFFIX = {"json": "_json", "csv": "_csv"}  # endpoint suffix of each twin: public.search -> public.search_json
# Query parameters a link may carry over from the page it is on; anything else (`_external`, `_anchor`,
# `endpoint`, `_method`, ...) is dropped rather than handed to `url_for`, where it would steer the link.
CARRIED_PARAMETERS = (
    *("q", "sort", "currency", "min_amount", "max_amount", "date_from", "date_to", "page"),
    *("buyer", "supplier", "method", "status", "year", "dates"),  # the search's facets, which date filters apply to
    "flag",  # the red-flag facet
    "amount_band",
)
MAX_ID = 2**31 - 1  # row ids are INTEGER (32-bit on PostgreSQL): a larger one is 404 before the database is asked


# ---------------------------------------------------------------------------------------------------------------
# Ocids in URLs.

_SAFE = re.compile(r"[\w-]", re.UNICODE)  # letters in any script, digits, "_" and "-" stay as they are
_PLAIN = re.compile(r"[\w-]+", re.UNICODE)
_ESCAPED = re.compile(r"(?:~[0-9A-Fa-f]{2})+")


def encode_ocid(ocid: str) -> str:
    """An ocid as one path segment: every character but letters, digits, `_` and `-` becomes `~XX` (its UTF-8
    bytes in hex), like Datasette's tilde encoding. Percent-encoding would not do: servers decode `%2F` to `/`
    before routing, and `.` must stay free to mark `.json`. `a/b/../../c` becomes `a~2Fb~2F~2E~2E~2F~2E~2E~2Fc`,
    a link that cannot climb out of /process/."""
    if _PLAIN.fullmatch(ocid):
        return ocid  # most ocids
    out = []
    for char in ocid:
        if _SAFE.fullmatch(char):
            out.append(char)
        else:
            out.append("".join(f"~{byte:02X}" for byte in char.encode("utf-8")))
    return "".join(out)


def decode_ocid(segment: str) -> str:
    """The inverse of `encode_ocid`; a segment typed by hand with plain `.`, `%`-escapes or `~` is taken as it is."""
    return _ESCAPED.sub(lambda m: bytes.fromhex(m[0].replace("~", "")).decode("utf-8", errors="replace"), segment)


class OcidConverter(BaseConverter):
    """`<ocid:ocid>`: one path segment, decoded by `decode_ocid`; links are built with `encode_ocid`."""

    regex = r"[^/]+"

    def to_python(self, value: str) -> str:
        ocid = decode_ocid(value)
        if "\x00" in ocid:  # no stored ocid holds a NUL (PostgreSQL text cannot): no such page
            raise ValidationError()
        return ocid

    def to_url(self, value: str) -> str:
        return encode_ocid(value)


# ---------------------------------------------------------------------------------------------------------------
# Routes with twins.


def page_route(blueprint: Blueprint, rule: str, *, twins: str | None = None, csv: bool = False) -> Callable:
    """Register a page at `rule` and its JSON twin at `twins or rule` + `.json` (and `.csv` if the page has a
    table). The twin's endpoint is the page's plus `_json` / `_csv`; `render` reads the format from it."""

    def register(view: Callable) -> Callable:
        endpoint, stem = view.__name__, twins or rule
        blueprint.add_url_rule(rule, endpoint, view, methods=["GET"])
        blueprint.add_url_rule(f"{stem}.json", endpoint + SUFFIX["json"], view, methods=["GET"])
        if csv:
            blueprint.add_url_rule(f"{stem}.csv", endpoint + SUFFIX["csv"], view, methods=["GET"])
        return view

    return register


def _page_endpoint() -> str:
    endpoint = request.endpoint or ""
    for suffix in SUFFIX.values():
        if endpoint.endswith(suffix):
            return endpoint.removesuffix(suffix)
    return endpoint


def _formats_of(page_endpoint: str) -> dict[str, str]:
    """Format -> endpoint, for the formats this page has."""
    found = {"html": page_endpoint}
    for name, suffix in SUFFIX.items():
        if page_endpoint + suffix in current_app.view_functions:
            found[name] = page_endpoint + suffix
    return found


def requested_format() -> str:
    """`json` or `csv` for a twin's URL; at the page's own URL, what `Accept` prefers (browsers: HTML)."""
    endpoint = request.endpoint or ""
    for name, suffix in SUFFIX.items():
        if endpoint.endswith(suffix):
            return name
    offered = [FORMATS[name] for name in _formats_of(endpoint)] if endpoint else [FORMATS["html"], FORMATS["json"]]
    best = request.accept_mimetypes.best_match(offered, default=FORMATS["html"])
    return next(name for name, mimetype in FORMATS.items() if mimetype == best)


def carried_arguments(**changes: Any) -> list[tuple[str, str]]:
    """The request's own query parameters that a link may carry, with `changes` applied (None drops one)."""
    kept = [(k, v) for k, v in request.args.items(multi=True) if k in CARRIED_PARAMETERS and k not in changes and v]
    kept += [(k, str(v)) for k, v in changes.items() if v is not None and v != ""]
    return kept


def url_with(endpoint: str | None = None, **changes: Any) -> str:
    """This page (or `endpoint`, with this page's path values) with its query changed: for pagination, sorting,
    twins. Query values go through `urlencode`, never into `url_for`'s keywords."""
    endpoint = endpoint or request.endpoint
    # An address that matched no page (a 404, a 405) has no endpoint: its links lead home rather than echo it.
    path = url_for(endpoint, **(request.view_args or {})) if endpoint else request.script_root + "/"
    query = urlencode(carried_arguments(**changes))
    return f"{path}?{query}" if query else path


def url_maker(endpoint: str, name: str, stand_in: Any, encode: Callable[[Any], str]) -> Callable[[Any], str]:
    """`url_for(endpoint, **{name: value})` for many values, the router asked once: the URL built for
    `stand_in`, with its one path value replaced by each value as the route's converter writes it (`encode`:
    `encode_ocid` for an ocid, `str` for an id), for the links of every row of an export."""
    head, found, tail = url_for(endpoint, **{name: stand_in}).rpartition(encode(stand_in))
    if not found:
        raise ValueError(f"{endpoint} does not write {name} with {encode.__name__}")
    return lambda value: f"{head}{encode(value)}{tail}"


def alternate_links(current: str) -> list[str]:
    page_endpoint = _page_endpoint()
    links = []
    for name, endpoint in _formats_of(page_endpoint).items():
        if name != current:
            links.append(f'<{url_with(endpoint)}>; rel="alternate"; type="{FORMATS[name]}"')
    return links


# ---------------------------------------------------------------------------------------------------------------
# Values to JSON and CSV.


def jsonable(value: Any) -> Any:
    """A value as JSON types: Decimal as its exact string, dates as ISO 8601 with the offset they carry,
    enums by value, dataclasses by field, markup as its text."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Markup):
        return str(value.striptags())
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, Iterable):
        return [jsonable(v) for v in value]
    raise TypeError(f"no JSON form for {type(value).__name__}")


def dumps(data: Any) -> str:
    return json.dumps(jsonable(data), ensure_ascii=False, indent=2)


def flatten(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A JSON row as CSV cells: {"value": {"amount": "5"}} -> {"value.amount": "5"}; lists of plain values
    joined with "; ", lists of objects kept as JSON."""
    cells: dict[str, Any] = {}
    for key, value in jsonable(row).items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            cells.update(flatten(value, f"{name}."))
        elif isinstance(value, list):
            plain = all(not isinstance(v, dict | list) for v in value)
            cells[name] = "; ".join("" if v is None else str(v) for v in value) if plain else json.dumps(value)
        else:
            cells[name] = value
    return cells


def _cell(value: Any) -> str:
    # A cell starting with = + - @ is a formula to a spreadsheet: published text must not run as one.
    return spreadsheet_safe(value)


def csv_lines(rows: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """CSV, one line at a time, every row flattened by `flatten`. The columns are those of all rows (a page's
    table is already in memory), so a first row whose value is null does not drop `value.amount` from the rest.
    A table without rows is an empty file: there is no row to take the columns from."""
    flat = [flatten(row) for row in rows]
    columns: dict[str, None] = {}
    for cells in flat:
        columns.update(dict.fromkeys(cells))
    # "value" (null in some rows) gives way to "value.amount" and "value.currency" (from the others).
    header = [name for name in columns if not any(other.startswith(f"{name}.") for other in columns)]
    if not flat:
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for cells in flat:
        writer.writerow([_cell(cells.get(name)) for name in header])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def csv_rows(rows: Iterable[Mapping[str, Any]], columns: Iterable[str]) -> Iterator[str]:
    """CSV with fixed columns, one line at a time, for exports too long to hold: each row flattened by
    `flatten`, every cell neutralised as in `csv_lines`. The header comes first even without rows."""
    header = list(columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for count, row in enumerate(rows):
        cells = flatten(row)
        writer.writerow([_cell(cells.get(name)) for name in header])
        if count % 100 == 99:  # lines go out a hundred at a time: fewer, larger writes
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_response(rows: Iterable[Mapping[str, Any]], columns: Iterable[str], filename: str) -> Response:
    """A streamed CSV export (see `csv_rows`), with the page's alternate links."""
    return csv_stream(csv_rows(rows, columns), filename)


def csv_stream(lines: Iterator[str], filename: str) -> Response:
    """CSV text already written (by `csv_rows`, or a writer made for one export's columns), streamed with the
    page's alternate links."""
    response = Response(stream_with_context(lines), mimetype=FORMATS["csv"])
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    for link in alternate_links("csv"):
        response.headers.add("Link", link)
    return response


# ---------------------------------------------------------------------------------------------------------------
# The renderer.


def render(
    template: str,
    data: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
    *,
    table: str | None = None,
    status: int = 200,
    **context: Any,
) -> Response:
    """The page in the format asked for: `template` with `context`, or `data` as JSON, or the list
    `data[table]` as CSV. Views call nothing else to answer. `data` may be a function that builds it: the HTML
    page, drawn from `context`, then never pays for building the twin."""
    name = requested_format()
    if name == "csv" and table is None:
        name = "html"
    if name == "html":
        response = Response(render_template(template, **context), status=status, mimetype="text/html")
    else:
        values = data() if callable(data) else data
        if name == "json":
            response = Response(dumps(values), status=status, mimetype=FORMATS["json"])
        else:
            rows = values[table] if table else []
            response = Response(stream_with_context(csv_lines(rows)), status=status, mimetype=FORMATS["csv"])
            filename = (_page_endpoint().rpartition(".")[2] or "data") + ".csv"
            response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    for link in alternate_links(name):
        response.headers.add("Link", link)
    if not request.endpoint or not request.endpoint.endswith(tuple(SUFFIX.values())):
        response.vary.add("Accept")  # the page's own URL answers HTML or JSON by Accept
    return response


# ---------------------------------------------------------------------------------------------------------------
# Errors: the site's own page, or JSON for a twin.


def wants_json() -> bool:
    if request.path.endswith(".json"):  # every .json address answers JSON, errors included (OCDS packages too)
        return True
    if request.endpoint:
        return requested_format() == "json"
    return request.path.endswith(".json") or (
        request.accept_mimetypes.best_match([FORMATS["html"], FORMATS["json"]], default=FORMATS["html"])
        == FORMATS["json"]
    )


def error_messages() -> dict[int, str]:
    return {
        400: _("The address asks for something this site cannot read."),
        413: _("This answer would be larger than the site makes at once."),
        403: _("Your account may not do this."),
        404: _("There is no page at this address."),
        405: _("This address can only be read, not sent to."),
        500: _("Something went wrong on our side. The error has been logged; please try again later."),
    }


class Missing(NotFound):
    """A 404 whose description (translated words about what was asked for) is shown on the page and in JSON."""


class Invalid(BadRequest):
    """A 400 whose description (translated words about what was asked for) is shown on the page and in JSON."""


class TooLarge(HTTPException):
    """A 413: the answer asked for is larger than the site makes at once; the description says what to do."""

    code = 413


def error_response(status: int, detail: str | None = None, *, show_detail: bool = True) -> Response:
    """The error in the form asked for: JSON `{"error", "status", "detail"}`, or the site's own page (which
    leaves out a `detail` that is not for readers, such as a domain exception's English text)."""
    message = error_messages().get(status) or error_messages()[400 if status < 500 else 500]
    if wants_json():
        body = {"error": message, "status": status, "detail": detail}
        return Response(dumps(body), status=status, mimetype=FORMATS["json"])
    page = render_template("error.html", status=status, message=message, detail=detail if show_detail else None)
    return Response(page, status=status, mimetype="text/html")


def _http_error(error: HTTPException) -> Response | HTTPException:
    if error.code is None or error.code < 400:
        return error  # redirects pass through
    shown = isinstance(error, Missing | Invalid | TooLarge)
    response = error_response(error.code, error.description if shown else None)
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value  # such as a 405's Allow
    return response


def init_app(app: Flask) -> None:
    app.url_map.converters["ocid"] = OcidConverter
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(InternalServerError, _http_error)
    app.jinja_env.globals["url_with"] = url_with
    app.jinja_env.globals["encode_ocid"] = encode_ocid
