"""Vendor, buyer and comparison pages: HTML with charts and tables, JSON and CSV twins, permalinks, redirects after a
merge or split, and merges and splits made by hand through the CLI, recorded and undone."""

from __future__ import annotations

import csv
import io

from portal.cli import cli
from portal.domain.vendors import resolve_all
from portal.models import Vendor, VendorDecision
from portal.vocabulary import EntityKind
from tests.conftest import DEMO_DATA
from tests.vendors.conftest import A, B, vendor_of


def invoke(app, *args):
    return app.test_cli_runner().invoke(cli, list(args))


def _ids(sessions):
    with sessions() as session:
        return {
            "acme": vendor_of(session, A, "ACME Corp.").vendor_id,
            "beta": vendor_of(session, A, "Beta Builders Inc").vendor_id,
            "beta_llc": vendor_of(session, B, "Beta Builders LLC").vendor_id,
            "gamma": vendor_of(session, B, "Gamma Paving LLC").vendor_id,
            "works": vendor_of(session, A, "Public Works Department", EntityKind.BUYER).vendor_id,
        }


def test_a_vendor_page_explains_its_merges_and_draws_its_figures(client, vendors_loaded):
    ids = _ids(vendors_loaded)
    page = client.get(f"/vendor/{ids['acme']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "by identifier XX-REG/111" in html
    assert "by name rule: same words “ACME”, legal form CORP" in html
    assert html.count("<svg") >= 2 and 'role="img"' in html  # by year, by method
    assert "<caption>Awarded in USD by year</caption>" in html
    data = client.get(f"/vendor/{ids['acme']}.json").get_json()
    assert data["by_currency"][0] == {
        "currency": "USD",
        "awarded": "180.00",
        "contracted": "120.00",
        "awards": 3,
        "mean": "66.67",
        "median": "50.00",
        "value_increases": 1,
        "increase": "20.00",
    }
    assert [p["evidence"] for p in data["parties"]] == ["published", "identifier", "name"]
    rows = list(csv.DictReader(io.StringIO(client.get(f"/vendor/{ids['acme']}/by-year.csv").get_data(as_text=True))))
    assert [(r["year"], r["awarded"]) for r in rows] == [("2020", "100.00"), ("2021", "50.00"), ("2022", "30.00")]
    assert 'rel="alternate"' in page.headers["Link"]


def test_a_buyer_is_one_page_across_publishers(client, vendors_loaded):
    ids = _ids(vendors_loaded)
    data = client.get(f"/buyer/{ids['works']}.json").get_json()
    assert {p["publisher"] for p in data["parties"]} == {A, B}
    assert data["processes"] == 8
    assert client.get(f"/vendor/{ids['works']}").status_code == 404  # a buyer is not a supplier


def test_the_supplier_page_links_to_its_vendor(client, vendors_loaded):
    ids = _ids(vendors_loaded)
    with vendors_loaded() as session:
        party = vendor_of(session, B, "ACME CORP").party_id
    data = client.get(f"/supplier/{party}.json").get_json()
    assert data["vendor"] == f"/vendor/{ids['acme']}"


def test_a_comparison_has_a_permalink_and_twins(client, vendors_loaded):
    ids = _ids(vendors_loaded)
    query = f"vendor={ids['acme']}&vendor={ids['beta']}&vendor={ids['gamma']}"
    page = client.get(f"/compare?{query}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Permalink to this comparison" in html and "Who competed against whom" in html
    data = client.get(f"/compare.json?{query}").get_json()
    assert [v["id"] for v in data["vendors"]] == [ids["acme"], ids["beta"], ids["gamma"]]
    rows = list(csv.DictReader(io.StringIO(client.get(f"/compare.csv?{query}").get_data(as_text=True))))
    assert [(r["vendor"], r["currency"], r["awarded"]) for r in rows] == [
        ("ACME Corp.", "USD", "180.00"),
        ("Beta Builders Inc", "USD", "200.00"),
        ("Gamma Paving LLC", "USD", "300.00"),
    ]
    assert client.get(f"/compare.json?vendor={ids['acme']}").get_json()["vendors"] == []  # one is not a comparison
    assert client.get("/compare.json?vendor=1&vendor=2&vendor=3&vendor=4&vendor=5&vendor=6&vendor=7").status_code in (
        400,
        404,
    )
    scoped = client.get(f"/compare.json?buyer={ids['works']}").get_json()
    assert scoped["scope"] == "buyer" and len(scoped["vendors"]) == 4
    assert client.get("/compare.json?category=works").get_json()["concentration"][0]["hhi"] == 3512


def test_looking_vendors_up_by_name_to_compare(client, vendors_loaded):
    ids = _ids(vendors_loaded)
    html = client.get(f"/compare?vendor={ids['acme']}&add=beta").get_data(as_text=True)
    assert f"/compare?vendor={ids['acme']}&amp;vendor={ids['beta']}" in html
    assert "Add Beta Builders LLC" in html


def test_merge_split_and_undo_by_hand_are_recorded_and_redirect(app, client, vendors_loaded):
    ids = _ids(vendors_loaded)
    merged = invoke(app, "vendors", "merge", str(ids["beta"]), str(ids["beta_llc"]), "--by", "A. Official")
    assert merged.exit_code == 0, merged.output
    with vendors_loaded() as session:
        decision = session.query(VendorDecision).one()
        assert (decision.action, decision.by, decision.undone_at) == ("merge", "A. Official", None)
        survivor = vendor_of(session, A, "Beta Builders Inc").vendor_id
        assert vendor_of(session, B, "Beta Builders LLC").vendor_id == survivor
        gone = ({ids["beta"], ids["beta_llc"]} - {survivor}).pop()
        assert session.get(Vendor, gone).merged_into_id == survivor
    moved = client.get(f"/vendor/{gone}.json")
    assert moved.status_code == 301 and moved.headers["Location"].endswith(f"/vendor/{survivor}.json")
    page = client.get(f"/vendor/{survivor}").get_data(as_text=True)
    assert "by an official: merged by hand (decision" in page

    # A rerun of the rules keeps the official's decision.
    assert invoke(app, "vendors", "resolve").exit_code == 0
    with vendors_loaded() as session:
        assert vendor_of(session, B, "Beta Builders LLC").vendor_id == survivor

    undone = invoke(app, "vendors", "undo", str(decision.id))
    assert undone.exit_code == 0, undone.output
    with vendors_loaded() as session:
        assert (
            vendor_of(session, B, "Beta Builders LLC").vendor_id != vendor_of(session, A, "Beta Builders Inc").vendor_id
        )
        assert session.get(VendorDecision, decision.id).undone_at is not None
    assert client.get(f"/vendor/{gone}").status_code == 200  # its parties came back to it

    # A split: ACME's name-rule spelling taken apart from the rest, then put back.
    with vendors_loaded() as session:
        party = vendor_of(session, B, "ACME CORP").party_id
    split = invoke(app, "vendors", "split", str(ids["acme"]), str(party), "--by", "A. Official", "--reason", "a test")
    assert split.exit_code == 0, split.output
    with vendors_loaded() as session:
        assert vendor_of(session, B, "ACME CORP").vendor_id != ids["acme"]
        assert vendor_of(session, A, "ACME Corp.").vendor_id == ids["acme"]
        split_id = session.query(VendorDecision).order_by(VendorDecision.id.desc()).first().id
    assert "kept apart" in split.output
    listed = invoke(app, "vendors", "decisions")
    assert "merge" in listed.output and "split" in listed.output and "undone" in listed.output
    assert invoke(app, "vendors", "undo", str(split_id)).exit_code == 0
    with vendors_loaded() as session:
        assert vendor_of(session, B, "ACME CORP").vendor_id == ids["acme"]
    refused = invoke(app, "vendors", "merge", str(ids["acme"]), "--by", "x")
    assert refused.exit_code != 0 and "two vendors" in refused.output


def test_ingest_resolves_the_parties_it_adds(app):
    result = invoke(app, "ingest", str(DEMO_DATA / "montreal"), "--source", "Montréal")
    assert result.exit_code == 0, result.output
    assert "suppliers:" in result.output and "buyers:" in result.output
    with app.extensions["portal.sessions"]() as session:
        before = session.query(Vendor).count()
        assert before > 0
    again = invoke(app, "ingest", str(DEMO_DATA / "mexico-city"), "--source", "CDMX")
    assert again.exit_code == 0, again.output
    with app.extensions["portal.sessions"].begin() as session:
        after = session.query(Vendor).count()
        assert after > before
        reports = resolve_all(session, incremental=True)  # nothing new: nothing to do
        assert all(r.parties == 0 for r in reports)
