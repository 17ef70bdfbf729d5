"""The references the portal is measured against, built from the same rows in the same run:
a raw SQLAlchemy Core bulk insert (for the store path) and SQLite FTS5 (for search)."""

from __future__ import annotations

import gzip
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, Text, insert
from sqlalchemy.orm import Session

RAW_BATCH = 10_000

raw_metadata = MetaData()
raw_release = Table(
    "bench_raw_release",
    raw_metadata,
    Column("id", Integer, primary_key=True),
    Column("ocid", String(200)),
    Column("release_id", String(200)),
    Column("date", String(64)),
    Column("data", Text),
)


def corpus_lines(corpus: Path) -> Iterator[bytes]:
    for path in sorted(corpus.glob("*.jsonl.gz")):
        with gzip.open(path, "rb") as stream:
            yield from stream


def raw_insert(engine: Engine, corpus: Path) -> dict:
    """Parse every release and insert it with Core executemany: the floor any store path is compared with."""
    raw_metadata.drop_all(engine)
    raw_metadata.create_all(engine)
    started = time.perf_counter()
    count, batch = 0, []
    with engine.begin() as connection:
        for line in corpus_lines(corpus):
            release = json.loads(line)
            batch.append(
                {
                    "ocid": release["ocid"],
                    "release_id": release["id"],
                    "date": release.get("date"),
                    "data": json.dumps(release, ensure_ascii=False),
                }
            )
            if len(batch) >= RAW_BATCH:
                connection.execute(insert(raw_release), batch)
                count += len(batch)
                batch = []
        if batch:
            connection.execute(insert(raw_release), batch)
            count += len(batch)
    seconds = time.perf_counter() - started
    raw_metadata.drop_all(engine)
    return {"releases": count, "seconds": seconds, "releases_per_s": count / seconds}


FTS_SCHEMA = """
CREATE VIRTUAL TABLE fts USING fts5(text, title, buyer, suppliers, tokenize = 'unicode61 remove_diacritics 2');
CREATE TABLE doc (
    rowid INTEGER PRIMARY KEY, ocid TEXT, currency TEXT, amount INTEGER, "when" INTEGER,
    buyer TEXT, method TEXT, status TEXT
);
CREATE TABLE doc_supplier (rowid INTEGER, name TEXT);
"""
FTS_INDEXES = """
CREATE INDEX doc_currency_amount ON doc (currency, amount);
CREATE INDEX doc_when ON doc ("when");
CREATE INDEX doc_supplier_rowid ON doc_supplier (rowid);
"""
# The facets the portal counts (search_index.columns.FACETS), as SQL over the `doc` rows of a match.
FTS_FACETS = {
    "buyer": "SELECT doc.buyer AS v FROM hits JOIN doc ON doc.rowid = hits.rowid WHERE doc.buyer != ''",
    "supplier": "SELECT s.name AS v FROM hits JOIN doc_supplier s ON s.rowid = hits.rowid",
    "method": "SELECT doc.method AS v FROM hits JOIN doc ON doc.rowid = hits.rowid WHERE doc.method != ''",
    "status": "SELECT doc.status AS v FROM hits JOIN doc ON doc.rowid = hits.rowid WHERE doc.status != ''",
    "currency": "SELECT doc.currency AS v FROM hits JOIN doc ON doc.rowid = hits.rowid WHERE doc.currency != ''",
    "year": "SELECT strftime('%Y', doc.\"when\", 'unixepoch') AS v FROM hits JOIN doc ON doc.rowid = hits.rowid"
    ' WHERE doc."when" IS NOT NULL',
}


