"""The markers select what they promise: `-m "not postgres"` runs without the service, `-m shared_data` picks
the tests that read ../shared/data."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def collected(marker: str, where: str = "tests") -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-m", marker, where],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in done.stdout.splitlines() if "::" in line]


def test_markers_select_by_what_a_test_needs():
    postgres, without = collected("postgres", "tests/ingest"), collected("not postgres", "tests/ingest")
    assert postgres and all("postgresql" in test for test in postgres)
    assert without and not any("postgresql" in test for test in without)
    shared = collected("shared_data", "tests/ingest")
    assert any("test_all_shared_ocds_loads" in test for test in shared)
    assert len(shared) < len(postgres) + len(without)
