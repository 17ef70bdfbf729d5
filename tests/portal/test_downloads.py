"""The downloads page: the whole data as OCDS JSON Lines and CSV, rewritten after each ingest, with sizes,
dates and SHA-256 checksums that match the files served."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from pathlib import Path

from sqlalchemy import func, select

from portal.cli import cli
from portal.domain.derive import whole_title
from portal.models import Process
from tests.conftest import DEMO_DATA


def invoke(app, *args):
    return app.test_cli_runner().invoke(cli, list(args))


def test_each_ingest_rewrites_the_downloads_whole_with_checksums(app, client, sessions):
    assert client.get("/downloads.json").get_json() == {"files": []}
    assert "No download has been written yet" in client.get("/downloads").get_data(as_text=True)
    assert invoke(app, "ingest", str(DEMO_DATA / "montreal")).exit_code == 0
    first = {f["name"]: f for f in client.get("/downloads.json").get_json()["files"]}
    with sessions() as session:
        processes = {p.ocid: p for p in session.scalars(select(Process))}
    for name, entry in first.items():
        body = client.get(entry["url"]).data
        assert len(body) == entry["size"] and hashlib.sha256(body).hexdigest() == entry["sha256"]
        text = gzip.decompress(body).decode("utf-8")
        if name.endswith(".jsonl.gz"):
            lines = [json.loads(line) for line in text.splitlines()]
            assert {r["ocid"] for r in lines} == set(processes) and entry["rows"] == len(lines)
            assert all(r == json.loads(processes[r["ocid"]].compiled) for r in lines)
        else:
            rows = list(csv.DictReader(io.StringIO(text)))
            assert {r["ocid"] for r in rows} == set(processes) and entry["rows"] == len(rows)
            for row in rows:
                p = processes[row["ocid"]]
                assert row["title"].removeprefix("'") == whole_title(p.title, p.description)
                assert row["value_amount"] == ("" if p.value_amount is None else str(p.value_amount))
    page = client.get("/downloads").get_data(as_text=True)
    assert all(f["sha256"] in page for f in first.values())
    # Another ingest writes the set again, with what it added.
    assert invoke(app, "ingest", str(DEMO_DATA / "mexico-city")).exit_code == 0
    second = {f["name"]: f for f in client.get("/downloads.json").get_json()["files"]}
    with sessions() as session:
        total = session.scalar(select(func.count()).select_from(Process))
    assert total > len(processes)
    assert second["compiled-releases.jsonl.gz"]["rows"] == total
    assert second["compiled-releases.jsonl.gz"]["sha256"] != first["compiled-releases.jsonl.gz"]["sha256"]
    left = sorted(p.name for p in Path(app.config["DOWNLOADS_DIR"]).iterdir())
    assert left == sorted([*second, "downloads.json"])  # no partial file left behind


def test_only_listed_files_are_served(client):
    assert client.get("/downloads/downloads.json").status_code == 404
    assert client.get("/downloads/..%2Fportal.sqlite").status_code == 404
