"""Killed with SIGKILL at random points, many times, a source resumes with exact counts: every release once,
every process compiled, and the search index holding exactly what the database holds."""

from __future__ import annotations

import dataclasses
import os
import random
import signal
import subprocess
import sys
import time

from sqlalchemy import func, select

from ingest.jobs import run_source
from portal.models import IngestRun, Process, Release
from search_index.indexer import apply_queue, open_index
from tests.conftest import ROOT
from tests.ingest.platforms import platform_server
from tests.ingest.test_socrata import FIELDS, PATH, configured, soda_rows

KILLS = 6
PAGE = 25  # 21 pages, each its own transaction


def test_kill_9_at_random_points_then_resume_with_exact_counts(app, sessions, database_url, monkeypatch):
    monkeypatch.setenv("CHICAGO_APP_TOKEN", "t")
    chance = random.Random(20261127)
    with platform_server() as server:
        url = server.socrata(PATH, soda_rows(), fields=FIELDS)
        server.slow(PATH, 0.03)
        killed = 0
        for _ in range(KILLS):
            child = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "from tests.ingest.kill_child import main; main()",
                    database_url,
                    url,
                    str(PAGE),
                ],
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            asked = server.requests[PATH]
            deadline = time.monotonic() + 30
            while server.requests[PATH] == asked and child.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)  # until the run has started: the interpreter and pandas take a second to load
            time.sleep(chance.uniform(0.0, 1.0))
            if child.poll() is None:
                os.kill(child.pid, signal.SIGKILL)
                killed += 1
            child.wait(timeout=30)
        config = dataclasses.replace(configured(), url=url, allow_private=True, rate_limit=0, page_size=PAGE)
        final = run_source(sessions, config)
    assert final.status == "succeeded", final.errors
    assert killed >= KILLS - 2, "the runs ended before they could be killed: slow the server down"
    with sessions() as session:
        releases = session.scalar(select(func.count()).select_from(Release))
        distinct = session.scalar(
            select(func.count()).select_from(select(Release.ocid, Release.release_id).distinct().subquery())
        )
        processes = session.scalar(select(func.count()).select_from(Process))
        runs = session.scalars(select(IngestRun.status)).all()
    assert releases == distinct == 513
    assert processes == 144
    # A killed run stays as evidence ("running"); a child killed after its last commit had already succeeded.
    assert set(runs) == {"running", "succeeded"}
    assert killed // 2 <= runs.count("running") <= killed
    apply_queue(sessions, app.config["INDEX_DIR"])
    with open_index(app.config["INDEX_DIR"]).searcher() as searcher:
        assert searcher.doc_count() == processes
