"""The soak: `python -m bench.soak --processes N --minutes M` (or `make soak N=100000 MINUTES=10`).

Measures the reliability figures on the benchmark corpus, driving the portal the way operators do: gunicorn on
`portal.wsgi:app`, and `portal ingest` / `portal reindex` as separate processes. Three phases, each optional:

- soak: gunicorn (2 workers x 4 threads) under a bounded load of 32 keep-alive clients for M minutes, while
  `--ingests` batches of `--releases` new releases are ingested one after another (spread over the window)
  and one `portal reindex` swaps in a fresh index part way through. The load lasts until the ingests and the
  reindex are done, however long they take, but no ingest starts after `--overrun` windows. Every process a
  search returns is fetched from its page ("found in search, missing on its page" counts the 404s). At the
  end: 5xx count, connection errors, latency, and the index's live documents against the database's
  processes, ocid by ocid, without draining the queue first.
- kill: `--kills` times, start an ingest of a new batch in four files (or, for a share of them, a reindex)
  and kill -9 it after a random delay; a killed ingest is then run again to completion, a killed reindex is
  followed by a check that the live index still opens. At the end every release of every file (base corpus,
  killed batches) must be in the database exactly once by (ocid, release id), and, once the index queue is
  drained by an ingest of an empty folder, the index must hold exactly the database's processes. The final
  comparison is made after a queue drain, not after a fresh reindex: a reindex rebuilds from the database and
  would hide whatever the kills did to the index.
- bad: for each bad input (truncated gzip, gzip bomb, 10,000-deep nesting, invalid JSON, NUL bytes, a 1e400
  amount, an empty file), `portal ingest` of a folder holding it between two good files; the ingest's peak
  RSS (its VmHWM, polled) must stay under 1 GiB and every release of the good files must load. A run whose memory
  passes `--rss-cap-mb` is killed and reported, so that a bomb cannot take the machine down.

The base database and index are built once from the corpus and cached in bench/out/soak-nN/; each phase works
on a fresh copy of them (a file copy for SQLite, `CREATE DATABASE ... TEMPLATE` for PostgreSQL), left in
bench/out/soak-nN/run-DATABASE/PHASE/ for inspection. The table is printed
and saved with JSON in bench/results/soak-N-DATABASE.md/.json. A figure that misses its target is a result,
not an error: the exit status is 0 unless the harness itself failed (2), or `--strict` is given and a target
was missed (1).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import os
import random
import secrets
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.generate import OBJECTS, OCID_PREFIX, STREETS_EN, STREETS_FR, generate
from bench.run import POSTGRES_ADMIN, _free_port, commit, machine, percentile
from bench.soak_inputs import BAD_INPUTS, FIRST_NEW_PROCESS, Batches, Key, write_bad

ROOT = Path(__file__).resolve().parents[1]
PHASES = ("soak", "kill", "bad")
MEMORY_TARGET_MB = 1024
BAD_GOOD_RELEASES = 100  # releases in each of the two good files beside a bad input
KILL_FILES = 4  # files per killed batch, so that a kill can land between two committed files
BENCH_SECRET_KEY = secrets.token_hex(32)  # the soak's servers sign sessions with one key, like a deployment


def log(message: str) -> None:
    print(f"[soak {datetime.now(timezone.utc):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# -- running the portal's commands ----------------------------------------------------------------------------


def portal_command() -> list[str]:
    """The `portal` console script beside this interpreter (the virtualenv's), else the module behind it."""
    script = Path(sys.executable).parent / "portal"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from portal.cli import main; main()"]


def _memory_mb(pid: int) -> tuple[float, float]:
    """A process's resident memory now and its high-water mark (VmRSS, VmHWM), in MB; zeros once it is gone."""
    now = peak = 0.0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                now = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return now, peak


@dataclass
class Outcome:
    """How one run of a command ended."""

    command: str
    returncode: int | None = None  # negative: killed by that signal
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    killed: str | None = None  # why the harness killed it: "on purpose", "memory cap", "timeout"
    alive_at_kill: bool = False
    stdout: str = ""
    stderr: str = ""

    @property
    def traceback(self) -> bool:
        return "Traceback (most recent call last)" in self.stderr

    def summary(self) -> dict:
        return {
            "command": self.command,
            "returncode": self.returncode,
            "seconds": round(self.seconds, 2),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "killed": self.killed,
            "traceback": self.traceback,
            "stdout_tail": self.stdout[-600:],
            "stderr_tail": self.stderr[-1500:],
        }


def run_measured(
    args: list[str],
    env: dict,
    logs: Path,
    *,
    kill_after: float | None = None,
    timeout: float = 3600,
    rss_cap_mb: float | None = None,
) -> Outcome:
    """Run a command to its end (or kill -9 it after `kill_after` seconds, past `rss_cap_mb` or `timeout`).

    Peak RSS is the child's VmHWM, read every 20 ms while it runs. Not wait4's ru_maxrss: Linux carries the
    parent's high-water mark into a forked child across exec, so that figure would be the harness's own size.
    """
    logs.mkdir(parents=True, exist_ok=True)
    stem = f"{time.time_ns()}"
    out_path, err_path = logs / f"{stem}.out", logs / f"{stem}.err"
    outcome = Outcome(command=" ".join(a if len(a) < 80 else "..." + a[-60:] for a in args))
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        child = subprocess.Popen(args, env=env, cwd=ROOT, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
    started = time.monotonic()
    status = 0
    while True:
        pid, status, _ = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        elapsed = time.monotonic() - started
        rss, hwm = _memory_mb(child.pid)
        outcome.peak_rss_mb = max(outcome.peak_rss_mb, hwm, rss)
        reason = None
        if kill_after is not None and elapsed >= kill_after:
            reason = "on purpose"
        elif elapsed >= timeout:
            reason = "timeout"
        elif rss_cap_mb is not None and rss > rss_cap_mb:
            reason = "memory cap"
        if reason:
            outcome.killed, outcome.alive_at_kill = reason, True
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGKILL)
            _, status, _ = os.wait4(child.pid, 0)
            break
        time.sleep(0.02)
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here: keep Popen from waiting again
    outcome.returncode = child.returncode
    outcome.seconds = time.monotonic() - started
    outcome.stdout = out_path.read_text(errors="replace")
    outcome.stderr = err_path.read_text(errors="replace")
    out_path.unlink()
    err_path.unlink()
    return outcome


# -- databases -----------------------------------------------------------------------------------------------


class Store:
    """The base database and index (built once, cached) and the run's fresh copy of them."""

    def __init__(self, processes: int, database: str, out: Path):
        self.n = processes
        self.database = database
        self.dir = out / f"soak-n{processes}"
        self.corpus = self.dir / "corpus"
        self.base_index = self.dir / f"base-index-{database}"
        self.base_marker = self.dir / f"base-{database}.json"
        # PostgreSQL databases are named after the output folder too, so two folders never share one.
        self.db_prefix = f"portal_soak_{processes}_{hashlib.sha1(str(self.dir.resolve()).encode()).hexdigest()[:6]}"
        self.made_databases: list[str] = []
        if database == "sqlite":
            self.base_url = f"sqlite:///{self.dir / 'base.sqlite'}"
        else:
            self.base_db = f"{self.db_prefix}_base"
            self.base_url = f"{POSTGRES_ADMIN.rsplit('/', 1)[0]}/{self.base_db}"
        self.use("base")

    def use(self, phase: str) -> None:
        """Point the run's paths at one phase's own copy: each phase starts from the base, so a failure in one
        (a broken index, say) does not spill into the next one's figures, and each copy is left for inspection."""
        self.run_dir = self.dir / f"run-{self.database}" / phase
        self.index = self.run_dir / "index"
        self.logs = self.run_dir / "logs"
        if self.database == "sqlite":
            self.url = f"sqlite:///{self.run_dir / 'portal.sqlite'}"
        else:
            self.run_db = f"{self.db_prefix}_{phase}"
            self.url = f"{POSTGRES_ADMIN.rsplit('/', 1)[0]}/{self.run_db}"

    def env(self, url: str | None = None, index: Path | None = None) -> dict:
        return dict(
            os.environ,
            PORTAL_DATABASE_URL=url or self.url,
            PORTAL_INDEX_DIR=str(index or self.index),
            PYTHONUNBUFFERED="1",
            # gunicorn's workers refuse to start without a key; one for the whole soak, the same in every worker.
            PORTAL_SECRET_KEY=os.environ.get("PORTAL_SECRET_KEY") or BENCH_SECRET_KEY,
        )

    def _admin(self, *statements: str) -> None:
        from sqlalchemy import create_engine, text

        admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                for statement in statements:
                    connection.execute(text(statement))
        finally:
            admin.dispose()

    def _base_database_exists(self) -> bool:
        if self.database == "sqlite":
            return (self.dir / "base.sqlite").exists()
        from sqlalchemy import create_engine, text

        admin = create_engine(POSTGRES_ADMIN)
        try:
            with admin.connect() as connection:
                query = text("SELECT 1 FROM pg_database WHERE datname = :name")
                return connection.scalar(query, {"name": self.base_db}) is not None
        finally:
            admin.dispose()

    def build_base(self) -> dict:
        """Corpus, database and index, once: a marker file records the finished build and its figures."""
        if self.base_marker.exists() and self.base_index.exists() and self._base_database_exists():
            base = json.loads(self.base_marker.read_text())
            log(f"base {self.database} database and index already built ({base['processes']:,} processes)")
            return base
        self.dir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        corpus = generate(self.n, self.corpus)
        corpus_seconds = time.perf_counter() - started
        if self.database == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(str(self.dir / "base.sqlite") + suffix).unlink(missing_ok=True)
        else:
            self._admin(f'DROP DATABASE IF EXISTS "{self.base_db}" WITH (FORCE)', f'CREATE DATABASE "{self.base_db}"')
            self.made_databases.append(self.base_db)
        shutil.rmtree(self.base_index, ignore_errors=True)
        env = self.env(self.base_url, self.base_index)
        log(f"base: storing {corpus['releases']:,} releases in {self.database}")
        stored = run_measured([sys.executable, "-m", "bench.soak", "--base-ingest", str(self.corpus)], env, self.logs)
        if stored.returncode != 0:
            raise RuntimeError(f"base ingest failed: {stored.stderr[-2000:]}")
        log("base: portal reindex")
        indexed = run_measured([*portal_command(), "reindex"], env, self.logs)
        if indexed.returncode != 0:
            raise RuntimeError(f"base reindex failed: {indexed.stderr[-2000:]}")
        counts = database_counts(self.base_url)
        base = {
            "processes": counts["processes"],
            "releases": counts["releases"],
            "corpus_releases": corpus["releases"],
            "corpus_seconds": round(corpus_seconds, 1),
            "ingest_seconds": round(stored.seconds, 1),
            "reindex_seconds": round(indexed.seconds, 1),
        }
        self.base_marker.write_text(json.dumps(base, indent=2))
        return base

    def fresh_copy(self, phase: str) -> None:
        """A phase's database and index: a copy of the base, so each phase starts from the same state."""
        self.use(phase)
        shutil.rmtree(self.run_dir, ignore_errors=True)
        self.run_dir.mkdir(parents=True)
        shutil.copytree(self.base_index, self.index)
        if self.database == "sqlite":
            source = sqlite3.connect(self.base_url.removeprefix("sqlite:///"))
            target = sqlite3.connect(self.url.removeprefix("sqlite:///"))
            with target:
                source.backup(target)
            source.close()
            target.close()
        else:
            self._admin(
                f'DROP DATABASE IF EXISTS "{self.run_db}" WITH (FORCE)',
                f'CREATE DATABASE "{self.run_db}" TEMPLATE "{self.base_db}"',
            )
            self.made_databases.append(self.run_db)

    def drop_databases(self) -> None:
        """Drop the PostgreSQL databases this run made (the base too, if it built it): for throwaway runs."""
        if self.database == "postgresql":
            self._admin(*(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in self.made_databases))
            if self.base_db in self.made_databases:
                self.base_marker.unlink(missing_ok=True)


def _engine(url: str):
    from portal.database import make_engine

    return make_engine(url)


def database_counts(url: str) -> dict:
    from sqlalchemy import text

    engine = _engine(url)
    try:
        with engine.connect() as connection:
            return {
                "processes": connection.scalar(text("SELECT count(*) FROM process")),
                "releases": connection.scalar(text("SELECT count(*) FROM release")),
                "index_queue": connection.scalar(text("SELECT count(*) FROM index_queue")),
            }
    finally:
        engine.dispose()


def index_against_database(url: str, index: Path) -> dict:
    """The index's live documents against the database's processes, ocid by ocid."""
    from sqlalchemy import text
    from whoosh import index as whoosh_index

    engine = _engine(url)
    try:
        with engine.connect() as connection:
            ocids = set(connection.scalars(text("SELECT ocid FROM process")))
            queue = connection.scalar(text("SELECT count(*) FROM index_queue"))
    finally:
        engine.dispose()
    result: dict[str, Any] = {"db_processes": len(ocids), "index_queue": queue}
    try:
        ix = whoosh_index.open_dir(str(index), readonly=True)
        with ix.searcher() as searcher:
            indexed = [fields.get("ocid") for fields in searcher.reader().all_stored_fields()]
            doc_count = ix.doc_count()
    except Exception as error:  # a missing or broken index is a figure, not a harness failure
        result.update(index_error=f"{type(error).__name__}: {error}", index_docs=0, missing_in_index=len(ocids))
        result.update(extra_in_index=0, duplicated_in_index=0, equal=False, missing_examples=sorted(ocids)[:5])
        return result
    unique = set(indexed)
    missing, extra = ocids - unique, unique - ocids
    result.update(
        index_docs=doc_count,
        index_unique_ocids=len(unique),
        missing_in_index=len(missing),
        extra_in_index=len(extra),
        duplicated_in_index=len(indexed) - len(unique),
        missing_examples=sorted(missing)[:5],
        extra_examples=sorted(extra)[:5],
    )
    result["equal"] = doc_count == len(ocids) and not missing and not extra and len(indexed) == len(unique)
    return result


def release_integrity(url: str, base_releases: int, expected: set[Key]) -> dict:
    """Every release of every file exactly once by (ocid, release id): the base corpus counted (its keys are
    the generator's `<ocid>-NN` under ocids below the soak's range), the soak's own keys compared one by one."""
    from sqlalchemy import text

    first_new = f"{OCID_PREFIX}-{FIRST_NEW_PROCESS:08d}"
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            duplicated = connection.execute(
                text(
                    "SELECT ocid, release_id, count(*) FROM release GROUP BY ocid, release_id HAVING count(*) > 1 "
                    "ORDER BY ocid, release_id"
                )
            ).all()
            soak_rows = connection.execute(
                text(
                    "SELECT DISTINCT ocid, release_id FROM release "
                    "WHERE (ocid >= :first AND ocid LIKE :prefix) OR release_id LIKE '%-soak-%'"
                ),
                {"first": first_new, "prefix": f"{OCID_PREFIX}-%"},
            ).all()
            base_found = connection.scalar(
                text(
                    "SELECT count(*) FROM (SELECT DISTINCT ocid, release_id FROM release "
                    "WHERE ocid < :first AND ocid LIKE :prefix AND release_id NOT LIKE '%-soak-%') AS base"
                ),
                {"first": first_new, "prefix": f"{OCID_PREFIX}-%"},
            )
    finally:
        engine.dispose()
    found = {(o, r) for o, r in soak_rows}
    lost = expected - found
    return {
        "expected": base_releases + len(expected),
        "base_expected": base_releases,
        "base_found": base_found,
        "soak_expected": len(expected),
        "soak_found": len(found & expected),
        "lost": (base_releases - base_found if base_found < base_releases else 0) + len(lost),
        "unexpected": len(found - expected) + max(0, base_found - base_releases),
        "duplicated": sum(count - 1 for _, _, count in duplicated),
        "duplicated_keys": len(duplicated),
        "lost_examples": [list(k) for k in sorted(lost)[:5]],
        "duplicated_examples": [list(row) for row in duplicated[:5]],
    }


def ingest_runs_by_status(url: str) -> dict:
    from sqlalchemy import text

    engine = _engine(url)
    try:
        with engine.connect() as connection:
            return dict(connection.execute(text("SELECT status, count(*) FROM ingest_run GROUP BY status")).all())
    finally:
        engine.dispose()


def keys_present(url: str, keys: set[Key]) -> tuple[int, int]:
    """How many of these keys are stored, and how many rows they have (more rows than keys: duplicates)."""
    from sqlalchemy import bindparam, text

    ocids = sorted({o for o, _ in keys})
    engine = _engine(url)
    rows: list = []
    try:
        with engine.connect() as connection:
            statement = text("SELECT ocid, release_id FROM release WHERE ocid IN :ocids").bindparams(
                bindparam("ocids", expanding=True)
            )
            for start in range(0, len(ocids), 500):
                rows += connection.execute(statement, {"ocids": ocids[start : start + 500]}).all()
    finally:
        engine.dispose()
    wanted = [(o, r) for o, r in rows if (o, r) in keys]
    return len(set(wanted)), len(wanted)


# -- the load -------------------------------------------------------------------------------------------------


def search_words() -> list[str]:
    """Words people would type, from the generator's own vocabulary: object titles and street names."""
    words: set[str] = set()
    for english, french, _, _ in OBJECTS:
        words.update(w.lower() for w in (english + " " + french).split() if len(w) >= 4 and w.isalpha())
    for street in STREETS_EN[:10] + STREETS_FR[:10]:
        words.add(street.split()[-1 if street[0].isupper() else 1].lower())
    phrases = ['"road resurfacing"', '"snow removal"', "water main", "déneigement arrondissement", "title:park"]
    return sorted(words) + phrases


@dataclass
class Kind:
    statuses: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)


