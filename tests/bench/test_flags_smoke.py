"""The benchmark's red-flag stage runs at a small size on SQLite alone and reports every indicator's time."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

PROCESSES = 400


def test_the_flags_stage_times_every_indicator(tmp_path):
    command = [sys.executable, "-m", "bench.run", "--processes", str(PROCESSES), "--quick", "--skip-postgres"]
    command += ["--only", "corpus", "--only", "ingest_sqlite", "--only", "flags"]
    command += ["--out", str(tmp_path / "out"), "--results", str(tmp_path / "results")]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| red flags, all 18 indicators |" in done.stdout
    flags = json.loads((tmp_path / "out" / f"n{PROCESSES}" / "state.json").read_text())["flags"]
    assert flags["processes"] == PROCESSES
    assert len(flags["indicator_seconds"]) == 18
    assert flags["incremental_written"] >= min(PROCESSES, 1_000)
    # Every process "changed" but none did: the update reads them all and writes only their coverage stamps,
    # having found every result as the full computation left it.
    assert flags["incremental_read"] == PROCESSES
    assert flags["incremental_rows"] == PROCESSES
