"""The benchmark: `python -m bench.run --processes N` (or `make bench N=...`).

Runs the portal's real code paths end to end on a synthetic corpus and prints a markdown table, saved with
the machine, commit and date under bench/results/. Each stage's result is kept in bench/out/nN/state.json
and a stage that has finished is not run again (pass --fresh, or --redo STAGE), so a long run can be
interrupted and resumed. Stages that load data run in a child process, so that their peak memory is their own.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench import endpoint, tabular

ROOT = Path(__file__).resolve().parents[1]
STAGES = (
    "corpus",
    "ingest_sqlite",
    "raw_sqlite",
    "ingest_postgres",
    "raw_postgres",
    "reindex",
    "fts5",
    "search",
    "facets",
    "stems",
    "pages",
    "export",
    "incremental",
    "vendors",
    "flags",
    "comparison",
    "tabular",
    "endpoint",
)
POSTGRES_ADMIN = os.environ.get("BENCH_POSTGRES_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
INCREMENTAL_RELEASES = 1_000
VENDOR_PAGE_REQUESTS = 200  # vendor pages and comparisons, each timed in the process (no HTTP, no other load)
COMPARISON_REQUESTS = 40
FLAGS_CHANGED = 1_000  # processes an incremental flag update starts from (with those sharing a buyer or supplier)
PAGE_REQUESTS = {1: 200, 8: 400}  # per page kind and concurrency: bounded, so the load stops by itself
QUICK_PAGE_REQUESTS = {1: 20, 8: 40}
FACET_CLASSES = ("common word", "2-3 words AND", "supplier name")  # query classes searched with facet counts
STEM_CLASSES = ("common word", "rare word", "2-3 words AND", "phrase", "supplier name")
STEM_ROUNDS = 3  # each query searched this many times both ways, alternately, so both see the same load
EXPORT_ROWS = 100_000  # rows read from the CSV export (then the connection is closed)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


class Bench:
    def __init__(self, processes: int, out: Path, quick: bool, procs: int):
        self.n = processes
        self.dir = out / f"n{processes}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.corpus = self.dir / "corpus"
        self.sqlite_url = f"sqlite:///{self.dir / 'portal.sqlite'}"
        self.postgres_db = os.environ.get("BENCH_POSTGRES_DB", f"portal_bench_{processes}")
        self.postgres_url = POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{self.postgres_db}"
        self.index_dir = self.dir / "index"
        self.fts_path = self.dir / "fts.sqlite"
        self.quick = quick
        self.procs = procs
        self.state_path = self.dir / "state.json"
        self.state = json.loads(self.state_path.read_text()) if self.state_path.exists() else {}

    def save(self) -> None:
        self.state_path.write_text(json.dumps(self.state, indent=2))

    # -- stages run in a child process ----------------------------------------------------------------------

    def in_child(self, stage: str) -> dict:
        """Run one stage in a child process; its result carries the child's own peak RSS (VmHWM, read by the
        child itself: `ru_maxrss` from wait4 would carry this parent's peak over the fork and exec)."""
        result_file = self.dir / f"{stage}.result.json"
        result_file.unlink(missing_ok=True)
        command = [sys.executable, "-m", "bench.run", "--processes", str(self.n), "--out", str(self.dir.parent)]
        command += ["--procs", str(self.procs), "--child", stage] + (["--quick"] if self.quick else [])
        status = subprocess.call(command, cwd=ROOT)
        if status != 0 or not result_file.exists():
            raise SystemExit(f"stage {stage} failed (exit status {status})")
        return json.loads(result_file.read_text())

    def child(self, stage: str) -> None:
        import resource

        result = getattr(self, f"do_{stage}")()
        result["peak_rss_mb"] = _peak_rss_mb("self")
        # Processes the stage started (the index build's writers), the largest of them; 0 when there were none.
        result["children_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
        (self.dir / f"{stage}.result.json").write_text(json.dumps(result))

    def sessions(self, url: str):
        from portal.database import make_engine, make_session_factory

        return make_session_factory(make_engine(url))

    def fresh_postgres(self) -> None:
        from sqlalchemy import create_engine, text

        admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.postgres_db}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{self.postgres_db}"'))
        admin.dispose()

    def ingest(self, url: str) -> dict:
        from ingest.runner import run_ingest
        from portal.database import upgrade_database

        upgrade_database(url)
        started = time.perf_counter()
        result = run_ingest(self.sessions(url), str(self.corpus), source_name="bench corpus")
        seconds = time.perf_counter() - started
        counts = result.counts
        return {
            "status": result.status,
            "releases": counts.releases_seen,
            "releases_new": counts.releases_new,
            "processes_compiled": counts.processes_compiled,
            "seconds": round(seconds, 1),
            "releases_per_s": round(counts.releases_seen / seconds, 1),
        }

    def do_ingest_sqlite(self) -> dict:
        for suffix in ("", "-wal", "-shm"):
            Path(str(self.dir / "portal.sqlite") + suffix).unlink(missing_ok=True)
        return self.ingest(self.sqlite_url)

    def do_ingest_postgres(self) -> dict:
        self.fresh_postgres()
        return self.ingest(self.postgres_url)

    def raw(self, url: str) -> dict:
        from bench.reference import raw_insert
        from portal.database import make_engine

        return raw_insert(make_engine(url), self.corpus)

    def do_raw_sqlite(self) -> dict:
        return self.raw(self.sqlite_url)

    def do_raw_postgres(self) -> dict:
        return self.raw(self.postgres_url)

    def do_reindex(self) -> dict:
        import resource

        from search_index.indexer import rebuild

        def cpu() -> float:  # this process's and its finished writer processes' CPU seconds
            return sum(
                usage.ru_utime + usage.ru_stime
                for usage in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
            )

        started, cpu_started = time.perf_counter(), cpu()
        count = rebuild(self.sessions(self.sqlite_url), self.index_dir, procs=self.procs)
        seconds = time.perf_counter() - started
        size = sum(f.stat().st_size for f in self.index_dir.iterdir())
        return {
            "documents": count,
            "seconds": round(seconds, 1),
            "cpu_seconds": round(cpu() - cpu_started, 1),
            "bytes": size,
            "procs": self.procs,
        }

    def do_fts5(self) -> dict:
        from bench.reference import build_fts

        return build_fts(self.sessions(self.sqlite_url), self.fts_path)

    def do_incremental(self) -> dict:
        """1,000 new releases (amendments of existing processes) into the full database and index."""
        import gzip
        import random

        from sqlalchemy import func, select

        from ingest.runner import run_ingest
        from portal.models import Process
        from search_index.indexer import apply_queue

        sessions = self.sessions(self.sqlite_url)
        with sessions() as session:
            total = session.scalar(select(func.count()).select_from(Process))
            rng = random.Random(11)
            wanted = sorted(rng.sample(range(1, total + 1), min(INCREMENTAL_RELEASES, total)))
            rows = session.execute(select(Process.ocid, Process.value_currency).where(Process.id.in_(wanted))).all()
        stamp = int(time.time())  # new ids and amounts each time, so that a repeated stage still changes processes
        folder = self.dir / "incremental"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        with gzip.open(folder / "amendments.jsonl.gz", "wt", encoding="utf-8") as out:
            for i, (ocid, currency) in enumerate(rows):
                release = {
                    "ocid": ocid,
                    "id": f"{ocid}-bench-amendment-{stamp}",
                    "date": "2025-06-01T12:00:00Z",
                    "tag": ["contractAmendment"],
                    "initiationType": "tender",
                    "contracts": [
                        {
                            "id": f"{ocid}-c-extra",
                            "status": "active",
                            "value": {"amount": stamp % 1_000_000 + i, "currency": currency or "CAD"},
                            "amendments": [{"id": "1", "date": "2025-06-01T12:00:00Z", "rationale": "Extension"}],
                        }
                    ],
                }
                out.write(json.dumps(release) + "\n")
        started = time.perf_counter()
        result = run_ingest(sessions, str(folder), source_name="bench incremental")
        stored = time.perf_counter() - started
        started = time.perf_counter()
        indexed = apply_queue(sessions, self.index_dir)
        index_seconds = time.perf_counter() - started
        return {
            "releases": result.counts.releases_seen,
            "store_seconds": round(stored, 2),
            "indexed": indexed,
            "index_seconds": round(index_seconds, 2),
            "index_updates_per_s": round(indexed / index_seconds, 1) if index_seconds else None,
            "total_seconds": round(stored + index_seconds, 2),
        }

    def do_vendors(self) -> dict:
        """Entity resolution of every party, then incremental resolution after 1,000 releases with new parties
        (the pages and comparisons of the entities are the `comparison` stage)."""
        import gzip
        import random

        from sqlalchemy import func, select

        from ingest.runner import run_ingest
        from portal.database import upgrade_database
        from portal.domain.vendors import resolve_all
        from portal.models import Party, Vendor

        upgrade_database(self.sqlite_url)
        sessions = self.sessions(self.sqlite_url)
        started = time.perf_counter()
        with sessions.begin() as session:
            reports = resolve_all(session)
        full_seconds = time.perf_counter() - started
        parties = sum(r.parties for r in reports)
        with sessions() as session:
            vendors = session.scalar(select(func.count()).select_from(Vendor).where(Vendor.merged_into_id.is_(None)))

        # 1,000 releases naming new suppliers: a third new spellings of known ones, the rest new companies.
        with sessions() as session:
            known = list(session.scalars(select(Party.name).order_by(Party.id).limit(3000)))
        rng = random.Random(5)
        stamp = int(time.time())
        folder = self.dir / "vendors-incremental"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        with gzip.open(folder / "new-suppliers.jsonl.gz", "wt", encoding="utf-8") as out:
            for i in range(INCREMENTAL_RELEASES):
                name = rng.choice(known).upper() if i % 3 == 0 else f"Bench Supplier {stamp} {i} Inc."
                ocid = f"ocds-bench-vendors-{stamp}-{i}"
                supplier = {"id": f"new-{i}", "name": name}
                out.write(
                    json.dumps(
                        {
                            "ocid": ocid,
                            "id": "1",
                            "date": "2025-06-01T12:00:00Z",
                            "tag": ["award"],
                            "initiationType": "tender",
                            "parties": [{**supplier, "roles": ["supplier"]}],
                            "awards": [
                                {
                                    "id": "1",
                                    "status": "active",
                                    "value": {"amount": 1000 + i, "currency": "CAD"},
                                    "suppliers": [supplier],
                                }
                            ],
                        }
                    )
                    + "\n"
                )
        run_ingest(sessions, str(folder), source_name="bench vendors")
        started = time.perf_counter()
        with sessions.begin() as session:
            incremental = resolve_all(session, incremental=True)
        incremental_seconds = time.perf_counter() - started

        return {
            "parties": parties,
            "vendors": vendors,
            "merged_parties": sum(r.merged_parties for r in reports),
            "reviews": sum(r.reviews for r in reports),
            "full_seconds": round(full_seconds, 1),
            "incremental_releases": INCREMENTAL_RELEASES,
            "incremental_parties": sum(r.parties for r in incremental),
            "incremental_seconds": round(incremental_seconds, 2),
        }

    def do_comparison(self) -> dict:
        """Vendor pages and 6-vendor comparisons (after the `vendors` stage resolved the parties), beside a plain
        SQL GROUP BY of the same 6 vendors' awards, timed in this process through the test client. The pages are
        timed twice: computed from every award (no stored totals), then from the totals refreshed by ingest
        (after computing them for every entity, as `portal vendors totals` does)."""
        from sqlalchemy import delete, func, select, text

        from portal.app import create_app
        from portal.database import upgrade_database
        from portal.domain.entity_flags import refresh_entity_flags
        from portal.domain.vendor_figures import refresh_totals
        from portal.models import AwardSupplier, VendorFlagTotal, VendorParty, VendorTotal, VendorYearTotal
        from portal.vocabulary import EntityKind

        upgrade_database(self.sqlite_url)

        sessions = self.sessions(self.sqlite_url)
        with sessions() as session:
            ranked = session.execute(
                select(VendorParty.vendor_id, func.count())
                .join(AwardSupplier, AwardSupplier.party_id == VendorParty.party_id)
                .where(VendorParty.kind == "supplier")
                .group_by(VendorParty.vendor_id)
                .order_by(func.count().desc())
            ).all()
        if not ranked:
            raise SystemExit("no vendors: run the vendors stage first")
        top = [v for v, _ in ranked[:6]]
        wanted = VENDOR_PAGE_REQUESTS // 5 if self.quick else VENDOR_PAGE_REQUESTS
        sample = [v for v, _ in ranked[:: max(1, len(ranked) // wanted)]][:wanted]
        # Pages asked in process by the test client: no session crosses workers, so no secret key is needed.
        app = create_app({"DATABASE_URL": self.sqlite_url, "INDEX_DIR": str(self.index_dir), "COMMAND_LINE": True})
        client = app.test_client()
        with sessions.begin() as session:
            session.execute(delete(VendorYearTotal))
            session.execute(delete(VendorTotal))
            session.execute(delete(VendorFlagTotal))
        computed = _timed(client, [f"/vendor/{v}" for v in [*top, *sample]])
        computed_top = _timed(client, [f"/vendor/{v}" for v in top])
        query = "&".join(f"vendor={v}" for v in top)
        repeats = COMPARISON_REQUESTS // 4 if self.quick else COMPARISON_REQUESTS
        comparisons_computed = _timed(client, [f"/compare?{query}"] * max(2, repeats // 4))
        started = time.perf_counter()
        with sessions.begin() as session:
            refreshed = sum(refresh_totals(session, kind=kind) for kind in (EntityKind.SUPPLIER, EntityKind.BUYER))
        refresh_seconds = time.perf_counter() - started
        started = time.perf_counter()
        with sessions.begin() as session:  # the pages' red-flag counts (as after a computation of the flags)
            flag_counts = refresh_entity_flags(session)
        flag_counts_seconds = time.perf_counter() - started
        started = time.perf_counter()
        with sessions.begin() as session:  # what a load touching the largest vendor adds to it
            refresh_totals(session, kind=EntityKind.SUPPLIER, vendor_ids=top[:1])
        refresh_largest_seconds = time.perf_counter() - started
        pages = _timed(client, [f"/vendor/{v}" for v in [*top, *sample]])
        top_pages = _timed(client, [f"/vendor/{v}" for v in top])
        comparisons = _timed(client, [f"/compare?{query}"] * repeats)
        reference_sql = text(
            "SELECT vp.vendor_id, a.value_currency, SUM(a.value_units), COUNT(*) FROM award_supplier s "
            "JOIN vendor_party vp ON vp.party_id = s.party_id AND vp.kind = 'supplier' "
            "JOIN award a ON a.id = s.award_id WHERE vp.vendor_id IN ({}) "
            "GROUP BY vp.vendor_id, a.value_currency".format(",".join(str(int(v)) for v in top))
        )
        timings = []
        with sessions() as session:
            for _ in range(repeats):
                begun = time.perf_counter()
                session.execute(reference_sql).all()
                timings.append((time.perf_counter() - begun) * 1000)
        return {
            "vendors_with_awards": len(ranked),
            "top_vendor_awards": ranked[0][1],
            "top_6_awards": sum(n for _, n in ranked[:6]),
            "vendor_page_computed": computed,
            "vendor_page_computed_top_6": computed_top,
            "totals_refreshed": refreshed,
            "totals_refresh_seconds": round(refresh_seconds, 1),
            "totals_refresh_largest_seconds": round(refresh_largest_seconds, 2),
            "flag_counts_refreshed": flag_counts,
            "flag_counts_refresh_seconds": round(flag_counts_seconds, 1),
            "vendor_page": pages,
            "vendor_page_top_6": top_pages,
            "comparison_6": comparisons,
            "comparison_6_computed": comparisons_computed,
            "group_by_reference": {f"p{q}_ms": round(percentile(timings, q), 2) for q in (50, 95)},
        }

    def do_flags(self) -> dict:
        """Every red-flag indicator over every process of the SQLite database (entities resolved first if the
        vendors stage has not run), then an incremental update from FLAGS_CHANGED processes."""
        from sqlalchemy import func, select

        from portal.database import upgrade_database
        from portal.domain.entity_flags import refresh_entity_flags
        from portal.domain.redflags import recompute_flags
        from portal.domain.vendors import resolve_all
        from portal.models import Process, VendorParty

        upgrade_database(self.sqlite_url)
        sessions = self.sessions(self.sqlite_url)
        with sessions.begin() as session:
            if not session.scalar(select(func.count()).select_from(VendorParty)):
                resolve_all(session)
        started = time.perf_counter()
        with sessions.begin() as session:
            full = recompute_flags(session)
        full_seconds = time.perf_counter() - started
        started = time.perf_counter()
        with sessions.begin() as session:  # as `portal flags recompute` does after it
            entities = refresh_entity_flags(session)
        entities_seconds = time.perf_counter() - started
        with sessions() as session:
            changed = list(session.scalars(select(Process.id).order_by(Process.id.desc()).limit(FLAGS_CHANGED)))
        started = time.perf_counter()
        with sessions.begin() as session:
            incremental = recompute_flags(session, changed=changed)
        incremental_seconds = time.perf_counter() - started
        started = time.perf_counter()
        with sessions.begin() as session:  # as every load does after its update
            incremental_entities = refresh_entity_flags(session, process_ids=incremental.written_ids)
        incremental_entities_seconds = time.perf_counter() - started
        return {
            "processes": full.processes,
            "full_seconds": round(full_seconds, 1),
            "load_seconds": full.seconds["load"],
            "write_seconds": full.seconds["write"],
            "indicator_seconds": {code: full.seconds[code] for code in full.fired},
            "fired": full.fired,
            "incremental_changed": len(changed),
            "incremental_written": incremental.written,
            "incremental_read": incremental.read,
            "incremental_rows": incremental.rows,
            "incremental_seconds": round(incremental_seconds, 1),
            "entity_counts": entities,
            "entity_counts_seconds": round(entities_seconds, 1),
            "incremental_entity_counts": incremental_entities,
            "incremental_entity_counts_seconds": round(incremental_entities_seconds, 1),
        }

    # -- stages run in this process --------------------------------------------------------------------------

    def do_tabular(self) -> dict:
        """A register of as many rows as processes (bench/tabular.py; each of its stages in a child process)."""
        return tabular.measure(self.n, self.dir / "tabular")

    def do_endpoint(self) -> dict:
        """As many rows as processes served as a Socrata endpoint on 127.0.0.1 and loaded (bench/endpoint.py)."""
        return endpoint.measure(self.n, self.dir / "endpoint")

    def do_corpus(self) -> dict:
        from bench.generate import generate

        started = time.perf_counter()
        summary = generate(self.n, self.corpus)
        return {
            "processes": summary["processes"],
            "releases": summary["releases"],
            "files": len(summary["files"]),
            "seconds": round(time.perf_counter() - started, 1),
            "bytes": sum(f.stat().st_size for f in self.corpus.glob("*.jsonl.gz")),
        }

    def engines(self, fts: bool = True) -> tuple[Any, Any]:
        """The Whoosh index and the FTS5 reference, both files read once first, so that neither engine's figures
        include disk reads (the 1M database written just before can push either out of the page cache)."""
        from bench.reference import Fts
        from search_index.query import SearchIndex

        for path in [*self.index_dir.iterdir(), *([self.fts_path] if fts else [])]:
            with path.open("rb") as file:
                while file.read(1 << 24):
                    pass
        return SearchIndex(self.index_dir), Fts(self.fts_path) if fts else None

    def do_search(self) -> dict:
        from bench.queries import query_classes
        from search_index.query import search_processes

        index, fts = self.engines()
        classes = query_classes(index.searcher(), per_class=10 if self.quick else 40)
        report: dict[str, dict[str, Any]] = {}
        for name, queries in classes.items():
            timings: dict[str, list[float]] = {"whoosh": [], "fts5": []}
            totals = []
            for query in queries[:3]:  # warm caches the way a running server would have them
                search_processes(index, q=query.q, sort=query.sort, page=query.page, filters=query.filters)
                fts.search(
                    query.fts, order=query.fts_order, page=query.page, where=query.fts_where, params=query.fts_params
                )
            for query in queries:
                started = time.perf_counter()
                page = search_processes(index, q=query.q, sort=query.sort, page=query.page, filters=query.filters)
                timings["whoosh"].append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                fts_total = fts.search(
                    query.fts, order=query.fts_order, page=query.page, where=query.fts_where, params=query.fts_params
                )
                timings["fts5"].append((time.perf_counter() - started) * 1000)
                totals.append((page.total, fts_total))
            report[name] = {
                engine: {f"p{q}": round(percentile(ms, q), 2) for q in (50, 95, 99)} for engine, ms in timings.items()
            }
            report[name]["ratio_p95"] = round(report[name]["whoosh"]["p95"] / max(report[name]["fts5"]["p95"], 0.01), 2)
            report[name]["median_hits"] = statistics.median(t for t, _ in totals)
            report[name]["example"] = queries[0].q
        return report

    def do_facets(self) -> dict:
        """Searches with every facet counted over all their results, as the search page asks for them, beside the
        same searches without facets and FTS5's page plus one GROUP BY per facet over the same matches.

        Measured as the stems are: `first`, each query's first search with and without facets, the posting
        cache emptied before each (what a query no one asked since the last update costs: its posting lists
        read from the index files); then each query searched once and rounds of both ways in turn (a reader
        paging through its results), which goes first swapped from one query and round to the next, so that
        the difference is the facet counts alone."""
        from bench.queries import query_classes
        from portal.public.views import FACET_LIMIT
        from search_index.query import search_processes

        index, fts = self.engines()
        classes = query_classes(index.searcher(), per_class=10 if self.quick else 40)
        rounds = 1 if self.quick else STEM_ROUNDS
        report: dict[str, Any] = {"facet_values_shown": FACET_LIMIT, "rounds": rounds}

        def search(query: str, facets: bool) -> tuple[float, int]:
            started = time.perf_counter()
            found = search_processes(index, q=query, facets=FACET_LIMIT if facets else 0)
            return (time.perf_counter() - started) * 1000, found.total

        for name in FACET_CLASSES:
            queries = classes[name]
            for query in queries[:3]:  # the facet arrays and field lengths, read once per index version
                search(query.q, True)
                fts.search(query.fts)
                fts.facet_counts(query.fts, FACET_LIMIT)
            timings: dict[str, list[float]] = {"whoosh": [], "whoosh_no_facets": [], "fts5": []}
            first: dict[str, list[float]] = {"whoosh": [], "whoosh_no_facets": []}
            totals, fts_totals = [], []
            for i, query in enumerate(queries):
                for facets in (True, False) if i % 2 == 0 else (False, True):
                    _forget_postings(index)
                    first["whoosh" if facets else "whoosh_no_facets"].append(search(query.q, facets)[0])
            for i, query in enumerate(queries):
                totals.append(search(query.q, True)[1])
                search(query.q, False)
                for round_ in range(rounds):
                    for facets in (True, False) if (round_ + i) % 2 == 0 else (False, True):
                        timings["whoosh" if facets else "whoosh_no_facets"].append(search(query.q, facets)[0])
            for query in queries:
                started = time.perf_counter()
                fts_totals.append(fts.search(query.fts))
                fts.facet_counts(query.fts, FACET_LIMIT)
                timings["fts5"].append((time.perf_counter() - started) * 1000)
            report[name] = {
                engine: {f"p{q}": round(percentile(ms, q), 2) for q in (50, 95, 99)} for engine, ms in timings.items()
            }
            report[name]["first"] = {
                engine: {f"p{q}": round(percentile(ms, q), 2) for q in (50, 95, 99)} for engine, ms in first.items()
            }
            report[name]["ratio_p95"] = round(report[name]["whoosh"]["p95"] / max(report[name]["fts5"]["p95"], 0.01), 2)
            report[name]["median_hits"] = statistics.median(totals)
            # FTS5 matches words as written, the portal also by their stems: its matches are a few more.
            report[name]["median_hits_fts5"] = statistics.median(fts_totals)
        return report

    def do_stems(self) -> dict:
        """The same queries on the same index with their words also looked up by their stems (as the portal
        searches) and without (each word only as written), in this process, measured two ways:

        - warm: each query searched once both ways, then STEM_ROUNDS rounds of both ways in turn (a reader
          paging through its results), which of the two goes first swapped from one query to the next and from
          one round to the next. The second of two searches in a row is faster (its arrays are in the
          processor's caches), and a word's first search reads its posting lists, which the other way then finds
          in memory: with the stemmed search always first, both counted against it. Each query's rounds follow
          its warm-up: at a million documents 40 common words' lists outgrow the posting cache, so rounds over
          all the queries in turn measured cold reads again.
        - `first`: each distinct query's first search, the posting cache emptied before every search either
          way, so that each reads its own posting lists from the index files (in the page cache: read once
          before); the field lengths and columns, read once per index version, are kept.
        """
        from bench.queries import query_classes
        from search_index.query import search_processes

        index, _ = self.engines(fts=False)
        classes = query_classes(index.searcher(), per_class=10 if self.quick else 40)
        rounds = 1 if self.quick else STEM_ROUNDS
        report: dict[str, Any] = {"rounds": rounds}

        def search(query: str, stems: bool) -> tuple[float, int]:
            started = time.perf_counter()
            if stems:
                page = search_processes(index, q=query)
            else:
                with _unstemmed():
                    page = search_processes(index, q=query)
            return (time.perf_counter() - started) * 1000, page.total

        for name in STEM_CLASSES:
            queries = [query.q for query in classes[name]]
            timings: dict[str, list[float]] = {"stemmed": [], "unstemmed": []}
            first: dict[str, list[float]] = {"stemmed": [], "unstemmed": []}
            totals: dict[str, list[int]] = {"stemmed": [], "unstemmed": []}
            search(queries[0], True)  # the field lengths, read once per index version
            for round_ in range(rounds):
                for i, query in enumerate(dict.fromkeys(queries)):
                    for stems in (True, False) if (round_ + i) % 2 == 0 else (False, True):
                        _forget_postings(index)
                        first["stemmed" if stems else "unstemmed"].append(search(query, stems)[0])
            for i, query in enumerate(queries):
                search(query, True)
                search(query, False)
                for round_ in range(rounds):
                    for stems in (True, False) if (round_ + i) % 2 == 0 else (False, True):
                        way = "stemmed" if stems else "unstemmed"
                        ms, total = search(query, stems)
                        timings[way].append(ms)
                        totals[way].append(total)
            report[name] = _stem_ratios(timings)
            report[name]["first"] = _stem_ratios(first)
            report[name]["median_hits"] = {way: statistics.median(t) for way, t in totals.items()}
            report[name]["example"] = queries[0]
        return report

    def do_pages(self) -> dict:
        from sqlalchemy import select

        from portal.models import AwardSupplier, Process

        sessions = self.sessions(self.sqlite_url)
        with sessions() as session:
            ocids = list(session.scalars(select(Process.ocid).order_by(Process.id).limit(5000)))[::25]
            suppliers = list(session.scalars(select(AwardSupplier.party_id).distinct().limit(5000)))[::25]
        words = [c["example"] for c in self.state.get("search", {}).values() if isinstance(c, dict)] or ["services"]
        paths = {
            "home": ["/"],
            "search": [f"/search?q={urllib.parse.quote(w)}" for w in words],
            "process": [f"/process/{o}" for o in ocids],
            "supplier": [f"/supplier/{s}" for s in suppliers],
        }
        with self.serve() as (base, server):
            # Every worker opens its searcher and computes the home figures once, as a running server has.
            for path in paths["home"] + paths["search"][:4] + paths["process"][:4]:
                _get(base + path)
                _get(base + path)
            requests = QUICK_PAGE_REQUESTS if self.quick else PAGE_REQUESTS
            report: dict = {}
            for kind, urls in paths.items():
                for concurrency, count in requests.items():
                    report[f"{kind} c={concurrency}"] = _load(base, urls, concurrency, count)
            report["server_peak_rss_mb"] = _tree_peak_rss_mb(server.pid)
            report["note"] = "load generator and server share the machine's 2 cores"
            return report

    @contextlib.contextmanager
    def serve(self) -> Iterator[tuple[str, subprocess.Popen]]:
        """The portal under gunicorn on 127.0.0.1 (2 workers of 4 threads), on the 1M database and index."""
        port = _free_port()
        env = dict(os.environ, PORTAL_DATABASE_URL=self.sqlite_url, PORTAL_INDEX_DIR=str(self.index_dir))
        env.setdefault("PORTAL_SECRET_KEY", secrets.token_hex(32))  # gunicorn's workers refuse to start without one
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                "2",
                "-k",
                "gthread",
                "--threads",
                "4",
                "-b",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                "portal.wsgi:app",
            ],
            cwd=ROOT,
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_for(base + "/index.json")
            yield base, server
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)

    def do_export(self) -> dict:
        """The CSV export of a search matching at least EXPORT_ROWS processes, through gunicorn: the rows
        received (at most EXPORT_ROWS, then the connection is closed), their rate, and the workers' peak memory
        (VmHWM) before and after. The parties are resolved into entities first, as every load does, so that
        the rows carry their buyers' and suppliers' pages; the database is brought to the current schema."""
        from portal.database import upgrade_database
        from portal.domain.vendors import resolve_all
        from search_index.query import search_processes

        upgrade_database(self.sqlite_url)
        with self.sessions(self.sqlite_url).begin() as session:
            resolve_all(session, incremental=True)
        index, _ = self.engines(fts=False)
        word = _broad_word(index, EXPORT_ROWS)
        total = search_processes(index, q=word).total
        path = f"/search.csv?q={urllib.parse.quote(word)}"
        with self.serve() as (base, server):
            for _ in range(2):  # both workers open their searcher and facet arrays first, as a running server has
                _get(base + f"/search?q={urllib.parse.quote(word)}")
            before = _worker_peaks(server.pid)
            rows, seconds, ended = _read_csv(base + path, EXPORT_ROWS)
            after = _worker_peaks(server.pid)
        return {
            "query": word,
            "matches": total,
            "limit": EXPORT_ROWS,
            "rows": rows,
            "seconds": round(seconds, 2),
            "rows_per_s": round(rows / seconds, 1) if seconds else None,
            "stream_ended": ended,  # the server ended the response (rather than EXPORT_ROWS reached)
            "worker_peak_rss_before_mb": max(before.values(), default=0),
            "worker_peak_rss_after_mb": max(after.values(), default=0),
            "worker_growth_mb": round(max((after[p] - before.get(p, 0) for p in after), default=0), 1),
        }


@contextlib.contextmanager
def _unstemmed() -> Iterator[None]:
    """Searches in this block look each word up only as written: the stem expansion is left out."""
    import search_index.query as query_module

    expand = query_module.stemmed
    query_module.stemmed = lambda searcher, query: query
    try:
        yield
    finally:
        query_module.stemmed = expand


def _forget_postings(index: Any) -> None:
    """Empty the posting lists (and unions) kept for the index's current version, as if newly opened."""
    cache = index.searcher()._portal_shared["postings"]
    with cache.lock:
        cache.terms.clear()
        cache.postings = 0


def _stem_ratios(timings: dict[str, list[float]]) -> dict[str, Any]:
    """p50 and p95 of each way, and stemmed over unstemmed at each."""
    found: dict[str, Any] = {
        way: {f"p{q}": round(percentile(ms, q), 2) for q in (50, 95)} for way, ms in timings.items()
    }
    for q in (50, 95):
        unstemmed = max(found["unstemmed"][f"p{q}"], 0.01)
        found[f"ratio_p{q}"] = round(found["stemmed"][f"p{q}"] / unstemmed, 2)
    return found


def _broad_word(index: Any, wanted: int) -> str:
    """A word of the titles found in at least `wanted` documents (the least common such word), else the most
    common one."""
    from bench.queries import WORD

    reader = index.searcher().reader()
    counts = []
    for _, term in reader.most_frequent_terms("title", 100):
        word = term.decode()
        if WORD.match(word):
            counts.append((reader.doc_frequency("text", word), word))
    enough = sorted(c for c in counts if c[0] >= wanted)
    return (enough[0] if enough else max(counts))[1]


def _read_csv(url: str, limit: int) -> tuple[int, float, bool]:
    """Rows of a CSV answer (its header not counted), read as they arrive until `limit`; the seconds from the
    request to the last row read, and whether the server ended the answer."""
    import csv
    import io

    address = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=600)
    started = time.perf_counter()
    connection.request("GET", f"{address.path}?{address.query}")
    response = connection.getresponse()
    if response.status != 200:
        raise RuntimeError(f"{url}: {response.status}")
    rows, ended = -1, True
    for _ in csv.reader(io.TextIOWrapper(response, encoding="utf-8", newline="")):
        rows += 1
        if rows >= limit:
            ended = False
            break
    seconds = time.perf_counter() - started
    connection.close()
    return max(rows, 0), seconds, ended


def _worker_peaks(pid: int) -> dict[int, float]:
    """The peak RSS (VmHWM) of each worker of a gunicorn arbiter."""
    with contextlib.suppress(OSError):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return {int(c): _peak_rss_mb(c) for c in children}
    return {}


def _peak_rss_mb(pid: int | str) -> float:
    """A process's own peak resident memory (VmHWM), in MB; 0 when it is gone."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _timed(client: Any, paths: list[str]) -> dict:
    """p50 / p95 of pages answered in this process (the first of each kind warms caches and is not counted)."""
    client.get(paths[0])
    timings = []
    for path in paths:
        started = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
    found: dict = {f"p{q}_ms": round(percentile(timings, q), 1) for q in (50, 95)}
    return found | {"requests": len(paths)}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{url}: {response.status}")
    return (time.perf_counter() - started) * 1000


def _wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            _get(url)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def _load(base: str, paths: list[str], concurrency: int, count: int) -> dict:
    """`count` requests spread over `concurrency` threads; latency percentiles and throughput. Each thread keeps
    its connection open between requests, as a browser does."""
    address = urllib.parse.urlsplit(base)
    host = address.hostname
    if host is None:
        raise ValueError(f"no host in {base!r}")
    local = threading.local()

    def get(path: str) -> float:
        for attempt in (1, 2):
            connection = getattr(local, "connection", None)
            if connection is None:
                connection = local.connection = http.client.HTTPConnection(host, address.port, timeout=60)
            started = time.perf_counter()
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
            except (http.client.RemoteDisconnected, ConnectionError):  # the server closed an idle connection
                connection.close()
                local.connection = None
                if attempt == 2:
                    raise
                continue
            if response.status != 200:
                raise RuntimeError(f"{path}: {response.status}")
            return (time.perf_counter() - started) * 1000
        raise AssertionError("unreachable")

    requested = [paths[i % len(paths)] for i in range(count)]
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = list(pool.map(get, requested))
    wall = time.perf_counter() - started
    return {
        "requests": count,
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "requests_per_s": round(count / wall, 1),
    }


def _tree_peak_rss_mb(pid: int) -> float:
    """The largest peak RSS (VmHWM) among a process and its children."""
    return max([_peak_rss_mb(pid), *_worker_peaks(pid).values()])


# -- the report -----------------------------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _store_rows(s: dict) -> list[tuple[str, str, str, str]]:
    rows = []
    for db in ("sqlite", "postgres"):
        ingest, raw = s.get(f"ingest_{db}"), s.get(f"raw_{db}")
        if not ingest:
            continue
        rate = ingest["releases_per_s"]
        value = f"{rate:,.0f} releases/s ({ingest['seconds']} s), peak RSS {ingest['peak_rss_mb']} MB"
        reference = (
            f"Core insert {raw['releases_per_s']:,.0f}/s; ratio {rate / raw['releases_per_s']:.2f}" if raw else ""
        )
        target = ""
        if db == "sqlite":
            target = f"≥ 5,000/s: {_verdict(rate >= 5000)}; RSS < 1 GiB: {_verdict(ingest['peak_rss_mb'] < 1024)}"
        rows.append((f"store path, {db} (parse, store, compile)", value, reference, target))
    return rows


def _index_rows(s: dict) -> list[tuple[str, str, str, str]]:
    rows = []
    if "reindex" in s:
        r, fts = s["reindex"], s.get("fts5")
        value = f"{r['seconds']} s, {r['bytes'] / 1e6:.0f} MB on disk, peak RSS {r['peak_rss_mb']} MB"
        if r.get("cpu_seconds"):
            value += f", {r['cpu_seconds']} CPU s in all its processes"
        if r.get("children_peak_rss_mb"):
            value += f" (writer processes: {r['children_peak_rss_mb']} MB)"
        reference = (
            f"FTS5 {fts['seconds']:.1f} s, {fts['bytes'] / 1e6:.0f} MB; ratio {r['seconds'] / fts['seconds']:.1f}"
            if fts
            else ""
        )
        rows.append(("full reindex", value, reference, f"≤ 1,400 s: {_verdict(r['seconds'] <= 1400)}"))
    if "incremental" in s:
        i = s["incremental"]
        value = f"store {i['store_seconds']} s + index {i['index_seconds']} s ({i['index_updates_per_s']} updates/s)"
        rows.append(("incremental ingest, 1,000 releases", value, "", f"≤ 30 s: {_verdict(i['total_seconds'] <= 30)}"))
    return rows


def _search_rows(s: dict) -> list[tuple[str, str, str, str]]:
    rows = []
    for name, c in s.get("search", {}).items():
        if not isinstance(c, dict):
            continue
        whoosh, fts = c["whoosh"], c["fts5"]
        ok = whoosh["p95"] <= 3 * fts["p95"] and whoosh["p95"] <= 250
        value = f"p50 {whoosh['p50']} / p95 {whoosh['p95']} / p99 {whoosh['p99']} ms"
        reference = f"FTS5 p50 {fts['p50']} / p95 {fts['p95']} ms; ratio {c['ratio_p95']}"
        rows.append((f"search: {name}", value, reference, f"≤ 3× FTS5, ≤ 250 ms: {_verdict(ok)}"))
    return rows


PAGE_TARGETS = {"process c=8": 50, "search c=8": 250}  # p95 in ms


def _page_rows(s: dict) -> list[tuple[str, str, str, str]]:
    pages = s.get("pages", {})
    rows = []
    for key, p in pages.items():
        if isinstance(p, dict):
            limit = PAGE_TARGETS.get(key)
            target = f"p95 ≤ {limit} ms: {_verdict(p['p95_ms'] <= limit)}" if limit else ""
            value = f"p50 {p['p50_ms']} / p95 {p['p95_ms']} ms, {p['requests_per_s']} req/s"
            rows.append((f"page: {key}", value, "", target))
    if pages:
        rows.append(("serving, peak RSS of a worker", f"{pages['server_peak_rss_mb']} MB", pages["note"], ""))
    return rows


def _vendor_rows(s: dict) -> list[tuple[str, str, str, str]]:
    rows = []
    v = s.get("vendors")
    if v:
        resolution = (
            f"{v['full_seconds']} s for {v['parties']:,} parties "
            f"({v['vendors']:,} entities, {v['reviews']:,} pairs for review)"
        )
        rows += [
            ("entity resolution, all parties", resolution, "", f"≤ 5 min: {_verdict(v['full_seconds'] <= 300)}"),
            (
                f"entity resolution after {v['incremental_releases']:,} releases",
                f"{v['incremental_seconds']} s ({v['incremental_parties']:,} parties looked at)",
                "",
                f"≤ 5 s: {_verdict(v['incremental_seconds'] <= 5)}",
            ),
        ]
    c = s.get("comparison")
    if c:
        page, top, comparison, reference = (
            c["vendor_page"],
            c["vendor_page_top_6"],
            c["comparison_6"],
            c["group_by_reference"],
        )
        rows += [
            (
                f"page: vendor (in process), {page['requests']} vendors, from stored totals",
                f"p50 {page['p50_ms']} / p95 {page['p95_ms']} ms",
                f"the 6 largest alone: p50 {top['p50_ms']} / p95 {top['p95_ms']} ms "
                f"(largest: {c['top_vendor_awards']:,} awards)",
                f"p95 ≤ 100 ms: {_verdict(page['p95_ms'] <= 100)}",
            ),
        ]
        if "vendor_page_computed" in c:
            before, before_top = c["vendor_page_computed"], c["vendor_page_computed_top_6"]
            rows.append(
                (
                    "page: vendor, figures computed from every award (no stored totals)",
                    f"p50 {before['p50_ms']} / p95 {before['p95_ms']} ms",
                    f"the 6 largest alone: p50 {before_top['p50_ms']} / p95 {before_top['p95_ms']} ms",
                    "",
                )
            )
            rows.append(
                (
                    "vendor totals refreshed (tables read by the pages)",
                    f"all {c['totals_refreshed']:,} entities in {c['totals_refresh_seconds']} s",
                    f"the largest vendor alone (a load touching it): {c['totals_refresh_largest_seconds']} s",
                    "",
                )
            )
            if "flag_counts_refreshed" in c:
                rows.append(
                    (
                        "red-flag counts of every entity refreshed (read by the pages)",
                        f"{c['flag_counts_refreshed']:,} entities in {c['flag_counts_refresh_seconds']} s",
                        "as after a full computation of the flags",
                        "",
                    )
                )
        rows += [
            (
                "comparison of 6 vendors (in process), from stored totals",
                f"p50 {comparison['p50_ms']} / p95 {comparison['p95_ms']} ms ({c['top_6_awards']:,} awards)",
                f"SQL GROUP BY of their awards: p50 {reference['p50_ms']} / p95 {reference['p95_ms']} ms",
                f"p95 ≤ 1 s: {_verdict(comparison['p95_ms'] <= 1000)}",
            ),
            *(
                [
                    (
                        "comparison of 6 vendors, computed from every award (no stored totals)",
                        f"p50 {c['comparison_6_computed']['p50_ms']} / p95 {c['comparison_6_computed']['p95_ms']} ms",
                        "",
                        "",
                    )
                ]
                if "comparison_6_computed" in c
                else []
            ),
        ]
    return rows


def _facet_rows(s: dict) -> list[tuple[str, str, str, str]]:
    rows = []
    for name, c in s.get("facets", {}).items():
        if not isinstance(c, dict):
            continue
        whoosh, plain, fts = c["whoosh"], c["whoosh_no_facets"], c["fts5"]
        value = (
            f"p50 {whoosh['p50']} / p95 {whoosh['p95']} ms (without facets p95 {plain['p95']} ms; "
            f"median {c['median_hits']:,.0f} hits, FTS5 {c.get('median_hits_fts5', 0):,.0f})"
        )
        first = c.get("first")
        if first:  # the query's first search: its posting lists read from the index files
            value += (
                f"; first search p50 {first['whoosh']['p50']} / p95 {first['whoosh']['p95']} ms "
                f"(without facets p95 {first['whoosh_no_facets']['p95']} ms)"
            )
        rows.append(
            (
                f"search with all facets: {name}",
                value,
                f"FTS5 + GROUP BY per facet p50 {fts['p50']} / p95 {fts['p95']} ms; ratio {c['ratio_p95']}",
                f"p95 ≤ 200 ms: {_verdict(whoosh['p95'] <= 200)}",
            )
        )
    return rows


def _stem_rows(s: dict) -> list[tuple[str, str, str, str]]:
    """Warm searches, and each query's first search (its posting lists read from the index files), where the run
    measured them; the target holds for both, at p50 and p95."""
    rows = []
    for name, c in s.get("stems", {}).items():
        if not isinstance(c, dict):
            continue
        stemmed, unstemmed, first = c["stemmed"], c["unstemmed"], c.get("first")
        value = f"p50 {stemmed['p50']} / p95 {stemmed['p95']} ms; ratio p50 {c['ratio_p50']}, p95 {c['ratio_p95']}"
        reference = f"unstemmed, same index: p50 {unstemmed['p50']} / p95 {unstemmed['p95']} ms"
        ratios = [c["ratio_p50"], c["ratio_p95"]]
        if first:
            value += (
                f"; first search: p50 {first['stemmed']['p50']} / p95 {first['stemmed']['p95']} ms, "
                f"ratio p50 {first['ratio_p50']}, p95 {first['ratio_p95']}"
            )
            reference += f"; first search: p50 {first['unstemmed']['p50']} / p95 {first['unstemmed']['p95']} ms"
            ratios += [first["ratio_p50"], first["ratio_p95"]]
        rows.append((f"stemmed query: {name}", value, reference, f"≤ 1.5× unstemmed: {_verdict(max(ratios) <= 1.5)}"))
    return rows


def _export_rows(s: dict) -> list[tuple[str, str, str, str]]:
    e = s.get("export")
    if not e:
        return []
    whole = e["rows"] >= min(EXPORT_ROWS, e["matches"])
    rate = e["rows_per_s"] or 0
    target = f"≥ 20k rows/s: {_verdict(rate >= 20_000)}" if whole else "not measured: too few rows sent"
    return [
        (
            "CSV export through HTTP (`/search.csv`)",
            f"{e['rows']:,} rows in {e['seconds']} s ({rate:,.0f} rows/s) for a query matching {e['matches']:,}",
            f"worker peak RSS {e['worker_peak_rss_before_mb']} MB before, {e['worker_peak_rss_after_mb']} MB after",
            target,
        )
    ]


def _flag_rows(s: dict) -> list[tuple[str, str, str, str]]:
    f = s.get("flags")
    if not f:
        return []
    slowest = sorted(f["indicator_seconds"].items(), key=lambda kv: -kv[1])[:3]
    detail = f"read {f['load_seconds']} s, write {f['write_seconds']} s; slowest: " + ", ".join(
        f"{code} {seconds} s" for code, seconds in slowest
    )
    fired = sum(f["fired"].values())
    return [
        (
            f"red flags, all {len(f['fired'])} indicators",
            f"{f['full_seconds']} s for {f['processes']:,} processes ({fired:,} flags)",
            detail,
            f"≤ 5 min: {_verdict(f['full_seconds'] <= 300)}",
        ),
        (
            f"red flags after {f['incremental_changed']:,} changed processes",
            f"{f['incremental_seconds']} s ({f['incremental_written']:,} processes rewritten)",
            f"reads the rows of {f.get('incremental_read', 0):,} processes (the changed ones' buyers, suppliers, "
            f"tenderers), compares with the stored fences, writes {f.get('incremental_rows', 0):,} rows",
            "",
        ),
        *(
            [
                (
                    "red-flag counts of buyers and suppliers refreshed",
                    f"all {f['entity_counts']:,} in {f['entity_counts_seconds']} s; after the update, "
                    f"{f['incremental_entity_counts']:,} in {f['incremental_entity_counts_seconds']} s",
                    "the entities of every process whose flags were rewritten",
                    "",
                )
            ]
            if "entity_counts" in f
            else []
        ),
    ]


def report(bench: Bench) -> str:
    """The markdown table: each measure, the reference it is compared with, and the target it meets or misses."""
    s = bench.state
    rows = []
    if "corpus" in s:
        c = s["corpus"]
        value = f"{c['processes']:,} processes, {c['releases']:,} releases, {c['bytes'] / 1e6:.0f} MB gzipped"
        rows.append(("corpus", value, f"generated in {c['seconds']} s", ""))
    rows += _store_rows(s) + _index_rows(s) + _search_rows(s) + _facet_rows(s) + _stem_rows(s)
    rows += _page_rows(s) + _export_rows(s) + _vendor_rows(s) + _flag_rows(s)
    rows += tabular.report_rows(s) + endpoint.report_rows(s)
    lines = ["| measure | value | reference | target (at 1M) |", "|---|---|---|---|"]
    return "\n".join(lines + [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows])


def machine() -> dict:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        (line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")), "0"
    )
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(int(memory) / 1024**2, 1),
        "python": platform.python_version(),
        "sqlite": __import__("sqlite3").sqlite_version,
    }


def commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


CHILD_STAGES = {
    "comparison",
    "ingest_sqlite",
    "raw_sqlite",
    "ingest_postgres",
    "raw_postgres",
    "reindex",
    "fts5",
    "incremental",
    "vendors",
    "flags",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--fresh", action="store_true", help="forget finished stages and run everything again")
    parser.add_argument("--redo", action="append", default=[], choices=STAGES, help="run this stage again")
    parser.add_argument("--only", action="append", default=[], choices=STAGES, help="run only these stages")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--quick", action="store_true", help="fewer queries and requests (the CI smoke run)")
    parser.add_argument("--procs", type=int, default=os.cpu_count() or 1, help="writer processes for the index build")
    parser.add_argument("--child", choices=sorted(CHILD_STAGES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    bench = Bench(args.processes, args.out, args.quick, args.procs)
    if args.child:
        bench.child(args.child)
        return 0
    if args.fresh:
        bench.state = {}
    for stage in STAGES:
        if args.only and stage not in args.only:
            continue
        if args.skip_postgres and stage.endswith("_postgres"):
            continue
        if stage in bench.state and stage not in args.redo:
            continue
        print(f"== {stage}", file=sys.stderr, flush=True)
        started = time.perf_counter()
        result = bench.in_child(stage) if stage in CHILD_STAGES else getattr(bench, f"do_{stage}")()
        result["stage_wall_s"] = round(time.perf_counter() - started, 1)
        bench.state[stage] = result
        bench.save()

    table = report(bench)
    info = machine()
    now = datetime.now(timezone.utc)
    header = (
        f"Benchmark at {args.processes:,} processes · commit {commit()} · {now:%Y-%m-%d %H:%M} UTC"
        f"\n\nMachine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, "
        f"Python {info['python']}, SQLite {info['sqlite']}."
    )
    print(f"{header}\n\n{table}")
    args.results.mkdir(parents=True, exist_ok=True)
    name = f"{args.processes}{'-quick' if args.quick else ''}"
    (args.results / f"{name}.md").write_text(f"{header}\n\n{table}\n")
    (args.results / f"{name}.json").write_text(
        json.dumps(
            {
                "processes": args.processes,
                "commit": commit(),
                "date": datetime.now(timezone.utc).isoformat(),
                "machine": info,
                "stages": bench.state,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
