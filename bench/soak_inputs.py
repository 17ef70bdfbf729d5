"""The files the soak feeds to `portal ingest`: batches of new releases, and bad inputs set beside good files.

New releases come from bench/generate.py's own writer, for process numbers far above any corpus
(ocds-bench01-90000000 and up), so every batch holds processes the database has never seen; a share of each
batch amends processes of the base corpus under release ids of its own (`...-soak-...`), so that ingests also
change processes that are already indexed. Every release a file holds is returned as its (ocid, release id)
key, which is how the soak later checks that each was stored exactly once.
"""

from __future__ import annotations

import gzip
import json
import random
import zlib
from pathlib import Path

from bench.generate import OCID_PREFIX, Catalogue, ProcessWriter

FIRST_NEW_PROCESS = 90_000_000  # far above any corpus: process numbers from here on are the soak's own
AMEND_SHARE = 0.2  # share of each batch that amends a base process rather than adding a new one

Key = tuple[str, str]


class Batches:
    """Makes batches of new releases; process numbers are handed out in order, so no two batches share one."""

    def __init__(self, base_processes: int, *, seed: int = 42) -> None:
        self.catalogue = Catalogue(seed)
        self.base_processes = base_processes
        self.next_process = FIRST_NEW_PROCESS

    def releases(self, name: str, count: int, *, amend_share: float = AMEND_SHARE) -> tuple[list[str], int]:
        """`count` JSON lines: new processes, then amendments of base processes; and how many processes are new."""
        rng = random.Random(f"soak/{name}")
        writer = ProcessWriter(self.catalogue, rng)
        amendments = int(count * amend_share) if self.base_processes else 0
        lines: list[str] = []
        first = self.next_process
        while len(lines) < count - amendments:
            lines += writer.process(self.next_process)
            self.next_process += 1
        del lines[count - amendments :]  # the last process may keep only its first releases
        for j in range(amendments):
            ocid = f"{OCID_PREFIX}-{rng.randrange(self.base_processes):08d}"
            lines.append(
                json.dumps(
                    {
                        "ocid": ocid,
                        "id": f"{ocid}-soak-{name}-{j}",
                        "date": "2025-06-01T12:00:00Z",
                        "tag": ["tenderAmendment"],
                        "initiationType": "tender",
                        "tender": {
                            "amendments": [
                                {"id": f"soak-{name}-{j}", "date": "2025-06-01T12:00:00Z", "rationale": "Addendum"}
                            ]
                        },
                    }
                )
            )
        return lines, self.next_process - first

    def write(
        self, path: Path, name: str, count: int, *, amend_share: float = AMEND_SHARE, files: int = 1
    ) -> tuple[set[Key], int]:
        """A new batch as a .jsonl.gz file (or `files` of them, path-1.jsonl.gz ..., in load order); returns its
        release keys and how many processes it adds."""
        lines, new_processes = self.releases(name, count, amend_share=amend_share)
        path.parent.mkdir(parents=True, exist_ok=True)
        size = -(-len(lines) // files)
        for i in range(files):
            target = path if files == 1 else path.with_name(path.name.replace(".jsonl.gz", f"-{i + 1}.jsonl.gz"))
            with gzip.open(target, "wt", encoding="utf-8") as out:
                out.write("\n".join(lines[i * size : (i + 1) * size]) + "\n")
        return keys_of(lines), new_processes


def keys_of(lines: list[str]) -> set[Key]:
    keys = set()
    for line in lines:
        release = json.loads(line)
        keys.add((release["ocid"], release["id"]))
    return keys


# -- bad inputs -----------------------------------------------------------------------------------------------


def _release(ocid: str, release_id: str, title: str = "Soak bad input") -> dict:
    return {
        "ocid": ocid,
        "id": release_id,
        "date": "2025-06-01T12:00:00Z",
        "tag": ["tender"],
        "initiationType": "tender",
        "tender": {"id": "T-1", "title": title, "value": {"amount": 1000, "currency": "CAD"}},
    }


def _bad_ocid(name: str, n: int = 0) -> str:
    return f"{OCID_PREFIX}-bad-{name}-{n}"


def gzip_bomb(path: Path, compressed_mb: float) -> int:
    """A .jsonl.gz of ~compressed_mb that inflates about a thousandfold: one line opening a release whose title
    never ends. Written as many identical gzip members, so that building it costs one compression, not gigabytes.
    Returns the inflated size in bytes."""
    chunk = b"a" * (64 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip member
    member = compressor.compress(chunk) + compressor.flush()
    head = gzip.compress(json.dumps(_release(_bad_ocid("bomb"), "1"))[:-2].encode() + b', "description": "', mtime=0)
    copies = max(1, round(compressed_mb * 1e6 / len(member)))
    with open(path, "wb") as out:
        out.write(head)
        for _ in range(copies):
            out.write(member)
    return copies * len(chunk)


BAD_INPUTS = (
    "truncated-gzip",
    "gzip-bomb",
    "deep-nesting",
    "invalid-json",
    "nul-bytes",
    "nul-escaped",
    "huge-number",
    "empty-file",
)


def write_bad(folder: Path, kind: str, batches: Batches, *, bomb_mb: float) -> str:
    """Write one bad input into folder (named to sort between the good files); returns a line describing it."""
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "truncated-gzip":
        lines, _ = batches.releases(f"bad-{kind}", 200, amend_share=0)
        data = gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)
        (folder / "m-truncated.jsonl.gz").write_bytes(data[: len(data) * 6 // 10])
        return f"200 releases gzipped, cut at 60% ({len(data) * 6 // 10:,} of {len(data):,} bytes)"
    if kind == "gzip-bomb":
        inflated = gzip_bomb(folder / "m-bomb.jsonl.gz", bomb_mb)
        size = (folder / "m-bomb.jsonl.gz").stat().st_size
        return f"{size / 1e6:.1f} MB gzip inflating to {inflated / 1e9:.1f} GB: one line, a string that never ends"
    if kind == "deep-nesting":
        depth = 10_000
        release = json.dumps(_release(_bad_ocid("deep"), "1"))
        text = release[:-1] + ', "planning": {"budget": ' + "[" * depth + "]" * depth + "}}"
        (folder / "m-deep.json").write_text(text)
        return f"a release with arrays nested {depth:,} deep"
    if kind == "invalid-json":
        lines = [json.dumps(_release(_bad_ocid("invalid", n), "1")) for n in range(20)]
        lines[10] = lines[10][: len(lines[10]) // 2]
        (folder / "m-invalid.jsonl").write_text("\n".join(lines) + "\n")
        return "JSON Lines, 20 releases, line 11 cut in half"
    if kind == "nul-bytes":
        lines = [json.dumps(_release(_bad_ocid("nul", n), "1")) for n in range(5)]
        lines[2] = lines[2].replace("Soak bad input", "Soak\x00bad\x00input")
        (folder / "m-nul.jsonl").write_bytes(("\n".join(lines) + "\n").encode())
        return "JSON Lines, a raw NUL byte inside one title"
    if kind == "nul-escaped":
        escaped = _release(_bad_ocid("nul-escaped"), "1", title="Soak\x00bad\x00input")
        (folder / "m-nul-escaped.json").write_text(json.dumps({"releases": [escaped]}))
        return "a release package whose title holds \\u0000 (valid JSON; PostgreSQL text cannot hold it)"
    if kind == "huge-number":
        release = json.dumps(_release(_bad_ocid("huge"), "1")).replace('"amount": 1000', '"amount": 1e400')
        (folder / "m-huge.json").write_text('{"releases": [' + release + "]}")
        return "a release package with a tender amount of 1e400"
    if kind == "empty-file":
        (folder / "m-empty.json").write_bytes(b"")
        return "an empty .json file"
    raise ValueError(f"unknown bad input {kind!r}")
