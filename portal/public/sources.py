"""The sources page: where the data comes from, under which licence and attribution, and how each run went."""

from __future__ import annotations

from flask import Blueprint, Response

from ingest.status import list_sources
from portal.db import get_session
from portal.render import page_route, render

blueprint = Blueprint("sources", __name__)

RUNS_SHOWN = 10  # the latest runs of each source; older ones stay in the database


@page_route(blueprint, "/sources")
def index() -> Response:
    sources = list_sources(get_session(), runs_per_source=RUNS_SHOWN)
    return render("public/sources.html", lambda: {"sources": [s.as_json() for s in sources]}, sources=sources)
