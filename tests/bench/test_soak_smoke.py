"""The soak runs end to end at a tiny size: its figures exist in the table and the JSON, and at this size the
kill -9 phase loses and duplicates nothing. Nothing here is timed, and the load's own figures (5xx, latency,
index against database) are only required to exist: they are what the soak measures, not what this test checks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import _POSTGRES_ERROR, POSTGRES_URL, ROOT, missing

SMOKE = ["--processes", "300", "--minutes", "0.33", "--ingests", "3", "--releases", "100", "--kills", "3"]
# --overrun: every planned ingest runs, however busy the shared machine makes them.
SMOKE += ["--bomb-mb", "0.2", "--reindex-kill-share", "0.34", "--overrun", "1000", "--drop-databases"]


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_soak_runs_end_to_end_and_reports_its_figures(tmp_path, database):
    if database == "postgresql" and _POSTGRES_ERROR:
        missing(f"PostgreSQL not reachable at {POSTGRES_URL}: {_POSTGRES_ERROR}")
    command = [sys.executable, "-m", "bench.soak", *SMOKE, "--database", database]
    command += ["--out", str(tmp_path / "out"), "--results", str(tmp_path / "results")]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    print(done.stdout)  # the table, for whoever reads the log

    for measure in (
        "responses 5xx",
        "connection errors",
        "found in search, missing on its page",
        "ingests of 100 releases under load",
        "portal reindex under load",
        "index = database at the end",
        "kill -9 at random points",
        "releases lost",
        "releases duplicated",
        "index = database after the kills",
        "bad input: truncated-gzip",
        "bad input: gzip-bomb",
        "bad input: deep-nesting",
        "bad input: empty-file",
    ):
        assert f"| {measure}" in done.stdout, measure

    saved = json.loads((tmp_path / "results" / f"soak-300-{database}.json").read_text())
    assert saved["harness_errors"] == []
    assert saved["machine"]["cores"] >= 1
    phases = saved["phases"]
    assert phases["base"]["processes"] == 300
    assert phases["base"]["releases"] == phases["base"]["corpus_releases"]

    load = phases["soak"]["load"]
    assert load["requests"] > 0
    for key in ("server_errors_5xx", "connection_errors", "found_in_search_missing_on_page", "p95_ms"):
        assert key in load
    assert phases["soak"]["ingests"]["run"] == 3
    for key in ("index_docs", "db_processes", "missing_in_index", "equal"):
        assert key in phases["soak"]["end"]

    kill = phases["kill"]
    assert kill["kills"] == 3
    assert kill["releases"]["expected"] > phases["base"]["releases"]
    assert kill["releases"]["lost"] == 0, kill["releases"]
    assert kill["releases"]["duplicated"] == 0, kill["releases"]

    trials = {t["input"]: t for t in phases["bad"]["trials"]}
    assert "all at once" in trials and "huge-number" in trials
    for trial in trials.values():
        assert trial["good_expected"] == 200
        assert trial["peak_rss_mb"] > 0