class Load:
    """`concurrency` threads, each on its own keep-alive connection, until stopped. Every search.json answer's
    first processes are fetched from their pages: a 404 there is a process found in search but missing."""

    MIX = (
        ("home", 5),
        ("home_json", 2),
        ("search", 22),
        ("search_json", 22),
        ("process", 15),
        ("process_json", 8),
        ("supplier", 8),
        ("supplier_json", 4),
    )

    def __init__(self, port: int, concurrency: int, ocids: list[str], suppliers: list[int], seed: int = 1):
        self.port = port
        self.concurrency = concurrency
        self.ocids = ocids
        self.suppliers = suppliers or [1]
        self.words = search_words()
        self.seed = seed
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.kinds: dict[str, Kind] = {}
        self.errors: Counter = Counter()
        self.reconnects = 0
        self.server_errors: list[dict] = []
        self.checked = 0
        self.missing: list[dict] = []
        self.threads: list[threading.Thread] = []
        self.started = self.stopped = 0.0
        self.kinds_names = [k for k, _ in self.MIX]
        self.weights = [w for _, w in self.MIX]

    def start(self) -> None:
        self.started = time.monotonic()
        for i in range(self.concurrency):
            thread = threading.Thread(target=self._worker, args=(i,), daemon=True, name=f"load-{i}")
            thread.start()
            self.threads.append(thread)

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=120)
        self.stopped = time.monotonic()

    def _search_path(self, rng: random.Random, json_twin: bool) -> str:
        params: dict[str, Any] = {}
        if rng.random() < 0.9:
            params["q"] = rng.choice(self.words)
        roll = rng.random()
        if roll < 0.15:
            params["currency"] = rng.choice(("CAD", "USD", "EUR", "MXN"))
            params["min_amount"] = rng.choice((1000, 10000, 50000))
            params["max_amount"] = params["min_amount"] * rng.choice((10, 100))
        elif roll < 0.3:
            year = rng.randint(2015, 2024)
            params["date_from"], params["date_to"] = f"{year}-01-01", f"{year}-12-31"
        params["sort"] = rng.choice(("relevance", "relevance", "amount", "date"))
        params["page"] = rng.choice((1, 1, 1, 2, 3, 5, 50))
        return ("/search.json?" if json_twin else "/search?") + urllib.parse.urlencode(params)

    def _record(self, kind: str, status: int | None, ms: float, path: str) -> None:
        with self.lock:
            entry = self.kinds.setdefault(kind, Kind())
            entry.statuses[status if status is not None else "error"] += 1
            if status is not None:
                entry.latencies.append(ms)
            if status is not None and status >= 500 and len(self.server_errors) < 20:
                self.server_errors.append({"path": path, "status": status, "t": round(time.monotonic() - self.started)})

    def _worker(self, number: int) -> None:
        rng = random.Random(self.seed * 1000 + number)
        state: dict[str, Any] = {"connection": None, "used": False}

        def get(kind: str, path: str) -> tuple[int | None, bytes]:
            for attempt in (1, 2):
                if state["connection"] is None:
                    state["connection"] = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                    state["used"] = False
                connection = state["connection"]
                started = time.perf_counter()
                try:
                    connection.request("GET", path)
                    response = connection.getresponse()
                    body = response.read()
                except (http.client.HTTPException, OSError) as error:
                    connection.close()
                    reused = state["used"]
                    state["connection"] = None
                    # A keep-alive connection the server closed while idle is retried once, as a browser does.
                    if attempt == 1 and reused and isinstance(error, http.client.RemoteDisconnected | BrokenPipeError):
                        with self.lock:
                            self.reconnects += 1
                        continue
                    with self.lock:
                        self.errors[type(error).__name__] += 1
                    self._record(kind, None, 0, path)
                    return None, b""
                state["used"] = True
                if response.getheader("connection", "").lower() == "close":
                    connection.close()
                    state["connection"] = None
                self._record(kind, response.status, (time.perf_counter() - started) * 1000, path)
                return response.status, body
            return None, b""

        while not self.stop.is_set():
            kind = rng.choices(self.kinds_names, self.weights)[0]
            if kind == "home":
                get(kind, "/")
            elif kind == "home_json":
                get(kind, "/index.json")
            elif kind in ("search", "search_json"):
                path = self._search_path(rng, kind == "search_json")
                status, body = get(kind, path)
                if kind == "search_json" and status == 200:
                    self._check_found(get, rng, body)
            elif kind in ("process", "process_json"):
                ocid = rng.choice(self.ocids)
                get(kind, f"/process/{urllib.parse.quote(ocid)}" + (".json" if kind == "process_json" else ""))
            else:
                party = rng.choice(self.suppliers)
                get(kind, f"/supplier/{party}" + (".json" if kind == "supplier_json" else ""))

    def _check_found(self, get, rng: random.Random, body: bytes) -> None:
        try:
            hits = json.loads(body).get("results", [])
        except ValueError:
            with self.lock:
                self.errors["search.json not JSON"] += 1
            return
        for hit in hits[:2]:
            ocid = hit.get("ocid")
            if not ocid:
                continue
            twin = rng.random() < 0.5
            status, _ = get("process_from_search", f"/process/{urllib.parse.quote(ocid)}" + (".json" if twin else ""))
            with self.lock:
                self.checked += 1
                if status == 404 and len(self.missing) < 1000:
                    self.missing.append({"ocid": ocid, "t": round(time.monotonic() - self.started, 1)})
                if len(self.ocids) < 50_000:
                    self.ocids.append(ocid)

    def report(self) -> dict:
        wall = (self.stopped or time.monotonic()) - self.started
        all_latencies = [ms for k in self.kinds.values() for ms in k.latencies]
        statuses: Counter = Counter()
        for k in self.kinds.values():
            statuses.update(k.statuses)
        total = sum(statuses.values())
        per_kind = {}
        for name, k in sorted(self.kinds.items()):
            per_kind[name] = {
                "requests": sum(k.statuses.values()),
                "statuses": {str(s): n for s, n in sorted(k.statuses.items(), key=str)},
                **_percentiles(k.latencies),
            }
        return {
            "seconds": round(wall, 1),
            "concurrency": self.concurrency,
            "requests": total,
            "requests_per_s": round(total / wall, 1) if wall else 0,
            "statuses": {str(s): n for s, n in sorted(statuses.items(), key=str)},
            "server_errors_5xx": sum(n for s, n in statuses.items() if isinstance(s, int) and s >= 500),
            "connection_errors": sum(self.errors.values()),
            "errors_by_type": dict(self.errors),
            "reconnects": self.reconnects,
            "found_in_search_checked": self.checked,
            "found_in_search_missing_on_page": len(self.missing),
            "missing_examples": self.missing[:10],
            "server_error_examples": self.server_errors,
            **_percentiles(all_latencies),
            "kinds": per_kind,
        }


