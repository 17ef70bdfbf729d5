"""Sources with their runs, counts and notes, as a sources page would list them; runs that can no longer finish
are shown as abandoned, and marked so by the next run."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from datetime import timedelta

from sqlalchemy import select

from ingest import runner
from ingest.runner import run_ingest
from ingest.status import STALE_AFTER, abandoned_reason, list_sources
from portal.models import IngestRun, Source, utcnow
from tests.conftest import DEMO_DATA

SMALL_PACKAGE = DEMO_DATA / "mexico-city" / "release-package-AD-065-2015.json"


def test_sources_are_listed_with_counts_runs_and_notes(sessions, load, tmp_path):
    load(DEMO_DATA, "Demo")
    (tmp_path / "broken.json").write_text('{"releases": [', encoding="utf-8")
    load(tmp_path / "broken.json", "Broken")
    load(DEMO_DATA, "Demo")

    with sessions() as session:
        broken, demo = list_sources(session)  # by name

    assert (demo.name, demo.packages, demo.releases) == ("Demo", 41, 45)
    assert [run.status for run in demo.runs] == ["succeeded", "succeeded"]  # newest first
    assert demo.runs[0].releases_new == 0 and demo.runs[1].releases_new == 45
    assert demo.last_success is demo.runs[0]
    assert any(note["note"].startswith("not UTF-8: read as cp1252") for note in demo.runs[1].notes)
    assert (broken.name, broken.packages, broken.releases) == ("Broken", 0, 0)
    assert broken.last_run.status == "failed"
    assert broken.last_run.error.startswith("broken.json: invalid JSON at line 1")
    assert broken.last_success is None


def a_running_run(sessions, **fields) -> int:
    with sessions() as session, session.begin():
        source = session.scalars(select(Source).where(Source.name == "elsewhere")).first()
        if source is None:
            source = Source(name="elsewhere", location="/nowhere")
            session.add(source)
            session.flush()
        run = IngestRun(source_id=source.id, notes=[], **fields)
        session.add(run)
        session.flush()
        return run.id


def test_a_run_silent_too_long_on_another_host_is_abandoned_by_the_next_run(sessions):
    silent_since = utcnow() - STALE_AFTER - timedelta(minutes=5)
    old = a_running_run(sessions, owner="another-host 4242", heartbeat_at=silent_since, started_at=silent_since)
    recent = a_running_run(sessions, owner="another-host 4343", heartbeat_at=utcnow())

    with sessions() as session:
        statuses = {run.id: run.status for source in list_sources(session) for run in source.runs}
    assert statuses == {old: "abandoned", recent: "running"}

    result = run_ingest(sessions, str(SMALL_PACKAGE))

    assert result.status == "succeeded", result.errors
    with sessions() as session:
        old_run, recent_run = session.get(IngestRun, old), session.get(IngestRun, recent)
        assert old_run.status == "abandoned"
        assert old_run.error == f"abandoned: no sign of life since {silent_since:%Y-%m-%d %H:%M} UTC"
        assert old_run.finished_at is not None
        assert recent_run.status == "running"


def test_a_run_whose_process_is_gone_on_this_host_is_abandoned_at_once(sessions):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(gone.stdout)
    run_id = a_running_run(sessions, owner=f"{socket.gethostname()} {pid}", heartbeat_at=utcnow())
    alive = a_running_run(sessions, owner=f"{socket.gethostname()} {subprocess.os.getppid()}", heartbeat_at=utcnow())

    with sessions() as session:
        run, living = session.get(IngestRun, run_id), session.get(IngestRun, alive)
        assert abandoned_reason(run) == f"the process that ran it (pid {pid} on {socket.gethostname()}) is gone"
        assert abandoned_reason(living) is None
    run_ingest(sessions, str(SMALL_PACKAGE))
    with sessions() as session:
        assert session.get(IngestRun, run_id).status == "abandoned"
        assert session.get(IngestRun, alive).status == "running"


def test_a_run_records_its_owner_and_heartbeat(sessions):
    result = run_ingest(sessions, str(SMALL_PACKAGE))
    with sessions() as session:
        run = session.get(IngestRun, result.run_id)
        assert run.owner == f"{socket.gethostname()} {subprocess.os.getpid()}"
        assert run.heartbeat_at is not None and run.heartbeat_at >= run.started_at
        assert json.dumps(run.notes)  # plain JSON, for a page
        assert session.scalars(select(Source.location)).one() == str(SMALL_PACKAGE.resolve())


def test_a_run_beats_within_a_file_without_waiting_for_its_transaction(sessions, monkeypatch):
    # On PostgreSQL the heartbeat is written from a second connection while the file's transaction is open (and
    # holds a key-share lock on the run's row through package.first_run_id): it must neither wait nor deadlock.
    # On SQLite a second writer would wait for the file, so the beat within a file is skipped there.
    monkeypatch.setattr(runner, "BATCH", 1)
    monkeypatch.setattr(runner, "HEARTBEAT_SECONDS", 0)
    beats: list[bool] = []
    real = runner.Heartbeat.beat

    def counting(self, *, within_file=False):
        beats.append(within_file)
        real(self, within_file=within_file)

    monkeypatch.setattr(runner.Heartbeat, "beat", counting)
    result = run_ingest(sessions, str(SMALL_PACKAGE))
    assert result.status == "succeeded", result.errors
    assert beats.count(True) == 2  # after each of the package's two releases
    with sessions() as session:
        run = session.get(IngestRun, result.run_id)
        assert run.heartbeat_at >= run.started_at


def test_one_listing_gives_licence_counts_and_runs_of_a_configured_source(sessions):
    from ingest.jobs import run_source
    from ingest.sources import load_sources
    from portal.resources import demo_sources_file

    conseil = next(c for c in load_sources(demo_sources_file()) if "conseil" in c.name)
    run_source(sessions, conseil)
    load_elsewhere = run_ingest(sessions, str(SMALL_PACKAGE))
    assert load_elsewhere.status == "succeeded"
    with sessions() as session:
        listed = {s.name: s for s in list_sources(session)}
    configured = listed[conseil.name]
    assert (configured.licence, configured.licence_url) == ("CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/")
    assert configured.attribution == conseil.attribution
    assert (configured.releases, configured.publisher_total, configured.rejected_rows) == (9, 10, 1)
    assert configured.as_json()["last_run"]["status"] == "succeeded"
    [files] = [s for name, s in listed.items() if name != conseil.name]
    assert files.licence is None and files.releases == 2 and files.rejected_rows == 0
