"""Reading OCDS files: release packages, record packages, single releases, single records, JSON arrays of
releases, and JSON Lines of any of those; plain, gzip or zip; UTF-8 or a legacy encoding.

Every file is read as a stream of chunks, so memory stays flat whatever its size: a decompressed member is
stopped at the limits in `ingest.limits`, JSON Lines are read line by line, and a JSON document larger than
`WHOLE_DOCUMENT_BYTES` goes through ijson's streaming parser one release or record at a time.

Encodings are decided per file (per member of a zip): UTF-8, strictly; a file that is mostly UTF-8 with a few
malformed bytes keeps its UTF-8 text with those bytes replaced (U+FFFD) and their positions noted; a file that
is not UTF-8 at all is read in its declared charset, else the source's configured encoding, else a guess that
is named in the run's notes.
"""

from __future__ import annotations

import codecs
import gzip
import json
import re
import threading
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import ijson

from ingest.limits import DEFAULT_LIMITS, Limits, human_bytes
from portal.domain.ocds import exact_numbers, loads
from portal.vocabulary import FoundKind, Layout

# The one table of the file names the reader accepts. A folder is searched for exactly these, a zip's members
# are read when their names end in a plain one, and a download keeps the suffix of its URL.
SUFFIXES: dict[str, Layout] = {
    ".json": Layout.DOCUMENT,
    ".jsonl": Layout.LINES,
    ".ndjson": Layout.LINES,
    ".jsonlines": Layout.LINES,
}
GZIP_SUFFIX, ZIP_SUFFIX = ".gz", ".zip"
# Longest first, so that `accepted_suffix` names ".json.gz" rather than ".gz".
FILE_SUFFIXES: tuple[str, ...] = tuple(
    sorted({*SUFFIXES, *(suffix + GZIP_SUFFIX for suffix in SUFFIXES), GZIP_SUFFIX, ZIP_SUFFIX}, key=len, reverse=True)
)

CHUNK_BYTES = 1 << 20  # read and decode in pieces of this size
# A JSON document up to this size is parsed in one piece by the standard library (its errors give line and
# column); a larger one is streamed by ijson. 16 MB of JSON becomes about 150 MB of Python objects.
WHOLE_DOCUMENT_BYTES = 16 << 20
BAD_BYTES_LISTED = 10  # positions of malformed UTF-8 listed in a note; the count covers them all
NESTING_HINT = "nested too deeply to read (thousands of levels of arrays or objects)"


class IngestError(Exception):
    """Input that cannot be loaded; the message names the file and, for bad JSON, the position."""


class NotUTF8(Exception):
    """A member turned out not to be UTF-8 after some of it was already handed on: read it again as `encoding`."""

    def __init__(self, where: str, encoding: str) -> None:
        super().__init__(f"{where}: not UTF-8; read again as {encoding}")
        self.where, self.encoding = where, encoding


def accepted_suffix(name: str) -> str | None:
    """The suffix from FILE_SUFFIXES that `name` ends with (case-insensitive), or None if the reader skips it."""
    lowered = name.lower()
    return next((suffix for suffix in FILE_SUFFIXES if lowered.endswith(suffix)), None)


def layout_of(name: str) -> Layout:
    lowered = name.lower().removesuffix(GZIP_SUFFIX)
    return next((layout for suffix, layout in SUFFIXES.items() if lowered.endswith(suffix)), Layout.DOCUMENT)


@dataclass
class PackageInfo:
    uri: str | None = None
    published_date: str | None = None
    publisher_name: str | None = None
    encoding: str = "utf-8"
    notes: list[tuple[str, str]] = field(default_factory=list)  # (where, note): what reading the file found
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
    valid: bool = False  # known to be valid OCDS by how it was built (a mapped register row): not validated again


# --- encodings ---------------------------------------------------------------------------------------------

_collector = threading.local()


