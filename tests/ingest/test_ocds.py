"""Reading every shape publishers use, from the real demo files re-packed in each form."""

from __future__ import annotations

import gzip
import json
import zipfile

import pytest

from ingest import ocds
from ingest.ocds import IngestError, read_file
from tests.conftest import DEMO_DATA

PACKAGE = DEMO_DATA / "mexico-city" / "release-package-AD-063-2015.json"
LATIN1_PACKAGE = DEMO_DATA / "mexico-city" / "release-package-AD-024-2016_iso-8859-1.json"
MONTREAL = sorted((DEMO_DATA / "montreal").glob("*.json"))


def releases_in(path, **kwargs):
    info, found = read_file(path, **kwargs)
    items = list(found)
    return info, [(f.data["ocid"], f.data["id"]) for f in items if f.kind == "release"], items


def test_release_package_gives_its_releases_and_package_metadata():
    info, releases, _ = releases_in(PACKAGE)
    assert releases == [("OCDS-87SD3T-AD-SF-DRM-063-2015", "01"), ("OCDS-87SD3T-AD-SF-DRM-063-2015", "02")]
    assert info.uri.startswith("http://www.contratosabiertos.cdmx.gob.mx/api/contrato/")
    assert info.published_date == "2017-11-06T00:00:00-06:00"


def test_single_release_takes_package_metadata_from_package_info():
    info, releases, _ = releases_in(MONTREAL[0])
    assert len(releases) == 1
    assert info.publisher_name == "Ville de Montréal"


def test_latin1_package_is_decoded_and_the_encoding_reported():
    info, _, items = releases_in(LATIN1_PACKAGE)
    assert info.encoding in ("cp1252", "latin_1", "iso8859_1")
    text = json.dumps([i.data for i in items], ensure_ascii=False)
    assert "SECRETARÍA DE FINANZAS" in text
    assert "\ufffd" not in text


def test_json_lines_gzip_and_zip_give_the_same_releases(tmp_path):
    documents = [json.loads(p.read_text(encoding="utf-8")) for p in MONTREAL[:5]]
    lines = "\n".join(json.dumps(d, ensure_ascii=False) for d in documents) + "\n"
    (tmp_path / "r.jsonl").write_text(lines, encoding="utf-8")
    with gzip.open(tmp_path / "r.jsonl.gz", "wt", encoding="utf-8") as out:
        out.write(lines)
    with zipfile.ZipFile(tmp_path / "r.zip", "w") as archive:
        for i, document in enumerate(documents):
            archive.writestr(f"part/{i}.json", json.dumps(document))
        archive.writestr("README.txt", "not OCDS, skipped")
    (tmp_path / "array.json").write_text(json.dumps(documents), encoding="utf-8")
    expected = [(d["ocid"], d["id"]) for d in documents]
    for name in ("r.jsonl", "r.jsonl.gz", "r.zip", "array.json"):
        assert releases_in(tmp_path / name)[1] == expected, name


def test_record_package_yields_embedded_releases_and_the_publishers_record(tmp_path, shared_data):
    record = json.loads(
        (shared_data / "ocds" / "cdmx-sample" / "records" / "OCDS-87SD3T-SEFIN-DRM-A-001-2016.json").read_text()
    )
    assert "ocid" not in record
    (tmp_path / "package.json").write_text(json.dumps({"uri": "x", "records": [record]}), encoding="utf-8")
    _, releases, items = releases_in(tmp_path / "package.json")
    assert releases == [("OCDS-87SD3T-SEFIN-DRM-A-001-2016", rid) for rid in ("01", "02", "03")]
    kept = [i for i in items if i.kind == "record"]
    assert kept[0].data["ocid"] == "OCDS-87SD3T-SEFIN-DRM-A-001-2016"
    assert all(i.from_record for i in items if i.kind == "release")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"releases": [{"ocid": "a", "id": "1",}]}', "line 1, column 39"),
        ('{"releases": [\n  {"ocid": "a"\n', "line 3, column 1"),
        ('{"hello": 1}', "not an OCDS release, record or package"),
        ("[1, 2]", "expected a JSON object"),
        ('{"releases": ["x"]}', "a release must be a JSON object"),
    ],
)
def test_bad_documents_raise_an_error_naming_file_and_position(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(IngestError) as error:
        releases_in(path)
    assert str(path) in str(error.value)
    assert message in str(error.value)


def test_bad_json_line_is_reported_by_line_number(tmp_path):
    good = MONTREAL[0].read_text(encoding="utf-8").replace("\n", " ")
    (tmp_path / "r.jsonl").write_text(f"{good}\n{good}\n{{broken\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"r\.jsonl: invalid JSON at line 3"):
        releases_in(tmp_path / "r.jsonl")


@pytest.mark.parametrize("shape", ["release-package", "record-package", "array", "single-release", "lines-as-json"])
def test_a_document_past_the_whole_size_is_streamed_to_the_same_releases(tmp_path, monkeypatch, shape):
    documents = [json.loads(p.read_text(encoding="utf-8")) for p in MONTREAL[:6]]
    if shape == "release-package":
        content = json.dumps({"uri": "u", "publisher": {"name": "P"}, "releases": documents})
    elif shape == "record-package":
        records = [{"ocid": d["ocid"], "releases": [d], "compiledRelease": d} for d in documents]
        content = json.dumps({"uri": "u", "records": records})
    elif shape == "array":
        content = json.dumps(documents)
    elif shape == "single-release":
        documents = documents[:1]
        documents[0]["padding"] = "x" * 20_000
        content = json.dumps(documents[0])
    else:
        content = "\n".join(json.dumps(d) for d in documents) + "\n"
    (tmp_path / "doc.json").write_text(content, encoding="utf-8")
    whole_info, whole, _ = releases_in(tmp_path / "doc.json")

    monkeypatch.setattr(ocds, "WHOLE_DOCUMENT_BYTES", 2048)
    streamed_info, streamed, items = releases_in(tmp_path / "doc.json")

    assert streamed == whole == [(d["ocid"], d["id"]) for d in documents]
    assert (streamed_info.uri, streamed_info.publisher_name) == (whole_info.uri, whole_info.publisher_name)
    if shape == "record-package":
        assert [i.kind for i in items].count("record") == 6


def test_bad_json_in_a_streamed_document_names_the_byte(tmp_path, monkeypatch):
    monkeypatch.setattr(ocds, "WHOLE_DOCUMENT_BYTES", 1024)
    documents = [json.loads(p.read_text(encoding="utf-8")) for p in MONTREAL[:3]]
    text = json.dumps({"releases": documents})
    (tmp_path / "bad.json").write_text(text[:-200] + "}}}" + text[-200:], encoding="utf-8")
    with pytest.raises(IngestError, match=r"bad\.json: invalid JSON near byte \d+"):
        releases_in(tmp_path / "bad.json")