def _percentiles(values: list[float]) -> dict:
    if not values:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None}
    return {f"p{q}_ms": round(percentile(values, q), 1) for q in (50, 95, 99)}


class Server:
    """gunicorn on a free port, watched once a second for its workers' peak RSS and replacements."""

    def __init__(self, store: Store, workers: int, threads: int, timeout: int):
        self.store = store
        self.port = _free_port()
        self.log_path = store.run_dir / "gunicorn.log"
        command = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-k", "gthread", "--threads", str(threads)]
        command += ["--timeout", str(timeout), "-b", f"127.0.0.1:{self.port}", "--log-level", "warning"]
        command += ["portal.wsgi:app"]
        self.log_file = open(self.log_path, "wb")  # noqa: SIM115 - open for the server's lifetime
        self.process = subprocess.Popen(command, cwd=ROOT, env=store.env(), stdout=self.log_file, stderr=self.log_file)
        self.workers_seen: set[int] = set()
        self.peak_rss_mb = 0.0
        self.stop = threading.Event()
        self.watcher = threading.Thread(target=self._watch, daemon=True)
        self.watcher.start()

    def _children(self) -> list[int]:
        try:
            pid = self.process.pid
            return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            return []

    def _watch(self) -> None:
        while not self.stop.wait(1.0):
            for pid in self._children():
                self.workers_seen.add(pid)
                with contextlib.suppress(OSError, ValueError, IndexError):
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            self.peak_rss_mb = max(self.peak_rss_mb, int(line.split()[1]) / 1024)

    def wait_ready(self, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited with {self.process.returncode}: {self.log_path.read_text()[-2000:]}"
                )
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                connection.request("GET", "/index.json")
                if connection.getresponse().status == 200:
                    connection.close()
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not answer /index.json in time")
            time.sleep(0.3)

    def close(self) -> dict:
        self.stop.set()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log_file.close()
        text = self.log_path.read_text(errors="replace")
        return {
            "workers_seen": len(self.workers_seen),
            "worker_peak_rss_mb": round(self.peak_rss_mb, 1),
            "tracebacks_logged": text.count("Traceback (most recent call last)"),
            "worker_timeouts_logged": text.count("WORKER TIMEOUT"),
        }