def _note_and_replace(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: replace a malformed sequence with U+FFFD and remember where it was."""
    assert isinstance(error, UnicodeDecodeError)
    _collector.positions.append(error.start)
    return "\ufffd", error.end


codecs.register_error("ingest-note", _note_and_replace)

_NOT_LEAD_BYTES = bytes(b for b in range(256) if not 0xC2 <= b <= 0xF4)


def _complete_length(data: bytes) -> int:
    """How much of `data` can be decoded as UTF-8 now: all but a multi-byte character cut off at its end."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return len(data)
        if byte >= 0xC0:
            needed = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return len(data) - back if back < needed else len(data)
    return len(data)


class _UTF8:
    """Passes UTF-8 through, replacing malformed sequences and keeping what is needed to judge the file."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.offset = 0  # bytes of the member already passed on
        self.pending = b""
        self.bad: list[int] = []  # byte positions of malformed sequences
        self.bad_count = 0
        self.good = 0  # well-formed multi-byte characters
        self.replacement_chars = 0  # U+FFFD already in the source
        self.samples: list[bytes] = []  # raw bytes around the first malformed sequences, for a guess
        self.bom = False

    def feed(self, chunk: bytes, final: bool = False) -> bytes:
        data = self.pending + chunk
        if self.offset == 0 and not self.bom and data.startswith(codecs.BOM_UTF8):
            self.bom, data, self.offset = True, data[3:], 3
        cut = len(data) if final else _complete_length(data)
        data, self.pending = data[:cut], data[cut:]
        base, self.offset = self.offset, self.offset + len(data)
        if data.isascii():
            if b"\\u" in data:
                self.replacement_chars += data.count(b"\\ufffd") + data.count(b"\\uFFFD")
            return data
        leads = len(data.translate(None, _NOT_LEAD_BYTES))
        self.replacement_chars += data.count(b"\xef\xbf\xbd") + data.count(b"\\ufffd") + data.count(b"\\uFFFD")
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            _collector.positions = []
            try:
                text = data.decode("utf-8", "ingest-note")
            finally:
                positions, _collector.positions = _collector.positions, []
            for position in positions:
                if len(self.samples) < 200:
                    self.samples.append(data[max(0, position - 120) : position + 120])
                if len(self.bad) < BAD_BYTES_LISTED:
                    self.bad.append(base + position)
            self.bad_count += len(positions)
            self.good += max(0, leads - len(positions))
            return text.encode("utf-8")
        self.good += leads
        return data

    def is_utf8(self) -> bool:
        """A file with malformed bytes is still UTF-8 if its well-formed multi-byte characters outnumber them."""
        return self.good > self.bad_count


def _usable(encoding: str | None) -> str | None:
    if not encoding:
        return None
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return None


_HIGH_BYTE = re.compile(rb"[\x80-\xff]")
_LETTER_NEAR_HIGH = re.compile(rb"(?<=[A-Za-z])[\x80-\xff]|[\x80-\xff](?=[A-Za-z])")


def guess_encoding(sample: bytes) -> str:
    """A guess for bytes that are not UTF-8. Western European text has its accented letters one at a time
    inside Latin words ("Montréal"), so a sample whose high bytes mostly touch an ASCII letter is read as
    cp1252; otherwise (Cyrillic, Greek, ... whose words are all high bytes) charset-normalizer decides."""
    high = len(_HIGH_BYTE.findall(sample))
    if high and len(_LETTER_NEAR_HIGH.findall(sample)) * 2 >= high:
        try:
            sample.decode("cp1252")
        except UnicodeDecodeError:
            return "latin_1"
        return "cp1252"
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    return best.encoding if best else "cp1252"


def choose_encoding(sample: bytes, declared: str | None, configured: str | None) -> tuple[str, str]:
    """The encoding for a file that is not UTF-8, and how it was chosen (for the run's notes)."""
    if declared and _usable(declared):
        return declared, "declared by the server"
    if configured and _usable(configured):
        return configured, "set for the source"
    return guess_encoding(sample), "a guess: the file declares no encoding"


class _Transcoder:
    """Bytes in a legacy encoding in, UTF-8 out."""

    def __init__(self, encoding: str, where: str) -> None:
        self.decoder = codecs.getincrementaldecoder(encoding)("ingest-note")
        self.where = where
        self.undecodable = 0

    def feed(self, chunk: bytes, final: bool = False) -> bytes:
        _collector.positions = []
        try:
            text = self.decoder.decode(chunk, final)
        finally:
            self.undecodable += len(_collector.positions)
            _collector.positions = []
        return text.encode("utf-8")


def decode(raw: bytes, declared: str | None = None, configured: str | None = None) -> tuple[str, str]:
    """Text and the encoding used for bytes held in memory, by the same rules as files."""
    checker = _UTF8("text")
    out = checker.feed(raw, final=True)
    if checker.bad_count == 0 or checker.is_utf8():
        return out.decode("utf-8"), "utf-8-sig" if checker.bom else "utf-8"
    encoding, _ = choose_encoding(raw[:CHUNK_BYTES], declared, configured)
    return raw.decode(encoding, errors="replace"), encoding


# --- members and chunks ----------------------------------------------------------------------------------


@dataclass
class _Member:
    name: str  # the member's own name (the file's for a plain or gzip file)
    where: str  # how errors and notes name it
    compressed_size: int | None  # None for a plain file


# A member's bytes: typeshed has gzip's file as a BufferedIOBase, not an IO[bytes].
_Stream = IO[bytes] | gzip.GzipFile


def _members(path: Path, label: str) -> Generator[tuple[_Member, _Stream], None, None]:
    """The readable streams in a file: itself, its gzip content, or each OCDS member of a zip archive."""
    with open(path, "rb") as raw:
        magic = raw.read(4)
    size = path.stat().st_size
    if magic[:2] == b"\x1f\x8b":
        with gzip.open(path, "rb") as stream:
            yield _Member(path.name.removesuffix(GZIP_SUFFIX), label, size), stream
    elif magic == b"PK\x03\x04":
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as error:
            raise IngestError(f"{label}: not a readable zip archive ({error})") from None
        with archive:
            for info in sorted(archive.infolist(), key=lambda info: info.filename):
                if info.is_dir() or not info.filename.lower().endswith(tuple(SUFFIXES)):
                    continue
                with archive.open(info) as stream:
                    yield _Member(info.filename, f"{label}!{info.filename}", info.compress_size), stream
    else:
        with open(path, "rb") as stream:
            yield _Member(path.name, label, None), stream


def _chunks(member: _Member, stream: _Stream, limits: Limits) -> Iterator[bytes]:
    """The member's bytes, decompressed, stopped at the limits; decompression errors named as such."""
    total = 0
    ratio_cap = None
    if member.compressed_size is not None:
        ratio_cap = max(limits.ratio_grace_bytes, member.compressed_size * limits.compression_ratio)
    while True:
        try:
            chunk = stream.read(CHUNK_BYTES)
        except EOFError:
            raise IngestError(
                f"{member.where}: the compressed data ends before its end marker (a truncated or partly copied file)"
            ) from None
        except (zlib.error, gzip.BadGzipFile, zipfile.BadZipFile) as error:
            raise IngestError(f"{member.where}: corrupt compressed data ({error})") from None
        if not chunk:
            return
        total += len(chunk)
        if member.compressed_size is not None:
            if total > limits.decompressed_bytes:
                raise IngestError(
                    f"{member.where}: more than {human_bytes(limits.decompressed_bytes)} once decompressed; stopped "
                    f"(the limit on decompressed size)"
                )
            if ratio_cap is not None and total > ratio_cap:
                raise IngestError(
                    f"{member.where}: decompresses to more than {limits.compression_ratio:g} times its compressed "
                    f"size ({human_bytes(member.compressed_size)} compressed); stopped as a likely decompression bomb"
                )
        yield chunk


class _ChunkReader:
    """A file-like object over an iterator of byte chunks, for ijson."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.buffer = b""
        self.position = 0

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self.buffer) < size:
            chunk = next(self.chunks, None)
            if chunk is None:
                break
            self.buffer += chunk
        if size < 0:
            size = len(self.buffer)
        out, self.buffer = self.buffer[:size], self.buffer[size:]
        self.position += len(out)
        return out


# --- reading JSON ----------------------------------------------------------------------------------------


def _package_info(document: dict, info: PackageInfo, *, streamed: bool = False) -> None:
    """The package's metadata; `streamed` says its releases or records were read apart from `document`."""
    source = document.get("packageInfo")
    if not isinstance(source, dict):
        source = document
    publisher = source.get("publisher")
    if not isinstance(publisher, dict):
        publisher = {}
    info.uri = source.get("uri") if isinstance(source.get("uri"), str) else None
    info.published_date = str(source["publishedDate"]) if source.get("publishedDate") else None
    info.publisher_name = publisher.get("name") if isinstance(publisher.get("name"), str) else None
    info.version = str(source["version"]) if source.get("version") is not None else None
    info.is_package = source is document and (streamed or "releases" in document or "records" in document)


def _from_record(record: dict, where: str) -> Iterator[Found]:
    """A record's embedded releases (as releases) and the record itself (kept as the publisher's)."""
    ocid = record.get("ocid")
    compiled = record.get("compiledRelease")
    if not isinstance(compiled, dict):
        compiled = {}
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


def _json_error(where: str, error: json.JSONDecodeError, line: int | None = None) -> IngestError:
    return IngestError(f"{where}: invalid JSON at line {line or error.lineno}, column {error.colno}: {error.msg}")


def _lines(chunks: Iterator[bytes], where: str, limits: Limits) -> Iterator[tuple[int, bytes]]:
    """(line number, line) for each line, never holding a line longer than the limit."""
    buffer, number = b"", 0
    for chunk in chunks:
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for line in complete:
            number += 1
            yield number, line
        if len(buffer) > limits.line_bytes:
            raise IngestError(f"{where}: line {number + 1} is longer than {human_bytes(limits.line_bytes)}")
    if buffer:
        yield number + 1, buffer


def _read_lines(chunks: Iterator[bytes], where: str, info: PackageInfo, limits: Limits) -> Iterator[Found]:
    empty = True
    for number, line in _lines(chunks, where, limits):
        if not line.strip():
            continue
        empty = False
        try:
            document = loads(line)
        except json.JSONDecodeError as error:
            raise _json_error(where, error, number) from None
        except RecursionError:
            raise IngestError(f"{where}: line {number}: {NESTING_HINT}") from None
        is_package = isinstance(document, dict) and ("releases" in document or "records" in document)
        if is_package and info.uri is None and info.publisher_name is None:
            _package_info(document, info)
        yield from read_document(document, f"{where} line {number}")
    if empty:
        raise IngestError(f"{where}: empty (no JSON in the file)")


def _streamable(top: dict) -> bool:
    """Whether a top-level object's releases can be read one at a time: a package's, not a record's."""
    return not ({"ocid", "tag", "compiledRelease", "versionedRelease"} & top.keys())


def _read_streaming(stream: _ChunkReader, where: str, info: PackageInfo) -> Iterator[Found]:
    """A large document, one release or record (or item of a top-level array) at a time. The top-level
    object is built without its `releases` or `records`, which are read item by item."""
    top: ijson.ObjectBuilder | None = None
    item: ijson.ObjectBuilder | None = None
    key, streaming, streamed, index, item_prefix = None, None, False, 0, "item"

    def emit(value: Any) -> Iterator[Found]:
        value = exact_numbers(value)  # ijson's Decimals as `loads` gives them: one checksum however a file is read
        if streaming is None:  # an item of a top-level array
            yield from read_document(value, f"{where}[{index}]")
        elif streaming == "records":
            if not isinstance(value, dict):
                raise IngestError(f"{where} records[{index}]: a record must be a JSON object")
            yield from _from_record(value, f"{where} records[{index}]")
        else:
            if not isinstance(value, dict):
                raise IngestError(f"{where} releases[{index}]: a release must be a JSON object")
            yield Found(FoundKind.RELEASE, value, f"{where} releases[{index}]")

    try:
        for prefix, event, value in ijson.parse(stream):
            if item is not None:
                item.event(event, value)
                if prefix == item_prefix and event in ("end_map", "end_array"):
                    yield from emit(item.value)
                    item, index = None, index + 1
                continue
            if prefix == "":
                if top is None:
                    if event not in ("start_map", "start_array"):
                        yield from read_document(value, where)
                    top = ijson.ObjectBuilder()
                elif event == "map_key":
                    key = value
                top.event(event, value)
                if event in ("end_map", "end_array") and prefix == "":
                    break
                continue
            assert top is not None  # every other prefix is inside the top-level value
            item_prefix = f"{streaming}.item" if streaming else "item"
            if isinstance(top.value, list) and prefix == "item" or streaming and prefix == item_prefix:
                if event in ("start_map", "start_array"):
                    item = ijson.ObjectBuilder()
                    item.event(event, value)
                else:
                    yield from emit(value)
                    index += 1
                continue
            if streaming and prefix == streaming and event == "end_array":
                streaming = None
                continue
            if (
                prefix in ("releases", "records")
                and prefix == key
                and event == "start_array"
                and isinstance(top.value, dict)
                and _streamable(top.value)
            ):
                streaming, streamed, index = prefix, True, 0
                # What precedes the releases (publishedDate, version) is known before the first is handed on.
                _package_info(top.value, info, streamed=True)
                continue
            top.event(event, value)
    except ijson.JSONError as error:
        raise IngestError(f"{where}: invalid JSON near byte {stream.position}: {error}") from None
    except RecursionError:
        raise IngestError(f"{where}: {NESTING_HINT}") from None
    if top is None:
        raise IngestError(f"{where}: empty (no JSON in the file)")
    if isinstance(top.value, dict):
        _package_info(top.value, info, streamed=streamed)
        if not streamed:
            yield from read_document(exact_numbers(top.value), where)


def _looks_like_lines(head: bytes) -> bool:
    """JSON Lines under a .json name: a first line that is a whole JSON object, and more after it."""
    first, _, rest = head.partition(b"\n")
    if not rest.strip() or not first.strip().startswith(b"{"):
        return False
    try:
        return isinstance(json.loads(first), dict)
    except (ValueError, RecursionError):
        return False


def _hold(chunks: Iterator[bytes]) -> tuple[list[bytes], Iterator[bytes] | None]:
    """The chunks up to WHOLE_DOCUMENT_BYTES, and the rest of the iterator if there is more (else None)."""
    held: list[bytes] = []
    size = 0
    for chunk in chunks:
        held.append(chunk)
        size += len(chunk)
        if size > WHOLE_DOCUMENT_BYTES:
            return held, chunks
    return held, None


def _read_document(
    chunks: Iterator[bytes], where: str, info: PackageInfo, limits: Limits, check: Callable[[], None]
) -> Iterator[Found]:
    held, rest = _hold(chunks)
    if rest is not None:
        if _looks_like_lines(held[0]):
            yield from _read_lines(_chain(held, rest), where, info, limits)
        else:
            yield from _read_streaming(_ChunkReader(_chain(held, rest)), where, info)
        return
    check()  # the whole text is read: whether it is UTF-8 is known before anything is handed on
    text = b"".join(held)
    del held
    if not text.strip():
        raise IngestError(f"{where}: empty ({'no bytes' if not text else 'only white space'})")
    try:
        document = loads(text)
    except json.JSONDecodeError as error:
        if error.msg == "Extra data" and text.lstrip().startswith(b"{"):
            # JSON Lines under a .json name: read it as lines.
            yield from _read_lines(iter([text]), where, info, limits)
            return
        raise _json_error(where, error) from None
    except RecursionError:
        raise IngestError(f"{where}: {NESTING_HINT}") from None
    del text
    if isinstance(document, dict):
        _package_info(document, info)
    try:
        yield from read_document(document, where)
    except RecursionError:
        raise IngestError(f"{where}: {NESTING_HINT}") from None


def _chain(held: list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    held.reverse()
    while held:
        yield held.pop()
    yield from rest


def _decoded(chunks: Iterator[bytes], coder: _UTF8 | _Transcoder) -> Iterator[bytes]:
    for chunk in chunks:
        out = coder.feed(chunk)
        if out:
            yield out
    out = coder.feed(b"", final=True)
    if out:
        yield out


def read_file(
    path: Path,
    *,
    declared_encoding: str | None = None,
    encoding: str | None = None,
    name: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    encodings: dict[str, str] | None = None,
) -> tuple[PackageInfo, Iterator[Found]]:
    """Package metadata (filled in as reading goes) and an iterator over what the file holds.

    `declared_encoding` is the charset a server declared and `encoding` the one configured for the source: both
    are used only for a file that is not UTF-8. `encodings` gives the encoding of members already found not to
    be UTF-8 (see NotUTF8), by their `where`.
    """
    info = PackageInfo()
    label = name or str(path)
    forced = dict(encodings or {})
    how: dict[str, str] = {}

    def judge(member: _Member, coder: _UTF8) -> None:
        """Raise NotUTF8 for a member that is not UTF-8 at all; note the malformed bytes of one that is."""
        if coder.bad_count and not coder.is_utf8():
            chosen, how[member.where] = choose_encoding(b"\n".join(coder.samples), declared_encoding, encoding)
            raise NotUTF8(member.where, chosen)

    def read_member(member: _Member, stream: _Stream, encoding_now: str | None) -> Iterator[Found]:
        chunks = _chunks(member, stream, limits)
        if encoding_now is None:
            first = next(chunks, b"")
            if first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                encoding_now, how[member.where] = "utf-16", "byte order mark"
            chunks = _chain([first], chunks)
        coder = _Transcoder(encoding_now, member.where) if encoding_now else _UTF8(member.where)
        check = (lambda: judge(member, coder)) if isinstance(coder, _UTF8) else (lambda: None)
        decoded = _decoded(chunks, coder)
        if layout_of(member.name) == Layout.LINES:
            # Lines that fit in WHOLE_DOCUMENT_BYTES are all read, and the encoding judged, before any is handed on.
            held, rest = _hold(decoded)
            if rest is None:
                check()
            yield from _read_lines(_chain(held, rest or iter(())), member.where, info, limits)
        else:
            yield from _read_document(decoded, member.where, info, limits, check)
        if isinstance(coder, _Transcoder):
            assert encoding_now is not None  # a _Transcoder is made only for an encoding
            info.encoding = encoding_now
            reason = how.get(member.where) or _how(encoding_now, declared_encoding, encoding)
            info.notes.append((member.where, f"not UTF-8: read as {encoding_now} ({reason})"))
            if coder.undecodable:
                info.notes.append((member.where, f"{coder.undecodable} bytes undecodable as {encoding_now}: replaced"))
            return
        check()
        if coder.bom:
            info.encoding = "utf-8-sig"
        if coder.bad_count:
            listed = ", ".join(str(position) for position in coder.bad)
            more = f" and {coder.bad_count - len(coder.bad)} more" if coder.bad_count > len(coder.bad) else ""
            info.notes.append(
                (
                    member.where,
                    f"UTF-8 with {coder.bad_count} malformed byte sequences, each replaced by U+FFFD "
                    f"(at byte {listed}{more})",
                )
            )
        if coder.replacement_chars:
            info.notes.append(
                (
                    member.where,
                    f"{coder.replacement_chars} U+FFFD replacement characters in the published text: its encoding "
                    "was already broken before publication",
                )
            )

    def found() -> Iterator[Found]:
        for member, stream in _members(path, label):
            yielded = False
            try:
                for item in read_member(member, stream, forced.get(member.where)):
                    yielded = True
                    yield item
            except NotUTF8 as error:
                if yielded:
                    raise  # what was read is already handed on: the caller must start over (see the runner)
                forced[member.where] = error.encoding
                with _reopen(path, label, member) as again:
                    yield from read_member(member, again, error.encoding)

    return info, found()


def _how(chosen: str, declared: str | None, configured: str | None) -> str:
    if chosen == declared:
        return "declared by the server"
    if chosen == configured:
        return "set for the source"
    return "a guess: the file declares no encoding"


class _reopen:  # noqa: N801 (a context manager used like a function)
    """The same member opened again from its start."""

    def __init__(self, path: Path, label: str, member: _Member) -> None:
        self.members = _members(path, label)
        self.member = member

    def __enter__(self) -> _Stream:
        for member, stream in self.members:
            if member.where == self.member.where:
                return stream
        raise IngestError(f"{self.member.where}: could not be read again")

    def __exit__(self, *exc: object) -> None:
        self.members.close()
