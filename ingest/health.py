"""Probing configured sources without loading them: which are down, slow, moved, short or drifted.

One small request per source (a count, a first page, the file's header), timed. "Moved" is a redirect or a
404/410 where the data was; "short" is a publisher total lower than the one recorded by the last run; "slow"
is an answer that took more than half the source's timeout; "drifted" is a mapped column gone missing.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.endpoints import Client, FetchError, Refused, check_url
from ingest.ocds import IngestError
from ingest.sources import SourceConfig
from ingest.tabular import SchemaDrift, check_columns, detect_encoding, read_columns
from portal.models import Source, SourceState
from portal.vocabulary import Health, SourceKind


@dataclass
class Probe:
    source: str
    health: Health
    seconds: float
    detail: str
    total: int | None = None


def _probe_url(config: SourceConfig) -> tuple[str, dict[str, Any]]:
    if config.kind == SourceKind.SOCRATA:
        return config.url, {"$select": "count(*) AS total"}
    if config.kind == SourceKind.CKAN:
        base = config.url if config.url.endswith("/") else config.url + "/"
        if config.dataset:
            return base + "package_show", {"id": config.dataset}
        return base + "datastore_search", {"resource_id": config.resource, "limit": 0}
    return config.url, {}


def _total(config: SourceConfig, payload: Any) -> int | None:
    try:
        if config.kind == SourceKind.SOCRATA:
            return int(next(iter(payload[0].values())))
        if config.kind == SourceKind.CKAN and isinstance(payload.get("result"), dict):
            total = payload["result"].get("total")
            return total if isinstance(total, int) else None
        if config.kind == SourceKind.OCDS_API:
            total = payload.get("total", payload.get("count"))
            return total if isinstance(total, int) else None
    except (TypeError, ValueError, KeyError, IndexError, StopIteration, AttributeError):
        return None
    return None


def probe_source(config: SourceConfig, *, last_total: int | None = None) -> Probe:
    started = time.monotonic()

    def probe(health: Health, detail: str, total: int | None = None) -> Probe:
        return Probe(config.name, health, round(time.monotonic() - started, 3), detail, total)

    if config.is_local:
        path = config.local_path()
        if not path.is_file():
            return probe(Health.DOWN, f"no such file {path}")
        try:
            check_columns(config, read_columns(path, config, detect_encoding(path, config.table.encoding)))
        except SchemaDrift as error:
            return probe(Health.DRIFTED, str(error))
        return probe(Health.UP, f"{path.name}: the mapped columns are all there")
    try:
        check_url(config.url, allow_private=config.allow_private)
        client = Client(config)
        url, params = _probe_url(config)
        answer = client.get(url, params)
    except Refused as error:
        return probe(Health.REFUSED, str(error))
    except FetchError as error:
        if error.status in (404, 410):
            return probe(Health.MOVED, str(error))
        return probe(Health.DOWN, str(error))
    except IngestError as error:
        return probe(Health.DOWN, str(error))
    elapsed = time.monotonic() - started
    if answer.url.split("?")[0] != url.split("?")[0]:
        return probe(Health.MOVED, f"{url} now redirects to {answer.url}")
    total = None
    if config.kind != SourceKind.CSV and config.kind != SourceKind.XLSX:
        try:
            total = _total(config, json.loads(answer.body))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return probe(Health.DOWN, f"{answer.url}: answered, but not with JSON")
    fields = answer.headers.get("x-soda2-fields")
    if config.kind == SourceKind.SOCRATA:  # the count's fields are its own: ask for one row to see the columns
        try:
            fields = client.get(config.url, {"$limit": 1}).headers.get("x-soda2-fields")
        except IngestError as error:
            return probe(Health.DOWN, str(error), total)
    if fields:
        try:
            check_columns(config, json.loads(fields))
        except SchemaDrift as error:
            return probe(Health.DRIFTED, str(error), total)
    if total is not None and last_total is not None and total < last_total:
        return probe(Health.SHORT, f"the publisher now counts {total}, fewer than {last_total} at the last run", total)
    if elapsed > config.timeout / 2:
        return probe(Health.SLOW, f"answered in {elapsed:.1f} s (timeout {config.timeout:g} s)", total)
    return probe(Health.UP, f"answered {answer.status} in {elapsed:.2f} s", total)


def probe_sources(session: Session, sources: list[SourceConfig]) -> list[Probe]:
    """Probe each source, comparing its total with the one its last run recorded."""
    query = select(Source.name, SourceState.publisher_total).join(SourceState, SourceState.source_id == Source.id)
    totals = {name: total for name, total in session.execute(query)}
    return [probe_source(config, last_total=totals.get(config.name)) for config in sources]
