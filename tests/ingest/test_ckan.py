"""CKAN: the shipped Montréal configurations against a CKAN action API on 127.0.0.1 serving the real Montréal
register rows — a datastore resource paged by `_links.next`, a CSV resource found with package_show, and
`success: false` envelopes."""

from __future__ import annotations

import csv
import dataclasses
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from ingest.jobs import run_source
from ingest.sources import TableFormat, find_source, load_sources
from ingest.tabular import parse_amount_text
from portal.config import default_settings
from portal.models import Process, RejectedRow, Release
from portal.resources import demo_data_folder
from tests.ingest.platforms import platform_server

REGISTERS = demo_data_folder() / "registers"
FONCTIONNAIRES = "contrats-octroyes-par-les-fonctionnaires-ville-centrale"
CONSEIL = "contrats-conseil-municipal-et-conseil-d-agglomeration"
# The register's columns as its edition with a header row names them
HEADER = ["NOM DU FOURNISSEUR", "NUMÉRO", "DATE D'APPROBATION", "APPROBATEUR", "DESCRIPTION", "SERVICE", "ACTIVITÉ",
          "MONTANT", "PORTION À LA CHARGE DE L'AGGLO."]  # fmt: skip


def datastore_records() -> list[dict]:
    """The 2013-2014 slice's rows as a datastore holds them: named columns, MONTANT a number, no date."""
    records = []
    with open(REGISTERS / "montreal-contrats-fonctionnaires-2013-2014-slice.csv", encoding="utf-8", newline="") as f:
        for supplier, number, approver, description, service, activity, amount in csv.reader(f):
            value = parse_amount_text(amount, TableFormat(decimal=",", thousands=" "))
            records.append(dict(zip(HEADER, [supplier, number, None, approver, description, service, activity,
                                             float(value), None], strict=True)))  # fmt: skip
    return records


def configured(name: str):
    return find_source(load_sources(default_settings("instance")["SOURCES_FILE"]), name)


@pytest.fixture
def server():
    with platform_server() as platform:
        yield platform


def test_a_datastore_resource_is_paged_to_its_total(sessions, server):
    records = datastore_records()
    base = server.ckan(
        FONCTIONNAIRES, [{"id": "res-1", "name": "Contrats", "datastore_active": True}], {"res-1": records}
    )
    config = configured("Ville de Montréal: contrats octroyés par les fonctionnaires")
    config = dataclasses.replace(config, url=base, allow_private=True, rate_limit=0, page_size=100)
    result = run_source(sessions, config)
    assert result.status == "succeeded", result.errors
    assert (result.fetched, result.publisher_total, result.duplicates) == (320, 320, 2)
    assert result.counts.releases_new == 308
    assert server.requests["/api/3/action/datastore_search"] == 4
    assert any("offset=300" in line for line in server.log)  # followed _links.next
    first = records[0]  # a float in the datastore, exact in the database
    with sessions() as session:
        amount = session.scalar(
            select(Process.value_amount).where(Process.ocid == f"x-montreal-fonctionnaires-{first['NUMÉRO']}")
        )
    assert amount == Decimal(repr(first["MONTANT"]))
    again = run_source(sessions, config)
    assert (again.counts.releases_new, again.gone) == (0, 0)


def test_a_csv_resource_found_with_package_show_loads_as_a_register(sessions, server):
    body = (REGISTERS / "montreal-contrats-conseil-municipal-excerpt.csv").read_bytes()
    csv_url = server.file("/dataset/contrats/resource/cm.csv", body)
    resources = [
        {"id": "agglo", "name": "Contrats - Conseil d'agglomération", "format": "CSV", "url": csv_url},
        {"id": "cm", "name": "Contrats - Conseil municipal", "format": "CSV", "url": csv_url},
    ]
    base = server.ckan(CONSEIL, resources, {})
    config = configured("Ville de Montréal: contrats du conseil municipal")
    config = dataclasses.replace(config, url=base, allow_private=True, rate_limit=0)
    result = run_source(sessions, config)
    assert result.status == "succeeded", result.errors
    assert (result.fetched, result.counts.releases_new, result.rejected) == (10, 9, 1)
    with sessions() as session:
        assert session.scalar(select(RejectedRow.reason)).startswith("not a contract row")


def test_success_false_envelopes_are_errors_that_say_why(sessions, server):
    base = server.ckan("another-dataset", [], {})
    config = configured("Ville de Montréal: contrats du conseil municipal")
    result = run_source(sessions, dataclasses.replace(config, url=base, allow_private=True, rate_limit=0))
    assert result.status == "failed"
    assert "package_show?id=contrats-conseil" in result.errors[0]
    assert result.errors[0].endswith("CKAN says the call failed: Not Found Error; Not found")
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Release)) == 0


def test_a_resource_that_is_gone_from_its_dataset_is_named(sessions, server):
    base = server.ckan(CONSEIL, [{"id": "x", "name": "Autre chose", "format": "CSV", "url": "http://x/"}], {})
    config = configured("Ville de Montréal: contrats du conseil municipal")
    result = run_source(sessions, dataclasses.replace(config, url=base, allow_private=True, rate_limit=0))
    assert "no resource 'Contrats - Conseil municipal'" in result.errors[0] and "'Autre chose'" in result.errors[0]
