"""Tabular registers: map and store N rows of the Chicago register, beside pandas.read_csv of the same file.

The rows are the shared 20,000-row Chicago export repeated, each copy's contract numbers suffixed so that every
copy is new contracts. Each stage runs in a process of its own, so each peak RSS is that stage's alone:

    python -m bench.tabular --rows 100000 [--database postgresql+psycopg://...]

The issue's target is 5,000 rows/s with peak memory under 500 MB at 1M rows.
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

CHICAGO = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "csv" / "chicago" / "chicago-contracts-sample-20k.csv"
)


def make_register(rows: int, path: Path) -> Path:
    with open(CHICAGO, encoding="utf-8", newline="") as stream:
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


def stage(name: str, path: Path, database: str | None) -> dict:
    started = time.perf_counter()
    if name == "read_csv":
        import pandas as pd

        rows = len(pd.read_csv(path, dtype=str, keep_default_na=False))
    else:
        from ingest.sources import load_sources
        from portal.resources import demo_sources_file

        config = dataclasses.replace(load_sources(demo_sources_file())[0], url=str(path))
        if name == "map":
            from ingest.tabular import TableStats, map_file

            rows = sum(1 for _ in map_file(path, config, TableStats(), location=path.name))
        else:
            from ingest.jobs import run_source
            from portal.database import make_engine, make_session_factory, upgrade_database

            upgrade_database(database or "")
            result = run_source(make_session_factory(make_engine(database or "")), config)
            assert result.status == "succeeded", result.errors
            rows = result.fetched
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "stage": name,
        "rows": rows,
        "seconds": round(seconds, 1),
        "rows_per_s": round(rows / seconds),
        "peak_mb": round(peak),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database", help="a database URL for the store stage (default: a new SQLite file)")
    parser.add_argument("--folder", default="bench/out/tabular")
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = Path(args.folder)
    path = (folder / f"chicago-{args.rows}.csv").resolve()
    if args.stage:
        print(json.dumps(stage(args.stage, path, args.database)))
        return
    folder.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        make_register(args.rows, path)
    database = args.database or f"sqlite:///{(folder / f'store-{args.rows}-{int(time.time())}.sqlite').resolve()}"
    for name in ("read_csv", "map", "store"):
        command = [sys.executable, "-m", "bench.tabular", "--rows", str(args.rows), "--folder", args.folder]
        command += ["--stage", name, "--database", database]
        figures = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
        print(
            f"{figures['stage']:9} {figures['rows']:,} rows in {figures['seconds']} s: "
            f"{figures['rows_per_s']:,} rows/s, peak RSS {figures['peak_mb']} MB"
        )


if __name__ == "__main__":
    main()
