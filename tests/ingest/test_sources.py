"""The sources file: the shipped configurations parse, and mistakes are reported with the source's name."""

from __future__ import annotations

import re

import pytest

from ingest.sources import SourceConfigError, load_sources
from portal.config import default_settings
from portal.resources import demo_sources_file
from portal.vocabulary import SourceKind

VALID = """
[[source]]
name = "Register"
kind = "csv"
url = "register.csv"
licence = "CC BY 4.0"
ocid_prefix = "x-register"
currency = "CAD"
[source.mapping]
supplier = "FOURNISSEUR"
amount = "MONTANT"
"""


def write(tmp_path, text: str):
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_sources_files_parse_with_a_licence_each():
    shipped = load_sources(default_settings("instance")["SOURCES_FILE"])
    assert {s.kind for s in shipped} == {SourceKind.SOCRATA, SourceKind.CKAN, SourceKind.OCDS_API}
    demo = load_sources(demo_sources_file())
    assert all(s.local_path().is_file() for s in demo)
    for source in shipped + demo:
        assert source.licence and source.attribution, source.name


def test_a_valid_file_reads_relative_paths_beside_it(tmp_path):
    (source,) = load_sources(write(tmp_path, VALID))
    assert source.local_path() == tmp_path / "register.csv"
    assert source.rate_limit == 2.0 and source.table.header


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('kind = "csv"', 'kind = "ftp"'), "Register: kind 'ftp' is not one of ocds_api, socrata, ckan, csv, xlsx"),
        (('licence = "CC BY 4.0"', ""), "Register: `licence` is required"),
        (('amount = "MONTANT"', 'montant = "MONTANT"'), "Register: mapping names no field of the model: montant"),
        (('amount = "MONTANT"', ""), "Register: mapping needs amount"),
        (('currency = "CAD"', ""), "Register: say the `currency` of its amounts"),
        (('ocid_prefix = "x-register"', ""), "Register: tabular sources need an `ocid_prefix`"),
        (
            ('licence = "CC BY 4.0"', 'licence = "CC BY 4.0"\napp_token = "secret"'),
            "Register: unknown key(s): app_token",
        ),
        (("[source.mapping]", "[source.table]\nheader = false\n[source.mapping]"), "needs `columns` naming them"),
        (("[source.mapping]", '[source.table]\nplaceholder_ids = ["("]\n[source.mapping]'), "not a regular expression"),
        (('currency = "CAD"', 'currency = "CAD"\ntimezone = "Mars/Olympus"'), "unknown time zone 'Mars/Olympus'"),
    ],
)
def test_mistakes_are_reported_with_the_source_name(tmp_path, change, message):
    with pytest.raises(SourceConfigError, match=re.escape(message)):
        load_sources(write(tmp_path, VALID.replace(*change)))


def test_two_sources_with_one_name_are_refused(tmp_path):
    with pytest.raises(SourceConfigError, match="two sources are named 'Register'"):
        load_sources(write(tmp_path, VALID + VALID))


def test_a_token_variable_that_is_not_set_is_an_error_not_an_anonymous_run(tmp_path, monkeypatch):
    text = VALID.replace('kind = "csv"', 'kind = "csv"\napp_token_env = "PORTAL_TEST_TOKEN"')
    (source,) = load_sources(write(tmp_path, text))
    monkeypatch.delenv("PORTAL_TEST_TOKEN", raising=False)
    with pytest.raises(SourceConfigError, match="PORTAL_TEST_TOKEN is not set"):
        source.app_token()
    monkeypatch.setenv("PORTAL_TEST_TOKEN", "t")
    assert source.app_token() == "t"
