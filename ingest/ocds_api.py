"""OCDS publisher APIs: release or record packages, paged by `links.next`.

Shapes accepted: a release package (`releases`), a record package (`records`, whose embedded releases are
stored; linked releases, which carry only a `url`, are counted in a note), each page naming the next in
`links.next` (absolute or relative). With `incremental_field` (the API's since-date parameter, e.g.
`since`), a run starts from the latest release date the last completed pass saw, less `overlap_hours`.

A page that is not JSON, or not a package, is rolled back whole and named in the run's error; the pages
before it stay stored, and the cursor (the URL of the next page) lets the next run resume there.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urljoin

from ingest.endpoints import Client
from ingest.jobs import Job
from ingest.ocds import Found, IngestError
from portal.vocabulary import FoundKind

MAX_PAGES = 100_000  # a publisher whose links.next never ends is reported, not followed forever


def page_releases(payload: Any, url: str) -> tuple[list[Found], list[str]]:
    """A page's releases, and notes about what it holds but cannot be stored (linked releases)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("releases", payload.get("records")), list):
        raise IngestError(f"{url}: not a release or record package (no `releases` or `records` list)")
    found, notes = [], []
    for n, release in enumerate(payload.get("releases") or []):
        if isinstance(release, dict):
            found.append(Found(FoundKind.RELEASE, release, f"{url} releases[{n}]"))
    linked = 0
    for n, record in enumerate(payload.get("records") or []):
        for m, release in enumerate(record.get("releases") or [] if isinstance(record, dict) else []):
            if isinstance(release, dict) and "ocid" in release and "id" in release:
                found.append(Found(FoundKind.RELEASE, release, f"{url} records[{n}].releases[{m}]", from_record=True))
            else:
                linked += 1
    if linked:
        notes.append(f"{linked} linked releases (a url only) not fetched")
    return found, notes


def _since(high: str | None, overlap_hours: float) -> str | None:
    if not high:
        return None
    try:
        return (datetime.fromisoformat(high.replace("Z", "+00:00")) - timedelta(hours=overlap_hours)).isoformat()
    except ValueError:
        return high


def run_ocds_api(job: Job) -> None:
    config = job.config
    client = Client(config)
    cursor = dict(job.cursor)
    url, params = cursor.get("next"), None
    if not url:  # a new pass
        url = config.url
        since = _since(cursor.get("high"), config.overlap_hours) if config.incremental_field else None
        params = {config.incremental_field: since} if since else None
    for _ in range(MAX_PAGES):
        payload, answer = client.get_json(url, params)
        found, notes = page_releases(payload, answer.url)
        for note in notes:
            job.note(answer.url, note)
        for item in found:
            date = item.data.get("date")
            if isinstance(date, str) and (cursor.get("high") is None or date > cursor["high"]):
                cursor["high"] = date
        links = payload.get("links") if isinstance(payload.get("links"), dict) else {}
        following = links.get("next")
        cursor["next"] = urljoin(answer.url, following) if following and following != answer.url else None
        total = payload.get("total", payload.get("count"))
        if isinstance(total, int):
            job.result.publisher_total = total
        job.store_page(found, location=answer.url, digest=hashlib.sha256(answer.body).hexdigest(), cursor=cursor)
        job.result.fetched += len(found)
        if not found or cursor["next"] is None:
            cursor["next"] = None
            job.save_cursor(cursor)
            return
        url, params = cursor["next"], None
    raise IngestError(f"{config.url}: more than {MAX_PAGES} pages; stopped")