# -- the phases -----------------------------------------------------------------------------------------------


def _run_summary(outcome: Outcome) -> dict:
    """An ingest's figures from its own output line: `run N succeeded: ... releases read, ... new, ...`."""
    line = next((ln for ln in outcome.stdout.splitlines() if ln.startswith("run ")), "")
    return {
        "returncode": outcome.returncode,
        "seconds": round(outcome.seconds, 2),
        "peak_rss_mb": round(outcome.peak_rss_mb, 1),
        "traceback": outcome.traceback,
        "line": line,
        "stderr_tail": outcome.stderr[-800:] if outcome.returncode else "",
    }


class Soak:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.store = Store(args.processes, args.database, args.out)
        self.batches: Batches | None = None
        self.expected: set[Key] = set()  # every release key the soak's own files hold
        self.new_processes = 0
        self.results: dict[str, Any] = {}
        self.errors: list[str] = []

    def phase(self, name: str, function) -> None:
        log(f"== {name}")
        started = time.perf_counter()
        try:
            self.results[name] = function()
        except Exception:
            message = traceback.format_exc()
            log(f"{name}: harness error\n{message}")
            self.errors.append(f"{name}: {message.strip().splitlines()[-1]}")
            self.results[name] = {"harness_error": message[-3000:]}
        self.results[name]["phase_wall_s"] = round(time.perf_counter() - started, 1)

    def batch(self, name: str, count: int, files: int = 1) -> tuple[Path, set[Key]]:
        """A folder holding one new batch, ready for `portal ingest`; its keys join the expected set."""
        assert self.batches is not None
        folder = self.store.run_dir / "batches" / name
        keys, new = self.batches.write(folder / f"{name}.jsonl.gz", name, count, files=files)
        self.expected |= keys
        self.new_processes += new
        return folder, keys

    def ingest(self, folder: Path, *, kill_after: float | None = None, source: str | None = None) -> Outcome:
        command = [*portal_command(), "ingest", str(folder), "--source", source or f"soak {folder.name}"]
        return run_measured(command, self.store.env(), self.store.logs, kill_after=kill_after, timeout=1800)

    def reindex(self, *, kill_after: float | None = None) -> Outcome:
        return run_measured([*portal_command(), "reindex"], self.store.env(), self.store.logs, kill_after=kill_after)

    def fresh(self, phase: str) -> None:
        self.store.fresh_copy(phase)
        self.expected = set()
        self.new_processes = 0

    # -- phase: base --

    def do_base(self) -> dict:
        base = self.store.build_base()
        self.batches = Batches(base["processes"], seed=42)
        return base

    # -- phase: soak --

    def do_soak(self) -> dict:
        self.fresh("soak")
        args, store = self.args, self.store
        window = args.minutes * 60
        base_n = self.results["base"]["processes"]
        rng = random.Random(5)
        ocids = [f"{OCID_PREFIX}-{rng.randrange(base_n):08d}" for _ in range(2000)]
        suppliers = self._suppliers()
        folders = [self.batch(f"soak-{k:03d}", args.releases)[0] for k in range(args.ingests)]

        server = Server(store, args.workers, args.threads, args.worker_timeout)
        load = Load(server.port, args.concurrency, ocids, suppliers)
        ingests: list[dict] = []
        reindex: dict[str, Any] = {}
        cancel = threading.Event()
        try:
            server.wait_ready()
            load.start()
            began = time.monotonic()

            def run_ingests() -> None:
                for k, folder in enumerate(folders):
                    start_at = began + k * window * 0.9 / max(1, len(folders))
                    while time.monotonic() < start_at and not cancel.is_set():
                        time.sleep(0.1)
                    if cancel.is_set():
                        return
                    outcome = self.ingest(folder)
                    summary = _run_summary(outcome)
                    summary["started_at_s"] = round(time.monotonic() - began - outcome.seconds, 1)
                    ingests.append(summary)
                    log(f"ingest {k + 1}/{len(folders)}: exit {outcome.returncode} in {outcome.seconds:.1f} s")

            def run_reindex() -> None:
                while time.monotonic() < began + window * args.reindex_at and not cancel.is_set():
                    time.sleep(0.1)
                if cancel.is_set():
                    return
                reindex["started_at_s"] = round(time.monotonic() - began, 1)
                outcome = self.reindex()
                reindex.update(outcome.summary())
                reindex["finished_at_s"] = round(time.monotonic() - began, 1)
                log(f"reindex: exit {outcome.returncode} in {outcome.seconds:.1f} s")

            workers = [threading.Thread(target=run_ingests, daemon=True)]
            if args.reindex_at >= 0:
                workers.append(threading.Thread(target=run_reindex, daemon=True))
            for worker in workers:
                worker.start()
            hard_stop = began + window * args.overrun
            while time.monotonic() < began + window or any(w.is_alive() for w in workers):
                if time.monotonic() > hard_stop:
                    log("the ingests and reindex overran the window: no more are started")
                    cancel.set()
                    break
                time.sleep(0.5)
            load.finish()
            for worker in workers:
                worker.join()  # a running command finishes (or times out) on its own
        finally:
            cancel.set()
            if load.threads and not load.stop.is_set():
                load.finish()
            serving = server.close()
        end = index_against_database(store.url, store.index)
        ok = [i for i in ingests if i["returncode"] == 0]
        return {
            "window_s": window,
            "load": load.report(),
            "server": serving,
            "ingests": {
                "planned": len(folders),
                "run": len(ingests),
                "succeeded": len(ok),
                "releases_each": args.releases,
                "median_s": round(statistics.median([i["seconds"] for i in ingests]), 2) if ingests else None,
                "max_s": max((i["seconds"] for i in ingests), default=None),
                "runs": ingests,
            },
            "reindex": reindex,
            "end": end,
        }

    def _suppliers(self) -> list[int]:
        from sqlalchemy import text

        engine = _engine(self.store.url)
        try:
            with engine.connect() as connection:
                return list(connection.scalars(text("SELECT DISTINCT party_id FROM award_supplier LIMIT 3000")))
        finally:
            engine.dispose()

    # -- phase: kill --

    def do_kill(self) -> dict:
        self.fresh("kill")
        args = self.args
        rng = random.Random(args.seed)
        base = self.results["base"]
        # One whole ingest first, timed on the quiet machine, sets the range the kill delays are drawn from; the
        # command's start-up (imports, app) is timed too, and delays begin near its end, where the work begins.
        startup = run_measured([*portal_command(), "--help"], self.store.env(), self.store.logs).seconds
        folder, _ = self.batch("kill-timed", args.releases, files=KILL_FILES)
        timed = self.ingest(folder)
        ingest_estimate = max(timed.seconds, startup + 1)
        reindex_estimate = max(base["reindex_seconds"], startup + 1)
        kills: list[dict] = []
        attempts = 0
        while len(kills) < args.kills and attempts < args.kills * 3:
            attempts += 1
            do_reindex = rng.random() < args.reindex_kill_share
            if do_reindex:
                delay = rng.uniform(startup * 0.8, reindex_estimate)
                outcome = self.reindex(kill_after=delay)
                entry: dict[str, Any] = {"kind": "reindex", "delay_s": round(delay, 2), **outcome.summary()}
                if not outcome.alive_at_kill:
                    log(f"reindex finished before its kill at {delay:.1f} s; not counted")
                    continue
                check = index_against_database(self.store.url, self.store.index)
                entry["index_after"] = {
                    k: check.get(k) for k in ("index_docs", "db_processes", "index_error", "index_queue")
                }
                entry["index_usable"] = "index_error" not in check
                entry["index_equal"] = bool(check["equal"])
            else:
                folder, _ = self.batch(f"kill-{attempts:03d}", args.releases, files=KILL_FILES)
                delay = rng.uniform(startup * 0.8, ingest_estimate)
                outcome = self.ingest(folder, kill_after=delay)
                entry = {"kind": "ingest", "batch": folder.name, "delay_s": round(delay, 2)}
                entry["killed_run"] = {"returncode": outcome.returncode, "seconds": round(outcome.seconds, 2)}
                rerun = self.ingest(folder)
                entry["rerun"] = _run_summary(rerun)
                if not outcome.alive_at_kill:
                    log(f"ingest finished before its kill at {delay:.1f} s; not counted")
                    continue
            kills.append(entry)
            log(f"kill {len(kills)}/{args.kills}: {entry['kind']} after {entry['delay_s']} s")
        drain_folder = self.store.run_dir / "batches" / "empty"
        drain_folder.mkdir(parents=True, exist_ok=True)
        drain = self.ingest(drain_folder, source="soak queue drain")
        reruns = [k["rerun"] for k in kills if k["kind"] == "ingest"]
        reindex_kills = [k for k in kills if k["kind"] == "reindex"]
        return {
            "startup_s": round(startup, 2),
            "timed_ingest": _run_summary(timed),
            "ingest_runs_by_status": ingest_runs_by_status(self.store.url),
            "kills": len(kills),
            "attempts": attempts,
            "ingest_kills": len(reruns),
            "reindex_kills": len(reindex_kills),
            "reruns_succeeded": sum(1 for r in reruns if r["returncode"] == 0),
            "index_usable_after_reindex_kill": sum(1 for k in reindex_kills if k["index_usable"]),
            "index_equal_after_reindex_kill": sum(1 for k in reindex_kills if k["index_equal"]),
            "drain": _run_summary(drain),
            "releases": release_integrity(self.store.url, base["releases"], self.expected),
            "end": index_against_database(self.store.url, self.store.index),
            "runs": kills,
        }

    # -- phase: bad inputs --

    def do_bad(self) -> dict:
        assert self.batches is not None
        self.fresh("bad")
        trials = []
        kinds = self.args.bad or list(BAD_INPUTS)
        for kind in [*kinds, "all at once"] if len(kinds) > 1 else kinds:
            folder = self.store.run_dir / "bad" / kind.replace(" ", "-")
            name = f"bad-{kind.replace(' ', '-')}"
            good: set[Key] = set()
            for side in ("a", "z"):
                keys, _ = self.batches.write(folder / f"{side}-good.jsonl.gz", f"{name}-{side}", BAD_GOOD_RELEASES)
                good |= keys
            if kind == "all at once":
                described = ", ".join(kinds)
                for each in kinds:
                    write_bad(folder / "m", each, self.batches, bomb_mb=self.args.bomb_mb)
            else:
                described = write_bad(folder, kind, self.batches, bomb_mb=self.args.bomb_mb)
            log(f"bad input: {kind}")
            outcome = run_measured(
                [*portal_command(), "ingest", str(folder), "--source", f"soak {name}"],
                self.store.env(),
                self.store.logs,
                timeout=self.args.bad_timeout,
                rss_cap_mb=self.args.rss_cap_mb,
            )
            self.expected |= good
            found, rows = keys_present(self.store.url, good)
            errors = [ln for ln in outcome.stderr.splitlines() if ln.startswith("error:")]
            trials.append(
                {
                    "input": kind,
                    "described": described,
                    "returncode": outcome.returncode,
                    "seconds": round(outcome.seconds, 1),
                    "peak_rss_mb": round(outcome.peak_rss_mb, 1),
                    "killed": outcome.killed,
                    "traceback": outcome.traceback,
                    "good_expected": len(good),
                    "good_found": found,
                    "good_lost": len(good) - found,
                    "good_duplicated": rows - found,
                    "reported_errors": [e[:300] for e in errors[:5]],
                    "stdout_tail": outcome.stdout[-400:],
                    "aborted": "Aborted!" in outcome.stderr,
                    "stderr_tail": outcome.stderr[-800:],
                }
            )
            shutil.rmtree(folder, ignore_errors=True)  # the bomb is 5 MB; the rest is small
        return {"trials": trials}

    # -- all of it --

    def run(self) -> dict:
        self.phase("base", self.do_base)
        if "harness_error" in self.results["base"]:
            return self.results
        for name in PHASES:
            if name in self.args.phases:
                self.phase(name, getattr(self, f"do_{name}"))
        return self.results


