"""The sources page shows each source's licence and attribution, and how its last run went."""

from __future__ import annotations

import csv
import dataclasses
import io

from sqlalchemy import select

from ingest.jobs import run_source
from ingest.sources import TableFormat, load_sources
from portal.models import Party, Process
from portal.resources import demo_sources_file
from portal.vocabulary import SourceKind
from search_index.indexer import update_index


def test_every_page_links_to_the_sources_and_their_licences(client, load, sessions):
    for config in load_sources(demo_sources_file()):
        run_source(sessions, config)
    page = client.get("/sources").get_data(as_text=True)
    assert "Ville de Montréal: contrats du conseil municipal (demo excerpt)" in page
    licence = '<a href="https://creativecommons.org/licenses/by/4.0/" rel="nofollow noopener external">CC BY 4.0</a>'
    assert licence in page
    assert "Ville de Montréal, données ouvertes (donnees.montreal.ca): contrats – conseil municipal" in page
    assert "Rows not loaded</dt><dd>1 " in page
    assert 'href="/sources"' in client.get("/").get_data(as_text=True)
    sources = {s["name"]: s for s in client.get("/sources.json").get_json()["sources"]}
    chicago = sources["City of Chicago: Contracts (demo slice)"]
    assert (chicago["licence"], chicago["releases"], chicago["publisher_total"]) == (
        "Public domain (City of Chicago Open Data Portal)",
        513,
        513,
    )
    assert chicago["last_run"]["status"] == "succeeded"
    [run] = chicago["runs"]  # each run with its counts, as the page's table shows them
    assert (run["status"], run["releases_new"]) == ("succeeded", 513)
    assert "Runs</h3>" in page


def test_sources_loaded_as_files_say_their_licence_is_the_publishers(client, demo_loaded):
    page = client.get("/sources").get_data(as_text=True)
    assert "as stated by the publisher in the files" in page


def test_exports_and_process_pages_carry_the_licence_and_attribution_of_their_source(app, client, sessions):
    conseil = next(c for c in load_sources(demo_sources_file()) if "conseil" in c.name)
    run_source(sessions, conseil)
    update_index(sessions, app.config["INDEX_DIR"])
    with sessions() as session:
        ocid = session.scalars(select(Process.ocid).order_by(Process.ocid)).first()
    attribution = "Ville de Montréal, données ouvertes (donnees.montreal.ca): contrats – conseil municipal"

    rows = list(csv.DictReader(io.StringIO(client.get(f"/process/{ocid}.csv").get_data(as_text=True))))
    assert rows and all((r["licence"], r["attribution"]) == ("CC BY 4.0", attribution) for r in rows)
    [terms] = client.get(f"/process/{ocid}.json").get_json()["sources"]
    assert (terms["source"], terms["licence"], terms["attribution"]) == (conseil.name, "CC BY 4.0", attribution)
    assert terms["no_longer_published_since"] is None
    page = client.get(f"/process/{ocid}").get_data(as_text=True)
    assert "Source and licence" in page and f"Attribution: {attribution}" in page
    assert 'data-figure="gone"' not in page

    hits = list(csv.DictReader(io.StringIO(client.get("/search.csv").get_data(as_text=True))))
    assert len(hits) == 9
    assert {(h["source"], h["licence"], h["attribution"]) for h in hits} == {(conseil.name, "CC BY 4.0", attribution)}
    assert client.get("/search.json").get_json()["results"][0]["attribution"] == attribution
    with sessions() as session:
        supplier_id = session.scalar(select(Party.id).where(Party.name.is_not(None)).order_by(Party.id).offset(1))
    awards = list(csv.DictReader(io.StringIO(client.get(f"/supplier/{supplier_id}.csv").get_data(as_text=True))))
    assert awards and {(a["licence"], a["attribution"]) for a in awards} == {("CC BY 4.0", attribution)}


def test_a_process_its_source_stopped_publishing_says_so(app, client, sessions, tmp_path):
    register = tmp_path / "register.csv"
    register.write_text("number,supplier,amount\n1,A,10\n2,B,20\n", encoding="utf-8")
    config = dataclasses.replace(
        load_sources(demo_sources_file())[0],
        name="Small register",
        kind=SourceKind.CSV,
        url=str(register),
        mapping={"contract_id": "number", "supplier": "supplier", "amount": "amount"},
        ocid_prefix="x-small",
    )
    config = dataclasses.replace(config, table=TableFormat())
    run_source(sessions, config)
    register.write_text("number,supplier,amount\n1,A,10\n", encoding="utf-8")
    assert run_source(sessions, config).gone == 1

    page = client.get("/process/x-small-2").get_data(as_text=True)
    assert 'data-figure="gone"' in page and "No longer published by this source" in page
    assert 'data-figure="gone"' not in client.get("/process/x-small-1").get_data(as_text=True)
    [terms] = client.get("/process/x-small-2.json").get_json()["sources"]
    assert terms["no_longer_published_since"] is not None
