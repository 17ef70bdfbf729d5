"""A paged endpoint: N rows of the Chicago register served from 127.0.0.1 as Socrata serves them, loaded with the
portal's Socrata source, beside the same pages read with `requests` alone.

The server (a process of its own, so that its work is not counted in either reader's CPU time) answers SODA's
`$limit`/`$offset`/`$order` and `count(*)` with JSON rows as Chicago's API gives them: strings, floating
timestamps, the contract PDF as a `{"url": ...}` object, empty cells left out, `:id` and `:updated_at` when
`$select=:*, *` asks for them. The rows are bench.tabular's register (the shared 20,000-row export repeated, each
copy's contract numbers suffixed). Each reader runs in a process of its own, so each peak memory is its own; its
time and CPU time are those of the reading alone (after imports and, for the load, after the schema is created):

    python -m bench.endpoint --rows 100000 [--database URL]

The load uses the Chicago source as configured (pages of 5,000 rows, at most 2 requests a second, `:updated_at`
as its incremental field), with the URL pointed at the local server; `make bench` runs it as its `endpoint`
stage with as many rows as the run has processes. The issue's target is 2,000 rows/s for 100,000 rows.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bench.tabular import make_register, peak_mb

PATH = "/resource/rsxa-ify5.json"
START = datetime(2025, 1, 1)
SOURCE = "City of Chicago: Contracts"


def soda_name(column: str) -> str:
    """Socrata's API field name for a column: lower case, runs of other characters as one underscore."""
    return re.sub(r"[^a-z0-9]+", "_", column.lower()).strip("_")


def soda_rows(path: Path) -> tuple[list[str], list[dict[str, Any]]]:
    """The register's field names and its rows as SODA serves them, in `:id` order."""
    rows = []
    with open(path, encoding="utf-8", newline="") as stream:
        reader = csv.DictReader(stream)
        fields = [soda_name(column) for column in reader.fieldnames or []]
        for n, record in enumerate(reader):
            row: dict[str, Any] = {":id": f"row-{n:08d}", ":updated_at": (START + timedelta(seconds=n)).isoformat()}
            for column, value in record.items():
                if value == "":
                    continue
                if column.endswith("Date") and re.fullmatch(r"\d\d/\d\d/\d{4}", value):
                    month, day, year = value.split("/")
                    value = f"{year}-{month}-{day}T00:00:00.000"
                row[soda_name(column)] = {"url": value} if column == "Contract PDF" else value
            rows.append(row)
    return fields, rows


def serve(path: Path) -> None:
    """Serve the register at PATH on a free port of 127.0.0.1, printing the port, until killed."""
    fields, rows = soda_rows(path)
    plain = [{k: v for k, v in row.items() if not k.startswith(":")} for row in rows]
    header = json.dumps(fields)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            if url.path != PATH or query.get("$order", ":id") != ":id" or "$where" in query:
                self._answer(400, json.dumps({"error": True, "message": f"not served here: {self.path}"}))
                return
            select = query.get("$select", "")
            if select.startswith("count(*)"):
                alias = select.split(" AS ")[-1] if " AS " in select else "count"
                self._answer(200, json.dumps([{alias: str(len(rows))}]))
                return
            offset, limit = int(query.get("$offset", 0)), int(query.get("$limit", 1000))
            page = (rows if select.startswith(":*") else plain)[offset : offset + limit]
            self._answer(200, json.dumps(page))

        def _answer(self, status: int, body: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-SODA2-Fields", header)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


def source_config(url: str) -> Any:
    """The portal's configured Chicago source (portal/sources.toml), reading from `url` (without an app token:
    the local server asks for none; allowed to reach 127.0.0.1, which a configured source is not by default)."""
    from importlib.resources import files

    from ingest.sources import find_source, load_sources

    sources = load_sources(Path(str(files("portal").joinpath("sources.toml"))))
    return dataclasses.replace(find_source(sources, SOURCE), url=url, app_token_env="", allow_private=True)


def stage(name: str, url: str, database: str | None) -> dict:
    """One reader: wall and CPU time from after its imports (and, for the load, after the schema is created)."""
    if name == "requests":
        import requests

        config = source_config(url)
        started, cpu_started = time.perf_counter(), time.process_time()
        rows, offset = 0, 0
        with requests.Session() as session:
            while True:
                params = {"$limit": config.page_size, "$offset": offset, "$order": ":id", "$select": ":*, *"}
                answer = session.get(url, params=params, timeout=60)
                answer.raise_for_status()
                page = answer.json()
                rows, offset = rows + len(page), offset + len(page)
                if len(page) < config.page_size:
                    break
    else:
        from ingest.jobs import run_source
        from portal.database import make_engine, make_session_factory, upgrade_database

        config = source_config(url)
        upgrade_database(database or "")
        started, cpu_started = time.perf_counter(), time.process_time()
        result = run_source(make_session_factory(make_engine(database or "")), config)
        assert result.status == "succeeded", result.errors
        rows = result.fetched
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    return {
        "stage": name,
        "rows": rows,
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu, 1),
        "rows_per_s": round(rows / seconds),
        "peak_mb": round(peak_mb()),
    }