# -- the report -----------------------------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


Row = tuple[str, str, str, bool | None]  # measure, value, target, met (None: no target)


def _soak_rows(s: dict) -> list[Row]:
    if "harness_error" in s:
        return [("soak", "harness error: " + s["harness_error"].strip().splitlines()[-1], "", None)]
    load, ingests, reindex, end, server = s["load"], s["ingests"], s["reindex"], s["end"], s["server"]
    minutes = s["window_s"] / 60
    rows: list[Row] = [
        (
            f"load: {load['concurrency']} clients, {minutes:g} min (ran {load['seconds']} s)",
            f"{load['requests']:,} requests, {load['requests_per_s']} req/s; statuses {load['statuses']}",
            "",
            None,
        ),
        ("responses 5xx", f"{load['server_errors_5xx']:,}", "0", load["server_errors_5xx"] == 0),
        (
            "connection errors",
            f"{load['connection_errors']:,} {load['errors_by_type'] or ''} ({load['reconnects']} idle reconnects)",
            "0",
            load["connection_errors"] == 0,
        ),
        (
            "found in search, missing on its page",
            f"{load['found_in_search_missing_on_page']:,} of {load['found_in_search_checked']:,} checked",
            "0",
            load["found_in_search_missing_on_page"] == 0,
        ),
        ("latency, all requests", f"p50 {load['p50_ms']} / p95 {load['p95_ms']} / p99 {load['p99_ms']} ms", "", None),
    ]
    for name, k in load["kinds"].items():
        rows.append(
            (f"latency: {name}", f"{k['requests']:,} requests, p50 {k['p50_ms']} / p95 {k['p95_ms']} ms", "", None)
        )
    rows.append(
        (
            f"ingests of {ingests['releases_each']:,} releases under load",
            f"{ingests['succeeded']} of {ingests['planned']} succeeded ({ingests['run']} run); "
            f"median {ingests['median_s']} s, longest {ingests['max_s'] and round(ingests['max_s'], 1)} s",
            f"all {ingests['planned']}",
            ingests["succeeded"] == ingests["planned"],
        )
    )
    if reindex:
        rows.append(
            (
                "portal reindex under load",
                f"exit {reindex.get('returncode')}, {reindex.get('seconds')} s, "
                f"from {reindex.get('started_at_s')} s to {reindex.get('finished_at_s')} s",
                "swaps in",
                reindex.get("returncode") == 0,
            )
        )
    rows.append(_index_row("index = database at the end", end))
    rows.append(
        (
            "server workers",
            f"peak RSS {server['worker_peak_rss_mb']} MB; {server['workers_seen']} worker processes seen; "
            f"{server['tracebacks_logged']} tracebacks, {server['worker_timeouts_logged']} worker timeouts logged",
            "",
            None,
        )
    )
    return rows


