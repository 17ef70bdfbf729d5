"""The sources page: where the data comes from, under which licence, and with which attribution."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request
from flask.typing import ResponseReturnValue

from portal.db import get_session
from portal.domain.sources import list_sources

blueprint = Blueprint("sources", __name__)


@blueprint.get("/sources")
@blueprint.get("/sources.json", endpoint="index_json")
def index() -> ResponseReturnValue:
    sources = list_sources(get_session())
    if request.path.endswith(".json"):
        return jsonify(sources=[source.as_json() for source in sources])
    return render_template("public/sources.html", sources=sources)
