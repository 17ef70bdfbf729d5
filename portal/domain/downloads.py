"""The whole data as files: every compiled release as OCDS JSON Lines, and one CSV row per process, with a
manifest of their sizes, dates and SHA-256 checksums. Regenerated after each ingest (`portal.cli.after_loading`).

Each file is written beside its final name and renamed over it only when whole, and the manifest last: a
reader downloading while a new set is written gets the old files or the new ones, never half of one. Processes
are read CHUNK at a time, so memory stays flat however many there are.

Plain functions, no Flask.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.domain.derive import whole_title
from portal.models import Party, Process

CHUNK = 2000  # processes read from the database at a time
MANIFEST = "downloads.json"
RELEASES_FILE = "compiled-releases.jsonl.gz"  # one compiled release (ours, merged from every release) a line
CSV_FILE = "processes.csv.gz"
CSV_COLUMNS = (
    *("ocid", "title", "buyer", "status", "procurement_method", "value_amount", "value_currency", "value_basis"),
    *("first_date", "last_date", "release_count"),
)
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


FORMULA_START = frozenset("=+-@\t\r")  # a cell's first characters that a spreadsheet may read as a formula


def spreadsheet_safe(value: object) -> str:
    """A cell as text that no spreadsheet runs as a formula: text starting with = + - @, a tab or a carriage
    return gets a leading `'` (a negative number stays a number)."""
    text = "" if value is None else str(value)
    if text[:1] in FORMULA_START and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


@dataclass
class DownloadFile:
    name: str
    description: str
    size: int  # bytes
    sha256: str
    rows: int
    generated_at: str  # ISO 8601, UTC


def _processes(session: Session) -> Iterator[tuple[Process, str | None]]:
    last = 0
    while True:
        rows = session.execute(
            select(Process, Party.name)
            .outerjoin(Party, Party.id == Process.buyer_id)
            .where(Process.id > last)
            .order_by(Process.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            return
        yield from ((p, name) for p, name in rows)
        last = rows[-1][0].id
        session.expunge_all()


class _Hashing(io.RawIOBase):
    """A file that counts and hashes what is written to it."""

    def __init__(self, target: IO[bytes]):
        self.target, self.digest, self.size = target, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.target.write(data)
        self.digest.update(data)
        self.size += len(data)
        return len(data)


def _write(directory: Path, name: str, lines: Iterator[str], description: str, *, header: int = 0) -> DownloadFile:
    """Write the lines gzipped beside `name`, then rename: `rows` counts the lines after the first `header`."""
    final = directory / name
    partial = directory / f".{name}.partial"
    rows = 0
    with open(partial, "wb") as raw:
        hashing = _Hashing(raw)
        with gzip.GzipFile(fileobj=hashing, mode="wb", mtime=0) as out:
            for line in lines:
                out.write(line.encode("utf-8"))
                rows += 1
        raw.flush()
        os.fsync(raw.fileno())
    os.replace(partial, final)
    generated = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    return DownloadFile(name, description, hashing.size, hashing.digest.hexdigest(), rows - header, generated)


def _release_lines(session: Session) -> Iterator[str]:
    for process, _buyer in _processes(session):
        yield json.dumps(json.loads(process.compiled), ensure_ascii=False, separators=(",", ":")) + "\n"


def _csv_lines(session: Session) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()  # the header, even without rows
    buffer.seek(0)
    buffer.truncate()
    for process, buyer in _processes(session):
        writer.writerow(
            [
                spreadsheet_safe(v)
                for v in (
                    process.ocid,
                    whole_title(process.title, process.description),
                    buyer,
                    process.status,
                    process.procurement_method,
                    process.value_amount,
                    process.value_currency,
                    process.value_basis,
                    process.first_date.isoformat() if process.first_date else None,
                    process.last_date.isoformat() if process.last_date else None,
                    process.release_count,
                )
            ]
        )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def write_downloads(session: Session, directory: str | Path) -> list[DownloadFile]:
    """Write the downloads into `directory` (created if missing), then their manifest; returns the files."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    files = [
        _write(
            folder,
            RELEASES_FILE,
            _release_lines(session),
            "Every process's compiled release (OCDS 1.1, merged by this portal from all its releases), one JSON "
            "object a line, gzip-compressed",
        ),
        _write(folder, CSV_FILE, _csv_lines(session), "One row per process, after a header row, gzip", header=1),
    ]
    manifest = folder / f".{MANIFEST}.partial"
    manifest.write_text(json.dumps([asdict(f) for f in files], indent=2), encoding="utf-8")
    os.replace(manifest, folder / MANIFEST)
    return files


def read_manifest(directory: str | Path) -> list[DownloadFile]:
    """The files of the last complete set; [] before the first ingest wrote one."""
    try:
        entries = json.loads((Path(directory) / MANIFEST).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return []
    return [DownloadFile(**entry) for entry in entries]
