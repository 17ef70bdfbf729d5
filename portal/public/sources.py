"""The sources page: where the data comes from, under which licence and attribution, and how each run went."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from ingest.status import SourceStatus
from ingest.status import list_sources as list_runs
from portal.db import get_session
from portal.domain.sources import SourceView, list_sources
from portal.render import page_route, render

blueprint = Blueprint("sources", __name__)

RUNS_SHOWN = 10  # the latest runs of each source; older ones stay in the database


def sources_data(sources: list[tuple[SourceView, SourceStatus | None]]) -> dict[str, Any]:
    rows = []
    for view, status in sources:
        row = view.as_json()
        row["runs"] = [
            {
                "id": run.id,
                "status": run.status,
                "started_at": run.started_at,
                "finished_at": run.finished_at,
                "files": run.files,
                "releases_seen": run.releases_seen,
                "releases_new": run.releases_new,
                "releases_unchanged": run.releases_unchanged,
                "conflicts": run.conflicts,
                "processes_compiled": run.processes_compiled,
                "error": run.error,
                "notes": run.notes,
            }
            for run in (status.runs if status else [])
        ]
        rows.append(row)
    return {"sources": rows}


@page_route(blueprint, "/sources")
def index() -> Response:
    session = get_session()
    runs = {status.name: status for status in list_runs(session, runs_per_source=RUNS_SHOWN)}
    sources = [(view, runs.get(view.name)) for view in list_sources(session)]
    return render("public/sources.html", lambda: sources_data(sources), sources=sources)
