"""Reading OCDS files: release packages, record packages, single releases, single records, JSON arrays of
releases, and JSON Lines of any of those; plain, gzip or zip; UTF-8 or a legacy single-byte encoding.

Reading yields `Found` values one at a time, so a file of any size is read in flat memory: JSON Lines line by
line, and a large JSON package through ijson's streaming parser.
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import ijson

from portal.domain.ocds import exact_numbers, loads
from portal.vocabulary import FoundKind

STREAM_ABOVE = 64 * 1024 * 1024  # JSON documents larger than this are parsed incrementally, not in one piece
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson", ".jsonlines")
OCDS_SUFFIXES = (".json", *JSON_LINES_SUFFIXES)


class IngestError(Exception):
    """Input that cannot be loaded; the message names the file and, for bad JSON, the position."""


@dataclass
class PackageInfo:
    uri: str | None = None
    published_date: str | None = None
    publisher_name: str | None = None
    encoding: str = "utf-8"
    version: str | None = None  # the package's OCDS `version`, as published
    is_package: bool = False  # read from a real package (not a single release): a missing `version` means 1.0


@dataclass
class Found:
    """One release or record read from a file; `where` says where, for error messages and notes."""

    kind: FoundKind
    data: dict
    where: str
    from_record: bool = False
    notes: list[str] = field(default_factory=list)


def decode(raw: bytes, declared: str | None = None) -> tuple[str, str]:
    """Text and the encoding used: the declared charset, else UTF-8, else a best guess (reported on the package)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8"), "utf-8-sig"
    for encoding in filter(None, (declared, "utf-8")):
        try:
            return raw.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError):
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(raw, cp_isolation=["cp1252", "latin_1", "cp1251", "utf_16"]).best()
    encoding = best.encoding if best else "latin_1"
    return raw.decode(encoding, errors="replace"), encoding


def _package_info(document: dict, encoding: str) -> PackageInfo:
    info = document.get("packageInfo") if isinstance(document.get("packageInfo"), dict) else document
    publisher = info.get("publisher") if isinstance(info.get("publisher"), dict) else {}
    return PackageInfo(
        uri=info.get("uri") if isinstance(info.get("uri"), str) else None,
        published_date=str(info["publishedDate"]) if info.get("publishedDate") else None,
        publisher_name=publisher.get("name") if isinstance(publisher.get("name"), str) else None,
        encoding=encoding,
        version=str(info["version"]) if info.get("version") is not None else None,
        is_package=info is document and ("releases" in document or "records" in document),
    )


def _from_record(record: dict, where: str) -> Iterator[Found]:
    """A record's embedded releases (as releases) and the record itself (kept as the publisher's)."""
    ocid = record.get("ocid")
    compiled = record.get("compiledRelease") if isinstance(record.get("compiledRelease"), dict) else {}
    for i, release in enumerate(record.get("releases") or []):
        spot = f"{where} releases[{i}]"
        if not isinstance(release, dict):
            raise IngestError(f"{spot}: a release must be a JSON object")
        if "id" not in release and "url" in release:
            yield Found(FoundKind.NOTE, {}, spot, notes=[f"linked release {release.get('url')!r} not fetched"])
            continue
        release = dict(release)
        # Records in the wild often omit the top-level ocid; the releases and compiled release carry it.
        release.setdefault("ocid", ocid or compiled.get("ocid"))
        yield Found(FoundKind.RELEASE, release, spot, from_record=True)
    record = dict(record)
    if not record.get("ocid"):
        found = compiled.get("ocid") or next(
            (r.get("ocid") for r in record.get("releases") or [] if isinstance(r, dict) and r.get("ocid")), None
        )
        record["ocid"] = found
    yield Found(FoundKind.RECORD, record, where)


def read_document(document: Any, where: str) -> Iterator[Found]:
    """Releases and records in one parsed JSON value, whatever shape the publisher chose."""
    if isinstance(document, list):
        for i, value in enumerate(document):
            yield from read_document(value, f"{where}[{i}]")
        return
    if not isinstance(document, dict):
        raise IngestError(f"{where}: expected a JSON object, found {type(document).__name__}")
    if isinstance(document.get("records"), list):
        for i, record in enumerate(document["records"]):
            if not isinstance(record, dict):
                raise IngestError(f"{where} records[{i}]: a record must be a JSON object")
            yield from _from_record(record, f"{where} records[{i}]")
    elif "compiledRelease" in document or "versionedRelease" in document:
        yield from _from_record(document, where)
    elif isinstance(document.get("releases"), list) and "tag" not in document:
        if "ocid" in document:  # a record that carries only its releases
            yield from _from_record(document, where)
            return
        for i, release in enumerate(document["releases"]):
            if not isinstance(release, dict):
                raise IngestError(f"{where} releases[{i}]: a release must be a JSON object")
            yield Found(FoundKind.RELEASE, release, f"{where} releases[{i}]")
    elif "ocid" in document or "tag" in document:
        yield Found(FoundKind.RELEASE, document, where)
    else:
        raise IngestError(f"{where}: not an OCDS release, record or package (keys: {', '.join(list(document)[:8])})")


