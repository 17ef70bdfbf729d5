"""Real HTTP servers on 127.0.0.1 that answer like Socrata, CKAN and an OCDS publisher API, serving the real rows
and releases of ../shared/data and the demo set wrapped in each platform's documented response format: SODA
`$limit`/`$offset`/`$order`/`$where`/`count(*)` with `X-SODA2-Fields`; CKAN's action envelopes with
`package_show` and `datastore_search` (`total`, `_links.next`); OCDS release packages paged by `links.next`.

Faults are queued per path: `fail(path, status, times, retry_after)` answers that status before the real
answer; `slow(path, seconds)` delays every answer; `garble(path, nth)` sends bytes that are not JSON.
"""

from __future__ import annotations

import contextlib
import csv
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

Handler = Callable[[dict[str, str]], tuple[int, dict[str, str], bytes]]


def soda_name(column: str) -> str:
    """Socrata's API field name for a column: lower case, runs of other characters as one underscore."""
    return re.sub(r"[^a-z0-9]+", "_", column.lower()).strip("_")


def chicago_soda_rows(path: Path, limit: int) -> list[dict[str, Any]]:
    """The Chicago export's rows as SODA serves them: strings, floating timestamps, URL objects, empty cells
    left out of the row."""
    rows = []
    with open(path, encoding="utf-8", newline="") as stream:
        for n, record in enumerate(csv.DictReader(stream)):
            if n >= limit:
                break
            row: dict[str, Any] = {}
            for column, value in record.items():
                if value == "":
                    continue
                if column.endswith("Date") and re.fullmatch(r"\d\d/\d\d/\d{4}", value):
                    month, day, year = value.split("/")
                    value = f"{year}-{month}-{day}T00:00:00.000"
                row[soda_name(column)] = {"url": value} if column == "Contract PDF" else value
            rows.append(row)
    return rows


def chicago_soda_fields(path: Path) -> list[str]:
    """Every column's field name, as X-SODA2-Fields lists them (even columns empty in every row)."""
    with open(path, encoding="utf-8", newline="") as stream:
        return [soda_name(column) for column in next(csv.reader(stream))]


