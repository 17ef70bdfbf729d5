"""The JSON API's description (OpenAPI 3.0), served at /api/openapi.json and shown at /api.

The API is the site's own JSON twins, so this document describes those: tests check that it validates and that
every operation answers as it says (schemathesis against the app). Schemas name the fields a client relies on
and allow more (`additionalProperties`), so that adding a field never breaks a client.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template

from portal.render import dumps

blueprint = Blueprint("api", __name__)

_TEXT = {"type": "string"}
_NULLABLE_TEXT = {"type": "string", "nullable": True}
_MONEY = {
    "type": "object",
    "nullable": True,
    "description": "An amount as an exact decimal string, with its currency (never converted).",
    "properties": {"amount": _TEXT, "currency": _NULLABLE_TEXT},
}
_ERROR = {
    "description": "An error, as JSON.",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["error", "status"],
                "properties": {"error": _TEXT, "status": {"type": "integer"}, "detail": _NULLABLE_TEXT},
            }
        }
    },
}
_PAGE_ERROR = {
    "description": "An error, as the site's page (a CSV address answers errors in HTML, for a person to read).",
    "content": {"text/html": {"schema": _TEXT}},
}
_SEARCH_PARAMETERS: list[dict[str, Any]] = [
    {"name": name, "in": "query", "required": False, "schema": schema, "description": description}
    for name, schema, description in (
        ("q", _TEXT, 'Words; `-word` or `NOT word` excludes, "quotes" a phrase, OR either word.'),
        ("sort", _TEXT, "relevance, amount, date, amount_asc or date_asc (amounts grouped by currency)."),
        ("page", {"type": "integer"}, "A numbered page (at most 500); past it, follow `next`."),
        ("cursor", _TEXT, "The opaque token of a `next` link: the page after the row it names."),
        ("currency", _TEXT, "Three letters; amount bounds apply within it."),
        ("min_amount", _TEXT, "Amount from, as people write it (`1 000 000`, `10k`)."),
        ("max_amount", _TEXT, "Amount to."),
        ("date_from", _TEXT, "A day, a month or a year."),
        ("date_to", _TEXT, "A day, a month or a year."),
        ("dates", _TEXT, "Which date the date filters apply to: updated, tender, award or signed."),
        ("buyer", _TEXT, "A buyer's name, as the buyer facet lists it."),
        ("supplier", _TEXT, "A supplier's name, as the supplier facet lists it."),
        ("method", _TEXT, "A procurement method."),
        ("status", _TEXT, "A tender status."),
        ("year", _TEXT, "A year of the last update."),
        ("amount_band", _TEXT, "below-0, 0-10000, 10000-100000, 100000-1000000, 1000000-10000000 or 10000000-."),
        ("flag", _TEXT, "A red flag's code (`R018`, `SPLIT`): processes on which it fired; see /methodology.json."),
    )
]
_SEARCH_PAGE = {
    "type": "object",
    "required": ["query", "total", "page", "pages", "next", "results", "facets"],
    "properties": {
        "query": _TEXT,
        "sort": _TEXT,
        "total": {"type": "integer", "minimum": 0},
        "page": {"type": "integer"},
        "pages": {"type": "integer"},
        "next": {**_NULLABLE_TEXT, "description": "The next page's URL (keyset), or null on the last page."},
        "notice": _NULLABLE_TEXT,
        "corrected": _NULLABLE_TEXT,
        "process": _NULLABLE_TEXT,
        "facets": {
            "type": "object",
            "additionalProperties": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["value", "count", "url"],
                    "properties": {"value": _TEXT, "count": {"type": "integer"}, "url": _TEXT},
                },
            },
        },
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["ocid", "title", "url"],
                "properties": {
                    "ocid": _TEXT,
                    "title": {**_TEXT, "description": "Whole, never cut."},
                    "buyer": _TEXT,
                    "buyer_url": _NULLABLE_TEXT,
                    "suppliers": {"type": "array", "items": _TEXT},
                    "supplier_urls": {"type": "array", "items": _NULLABLE_TEXT},
                    "status": _TEXT,
                    "value": _MONEY,
                    "last_updated": _NULLABLE_TEXT,
                    "flags": {"type": "array", "items": _TEXT, "description": "Codes of the red flags that fired."},
                    "url": _TEXT,
                },
            },
        },
    },
}
_PACKAGE = {
    "type": "object",
    "required": ["uri", "version", "publishedDate", "publisher"],
    "properties": {
        "uri": _TEXT,
        "version": _TEXT,
        "publishedDate": _TEXT,
        "publisher": {"type": "object"},
        "links": {"type": "object", "properties": {"next": _TEXT}},
        "releases": {"type": "array", "items": {"type": "object"}},
        "records": {"type": "array", "items": {"type": "object"}},
    },
}
_ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _get(summary: str, responses: dict[str, Any], parameters: list | None = None) -> dict[str, Any]:
    return {"get": {"summary": summary, "parameters": parameters or [], "responses": responses}}


def _path_id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": _ID}


def _entity_paths(stem: str, kind: str, entity: dict[str, Any], csv: dict[str, Any]) -> dict[str, Any]:
    """A vendor or buyer entity's twins: its figures with one page of its awards, every award as CSV, the
    processes of one page of awards as OCDS packages (`links.next` leads on), its totals by year as CSV."""
    paged = [_path_id("vendor_id"), {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}}]
    return {
        f"/{stem}/{{vendor_id}}.json": _get(
            f"A {kind} entity's figures and one page of its awards (`award_list`, `next`)",
            {"200": entity, "404": _ERROR},
            paged,
        ),
        f"/{stem}/{{vendor_id}}.csv": _get(
            f"Every award of a {kind} entity, as CSV", {"200": csv, "404": _PAGE_ERROR}, [_path_id("vendor_id")]
        ),
        f"/{stem}/{{vendor_id}}/by-year.csv": _get(
            f"A {kind} entity's totals by year and currency, as CSV",
            {"200": csv, "404": _PAGE_ERROR},
            [_path_id("vendor_id")],
        ),
        f"/{stem}/{{vendor_id}}/releases.json": _get(
            f"The processes of one page of a {kind} entity's awards as an OCDS release package",
            {"200": _json("An OCDS release package.", _PACKAGE), "404": _ERROR},
            paged,
        ),
        f"/{stem}/{{vendor_id}}/records.json": _get(
            f"The processes of one page of a {kind} entity's awards as an OCDS record package",
            {"200": _json("An OCDS record package.", _PACKAGE), "404": _ERROR},
            paged,
        ),
    }


def document() -> dict[str, Any]:
    csv = {"description": "CSV, streamed.", "content": {"text/csv": {"schema": _TEXT}}}
    entity = _json("An entity's figures.", {"type": "object", "required": ["id", "name", "kind"]})
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Open procurement portal",
            "version": "1",
            "description": (
                "Every page's JSON twin. URLs in answers are relative; money is a decimal string with its currency; "
                "dates keep the offset they were published with. Lists page by opaque `next` links (keyset)."
            ),
        },
        "paths": {
            "/index.json": _get(
                "Headline figures", {"200": _json("Totals, sources, latest processes.", {"type": "object"})}
            ),
            "/search.json": _get(
                "One page of a search, with facets and the next page's link",
                {"200": _json("A page of results.", _SEARCH_PAGE), "400": _ERROR, "404": _ERROR},
                _SEARCH_PARAMETERS,
            ),
            "/search.csv": _get(
                "Every result of a search, as CSV", {"200": csv, "413": _PAGE_ERROR}, _SEARCH_PARAMETERS
            ),
            "/search/releases.json": _get(
                "A search's page of processes as an OCDS release package",
                {"200": _json("An OCDS release package.", _PACKAGE), "400": _ERROR},
                _SEARCH_PARAMETERS,
            ),
            "/search/records.json": _get(
                "A search's page of processes as an OCDS record package",
                {"200": _json("An OCDS record package.", _PACKAGE), "400": _ERROR},
                _SEARCH_PARAMETERS,
            ),
            "/supplier/{party_id}.json": _get(
                "A supplier (one party) and one page of its awards",
                {"200": _json("A supplier.", {"type": "object", "required": ["id", "name", "awards"]}), "404": _ERROR},
                [_path_id("party_id"), {"name": "page", "in": "query", "schema": {"type": "integer"}}],
            ),
            "/supplier/{party_id}.csv": _get(
                "Every award of a supplier, as CSV", {"200": csv, "404": _PAGE_ERROR}, [_path_id("party_id")]
            ),
            **_entity_paths("buyer", "buyer", entity, csv),
            **_entity_paths("vendor", "supplier", entity, csv),
            "/downloads.json": _get(
                "The whole data's files, with sizes, dates and SHA-256 checksums",
                {
                    "200": _json(
                        "The files of the last complete set (empty before the first ingest).",
                        {"type": "object", "required": ["files"], "properties": {"files": {"type": "array"}}},
                    )
                },
            ),
            "/process/{ocid}.json": _get(
                "A contracting process, its releases and the compiled release",
                {"200": _json("A process.", {"type": "object", "required": ["ocid", "releases"]}), "404": _ERROR},
                [
                    {
                        "name": "ocid",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^[\\w-]+$"},
                    }
                ],
            ),
        },
    }


@blueprint.get("/api/openapi.json")
def openapi() -> Response:
    return Response(dumps(document()), mimetype="application/json")


@blueprint.get("/api")
def api_page() -> Response:
    """The API described for people, from the same document."""
    return Response(render_template("public/api.html", api=document()), mimetype="text/html")