def _json_error(where: str, error: json.JSONDecodeError, line_offset: int = 0) -> IngestError:
    line = error.lineno + line_offset
    return IngestError(f"{where}: invalid JSON at line {line}, column {error.colno}: {error.msg}")


def _members(path: Path) -> Iterator[tuple[str, IO[bytes]]]:
    """The readable streams in a file: itself, its gzip content, or each OCDS member of a zip archive."""
    with open(path, "rb") as raw:
        magic = raw.read(4)
    if magic[:2] == b"\x1f\x8b":
        with gzip.open(path, "rb") as stream:
            yield path.name.removesuffix(".gz"), stream
    elif magic == b"PK\x03\x04":
        with zipfile.ZipFile(path) as archive:
            for name in sorted(archive.namelist()):
                if name.lower().endswith(OCDS_SUFFIXES):
                    with archive.open(name) as stream:
                        yield f"{path.name}!{name}", stream
    else:
        with open(path, "rb") as stream:
            yield path.name, stream


def _read_lines(stream: IO[bytes], where: str, info: PackageInfo) -> Iterator[Found]:
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        text, encoding = decode(line)
        if encoding not in ("utf-8", "utf-8-sig"):
            info.encoding = encoding
        try:
            document = loads(text)
        except json.JSONDecodeError as error:
            raise IngestError(f"{where}: invalid JSON at line {number}, column {error.colno}: {error.msg}") from None
        is_package = isinstance(document, dict) and ("releases" in document or "records" in document)
        if is_package and info.uri is None and info.publisher_name is None:
            info.__dict__.update(_package_info(document, info.encoding).__dict__)
        yield from read_document(document, f"{where} line {number}")


def _read_streaming(stream: IO[bytes], where: str, info: PackageInfo) -> Iterator[Found]:
    """A large package, one release or record at a time (UTF-8 only, as ijson reads bytes)."""
    builder: ijson.ObjectBuilder | None = None
    kind, index = "", 0
    try:
        for prefix, event, value in ijson.parse(stream):
            if builder is not None:
                builder.event(event, value)
                if prefix == f"{kind}s.item" and event in ("end_map", "end_array"):
                    spot = f"{where} {kind}s[{index}]"
                    value = exact_numbers(builder.value)
                    if kind == FoundKind.RECORD:
                        yield from _from_record(value, spot)
                    else:
                        yield Found(FoundKind.RELEASE, value, spot)
                    builder, index = None, index + 1
            elif prefix in ("releases.item", "records.item") and event == "start_map":
                kind = prefix.split("s.")[0]
                builder = ijson.ObjectBuilder()
                builder.event(event, value)
            elif prefix == "uri" and event == "string":
                info.uri = value
            elif prefix == "publishedDate" and event == "string":
                info.published_date = value
            elif prefix == "publisher.name" and event == "string":
                info.publisher_name = value
            elif prefix == "version" and event == "string":
                info.version = value
            elif prefix == "" and event == "map_key" and value in ("releases", "records"):
                info.is_package = True
    except ijson.JSONError as error:
        raise IngestError(f"{where}: invalid JSON near byte {stream.tell()}: {error}") from None


def read_file(
    path: Path, *, declared_encoding: str | None = None, name: str | None = None
) -> tuple[PackageInfo, Iterator[Found]]:
    """Package metadata (filled in as reading goes) and an iterator over what the file holds."""
    info = PackageInfo()
    label = name or str(path)

    def found() -> Iterator[Found]:
        for member, stream in _members(path):
            where = label if member == path.name else f"{label}!{member.split('!')[-1]}"
            if member.lower().endswith(JSON_LINES_SUFFIXES):
                yield from _read_lines(stream, where, info)
                continue
            size = path.stat().st_size if member == path.name else None
            if size is not None and size > STREAM_ABOVE:
                yield from _read_streaming(stream, where, info)
                continue
            text, info.encoding = decode(stream.read(), declared_encoding)
            try:
                document = loads(text)
            except json.JSONDecodeError as error:
                if error.msg == "Extra data" and text.lstrip().startswith("{"):
                    # JSON Lines under a .json name: read it as lines.
                    yield from _read_lines(io.BytesIO(text.encode()), where, info)
                    continue
                raise _json_error(where, error) from None
            if isinstance(document, dict):
                info.__dict__.update(_package_info(document, info.encoding).__dict__)
            yield from read_document(document, where)

    return info, found()
