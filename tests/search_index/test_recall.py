"""What a reader looks for is found: every text of a process, words by their stems in the release's language,
exclusions, and spelling suggestions only where they help. Each case is a minimal release, on both databases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from whoosh import index as whoosh_index

from search_index.query import SearchIndex, search_processes
from search_index.schema import process_schema

DATE = "2024-01-01T00:00:00Z"


def release(ocid: str, **fields) -> dict:
    return {"ocid": ocid, "id": "1", "date": DATE, "tag": ["tender"], "initiationType": "tender", **fields}


@pytest.fixture
def publish(app, load, tmp_path):
    """Load these releases; the index to search them."""
    count = iter(range(1000))

    def publish(*releases: dict) -> SearchIndex:
        path = tmp_path / f"package-{next(count)}.json"
        path.write_text(json.dumps({"releases": list(releases)}), encoding="utf-8")
        load(path)
        return SearchIndex(app.config["INDEX_DIR"])

    return publish


def found(index: SearchIndex, q: str) -> list[str]:
    return [hit.ocid for hit in search_processes(index, q=q, per_page=50).hits]


def test_contract_and_award_titles_and_descriptions_are_found(publish):
    index = publish(
        release(
            "ocds-r1-1",
            tender={"id": "T-2024-0042", "title": "AO-2024-0042"},
            awards=[{"id": "a1", "title": "Déneigement", "description": "Secteur nord"}],
            contracts=[{"id": "c1", "awardID": "a1", "title": "Contrat", "description": "Épandage de sel"}],
        )
    )
    assert found(index, "déneigement") == ["ocds-r1-1"]
    assert found(index, "secteur nord") == ["ocds-r1-1"]
    assert found(index, "sel") == ["ocds-r1-1"]


def test_item_descriptions_and_method_details_are_found(publish):
    index = publish(
        release(
            "ocds-r1-2",
            tender={
                "id": "t",
                "title": "Lot 7",
                "procurementMethodDetails": "Licitación pública nacional",
                "items": [{"id": "1", "description": "Tóner para impresora"}],
            },
        )
    )
    assert found(index, "licitación") == ["ocds-r1-2"]
    assert found(index, "toner") == ["ocds-r1-2"]


def test_every_party_is_found_whatever_its_role(publish):
    index = publish(
        release(
            "ocds-r1-3",
            tender={"id": "t", "title": "Consultoría"},
            parties=[
                {"id": "p1", "name": "Municipio de Prueba", "roles": ["buyer"]},
                {"id": "p2", "name": "Auditores Zeta", "roles": ["reviewBody"]},
                {"id": "p3", "name": "Constructora Omega", "roles": ["tenderer"]},
            ],
            buyer={"id": "p1", "name": "Municipio de Prueba"},
        )
    )
    assert found(index, "zeta") == ["ocds-r1-3"]
    assert found(index, "omega") == ["ocds-r1-3"]


def test_translated_fields_are_found(publish):
    index = publish(
        release("ocds-r1-4", language="en", tender={"id": "t", "title": "Snow removal", "title_fr": "Déneigement"})
    )
    assert found(index, "deneigement") == ["ocds-r1-4"]


@pytest.mark.parametrize(
    ("language", "published", "typed"),
    [
        ("en", "Cleaning services", "service"),
        ("es", "Compra de equipos", "equipo"),
        ("fr", "Travaux d'entretien", "entretiens"),
        ("es", "Arrendamiento de vehículos", "arrendamientos"),
    ],
)
def test_a_word_finds_its_other_forms_in_the_release_language(publish, language, published, typed):
    index = publish(release("ocds-r2-1", language=language, tender={"id": "t", "title": published}))
    assert found(index, typed) == ["ocds-r2-1"]


def test_an_exact_word_ranks_above_a_stem_match(publish):
    index = publish(
        release("ocds-r2-a", language="en", tender={"id": "t", "title": "Cleaning service contract"}),
        release("ocds-r2-b", language="en", tender={"id": "t", "title": "Cleaning services contract"}),
    )
    assert found(index, "services") == ["ocds-r2-b", "ocds-r2-a"]
    assert found(index, "service") == ["ocds-r2-a", "ocds-r2-b"]


def test_a_process_without_a_language_is_found_by_exact_words_only(publish):
    index = publish(
        release("ocds-r2-c", language="fr", tender={"id": "t", "title": "Entretiens"}),
        release("ocds-r2-d", tender={"id": "t", "title": "Entretiens"}),
    )
    assert found(index, "entretien") == ["ocds-r2-c"]
    assert sorted(found(index, "entretiens")) == ["ocds-r2-c", "ocds-r2-d"]


@pytest.mark.parametrize("q", ["entretien -réparation", "entretien NOT réparation", "entretien -reparations"])
def test_excluded_words_exclude(publish, q):
    index = publish(
        release("ocds-r3-a", language="fr", tender={"id": "t", "title": "Entretien et réparation"}),
        release("ocds-r3-b", language="fr", tender={"id": "t", "title": "Entretien des parcs"}),
    )
    assert found(index, q) == ["ocds-r3-b"]
    assert search_processes(index, q=q).total == 1


def test_a_hyphenated_word_is_not_an_exclusion(publish):
    index = publish(release("ocds-r3-c", tender={"id": "t", "title": "Saint-Laurent"}))
    assert found(index, "saint-laurent") == ["ocds-r3-c"]


def test_suggestions_only_for_missing_words_and_only_when_they_find_something(publish):
    index = publish(
        release("ocds-r4-a", language="fr", tender={"id": "t", "title": "Entretien des parcs de la ville"}),
        release("ocds-r4-b", language="en", tender={"id": "t", "title": "Royal road resurfacing"}),
    )
    assert search_processes(index, q="entretein").corrected == "entretien"
    assert search_processes(index, q="entretein parcs").corrected == "entretien parcs"
    # The word the index lacks is "parks"; its neighbours in the index would find nothing with "entretien".
    assert search_processes(index, q="AND").corrected is None
    assert search_processes(index, q="title:").corrected is None
    assert search_processes(index, q="les zzzz").corrected is None
    assert search_processes(index, q="rood resurfacing").corrected == "road resurfacing"
    # "ryal paving": "royal" would be a correction, but nothing has "paving".
    assert search_processes(index, q="ryal paving").corrected is None


def test_an_index_from_before_stems_still_finds_exact_words(app, load, tmp_path):
    schema = process_schema()
    schema.remove("stems")
    schema.remove("language")
    Path(app.config["INDEX_DIR"]).mkdir(parents=True, exist_ok=True)
    whoosh_index.create_in(app.config["INDEX_DIR"], schema)
    path = tmp_path / "old.json"
    path.write_text(
        json.dumps({"releases": [release("ocds-r5-a", language="fr", tender={"id": "t", "title": "Entretiens"})]}),
        encoding="utf-8",
    )
    load(path)
    index = SearchIndex(app.config["INDEX_DIR"])
    assert found(index, "entretiens") == ["ocds-r5-a"]
    assert found(index, "entretien") == []  # stems come with `portal reindex`
    assert found(index, "entretiens -parcs") == ["ocds-r5-a"]


def test_a_pasted_ocid_or_id_goes_straight_to_its_process(app, publish):
    publish(
        release(
            "ocds-r6-7/x",
            tender={"id": "AO-2024-0042", "title": "Déneigement"},
            contracts=[{"id": "CT-7781", "awardID": "1"}],
            awards=[{"id": "1"}],
        ),
        release("ocds-r6-8", tender={"id": "1", "title": "Autre"}, awards=[{"id": "1"}]),
    )
    client = app.test_client()
    for pasted in ("ocds-r6-7/x", " AO-2024-0042 ", "ao-2024-0042", "CT-7781"):
        response = client.get("/search", query_string={"q": pasted})
        assert response.status_code == 302, pasted
        assert response.headers["Location"].endswith("/process/ocds-r6-7~2Fx"), pasted
        assert client.get("/search.json", query_string={"q": pasted}).get_json()["process"] == "/process/ocds-r6-7~2Fx"
    # An id two processes share, or a word, is searched for.
    assert client.get("/search", query_string={"q": "1"}).status_code == 200
    assert client.get("/search", query_string={"q": "déneigement"}).status_code == 200


def test_the_home_page_examples_find_processes_in_the_demo_set(demo_app):
    index = SearchIndex(demo_app.config["INDEX_DIR"])
    for example in ("entretien", "arrendamiento", "services"):
        assert search_processes(index, q=example).total > 0, example
    assert search_processes(index, q="road").corrected is None  # not "rojas"
