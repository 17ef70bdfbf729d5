"""Imports point one way: the Flask-free core, then ingest and search_index, then the web app on top."""

from __future__ import annotations

import subprocess
import sys

from importlinter.cli import lint_imports

from tests.conftest import ROOT


def test_the_import_contracts_hold():
    assert lint_imports(config_filename=str(ROOT / "setup.cfg")) == 0


def test_ingest_and_search_index_load_no_flask():
    # A fresh interpreter: this one has Flask loaded by the other tests.
    code = (
        "import sys, ingest.runner, ingest.fetch, search_index.query, search_index.indexer, portal.models, "
        "portal.database, portal.domain.processes, portal.domain.records; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'werkzeug')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
