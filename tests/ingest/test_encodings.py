"""Encodings per file, not per guess: UTF-8 strictly; a few malformed bytes in a UTF-8 file are replaced and
their positions noted, the rest of its text kept; a file that is not UTF-8 at all is read in its declared
charset, else the source's encoding, else a guess named in the run; any size, any layout."""

from __future__ import annotations

import gzip
import json

import pytest
from sqlalchemy import select

from ingest import ocds
from ingest.ocds import read_file
from ingest.runner import run_ingest
from portal.models import Package, Process
from tests.conftest import DEMO_DATA

MONTREAL_ID = "479ed54d04ef57f019dab7e6439d1f12871709a8"
MONTREAL_FILE = DEMO_DATA / "montreal" / f"ocds-a1234567-mt-{MONTREAL_ID}-{MONTREAL_ID}.json"
MONTREAL_OCID = f"ocds-a1234567-mt-{MONTREAL_ID}"
UKRAINE_FILE = (
    DEMO_DATA / "ukraine-prozorro" / "ocds-be6bcu-UA-2016-08-31-000670-b-aad96fd497084a9b94c5cb582349ceb0.json"
)
LATIN1_PACKAGE = DEMO_DATA / "mexico-city" / "release-package-AD-024-2016_iso-8859-1.json"


def montreal_text() -> str:
    return MONTREAL_FILE.read_text(encoding="utf-8")


def ukrainian_with_two_bad_bytes() -> tuple[bytes, list[int], str, str]:
    """The ProZorro release with two bytes that are not UTF-8 put into the first copy of its buyer's name, after
    its second and its fourth letters (two bytes each in UTF-8)."""
    raw = UKRAINE_FILE.read_bytes()
    name = json.loads(raw)["buyer"]["name"]
    start = raw.index(json.dumps(name, ensure_ascii=False).encode()) + 1
    first, second = start + 4, start + 8
    spoiled = raw[:first] + b"\xff" + raw[first:second] + b"\xfe" + raw[second:]
    return spoiled, [first, second + 1], name, name[:2] + "\ufffd" + name[2:4] + "\ufffd" + name[4:]


def as_json(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)[1:-1]


def test_a_french_latin1_file_reads_montreal(tmp_path):
    (tmp_path / "montreal.json").write_bytes(montreal_text().encode("latin-1"))
    info, found = read_file(tmp_path / "montreal.json")
    [release] = [item.data for item in found]
    assert release["buyer"]["address"]["locality"] == "Montréal"
    assert info.publisher_name == "Ville de Montréal"
    assert info.encoding == "cp1252"
    assert (str(tmp_path / "montreal.json"), "not UTF-8: read as cp1252 (a guess: the file declares no encoding)") in (
        info.notes
    )


def test_a_short_french_latin1_line_is_not_read_as_cyrillic(tmp_path):  # read whole, so no NotUTF8
    release = {"ocid": "ocds-a1234567-mt-1", "id": "1", "tag": ["award"], "buyer": {"name": "Ville de Montréal"}}
    (tmp_path / "one.jsonl").write_bytes(json.dumps(release, ensure_ascii=False).encode("latin-1") + b"\n")
    _, found = read_file(tmp_path / "one.jsonl")
    assert [item.data["buyer"]["name"] for item in found] == ["Ville de Montréal"]


def test_a_ukrainian_utf8_file_with_two_bad_bytes_keeps_its_text(tmp_path):
    spoiled, positions, name, expected = ukrainian_with_two_bad_bytes()
    (tmp_path / "ua.json").write_bytes(spoiled)
    info, found = read_file(tmp_path / "ua.json")
    [release] = [item.data for item in found]
    text = json.dumps(release, ensure_ascii=False)
    assert as_json(expected) in text
    assert text.count("\ufffd") == 2
    original = json.dumps(json.loads(UKRAINE_FILE.read_bytes()), ensure_ascii=False)
    assert text.replace(as_json(expected), as_json(name), 1) == original
    assert info.encoding == "utf-8"
    assert info.notes == [
        (
            str(tmp_path / "ua.json"),
            f"UTF-8 with 2 malformed byte sequences, each replaced by U+FFFD (at byte {positions[0]}, {positions[1]})",
        )
    ]


def test_the_ukrainian_file_with_two_bad_bytes_is_stored_as_utf8(sessions, tmp_path):
    spoiled, positions, _, expected = ukrainian_with_two_bad_bytes()
    (tmp_path / "ua.json").write_bytes(spoiled)
    result = run_ingest(sessions, str(tmp_path / "ua.json"))
    assert result.status == "succeeded", result.errors
    with sessions() as session:
        assert as_json(expected) in session.scalars(select(Process.compiled)).one()
        assert session.scalars(select(Package.encoding)).one() == "utf-8"
    note = f"UTF-8 with 2 malformed byte sequences, each replaced by U+FFFD (at byte {positions[0]}, {positions[1]})"
    assert {"where": "ua.json", "note": note} in result.counts.notes


