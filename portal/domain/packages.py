"""Lists of processes as OCDS: a release package (every release of the processes, exactly as stored) or a record
package (each process's releases, linked, and the compiled release this portal merged from them).

Plain functions, no Flask: a session and ocids in, a dict out; the caller gives the URLs, which are relative
(no Host header is ever written into an answer) and a `next` link where the list goes on, as OCDS paging does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.domain.ocds import release_schema
from portal.models import Process, Release

OCDS_VERSION = "1.1"
PUBLISHER = {"name": "Open procurement portal (republished from the sources named on its sources page)"}


def _envelope(uri: str, next_url: str | None) -> dict[str, Any]:
    package: dict[str, Any] = {
        "uri": uri,
        "version": OCDS_VERSION,
        "publishedDate": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "publisher": PUBLISHER,
    }
    if next_url:
        package["links"] = {"next": next_url}
    return package


def release_package(session: Session, *, ocids: Sequence[str], uri: str, next_url: str | None = None) -> dict:
    """Every stored release of these processes (every version of a republished one), in the order the
    processes are listed, each process's releases by date."""
    order = {ocid: i for i, ocid in enumerate(ocids)}
    rows = session.execute(
        select(Release.ocid, Release.data).where(Release.ocid.in_(list(order))).order_by(Release.date, Release.id)
    ).all()
    rows = sorted(rows, key=lambda row: order[row[0]])  # stable: dates kept within a process
    return {**_envelope(uri, next_url), "releases": [json.loads(data) for _, data in rows]}


def record_package(
    session: Session,
    *,
    ocids: Sequence[str],
    uri: str,
    release_url: Callable[[str, int], str],
    next_url: str | None = None,
) -> dict:
    """A record per process: its releases linked (url, date, tag) and the compiled release."""
    wanted = list(dict.fromkeys(ocids))
    compiled = dict(session.execute(select(Process.ocid, Process.compiled).where(Process.ocid.in_(wanted))).all())
    linked: dict[str, list[dict[str, Any]]] = {ocid: [] for ocid in wanted}
    for ocid, row_id, date, tag in session.execute(
        select(Release.ocid, Release.id, Release.date_published, Release.tag)
        .where(Release.ocid.in_(wanted))
        .order_by(Release.date, Release.id)
    ):
        entry: dict[str, Any] = {"url": release_url(ocid, row_id)}
        if date:
            entry["date"] = date  # as published
        if tag:
            entry["tag"] = json.loads(tag)
        linked[ocid].append(entry)
    records = [
        {"ocid": ocid, "releases": linked[ocid], "compiledRelease": json.loads(compiled[ocid])}
        for ocid in wanted
        if ocid in compiled
    ]
    return {**_envelope(uri, next_url), "records": records}


def package_schema(kind: str, *, releases: bool = True) -> dict:
    """The shape of a release or record package (OCDS 1.1 package schemas' required fields), its releases and
    compiled releases checked against the shipped release schema (or, with releases=False, only the envelope:
    releases are republished as their publisher wrote them, schema errors and all)."""
    release = release_schema() if releases else {"type": "object"}
    items: dict[str, Any]
    if kind == "releases":
        items = release
    else:
        items = {
            "type": "object",
            "required": ["ocid", "releases"],
            "properties": {
                "ocid": {"type": "string"},
                "releases": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["url"],
                        "properties": {"url": {"type": "string"}, "date": {"type": "string"}},
                    },
                },
                "compiledRelease": release,
            },
        }
    return {
        "type": "object",
        "required": ["uri", "publisher", "publishedDate", "version", kind],
        "properties": {
            "uri": {"type": "string"},
            "version": {"type": "string", "pattern": "^(\\d+\\.)(\\d+)$"},
            "publishedDate": {"type": "string"},
            "publisher": {"type": "object", "required": ["name"]},
            "links": {"type": "object", "properties": {"next": {"type": "string"}}},
            kind: {"type": "array", "items": items},
        },
    }
