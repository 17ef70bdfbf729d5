"""Searches from a long-lived worker while small ingests change the index, as under gunicorn: the same thread
keeps its searcher from one request to the next while commits add segments and Whoosh merges them; and a
gunicorn worker's vendor pages, comparisons and facets while `portal ingest` runs beside it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest

from search_index.query import Filters, SearchIndex, search_processes
from tests.conftest import ROOT, load_into, make_app, missing

STEPS = 9  # Whoosh merges small segments from the fifth commit on

SEARCHES = [
    {"q": ""},
    {"q": "", "sort": "amount"},
    {"q": "road"},
    {"q": "road", "sort": "date"},
    {"q": "road", "sort": "amount"},
    {"q": "road works"},
    {"q": '"road works"'},
    {"q": "road OR bridge"},
    {"q": "bri*"},
    {"q": "NOT bridge"},
    {"q": "road", "filters": Filters(currency="CAD")},
    {"q": "", "filters": Filters(currency="CAD", min_amount=Decimal(20))},
    {"q": "road", "sort": "date", "filters": Filters(date_from=__import__("datetime").date(2020, 1, 1))},
]


def release(step: int, number: int) -> dict:
    """Process `number` as released at `step`: new processes and changes to earlier ones (which leave deleted
    documents in older segments)."""
    return {
        "ocid": f"ocds-test00-{number}",
        "id": f"r{step}",
        "date": f"2020-01-{step + 1:02d}T00:00:00Z",
        "tag": ["tender"],
        "tender": {
            "title": f"Road works {number} step {step}" + (" bridge" if number % 3 == 0 else ""),
            "value": {"amount": 10 * number + step, "currency": "CAD" if number % 2 else "MXN"},
        },
    }


def ingest_step(app, folder: Path, step: int) -> None:
    path = folder / f"step{step}.json"
    releases = [release(step, n) for n in (step, step + 1, (step * 7) % 5)]
    path.write_text(json.dumps({"releases": releases}), encoding="utf-8")
    result = load_into(app, path)
    assert result.status == "succeeded", result.errors


def answer(index: SearchIndex, search: dict) -> tuple[int, list[str]]:
    page = search_processes(index, per_page=50, **search)
    return page.total, [hit.ocid for hit in page.hits]


def test_one_searcher_across_ingests_that_merge_segments(app, tmp_path):
    index = SearchIndex(app.config["INDEX_DIR"])  # one thread, kept across "requests"
    for step in range(STEPS):
        ingest_step(app, tmp_path, step)
        for search in SEARCHES:
            assert answer(index, search) == answer(SearchIndex(app.config["INDEX_DIR"]), search), (step, search)
        ocids = answer(index, {"q": ""})[1]
        assert len(ocids) == len(set(ocids)), step  # a changed process once, however many commits touched it
    assert search_processes(index, q="road").total == len({n for s in range(STEPS) for n in (s, s + 1, s * 7 % 5)})


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str) -> tuple[int, dict | None]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, None


@contextmanager
def serving(env: dict[str, str], *options: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """portal.wsgi:app under gunicorn with this environment, on a free port: (its address, the server), once
    `/search.json` answers; stopped after."""
    try:
        import gunicorn  # noqa: F401
    except ImportError:
        missing("gunicorn is not installed (pip install -e '.[bench]')")
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "1", *options, "-b", f"127.0.0.1:{port}", "portal.wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if _get(base + "/search.json")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not start")
        yield base, server
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def stopped_with(server: subprocess.Popen) -> bytes | str:
    """What a server that stopped wrote last, for an assertion's message."""
    return server.stderr.peek(4000) if server.poll() is not None and server.stderr else ""


def test_gunicorn_worker_keeps_answering_across_ingests(tmp_path):
    database = f"sqlite:///{tmp_path / 'portal.sqlite'}"
    app = make_app(database, tmp_path)
    ingest_step(app, tmp_path, 0)
    env = dict(os.environ, PORTAL_DATABASE_URL=database, PORTAL_INDEX_DIR=app.config["INDEX_DIR"])
    env["PORTAL_SECRET_KEY"] = "a key for this test only, the same in every worker"
    with serving(env) as (address, server):
        base = address + "/search.json"
        queries = [
            "?q=",
            "?q=road",
            "?q=road&sort=date",
            "?q=road&sort=amount",
            "?q=&sort=amount",
            "?q=road&currency=CAD",
            "?q=road+OR+bridge",
            "?q=%22road+works%22&date_from=2020-01-01",
        ]
        for step in range(1, STEPS):
            ingest_step(app, tmp_path, step)
            for query in queries:
                status, body = _get(base + query)
                assert status == 200, (step, query, stopped_with(server))
                fresh = app.test_client().get("/search.json" + query).get_json()  # a searcher opened now
                ours = (body["total"], [(hit["ocid"], hit["title"], hit["value"]) for hit in body["results"]])
                theirs = (fresh["total"], [(hit["ocid"], hit["title"], hit["value"]) for hit in fresh["results"]])
                assert ours == theirs, (step, query)
            assert _get(base + "?q=road")[1]["total"] == len(
                {n for s in range(step + 1) for n in (s, s + 1, s * 7 % 5)}
            )
    app.extensions["portal.engine"].dispose()