class Platform:
    """Routes, faults and request counts shared by the server's threads."""

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.faults: dict[str, list[list]] = {}  # [after, remaining, status, headers]
        self.delays: dict[str, float] = {}
        self.garbled: dict[str, set[int]] = {}
        self.requests: Counter[str] = Counter()
        self.log: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.lock = threading.Lock()
        self.base = ""

    def fail(self, path: str, status: int, *, times: int = 1, retry_after: str | None = None, after: int = 0) -> None:
        """Answer `status` to `times` requests for `path`, once `after` requests have been answered normally."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self.faults.setdefault(path, []).append([after, times, status, headers])

    def slow(self, path: str, seconds: float) -> None:
        self.delays[path] = seconds

    def garble(self, path: str, nth: int) -> None:
        self.garbled.setdefault(path, set()).add(nth)

    def url(self, path: str) -> str:
        return self.base + path

    # ---- Socrata ----

    def socrata(self, path: str, rows: list[dict[str, Any]], *, fields: list[str] | None = None) -> str:
        """A SODA resource over `rows` (each with `:id` and `:updated_at`); `fields` overrides X-SODA2-Fields."""

        def handle(query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
            selected = rows
            where = query.get("$where")
            if where:
                match = re.fullmatch(r"(:?\w+) >= '([^']+)'", where)
                if not match:
                    return 400, {}, json.dumps({"error": True, "message": f"could not parse $where {where}"}).encode()
                name, value = match.groups()
                selected = [r for r in rows if str(r.get(name, "")) >= value]
            select = query.get("$select", "")
            if select.startswith("count(*)"):
                alias = select.split(" AS ")[-1] if " AS " in select else "count"
                return 200, {}, json.dumps([{alias: str(len(selected))}]).encode()
            order = query.get("$order", ":id")
            selected = sorted(selected, key=lambda r: str(r.get(order, "")))
            offset, limit = int(query.get("$offset", 0)), int(query.get("$limit", 1000))
            page = selected[offset : offset + limit]
            if not select.startswith(":*"):
                page = [{k: v for k, v in r.items() if not k.startswith(":")} for r in page]
            names = fields or sorted({k for r in rows for k in r if not k.startswith(":")})
            return 200, {"X-SODA2-Fields": json.dumps(names)}, json.dumps(page).encode()

        self.routes[path] = handle
        return self.url(path)

    # ---- CKAN ----

    def ckan(self, dataset: str, resources: list[dict[str, Any]], records: dict[str, list[dict]]) -> str:
        """A CKAN action API with one dataset; `records` by resource id are its datastore."""

        def envelope(result: Any) -> tuple[int, dict[str, str], bytes]:
            return 200, {}, json.dumps({"help": "", "success": True, "result": result}).encode()

        def failure(status: int, kind: str, message: str) -> tuple[int, dict[str, str], bytes]:
            body = {"help": "", "success": False, "error": {"__type": kind, "message": message}}
            return status, {}, json.dumps(body).encode()

        def package_show(query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
            if query.get("id") != dataset:
                return failure(404, "Not Found Error", "Not found")
            return envelope({"name": dataset, "resources": resources})

        def datastore_search(query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
            resource = query.get("resource_id")
            if resource not in records:
                return failure(404, "Not Found Error", f'Resource "{resource}" was not found.')
            rows = records[resource]
            offset, limit = int(query.get("offset", 0)), int(query.get("limit", 100))
            page = [{"_id": offset + n + 1, **r} for n, r in enumerate(rows[offset : offset + limit])]
            names = list(rows[0]) if rows else []
            following = "/api/3/action/datastore_search?" + urlencode(
                {"offset": offset + limit, "limit": limit, "resource_id": resource}
            )
            result = {
                "resource_id": resource,
                "fields": [{"id": "_id", "type": "int"}] + [{"id": n, "type": "text"} for n in names],
                "records": page,
                "limit": limit,
                "offset": offset,
                "total": len(rows),
                "_links": {"start": "/api/3/action/datastore_search?resource_id=" + resource, "next": following},
            }
            return envelope(result)

        self.routes["/api/3/action/package_show"] = package_show
        self.routes["/api/3/action/datastore_search"] = datastore_search
        return self.url("/api/3/action/")

    # ---- OCDS API ----

    def ocds_api(self, path: str, releases: list[dict], *, per_page: int) -> str:
        """Release packages of `per_page` releases, `links.next` to the following page; `since` filters by date."""

        def handle(query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
            selected = [r for r in releases if str(r.get("date", "")) >= query.get("since", "")]
            page = int(query.get("page", 1))
            chunk = selected[(page - 1) * per_page : page * per_page]
            package: dict[str, Any] = {
                "uri": self.url(path),
                "publishedDate": "2026-11-27T00:00:00Z",
                "version": "1.1",
                "publisher": {"name": "Test publisher"},
                "releases": chunk,
            }
            if page * per_page < len(selected):
                following = {"page": page + 1, **({"since": query["since"]} if "since" in query else {})}
                package["links"] = {"next": f"{path}?{urlencode(following)}"}
            return 200, {}, json.dumps(package).encode()

        self.routes[path] = handle
        return self.url(path)

    def file(self, path: str, body: bytes) -> str:
        self.routes[path] = lambda _query: (200, {"Content-Type": "text/csv; charset=utf-8"}, body)
        return self.url(path)

    def redirect(self, path: str, to: str) -> str:
        self.routes[path] = lambda _query: (302, {"Location": to}, b"")
        return self.url(path)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        platform = self.server.platform
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with platform.lock:
            platform.requests[parts.path] += 1
            platform.log.append(self.path)
            nth = platform.requests[parts.path]
            platform.headers.append(dict(self.headers.items()))
            fault = None
            for entry in platform.faults.get(parts.path, []):
                if entry[1] > 0 and nth > entry[0]:
                    entry[1] -= 1
                    fault = (entry[2], dict(entry[3]), b'{"error": "try again"}')
                    break
        delay = platform.delays.get(parts.path, 0)
        if delay:
            time.sleep(delay)
        if fault is not None:
            self._answer(*fault)
            return
        handler = platform.routes.get(parts.path)
        if handler is None:
            self._answer(404, {}, b'{"error": true, "message": "not found"}')
            return
        status, headers, body = handler(query)
        if nth in platform.garbled.get(parts.path, set()):
            body = body[: len(body) // 2]  # a page cut in the middle of its JSON
        self._answer(status, headers, body)

    def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        # the client may have been killed or given up (the slow-source and kill tests do that on purpose)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's signature)
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, platform: Platform) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.platform = platform


@contextmanager
def platform_server() -> Iterator[Platform]:
    platform = Platform()
    server = _Server(platform)
    host, port = server.server_address[:2]
    platform.base = f"http://{host}:{port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield platform
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