def _index_row(measure: str, end: dict) -> Row:
    value = f"index {end['index_docs']:,}, database {end['db_processes']:,}"
    details = []
    for key, label in (
        ("missing_in_index", "missing from index"),
        ("extra_in_index", "only in index"),
        ("duplicated_in_index", "duplicated in index"),
        ("index_queue", "still queued"),
    ):
        if end.get(key):
            details.append(f"{end[key]:,} {label}")
    if end.get("index_error"):
        details.append(end["index_error"])
    return (measure, value + (f" ({'; '.join(details)})" if details else ""), "equal", bool(end["equal"]))


def _kill_rows(k: dict) -> list[Row]:
    if "harness_error" in k:
        return [("kill", "harness error: " + k["harness_error"].strip().splitlines()[-1], "", None)]
    r = k["releases"]
    rows: list[Row] = [
        (
            "kill -9 at random points",
            f"{k['kills']} ({k['ingest_kills']} ingests, {k['reindex_kills']} reindexes; {k['attempts']} attempts); "
            f"a whole ingest took {k['timed_ingest']['seconds']} s, start-up {k['startup_s']} s; "
            f"ingest runs by status {k['ingest_runs_by_status']}",
            "",
            None,
        ),
        (
            "killed ingests run again",
            f"{k['reruns_succeeded']} of {k['ingest_kills']} succeeded",
            "all",
            k["reruns_succeeded"] == k["ingest_kills"],
        ),
    ]
    if k["reindex_kills"]:
        rows.append(
            (
                "index opens after a killed reindex",
                f"{k['index_usable_after_reindex_kill']} of {k['reindex_kills']} "
                f"({k['index_equal_after_reindex_kill']} holding exactly the database's processes)",
                "all",
                k["index_usable_after_reindex_kill"] == k["reindex_kills"],
            )
        )
    rows += [
        ("releases lost", f"{r['lost']:,} of {r['expected']:,}", "0", r["lost"] == 0),
        ("releases duplicated", f"{r['duplicated']:,} ({r['duplicated_keys']:,} keys)", "0", r["duplicated"] == 0),
        _index_row("index = database after the kills (queue drained)", k["end"]),
    ]
    return rows