def award_release(step: int, number: int) -> dict:
    """An award of process `number` at `step`, to one of two suppliers under a few spellings, by one buyer."""
    supplier = ["Acme Paving Ltd", "ACME PAVING LTD.", "Birch Roads Inc"][(step + number) % 3]
    return {
        "ocid": f"ocds-test00-v{number}",
        "id": f"a{step}",
        "date": f"20{20 + step % 4}-03-{step + 1:02d}T00:00:00Z",
        "tag": ["award"],
        "buyer": {"id": "roads", "name": "City Roads Department"},
        "parties": [
            {"id": "roads", "name": "City Roads Department", "roles": ["buyer"]},
            {"id": f"s{number}", "name": supplier, "roles": ["supplier"]},
        ],
        "tender": {"id": f"t{number}", "title": f"Road resurfacing lot {number}"},
        "awards": [
            {
                "id": f"a{number}",
                "status": "active",
                "date": f"20{20 + step % 4}-03-{step + 1:02d}T00:00:00Z",
                "value": {"amount": 1000 * number + step, "currency": "CAD"},
                "suppliers": [{"id": f"s{number}", "name": supplier}],
            }
        ],
    }


def test_gunicorn_worker_shows_vendor_pages_and_facets_as_each_cli_ingest_leaves_them(tmp_path):
    """The way it is deployed: a long-lived gunicorn worker serves while `portal ingest` runs beside it (entity
    resolution, stored totals and flag counts, index update). After each ingest the worker's vendor and buyer
    pages, comparison and facets equal those of an app opened afresh on the same data."""
    from sqlalchemy import select

    from portal.models import Vendor

    database = f"sqlite:///{tmp_path / 'portal.sqlite'}"
    env = dict(os.environ, PORTAL_DATABASE_URL=database, PORTAL_INDEX_DIR=str(tmp_path / "index"))
    env["PORTAL_SECRET_KEY"] = "a key for this test only, the same in every worker"
    env["PORTAL_DOWNLOADS_DIR"] = str(tmp_path / "downloads")
    env["PORTAL_CHECKPOINT_DIR"] = str(tmp_path / "checkpoints")

    def portal(*args: str) -> None:
        command = [sys.executable, "-c", "from portal.cli import main; main()", *args]
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]

    def portal_ingest(step: int) -> None:
        path = tmp_path / f"awards{step}.json"
        numbers = range(step * 3, step * 3 + 4)  # each step changes one process of the step before
        path.write_text(json.dumps({"releases": [award_release(step, n) for n in numbers]}), encoding="utf-8")
        portal("ingest", str(path))

    portal("init-db")
    portal_ingest(0)
    app = make_app(database, tmp_path)
    with serving(env, "--threads", "2") as (base, server):
        seen_awards = []
        for step in range(1, 6):
            portal_ingest(step)
            fresh_app = make_app(database, tmp_path)
            with fresh_app.extensions["portal.sessions"]() as session:
                entities = {
                    v.name: v.id for v in session.scalars(select(Vendor).where(Vendor.merged_into_id.is_(None)))
                }
            acme = next(i for name, i in entities.items() if name.lower().startswith("acme"))
            birch, roads = entities["Birch Roads Inc"], entities["City Roads Department"]
            paths = [
                f"/vendor/{acme}.json",
                f"/vendor/{birch}.json",
                f"/buyer/{roads}.json",
                f"/compare.json?vendor={acme}&vendor={birch}",
                "/search.json?q=road",
                "/search.json?q=road&supplier=Birch+Roads+Inc",
                "/search.json?q=resurfacing&sort=amount",
            ]
            fresh = fresh_app.test_client()
            for path in paths:
                status, body = _get(base + path)
                assert status == 200, (step, path, stopped_with(server))
                assert body == fresh.get(path).get_json(), (step, path)
            for path in ("/search.csv?q=road", f"/vendor/{acme}.csv"):  # the exports, streamed by the worker
                with urllib.request.urlopen(base + path, timeout=30) as response:
                    assert response.read().decode() == fresh.get(path).get_data(as_text=True), (step, path)
            seen_awards.append(_get(f"{base}/vendor/{acme}.json")[1])
            fresh_app.extensions["portal.engine"].dispose()
        # The pages did change between ingests (a comparison of two stale answers would prove nothing).
        assert len({json.dumps(page, sort_keys=True) for page in seen_awards}) == len(seen_awards)
    app.extensions["portal.engine"].dispose()