STAGES = ("requests", "load")


def measure(rows: int, folder: Path, database: str | None = None) -> dict:
    """Serve an N-row register (made once in `folder`) and read it both ways, each in a process of its own."""
    folder.mkdir(parents=True, exist_ok=True)
    path = (folder / f"chicago-{rows}.csv").resolve()
    if not path.exists():
        make_register(rows, path)
    database = database or f"sqlite:///{(folder / f'endpoint-{rows}-{int(time.time())}.sqlite').resolve()}"
    root = Path(__file__).parents[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.endpoint", "--serve", str(path)], stdout=subprocess.PIPE, text=True, cwd=root
    )
    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{int(server.stdout.readline())}{PATH}"
        figures: dict[str, Any] = {}
        for name in STAGES:
            command = [sys.executable, "-m", "bench.endpoint", "--stage", name, "--url", url, "--database", database]
            done = subprocess.run(command, capture_output=True, text=True, cwd=root)
            if done.returncode != 0:
                raise SystemExit(f"endpoint stage {name} failed:\n{done.stderr[-3000:]}")
            figures[name] = json.loads(done.stdout)
    finally:
        server.terminate()
        server.wait(timeout=30)
    figures["database"] = database.split(":", 1)[0].split("+", 1)[0]
    config = source_config(url)
    figures["page_size"], figures["rate_limit"] = config.page_size, config.rate_limit
    return figures


def describe(figures: dict) -> str:
    rate = f"{figures['rows_per_s']:,} rows/s (CPU {figures['cpu_seconds']} s)"
    return f"{figures['rows']:,} rows in {figures['seconds']} s: {rate}, peak {figures['peak_mb']} MB"


def report_rows(state: dict) -> list[tuple[str, str, str, str]]:
    """bench.run's table row for the endpoint stage: the Socrata load against the target, beside requests."""
    e = state.get("endpoint")
    if not e:
        return []
    load, read = e["load"], e["requests"]
    ok = load["rows_per_s"] >= 2000
    return [
        (
            f"paged endpoint (Socrata, 127.0.0.1): load and store ({e['database']})",
            describe(load),
            f"the same pages with requests alone: {describe(read)}; pages of {e['page_size']:,}, "
            f"at most {e['rate_limit']:g} requests/s",
            f"≥ 2,000 rows/s at 100k: {'met' if ok else 'missed'}",
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database", help="a database URL for the load (default: a new SQLite file)")
    parser.add_argument("--folder", default="bench/out/endpoint")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve))
        return
    if args.stage:
        print(json.dumps(stage(args.stage, args.url, args.database)))
        return
    figures = measure(args.rows, Path(args.folder), args.database)
    for name in STAGES:
        print(f"{name:9} {describe(figures[name])}")


if __name__ == "__main__":
    main()
