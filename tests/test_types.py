"""The code type-checks: mypy with the settings in setup.cfg, as `make lint` runs it, so CI keeps it clean."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

from tests.conftest import ROOT, missing


def test_mypy_finds_no_issues(tmp_path):
    if importlib.util.find_spec("mypy") is None:
        missing("mypy is not installed (pip install -e '.[dev]')")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-4000:]