def build_fts(session_factory: Callable[[], Session], path: Path) -> dict:
    """FTS5 over the same documents, and the same fields, the Whoosh index is built from."""
    from sqlalchemy import select

    from portal.models import Process
    from search_index.indexer import CHUNK, documents

    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    db.executescript(FTS_SCHEMA)
    started = time.perf_counter()
    count, last_id = 0, 0
    with session_factory() as session:
        while True:
            ids = list(
                session.scalars(select(Process.id).where(Process.id > last_id).order_by(Process.id).limit(CHUNK))
            )
            if not ids:
                break
            rows, docs, suppliers = [], [], []
            for document in documents(session, ids):
                count += 1
                rows.append((count, document["text"], document["title"], document["buyer"], document["suppliers"]))
                docs.append(
                    (
                        count,
                        document["ocid"],
                        document["currency"],
                        document["amount"],
                        document["when"],
                        document["buyer_name"],
                        document["method"],
                        document["status"],
                    )
                )
                suppliers += [(count, name) for name in document["supplier_names"].split("\n") if name]
            db.executemany("INSERT INTO fts (rowid, text, title, buyer, suppliers) VALUES (?,?,?,?,?)", rows)
            db.executemany(
                'INSERT INTO doc (rowid, ocid, currency, amount, "when", buyer, method, status)'
                " VALUES (?,?,?,?,?,?,?,?)",
                docs,
            )
            db.executemany("INSERT INTO doc_supplier (rowid, name) VALUES (?,?)", suppliers)
            last_id = ids[-1]
            session.expunge_all()
    db.executescript(FTS_INDEXES)
    db.execute("INSERT INTO fts(fts) VALUES ('optimize')")
    db.commit()
    seconds = time.perf_counter() - started
    db.close()
    return {"documents": count, "seconds": seconds, "bytes": path.stat().st_size}


class Fts:
    """Answers each query class the way the portal's search function does: the total count and one page of
    rows with what a result shows (highlighted title, a snippet of the text around the words, buyer, suppliers,
    amount and date)."""

    def __init__(self, path: Path):
        self.db = sqlite3.connect(path, check_same_thread=False)

    def search(self, match: str, *, order: str = "rank", page: int = 1, where: str = "", params: tuple = ()) -> int:
        # The full-text match is computed first (materialised), then joined to the columns it is filtered and
        # ordered by: left to itself, SQLite may walk a column index and probe the full-text index per row,
        # which takes seconds.
        matched = (
            "WITH m AS MATERIALIZED (SELECT rowid, rank FROM fts WHERE fts MATCH ?) "
            f"SELECT {{}} FROM m JOIN doc ON doc.rowid = m.rowid WHERE 1 {where}"
        )
        total = self.db.execute(matched.format("count(*)"), (match, *params)).fetchone()[0]
        rowids = [
            rowid
            for (rowid,) in self.db.execute(
                matched.format("doc.rowid") + f" ORDER BY {order.replace('rank', 'm.rank')} LIMIT 20 OFFSET ?",
                (match, *params, (page - 1) * 20),
            )
        ]
        if rowids:
            # Highlighting needs the match in the same statement; asking for the page's rows only keeps it to 20.
            self.db.execute(
                "SELECT doc.ocid, highlight(fts, 1, '<mark>', '</mark>'),"
                " snippet(fts, 0, '<mark>', '</mark>', '…', 24), fts.buyer, fts.suppliers,"
                ' doc.currency, doc.amount, doc."when" FROM fts JOIN doc ON doc.rowid = fts.rowid'
                f" WHERE fts MATCH ? AND fts.rowid IN ({','.join('?' * len(rowids))})",
                (match, *rowids),
            ).fetchall()
        return total

    def facet_counts(self, match: str, limit: int) -> dict[str, list[tuple[str, int]]]:
        """Per facet, its `limit` most frequent values among the documents matching, with their counts: the
        match is computed once into a temporary table, then one GROUP BY per facet."""
        self.db.execute("DROP TABLE IF EXISTS temp.hits")
        self.db.execute("CREATE TEMP TABLE hits AS SELECT rowid FROM fts WHERE fts MATCH ?", (match,))
        found = {}
        for name, values in FTS_FACETS.items():
            found[name] = self.db.execute(
                f"SELECT v, count(*) AS n FROM ({values}) GROUP BY v ORDER BY n DESC, v LIMIT ?", (limit,)
            ).fetchall()
        self.db.execute("DROP TABLE temp.hits")
        return found
