"""Tabular registers: map and store N rows of the Chicago register, beside pandas.read_csv of the same file.

The rows are the shared 20,000-row Chicago export repeated, each copy's contract numbers suffixed so that every
copy is new contracts. Each stage runs in a process of its own, so each peak RSS is that stage's alone:

    python -m bench.tabular --rows 100000 [--database postgresql+psycopg://...]

The issue's target is 5,000 rows/s with peak memory under 500 MB at 1M rows. `make bench` runs it as its
`tabular` stage, with as many rows as the run has processes (`python -m bench.run --only tabular`).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHICAGO = ROOT.parent / "shared" / "data" / "csv" / "chicago" / "chicago-contracts-sample-20k.csv"
# Without ../shared (a fresh clone), the demo's slice of the same export, with the same columns.
CHICAGO_DEMO = ROOT / "portal" / "demo_data" / "registers" / "chicago-contracts-slice.csv"


def make_register(rows: int, path: Path) -> Path:
    """A register of `rows` rows repeating the Chicago export (each copy's contract numbers suffixed)."""
    source = CHICAGO if CHICAGO.exists() else CHICAGO_DEMO
    with open(source, encoding="utf-8", newline="") as stream:
        header, *body = list(csv.reader(stream))
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for n in range(rows):
            row = list(body[n % len(body)])
            if n >= len(body):
                row[1] = f"{row[1]}-C{n // len(body)}"
            writer.writerow(row)
    return path


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stage(name: str, path: Path, database: str | None) -> dict:
    """One stage, timed from after its imports (and, for the store, after the schema is created); each stage
    imports only what it uses, so that read_csv's peak memory is pandas' alone."""
    if name == "read_csv":
        import pandas as pd

        started = time.perf_counter()
        rows = len(pd.read_csv(path, dtype=str, keep_default_na=False))
    else:
        from ingest.jobs import run_source
        from ingest.sources import load_sources
        from ingest.tabular import TableStats, map_file
        from portal.database import make_engine, make_session_factory, upgrade_database
        from portal.resources import demo_sources_file

        config = dataclasses.replace(load_sources(demo_sources_file())[0], url=str(path))
        if name == "map":
            started = time.perf_counter()
            rows = sum(1 for _ in map_file(path, config, TableStats(), location=path.name))
        else:
            upgrade_database(database or "")
            started = time.perf_counter()
            result = run_source(make_session_factory(make_engine(database or "")), config)
            assert result.status == "succeeded", result.errors
            rows = result.fetched
    seconds = time.perf_counter() - started
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "stage": name,
        "rows": rows,
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu.ru_utime + cpu.ru_stime, 1),
        "rows_per_s": round(rows / seconds),
        "peak_mb": round(peak_mb()),
    }


STAGES = ("read_csv", "map", "store")


def measure(rows: int, folder: Path, database: str | None = None) -> dict:
    """The three stages on an N-row register (made once in `folder`), each in a process of its own."""
    folder.mkdir(parents=True, exist_ok=True)
    path = (folder / f"chicago-{rows}.csv").resolve()
    if not path.exists():
        make_register(rows, path)
    database = database or f"sqlite:///{(folder / f'store-{rows}-{int(time.time())}.sqlite').resolve()}"
    figures = {}
    for name in STAGES:
        command = [sys.executable, "-m", "bench.tabular", "--rows", str(rows), "--folder", str(folder)]
        command += ["--stage", name, "--database", database]
        done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=Path(__file__).parents[1])
        figures[name] = json.loads(done.stdout)
    figures["database"] = database.split(":", 1)[0].split("+", 1)[0]
    return figures


def describe(figures: dict) -> str:
    rate = f"{figures['rows_per_s']:,} rows/s"
    return f"{figures['rows']:,} rows in {figures['seconds']} s: {rate}, peak {figures['peak_mb']} MB"


def report_rows(state: dict) -> list[tuple[str, str, str, str]]:
    """bench.run's table rows for the tabular stage: map and store against the target, beside read_csv."""
    t = state.get("tabular")
    if not t:
        return []
    store, read, mapped = t["store"], t["read_csv"], t["map"]
    ok = store["rows_per_s"] >= 5000 and store["peak_mb"] < 500
    return [
        (
            f"tabular register: map and store ({t['database']})",
            describe(store),
            f"pandas.read_csv alone: {describe(read)}; mapping alone: {mapped['rows_per_s']:,} rows/s",
            f"≥ 5,000 rows/s, < 500 MB: {'met' if ok else 'missed'}",
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database", help="a database URL for the store stage (default: a new SQLite file)")
    parser.add_argument("--folder", default="bench/out/tabular")
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = Path(args.folder)
    if args.stage:
        path = (folder / f"chicago-{args.rows}.csv").resolve()
        print(json.dumps(stage(args.stage, path, args.database)))
        return
    figures = measure(args.rows, folder, args.database)
    for name in STAGES:
        print(f"{name:9} {describe(figures[name])} (CPU {figures[name]['cpu_seconds']} s)")


if __name__ == "__main__":
    main()