def _bad_rows(b: dict) -> list[Row]:
    if "harness_error" in b:
        return [("bad inputs", "harness error: " + b["harness_error"].strip().splitlines()[-1], "", None)]
    rows: list[Row] = []
    for t in b["trials"]:
        how = f"exit {t['returncode']}"
        if t["killed"]:
            how = f"killed at the {t['killed']}"
        elif t["traceback"]:
            how += ", traceback"
        elif t.get("aborted"):
            how += ", aborted"
        elif t["reported_errors"]:
            how += ", reported"
        value = (
            f"peak RSS {t['peak_rss_mb']} MB, {how}, {t['seconds']} s; good releases {t['good_found']} of "
            f"{t['good_expected']}"
        )
        ok = t["peak_rss_mb"] < MEMORY_TARGET_MB and not t["killed"] and t["good_lost"] == 0
        rows.append((f"bad input: {t['input']}", value, "< 1 GiB, 0 good lost", ok))
    return rows


def report_rows(results: dict) -> list[Row]:
    rows: list[Row] = []
    base = results.get("base", {})
    if "processes" in base:
        rows.append(
            (
                "base",
                f"{base['processes']:,} processes, {base['releases']:,} releases "
                f"(stored in {base['ingest_seconds']} s, indexed in {base['reindex_seconds']} s)",
                "",
                None,
            )
        )
    elif "harness_error" in base:
        rows.append(("base", "harness error: " + base["harness_error"].strip().splitlines()[-1], "", None))
    if "soak" in results:
        rows += _soak_rows(results["soak"])
    if "kill" in results:
        rows += _kill_rows(results["kill"])
    if "bad" in results:
        rows += _bad_rows(results["bad"])
    return rows


