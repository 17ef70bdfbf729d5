"""CKAN portals: a datastore resource read with `datastore_search`, or a dataset's CSV resource downloaded.

Shapes accepted: the action API's envelope `{"success": true, "result": ...}`; `success: false` envelopes
(`{"error": {"message": ..., "__type": ...}}`) are errors naming the URL; `datastore_search` pages with
`records`, `fields`, `total` and `_links.next`; `package_show` to find a resource by id or name within
`dataset`. A resource in the datastore is paged (its `fields` checked against the mapping before any row is
stored, `total` compared with what was fetched); one that is not is downloaded as a CSV register.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from ingest.endpoints import Client, FetchError
from ingest.jobs import Job, load_register
from ingest.ocds import IngestError
from ingest.tabular import Mapper, Row, TableStats, check_columns

MAX_PAGES = 100_000


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _failure(url: str, payload: Any) -> IngestError:
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        error = "; ".join(f"{v}" for k, v in error.items() if k in ("__type", "message")) or error
    return IngestError(f"{url}: CKAN says the call failed: {error or 'not an action answer'}")


def call(client: Client, url: str, params: dict[str, Any] | None) -> tuple[dict, str, bytes]:
    """One action call: its envelope, the URL called and the answer's bytes (for the page's checksum). CKAN
    answers errors with a status (404, 409) and a `success: false` envelope saying why: the message is kept."""
    try:
        payload, answer = client.get_json(url, params)
    except FetchError as error:
        try:
            payload = json.loads(error.body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise error from None
        raise _failure(str(error).split(": the server")[0], payload) from None
    if not isinstance(payload, dict) or not payload.get("success"):
        raise _failure(answer.url, payload)
    return payload, answer.url, answer.body


def action(client: Client, base: str, name: str, params: dict[str, Any]) -> tuple[Any, str, bytes]:
    payload, url, body = call(client, urljoin(base, name), params)
    return payload.get("result"), url, body


def find_resource(client: Client, base: str, dataset: str, wanted: str) -> dict:
    result, url, _ = action(client, base, "package_show", {"id": dataset})
    resources = [r for r in (result or {}).get("resources", []) if isinstance(r, dict)]
    if not wanted:  # the dataset's first resource in the datastore, else its first CSV
        for resource in sorted(
            resources, key=lambda r: (not r.get("datastore_active"), str(r.get("format")).upper() != "CSV")
        ):
            return resource
    for resource in resources:
        if wanted in (resource.get("id"), resource.get("name")) or (
            wanted and str(resource.get("name", "")).casefold() == wanted.casefold()
        ):
            return resource
    names = ", ".join(repr(r.get("name")) for r in resources)
    raise IngestError(f"{url}: no resource {wanted!r} in dataset {dataset!r} (it has {names}): moved or renamed?")


def run_ckan(job: Job) -> None:
    config = job.config
    client = Client(config)
    base = config.url if config.url.endswith("/") else config.url + "/"
    resource: dict = {"id": config.resource, "datastore_active": True}
    if config.dataset:
        resource = find_resource(client, base, config.dataset, config.resource)
    if not resource.get("datastore_active"):
        with tempfile.TemporaryDirectory(prefix="portal-source-") as folder:
            path = client.download(resource["url"], Path(folder) / "resource.csv")
            load_register(job, path, location=resource["url"])
        return
    cursor = dict(job.cursor)
    if not cursor.get("offset"):
        cursor = {"offset": 0, "pass_run": job.run_id}
    pass_run = cursor["pass_run"]
    offset = int(cursor["offset"])
    job.result.fetched = offset
    stats = TableStats()
    mapper = Mapper(config, stats)
    params: dict[str, Any] | None = {"resource_id": resource["id"], "limit": config.page_size, "offset": offset}
    url = urljoin(base, "datastore_search")
    for _ in range(MAX_PAGES):
        payload, called, body = call(client, url, params)
        result = payload.get("result") or {}
        check_columns(config, [str(f.get("id")) for f in result.get("fields", []) if isinstance(f, dict)])
        records = [r for r in result.get("records", []) if isinstance(r, dict)]
        job.result.publisher_total = result.get("total") if isinstance(result.get("total"), int) else None
        rows = [
            Row(offset + n + 1, {k: _text(v) for k, v in record.items() if k != "_id"}, called)
            for n, record in enumerate(records)
        ]
        offset += len(rows)
        following = (result.get("_links") or {}).get("next")
        last = not rows or (job.result.publisher_total is not None and offset >= job.result.publisher_total)
        cursor.update(offset=0 if last else offset)
        job.store_page(
            mapper.releases(rows),
            location=called,
            digest=hashlib.sha256(body).hexdigest(),
            cursor=cursor,
            track=True,
        )
        job.result.fetched += len(rows)
        if last or not following:
            break
        url, params = urljoin(base, following), None
    job.take_notes(stats)
    job.save_cursor({"offset": 0}, gone_before=pass_run)
