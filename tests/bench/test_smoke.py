"""The benchmark runs end to end at a small size and prints its table. Nothing here is timed: the figures
only have to exist."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import uuid

from sqlalchemy import create_engine, text

from tests.conftest import ROOT, missing

SMOKE_PROCESSES = 2_000
# The benchmark's own default (bench/run.py), where it creates and drops its databases.
POSTGRES_ADMIN = os.environ.get("BENCH_POSTGRES_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _drop_database(name: str) -> None:
    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_benchmark_runs_end_to_end_and_prints_its_table(tmp_path):
    if importlib.util.find_spec("gunicorn") is None:
        missing("gunicorn is not installed (pip install -e '.[bench]')")
    if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode != 0:
        missing("PostgreSQL is not running")
    command = [sys.executable, "-m", "bench.run", "--processes", str(SMOKE_PROCESSES), "--quick", "--procs", "1"]
    command += ["--out", str(tmp_path / "out"), "--results", str(tmp_path / "results")]
    database = f"portal_bench_smoke_{uuid.uuid4().hex[:8]}"  # its own, dropped after, whatever happens
    try:
        done = subprocess.run(
            command,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
            env={**os.environ, "BENCH_POSTGRES_DB": database},
        )
    finally:
        _drop_database(database)
    assert done.returncode == 0, done.stderr[-3000:]
    print(done.stdout)  # the table, for whoever reads the CI log

    for measure in (
        "store path, sqlite",
        "store path, postgres",
        "full reindex",
        "incremental ingest",
        "search: common word",
        "search: phrase",
        "search: date + amount range filter",
        "search: page 50",
        "search with all facets: common word",
        "stemmed query: common word",
        "stemmed query: phrase",
        "page: process c=8",
        "page: search c=8",
        "serving, peak RSS",
        "CSV export through HTTP",
        "entity resolution, all parties",
        "entity resolution after 1,000 releases",
        "page: vendor (in process)",
        "comparison of 6 vendors (in process)",
        "red flags, all 18 indicators",
        "red flags after 1,000 changed processes",
        "tabular register: map and store",
        "paged endpoint (Socrata, 127.0.0.1): load and store",
    ):
        assert f"| {measure}" in done.stdout, measure
    saved = json.loads((tmp_path / "results" / f"{SMOKE_PROCESSES}-quick.json").read_text())
    assert saved["stages"]["corpus"]["processes"] == SMOKE_PROCESSES
    assert saved["stages"]["ingest_sqlite"]["releases"] == saved["stages"]["corpus"]["releases"]
    assert saved["stages"]["reindex"]["documents"] == SMOKE_PROCESSES
    assert saved["machine"]["cores"] >= 1
    # The export is the whole result set (the stage reads at most EXPORT_ROWS of it).
    export = saved["stages"]["export"]
    assert 0 < export["rows"] == min(export["matches"], export["limit"])
    # Peak memory is each child's own (VmHWM), read by the child: present for every stage run in a child.
    assert all(saved["stages"][stage]["peak_rss_mb"] > 0 for stage in ("ingest_sqlite", "reindex", "comparison"))
    assert saved["stages"]["tabular"]["store"]["rows"] == saved["stages"]["tabular"]["read_csv"]["rows"] == 2_000
    assert saved["stages"]["endpoint"]["load"]["rows"] == saved["stages"]["endpoint"]["requests"]["rows"] == 2_000
