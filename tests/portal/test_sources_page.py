"""The sources page shows each source's licence and attribution, and how its last run went."""

from __future__ import annotations

from ingest.jobs import run_source
from ingest.sources import load_sources
from portal.resources import demo_sources_file


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
