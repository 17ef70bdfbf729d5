"""Atom feeds of searches: a reader follows a search (a word, a supplier, a buyer) without an account."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

ATOM = "{http://www.w3.org/2005/Atom}"


def entries(client, query: str) -> list[tuple[str, str]]:
    response = client.get(f"/search.atom?{query}")
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    feed = ET.fromstring(response.get_data())
    assert feed.find(f"{ATOM}updated") is not None and feed.find(f"{ATOM}id") is not None
    return [(e.findtext(f"{ATOM}id") or "", e.findtext(f"{ATOM}updated") or "") for e in feed.iter(f"{ATOM}entry")]


def publish(load, path, ocid: str, release_id: str, date: str, title: str, supplier: str) -> None:
    release = {
        "ocid": ocid,
        "id": release_id,
        "date": date,
        "tag": ["award"],
        "initiationType": "tender",
        "tender": {"id": "t", "title": title},
        "awards": [{"id": "a", "suppliers": [{"id": "s1", "name": supplier}]}],
        "parties": [{"id": "s1", "name": supplier, "roles": ["supplier"]}],
    }
    path.write_text(json.dumps({"releases": [release]}), encoding="utf-8")
    load(path)


def test_a_search_feed_changes_when_a_release_is_ingested(client, load, tmp_path):
    publish(load, tmp_path / "a.json", "ocds-f1-1", "1", "2024-01-01T00:00:00Z", "Déneigement", "Acme Neige")
    before = entries(client, "q=d%C3%A9neigement")
    assert [ocid for ocid, _ in before] == ["urn:ocid:ocds-f1-1"]
    # A new process, and a change to the first one: both show, the newest first.
    publish(load, tmp_path / "b.json", "ocds-f1-2", "1", "2024-02-01T00:00:00Z", "Déneigement nord", "Acme Neige")
    publish(load, tmp_path / "c.json", "ocds-f1-1", "2", "2024-03-01T00:00:00Z", "Déneigement", "Acme Neige")
    after = entries(client, "q=d%C3%A9neigement")
    assert [ocid for ocid, _ in after] == ["urn:ocid:ocds-f1-1", "urn:ocid:ocds-f1-2"]
    assert after[0][1].startswith("2024-03-01") and after != before
    # Following a supplier is a search by its name.
    assert len(entries(client, "supplier=Acme+Neige")) == 2


def test_the_search_page_names_its_feed(demo_client):
    page = demo_client.get("/search?q=entretien").get_data(as_text=True)
    assert 'type="application/atom+xml"' in page and "/search.atom?q=entretien" in page
    assert entries(demo_client, "q=entretien")
