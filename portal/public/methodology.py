"""The red flags' methodology: every indicator, its definition, the fields it reads, its thresholds and the
data-set fences it compares with, and how many processes it fires on (with twins in JSON and CSV)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, url_for

from portal.db import get_session
from portal.domain.redflags import IndicatorSummary, UnknownIndicator, indicator_summary, methodology
from portal.render import error_response, page_route, render

blueprint = Blueprint("flags", __name__)


@blueprint.errorhandler(UnknownIndicator)
def unknown(error: UnknownIndicator) -> Response:
    return error_response(404, str(error), show_detail=False)


def indicator_data(s: IndicatorSummary) -> dict[str, Any]:
    i = s.indicator
    return {
        "code": i.code,
        "title": i.title,
        "definition": i.definition,
        "why": i.why,
        "level": i.level,
        "cardinal": i.cardinal,
        "fields": list(i.fields),
        "settings": [
            {"name": name, "value": value, "meaning": i.settings_help.get(name, "")}
            for name, value in s.settings.items()
        ],
        "fences": s.fences,
        "processes_fired": s.fired,
        "url": url_for("flags.indicator", code=i.code),
        "search": url_for("public.search", flag=i.code),
    }


@page_route(blueprint, "/methodology", csv=True)
def index() -> Response:
    summaries = methodology(get_session())
    return render(
        "public/methodology.html",
        lambda: {"indicators": [indicator_data(s) for s in summaries]},
        table="indicators",
        summaries=summaries,
    )


@page_route(blueprint, "/methodology/<code>", csv=True)
def indicator(code: str) -> Response:
    summary = indicator_summary(get_session(), code)
    return render(
        "public/indicator.html",
        lambda: {
            **indicator_data(summary),
            "examples": [{"ocid": o, "url": url_for("public.process", ocid=o)} for o in summary.examples],
        },
        table="examples",
        summary=summary,
    )
