"""Socrata SODA datasets (`/resource/<id>.json`), such as Chicago's "Contracts" (rsxa-ify5).

Shapes accepted: a JSON array of row objects per page, numbers and money as strings, floating timestamps
(`2025-03-13T00:00:00.000`, no zone: the source's `timezone` applies), URL columns as `{"url": ...}` objects,
and fields left out of a row where the cell is empty. Errors come as `{"error": true, "message": ...}` or
`{"code": ..., "message": ...}`.

Paging is `$limit`/`$offset` under a stable `$order`. With `incremental_field` (`:updated_at`, or a mapped
date), a run asks only for rows at or after the highest value the last completed pass saw, less an overlap
window (`overlap_hours`) for rows updated while that pass ran; rows fetched again are unchanged releases and
store nothing. The cursor — the window, the next offset, the highest value seen — is stored with each page,
so a killed run resumes at the page after the last one committed. The publisher's total is `count(*)` over
the same window.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from typing import Any

from ingest.endpoints import Client, FetchError
from ingest.jobs import Job
from ingest.ocds import IngestError
from ingest.tabular import Mapper, Row, TableStats, check_columns


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):  # a URL column: {"url": ..., "description": ...}
        return value.get("url") or json.dumps(value, sort_keys=True)
    if isinstance(value, (list, bool)):
        return json.dumps(value)
    return str(value)


def _error(payload: Any) -> str | None:
    if isinstance(payload, dict) and (payload.get("error") or "message" in payload):
        return str(payload.get("message") or payload)
    if not isinstance(payload, list):
        return f"expected a JSON array of rows, got {type(payload).__name__}"
    return None


def _window_start(high: str | None, overlap_hours: float) -> str | None:
    if not high:
        return None
    try:
        parsed = datetime.fromisoformat(high.replace("Z", "+00:00"))
    except ValueError:
        return high
    start = parsed - timedelta(hours=overlap_hours)
    text = start.isoformat(timespec="milliseconds")
    # SoQL compares floating timestamps and :updated_at without an offset
    return text.replace("+00:00", "") if start.tzinfo in (None, timezone.utc) else text


def publisher_total(client: Client, url: str, where: str | None) -> int | None:
    params = {"$select": "count(*) AS total"}
    if where:
        params["$where"] = where
    payload, answer = client.get_json(url, params)
    problem = _error(payload)
    if problem or not payload:
        raise IngestError(f"{answer.url}: count(*) failed: {problem or 'no answer'}")
    value = next(iter(payload[0].values()), None)
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def run_socrata(job: Job) -> None:
    config = job.config
    client = Client(config)
    field = config.incremental_field
    cursor = dict(job.cursor)
    if cursor.get("window_run") is None or not cursor.get("offset"):
        # a new pass: from the last pass's high-water mark less the overlap (everything, the first time)
        cursor = {"since": _window_start(cursor.get("high"), config.overlap_hours) if field else None}
        cursor.update(offset=0, high=job.cursor.get("high"), window_run=job.run_id)
    pass_run = cursor["window_run"]  # the run that started this pass: what it has not seen by the end is gone
    where = f"{field} >= '{cursor['since']}'" if field and cursor.get("since") else None
    total = publisher_total(client, config.url, where)
    offset = int(cursor["offset"])
    job.result.publisher_total = total
    job.result.fetched = offset  # rows fetched by the interrupted run(s) of this pass
    stats = TableStats()
    mapper = Mapper(config, stats)
    while True:
        params: dict[str, Any] = {"$limit": config.page_size, "$offset": offset, "$order": config.order}
        if where:
            params["$where"] = where
        if field.startswith(":"):
            params["$select"] = ":*, *"  # system fields (:id, :updated_at) are only sent when asked for
        payload, answer = client.get_json(config.url, params)
        problem = _error(payload)
        if problem:
            raise FetchError(f"{answer.url}: {problem}")
        fields = answer.headers.get("x-soda2-fields")  # every column, even those empty in all of these rows
        if fields:
            check_columns(config, json.loads(fields))
        rows = [
            Row(offset + n + 1, {k: _text(v) for k, v in item.items()}, f"{config.url} $offset={offset}")
            for n, item in enumerate(payload)
        ]
        for row in rows:
            value = row.values.get(field) if field else None
            if value and (cursor.get("high") is None or value > cursor["high"]):
                cursor["high"] = value
        offset += len(rows)
        cursor["offset"] = offset
        last = len(rows) < config.page_size
        if last:
            cursor.update(offset=0, window_run=None)
        job.store_page(
            mapper.releases(rows),
            location=f"{config.url}?$offset={offset - len(rows)}",
            digest=hashlib.sha256(answer.body).hexdigest(),
            cursor=cursor,
            track=not field,
        )
        job.result.fetched += len(rows)
        if last:
            break
    job.take_notes(stats)
    if not field:  # a full pass saw everything still published
        job.save_cursor(cursor, gone_before=pass_run)