def table(rows: list[Row]) -> str:
    lines = ["| measure | value | target | verdict |", "|---|---|---|---|"]
    for measure, value, target, ok in rows:
        cells = [measure, value, target, "" if ok is None else _verdict(ok)]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def base_ingest(corpus: str) -> int:
    """The base corpus stored through the portal's own ingest function (a hidden child command): `portal ingest`
    would also index it process by process, and a full `portal reindex` follows anyway."""
    from ingest.runner import run_ingest
    from portal.database import make_session_factory, upgrade_database

    url = os.environ["PORTAL_DATABASE_URL"]
    upgrade_database(url)
    result = run_ingest(make_session_factory(_engine(url)), corpus, source_name="bench corpus")
    print(f"run {result.run_id} {result.status}: {result.counts.releases_seen} releases read")
    return 1 if result.errors else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=100_000, help="base corpus size")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--minutes", type=float, default=10, help="length of the load")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--ingests", type=int, default=50, help="ingests run during the load")
    parser.add_argument("--releases", type=int, default=1000, help="new releases per ingest")
    parser.add_argument(
        "--reindex-at",
        type=float,
        default=0.3,
        help="when the reindex starts, as a share of the window (negative: none)",
    )
    parser.add_argument(
        "--overrun",
        type=float,
        default=3.0,
        help="the load lasts until the ingests and the reindex are done, but no ingest starts after this many windows",
    )
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--reindex-kill-share", type=float, default=0.2, help="share of kills aimed at a reindex")
    parser.add_argument("--bad", action="append", choices=BAD_INPUTS, help="only these bad inputs (default: all)")
    parser.add_argument("--bomb-mb", type=float, default=5.0, help="compressed size of the gzip bomb")
    parser.add_argument("--rss-cap-mb", type=float, default=2048, help="kill a bad-input ingest past this RSS")
    parser.add_argument("--bad-timeout", type=float, default=600)
    parser.add_argument("--phases", default=",".join(PHASES), help="which of soak,kill,bad to run")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--worker-timeout", type=int, default=30, help="gunicorn --timeout (its default)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a figure misses its target")
    parser.add_argument(
        "--drop-databases", action="store_true", help="drop the PostgreSQL databases made by this run when it ends"
    )
    parser.add_argument("--base-ingest", metavar="CORPUS", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.base_ingest:
        return base_ingest(args.base_ingest)
    args.phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = set(args.phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")

    soak = Soak(args)
    started = time.perf_counter()
    results = soak.run()
    settings = {
        k: (str(v) if isinstance(v, Path) else v)
        for k, v in vars(args).items()
        if k not in ("base_ingest", "out", "results")
    }
    rows = report_rows(results)
    info = machine()
    now = datetime.now(timezone.utc)
    header = (
        f"Soak at {args.processes:,} processes, {args.database} · commit {commit()} · {now:%Y-%m-%d %H:%M} UTC"
        f"\n\nMachine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, "
        f"Python {info['python']}, SQLite {info['sqlite']}. gunicorn {args.workers} workers x {args.threads} threads; "
        f"the load client, the ingests and the server share the machine's cores."
    )
    text = f"{header}\n\n{table(rows)}\n"
    print(text)
    missed = [measure for measure, _, _, ok in rows if ok is False]
    args.results.mkdir(parents=True, exist_ok=True)
    name = f"soak-{args.processes}-{args.database}"
    (args.results / f"{name}.md").write_text(text)
    document = {
        "processes": args.processes,
        "database": args.database,
        "commit": commit(),
        "date": now.isoformat(),
        "machine": info,
        "settings": settings,
        "wall_s": round(time.perf_counter() - started, 1),
        "missed": missed,
        "harness_errors": soak.errors,
        "phases": results,
    }
    (args.results / f"{name}.json").write_text(json.dumps(document, indent=2, default=str))
    log(f"saved {args.results / name}.md and .json; {len(missed)} targets missed")
    if args.drop_databases:
        try:
            soak.store.drop_databases()
        except Exception as error:
            log(f"could not drop the databases: {error}")
            return 2
    if soak.errors:
        return 2
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