def test_a_file_that_is_not_utf8_uses_its_declared_charset_then_the_source_setting(tmp_path):
    text = json.dumps(
        {"ocid": "ocds-be6bcu-1", "id": "1", "tag": ["tender"], "buyer": {"name": "Київська міська рада"}},
        ensure_ascii=False,
    )
    (tmp_path / "cp1251.json").write_bytes(text.encode("cp1251"))
    for kwargs, how in (
        ({"declared_encoding": "cp1251", "encoding": "latin-1"}, "declared by the server"),
        ({"encoding": "cp1251"}, "set for the source"),
    ):
        info, found = read_file(tmp_path / "cp1251.json", **kwargs)
        assert [item.data["buyer"]["name"] for item in found] == ["Київська міська рада"]
        assert info.notes == [(str(tmp_path / "cp1251.json"), f"not UTF-8: read as cp1251 ({how})")]
    # A declared charset never overrides a file that is UTF-8.
    (tmp_path / "utf8.json").write_text(text, encoding="utf-8")
    info, found = read_file(tmp_path / "utf8.json", declared_encoding="cp1251")
    assert [item.data["buyer"]["name"] for item in found] == ["Київська міська рада"]
    assert (info.encoding, info.notes) == ("utf-8", [])


def test_the_demo_latin1_package_loads_unaided(tmp_path):
    info, found = read_file(LATIN1_PACKAGE)
    text = json.dumps([item.data for item in found], ensure_ascii=False)
    assert "MANTENIMIENTO A MÁQUINA CORTADORA" in text
    assert "\ufffd" not in text
    assert info.encoding == "cp1252"


@pytest.mark.parametrize("layout", ["streamed-package", "json-lines", "gzipped-json-lines"])
def test_a_large_latin1_file_is_read_whole_in_its_encoding(sessions, tmp_path, monkeypatch, layout):
    # Past the size read in one piece: the releases are stored as they are read, and the file turns out not to be
    # UTF-8 only at its end, so the runner reads it again, in a new transaction, as cp1252.
    monkeypatch.setattr(ocds, "WHOLE_DOCUMENT_BYTES", 4096)
    releases = []
    for i in range(40):
        release = json.loads(montreal_text())
        release["id"], release["ocid"] = f"r{i}", f"{MONTREAL_OCID}-{i}"
        releases.append(release)
    if layout == "streamed-package":
        path = tmp_path / "big.json"
        path.write_bytes(json.dumps({"uri": "u", "releases": releases}, ensure_ascii=False).encode("latin-1"))
    else:
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in releases).encode("latin-1")
        path = tmp_path / "big.jsonl"
        if layout == "gzipped-json-lines":
            path = tmp_path / "big.jsonl.gz"
            lines = gzip.compress(lines)
        path.write_bytes(lines)

    result = run_ingest(sessions, str(path))

    assert result.status == "succeeded", result.errors
    assert result.counts.releases_new == 40
    with sessions() as session:
        compiled = [json.loads(text) for text in session.scalars(select(Process.compiled))]
        assert {c["buyer"]["address"]["locality"] for c in compiled} == {"Montréal"}
        assert session.scalars(select(Package.encoding)).one() == "cp1252"
    notes = [note["note"] for note in result.counts.notes]
    assert "not UTF-8: read as cp1252 (a guess: the file declares no encoding)" in notes


def test_the_source_encoding_setting_reaches_the_reader(sessions, tmp_path):
    text = json.dumps(
        {"ocid": "ocds-be6bcu-1", "id": "1", "tag": ["tender"], "buyer": {"name": "Львівська міська рада"}},
        ensure_ascii=False,
    )
    (tmp_path / "koi8.json").write_bytes(text.encode("koi8_u"))
    result = run_ingest(sessions, str(tmp_path / "koi8.json"), encoding="koi8_u")
    assert result.status == "succeeded", result.errors
    with sessions() as session:
        assert json.loads(session.scalars(select(Process.compiled)).one())["buyer"]["name"] == "Львівська міська рада"


def test_replacement_characters_already_in_the_source_are_noted(sessions, tmp_path):
    release = json.loads(montreal_text())
    release["buyer"]["name"] = "Service de l\ufffdeau"
    release["tender"] = {"id": "t", "title": "Entretien \\ufffd"}
    (tmp_path / "broken.json").write_text(json.dumps(release, ensure_ascii=False), encoding="utf-8")
    result = run_ingest(sessions, str(tmp_path / "broken.json"))
    assert result.status == "succeeded", result.errors
    assert {
        "where": "broken.json",
        "note": "2 U+FFFD replacement characters in the published text: its encoding was already broken before "
        "publication",
    } in result.counts.notes


def test_a_file_of_any_size_that_is_not_utf8_is_not_refused(sessions, tmp_path, monkeypatch):
    monkeypatch.setattr(ocds, "WHOLE_DOCUMENT_BYTES", 1024)
    releases = []
    for i in range(20):
        release = json.loads(montreal_text())
        release["id"] = f"r{i}"
        releases.append(release)
    path = tmp_path / "big.json"
    path.write_bytes(json.dumps({"releases": releases}, ensure_ascii=False).encode("latin-1"))
    result = run_ingest(sessions, str(path), encoding="iso-8859-1")
    assert result.status == "succeeded", result.errors
    assert result.counts.releases_new == 20
    assert {"where": "big.json", "note": "not UTF-8: read as iso-8859-1 (set for the source)"} in result.counts.notes
