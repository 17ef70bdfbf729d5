"""Every figure right on publishers the tests have never seen: one minimal hand-written release per class, each
run on SQLite and on PostgreSQL (the `load` fixture), read back through the model and the process page."""

from __future__ import annotations

import html
import json
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import select

from portal.domain.processes import home_figures
from portal.models import (
    KEY_LENGTH,
    Amendment,
    Award,
    Bid,
    Document,
    IngestRun,
    Item,
    Package,
    Party,
    Process,
    Release,
    Tender,
)
from portal.vocabulary import CompiledBy, OcdsVersion

OCID = "ocds-fid000-1"


def release(rid="1", date="2020-01-01T00:00:00Z", ocid=OCID, **content):
    return {"ocid": ocid, "id": rid, "date": date, "tag": ["tender"], "initiationType": "tender", **content}


def package(tmp_path, name, *releases, published="2020-06-01T00:00:00Z", **extra):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"uri": f"https://example.org/{name}", "version": "1.1", "releases": list(releases), **extra}
    if published is not None:
        document["publishedDate"] = published
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def the_process(sessions, ocid=OCID) -> Process:
    with sessions() as session:
        return session.scalars(select(Process).where(Process.ocid == ocid)).one()


def page(client, ocid=OCID) -> str:
    response = client.get(f"/process/{ocid}")
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


# Which version of a republished release is used


def test_the_package_with_the_latest_published_date_wins_whatever_the_file_names(sessions, load, tmp_path, client):
    folder = tmp_path / "src"
    newer = release(tender={"title": "Snow removal", "value": {"amount": 200, "currency": "CAD"}})
    older = release(tender={"title": "Snow removal", "value": {"amount": 100, "currency": "CAD"}})
    # Read in name order, a-… first: the older package is read last and must still lose.
    package(folder, "a-newer.json", newer, published="2020-06-02T00:00:00Z")
    package(folder, "b-older.json", older, published="2020-06-01T00:00:00Z")
    result = load(folder)
    assert result.counts.conflicts == 1
    process = the_process(sessions)
    assert (process.value_amount, process.conflict_count) == (Decimal("200.00"), 1)
    text = page(client)
    assert "tender.value.amount" in text and "<td>100</td><td>200</td>" in text
    assert "a-newer.json" in text and "b-older.json" in text


def test_on_a_tie_the_version_loaded_last_wins_and_loading_again_counts(sessions, load, tmp_path, client):
    one = package(tmp_path / "x", "same.json", release(tender={"title": "first"}), published="2020-06-01T00:00:00Z")
    two = package(tmp_path / "y", "same.json", release(tender={"title": "second"}), published="2020-06-01T00:00:00Z")
    load(one, "s")
    load(two, "s")
    assert the_process(sessions).title == "second"
    again = load(one, "s")
    assert again.counts.releases_unchanged == 1 and again.counts.releases_new == 0
    assert the_process(sessions).title == "first"  # identical content loaded again is loaded last
    text = page(client)
    assert '<td><code>tender.title</code></td><td>"second"</td><td>"first"</td>' in text
    with sessions() as session:
        checksums = [p.checksum[:12] for p in session.scalars(select(Package).order_by(Package.id))]
    # Both files are called same.json: each version still names its own package, by the file's checksum.
    assert all(f"file checksum <code>{c}</code>" in text for c in checksums) and len(set(checksums)) == 2
    with sessions() as session:
        versions = session.scalars(select(Release).order_by(Release.id)).all()
    assert len(versions) == 2


def test_a_release_without_a_package_date_loses_to_one_with_a_date(sessions, load, tmp_path):
    dated = package(tmp_path, "dated.json", release(tender={"title": "dated"}))
    undated = package(tmp_path, "undated.json", release(tender={"title": "undated"}), published=None)
    load(dated, "s")
    load(undated, "s")
    assert the_process(sessions).title == "dated"


# Headline values and totals


def test_a_cancelled_unsuccessful_or_withdrawn_tender_never_counts(sessions, load, tmp_path, client):
    for i, status in enumerate(("cancelled", "unsuccessful", "withdrawn", "active")):
        tender = {"status": status, "value": {"amount": 1000, "currency": "CAD"}}
        load(package(tmp_path, f"{i}.json", release(ocid=f"ocds-fid000-t{i}", tender=tender)))
    assert [the_process(sessions, f"ocds-fid000-t{i}").value_amount for i in range(4)] == [
        None,
        None,
        None,
        Decimal("1000.00"),
    ]
    home = client.get("/index.json").get_json()
    assert [(r["currency"], r["processes"]) for r in home["value_by_currency"]] == [("CAD", 1)]


def test_statuses_are_read_against_the_codelists_and_the_label_says_which_were_summed(sessions, load, tmp_path, client):
    contracts = [
        {"id": "c1", "status": "active", "value": {"amount": 100, "currency": "CAD"}},
        {"id": "c2", "status": "terminated", "value": {"amount": 50, "currency": "cad"}},
        {"id": "c3", "status": "active"},  # no value
        {"id": "c4", "status": "signed", "value": {"amount": 999, "currency": "CAD"}},  # not in the codelist
        {"id": "c5", "status": "cancelled", "value": {"amount": 7, "currency": "CAD"}},
    ]
    load(package(tmp_path, "p.json", release(contracts=contracts)))
    process = the_process(sessions)
    assert (process.value_amount, process.value_currency, process.value_basis) == (
        Decimal("150.00"),
        "CAD",
        "contracts",
    )
    assert (process.value_statuses, process.value_count, process.value_of) == ("active, terminated", 2, 3)
    assert any("'signed' is not in the OCDS contractStatus codelist" in n for n in process.notes)
    assert any("currency 'cad' read as 'CAD'" in n for n in process.notes)
    text = page(client)
    assert "sum of its active and terminated contracts (2 of 3 contracts carry a value)" in text
    assert "signed" in text  # shown as published


def test_awards_without_a_status_count_and_say_so(sessions, load, tmp_path, client):
    awards = [
        {"id": "a1", "value": {"amount": 10, "currency": "MDL"}},
        {"id": "a2", "value": {"amount": 5, "currency": "mdl"}},
    ]
    load(package(tmp_path, "p.json", release(awards=awards)))
    process = the_process(sessions)
    assert (process.value_amount, process.value_currency, process.value_statuses) == (
        Decimal("15.00"),
        "MDL",
        "no status",
    )
    assert "sum of its awards (no status published)" in page(client)


def test_an_empty_amendments_entry_is_not_an_amendment(sessions, load, tmp_path, client):
    contract = {"id": "c1", "status": "active", "amendments": [{}, {"id": None, "rationale": ""}]}
    load(package(tmp_path, "p.json", release(contracts=[contract])))
    with sessions() as session:
        assert session.scalars(select(Release.stages)).one() == "contract"
        assert session.scalars(select(Amendment)).all() == []
    assert "Amendments (0)" in page(client)


# Money exactly


def test_amounts_are_stored_exactly_and_those_beyond_the_range_are_shown_not_summed(sessions, load, tmp_path, client):
    path = tmp_path / "p.json"
    awards = [
        '{"id": "a1", "status": "active", "value": {"amount": 1e17, "currency": "USD"}}',
        '{"id": "a2", "status": "active", "value": {"amount": "1e30", "currency": "USD"}}',
        '{"id": "a3", "status": "active", "value": {"amount": 1e400, "currency": "USD"}}',
        '{"id": "a4", "status": "active", "value": {"amount": 12345678901234.5678, "currency": "USD"}}',
        '{"id": "a5", "status": "active", "value": {"amount": 0.1, "currency": "USD"}}',
    ]
    head = '{"uri": "u", "publishedDate": "2020-01-01T00:00:00Z", "version": "1.1", "releases": '
    fields = f'"ocid": "{OCID}", "id": "1", "date": "2020-01-01T00:00:00Z", "tag": ["award"]'
    body = f'[{{{fields}, "awards": [{", ".join(awards)}]}}]}}'
    text = head + body
    path.write_text(text, encoding="utf-8")
    result = load(path)
    assert result.status == "succeeded", result.errors
    process = the_process(sessions)
    with sessions() as session:
        rows = session.execute(
            select(Award.award_id, Award.value_published, Award.value_units).order_by(Award.id)
        ).all()
        stored = json.loads(session.scalars(select(Release.data)).one())
    assert rows == [
        ("a1", "1e+17", None),
        ("a2", "1e30", None),
        ("a3", "1E+400", None),
        ("a4", "12345678901234.5678", 123456789012345678),
        ("a5", "0.1", 1000),
    ]
    assert "1E+400" in json.dumps(stored) or stored["awards"][2]["value"]["amount"] > 1e300
    assert process.value_amount == Decimal("12345678901234.5678") + Decimal("0.1")
    assert (process.value_count, process.value_of) == (2, 5)
    assert any("3 award values could not be summed" in n for n in process.notes)
    shown = page(client)
    assert "1e30 USD" in shown and "(as published; not summed)" in shown


# Dates as published


def test_dates_are_shown_in_the_offset_they_were_published_with(sessions, load, tmp_path, client):
    dates = {
        "z": "2016-09-30T00:00:00Z",
        "plus": "2016-09-30T00:00:00+04:00",
        "minus": "2016-09-30T23:30:00-05:00",
        "none": "2016-09-30T12:00:00",
        "day": "2016-09-30",
    }
    awards = [{"id": key, "date": value, "status": "active"} for key, value in dates.items()]
    load(package(tmp_path, "p.json", release(awards=awards)))
    with sessions() as session:
        read = {a.award_id: a.date for a in session.scalars(select(Award))}
    assert {key: value.date().isoformat() for key, value in read.items()} == dict.fromkeys(dates, "2016-09-30")
    assert read["plus"].utcoffset() == timedelta(hours=4)
    assert read["plus"] == datetime(2016, 9, 29, 20, tzinfo=timezone.utc)  # UTC for ordering
    assert read["minus"].utcoffset() == timedelta(hours=-5)
    assert read["none"].utcoffset() == timedelta(0)
    assert "has no time-zone offset" in " ".join(the_process(sessions).notes)
    assert "2016-09-29" not in page(client)


# Same result on both databases


def test_long_strings_load_identically_and_long_keys_are_the_files_error(sessions, load, tmp_path):
    long = "x" * 10_000
    tender = {
        "id": long,
        "title": long,
        "status": long,
        "procurementMethod": long,
        "mainProcurementCategory": long,
        "value": {"amount": 5, "currency": long},
        "items": [{"id": long, "description": long, "classification": {"scheme": long, "id": long}}],
        "documents": [{"id": long, "title": long, "documentType": long, "url": long}],
    }
    party = {"id": "p1", "name": long, "identifier": {"scheme": long, "id": "42"}, "roles": ["buyer"]}
    result = load(package(tmp_path, "long.json", release(tender=tender, parties=[party], buyer={"id": "p1"})))
    assert result.status == "succeeded", result.errors
    with sessions() as session:
        stored = session.scalars(select(Tender)).one()
        assert (stored.title, stored.status, stored.tender_id, stored.value_currency) == (
            long,
            long,
            long,
            long.upper(),
        )
        item = session.scalars(select(Item)).one()
        assert (item.classification_scheme, item.classification_id) == (long, long)
        assert session.scalars(select(Document.document_type)).one() == long
        party_row = session.scalars(select(Party)).one()
        assert (party_row.name, party_row.scheme) == (long, long)
    too_long = "k" * (KEY_LENGTH + 1)
    for i, bad in enumerate(
        [
            release(ocid="ocds-fid000-" + too_long),
            release(rid=too_long),
            release(rid="2", parties=[{"id": "p", "name": "n", "identifier": {"id": too_long}, "roles": ["buyer"]}]),
        ]
    ):
        failed = load(package(tmp_path, f"bad{i}.json", bad))
        assert failed.status == "failed"
        assert f"bad{i}.json" in failed.errors[0] and f"limited to {KEY_LENGTH}" in failed.errors[0]
    with sessions() as session:
        assert session.scalars(select(Release.release_id)).all() == ["1"]  # the bad files were rolled back whole


# Shapes real publishers use


def test_suppliers_named_only_in_parties_and_a_procuring_entity_without_a_buyer(sessions, load, tmp_path, client):
    parties = [
        {"id": "pe", "name": "City Works Department", "roles": ["procuringEntity"]},
        {"id": "s1", "name": "Acme Paving", "roles": ["supplier"]},
    ]
    tender = {"id": "t", "procuringEntity": {"id": "pe", "name": "City Works Department"}}
    load(
        package(tmp_path, "p.json", release(parties=parties, tender=tender, awards=[{"id": "a1", "status": "active"}]))
    )
    process = the_process(sessions)
    assert process.buyer_role == "procuringEntity"
    text = page(client)
    # The procuring entity's name leads to its page as a buyer.
    assert re.search(
        r'<dt>Procuring entity</dt><dd><a class="buyer" href="/buyer/\d+"[^>]*>City Works Department</a></dd>', text
    )
    assert "Buyer not published" not in text and "not published</dd>" not in text.split("Procuring entity")[1][:80]
    assert "Acme Paving" in text.split('id="stages"')[1].split('id="parties"')[0]


def test_a_buyer_given_only_as_a_reference_takes_its_name_from_parties(sessions, load, tmp_path, client):
    """OCDS 1.1: `buyer` is an OrganizationReference; the name and identifier live in `parties` (whose entry may
    even leave the buyer role out)."""
    parties = [
        {"id": "b1", "name": "Water Department", "identifier": {"scheme": "XX-CITY", "id": "W-1"}},
        {"id": "s1", "name": "Acme Pipes", "roles": ["supplier"]},
    ]
    awards = [{"id": "a1", "status": "active", "suppliers": [{"id": "s1"}], "value": {"amount": 9, "currency": "USD"}}]
    load(package(tmp_path, "p.json", release(parties=parties, buyer={"id": "b1"}, awards=awards)))
    process = the_process(sessions)
    with sessions() as session:
        buyer = session.get(Party, process.buyer_id)
        assert (buyer.name, buyer.scheme, buyer.identifier) == ("Water Department", "XX-CITY", "W-1")
        assert session.scalars(select(Party.name).order_by(Party.name)).all() == ["Acme Pipes", "Water Department"]
    assert process.buyer_role == "buyer"
    text = page(client)
    assert re.search(r"<dt>Buyer</dt><dd>.*?Water Department", text)
    assert "Buyer not published" not in text


def test_awards_published_as_one_object_are_read_as_one_award_with_a_note(sessions, load, tmp_path, client):
    award = {
        "id": "a1",
        "status": "active",
        "value": {"amount": 5, "currency": "CAD"},
        "suppliers": [{"name": "Solo Supplies"}],
        "amendment": {"date": "2020-03-01T00:00:00Z", "rationale": "Scope widened"},
    }
    load(package(tmp_path, "p.json", release(awards=award)))
    process = the_process(sessions)
    assert (process.value_amount, process.value_currency) == (Decimal("5.00"), "CAD")
    with sessions() as session:
        assert session.scalars(select(Award.award_id)).all() == ["a1"]
        assert session.scalars(select(Party.name)).all() == ["Solo Supplies"]
        assert session.scalars(select(Amendment.rationale)).all() == ["Scope widened"]
        assert session.scalars(select(Release.stages)).one() == "award amendment"
    text = page(client)
    assert "`awards` is an object, not an array: read as one entry" in text
    assert "Solo Supplies" in text


def test_an_ocds_1_0_single_amendment_object_is_an_amendment(sessions, load, tmp_path, client):
    contract = {
        "id": "c1",
        "status": "active",
        "value": {"amount": 120, "currency": "USD"},
        "amendment": {"date": "2020-04-01T00:00:00Z", "rationale": "Price revised", "changes": []},
    }
    tender = {"id": "t1", "amendment": {"date": "2020-01-15T00:00:00Z", "description": "Deadline extended"}}
    path = tmp_path / "p.json"  # an OCDS 1.0 package (no `version`)
    path.write_text(
        json.dumps(
            {
                "uri": "u",
                "publishedDate": "2020-06-01T00:00:00Z",
                "releases": [release(contracts=[contract], tender=tender)],
            }
        )
    )
    load(path)
    with sessions() as session:
        rows = session.execute(select(Amendment.parent, Amendment.rationale, Amendment.description)).all()
        assert sorted(rows) == [("contract", "Price revised", None), ("tender", None, "Deadline extended")]
        assert "amendment" in session.scalars(select(Release.stages)).one().split()
    text = page(client)
    assert "Amendments (2)" in text and "Price revised" in text and "Deadline extended" in text


def test_documents_and_tenderers_are_kept_and_shown(sessions, load, tmp_path, client):
    tender = {
        "id": "t",
        "numberOfTenderers": 3,
        "tenderers": [{"name": "A"}, {"name": "B"}, {"name": "C"}],
        "documents": [
            {
                "id": "d1",
                "title": "Terms of reference",
                "documentType": "tenderNotice",
                "url": "https://example.org/tor.pdf",
                "datePublished": "2020-01-02T00:00:00+02:00",
            }
        ],
    }
    bids = {
        "details": [
            {"id": "b1", "status": "valid", "tenderers": [{"name": "A"}], "value": {"amount": 9, "currency": "EUR"}}
        ]
    }
    awards = [
        {
            "id": "a1",
            "documents": [
                {"id": "d2", "title": "Award notice", "documentType": "awardNotice"},
                {"id": "d3", "title": "Not a web page", "url": "javascript:alert(1)"},
            ],
        }
    ]
    load(package(tmp_path, "p.json", release(tender=tender, bids=bids, awards=awards)))
    process = the_process(sessions)
    with sessions() as session:
        tender_row = session.get(Tender, process.id)
        bid = session.scalars(select(Bid)).one()
    assert tender_row.number_of_tenderers == 3
    assert (bid.bid_id, bid.status, bid.tenderers, bid.value_amount) == ("b1", "valid", "A", Decimal("9.00"))
    text = page(client)
    assert '<dt>Tenderers</dt><dd data-figure="tenderers">3</dd>' in text
    assert "Terms of reference" in text and "https://example.org/tor.pdf" in text and "Award notice" in text
    assert "Not a web page" in text and "javascript:" not in text  # only http(s) links are followed


def test_translated_fields_are_used_where_the_base_field_is_missing(sessions, load, tmp_path, client):
    tender = {"id": "t", "title_fr": "Déneigement des rues", "description_en": "Street snow removal"}
    load(package(tmp_path, "p.json", release(tender=tender)))
    process = the_process(sessions)
    assert (process.title, process.description, process.language) == (
        "Déneigement des rues",
        "Street snow removal",
        "fr",
    )
    assert "translation <code>fr</code>" in page(client)
    found = client.get("/search.json?q=déneigement").get_json()
    assert OCID in json.dumps(found)


def test_packages_declaring_ocds_1_0_or_no_version_merge_by_the_1_0_rules(sessions, load, tmp_path, client):
    first = release(rid="1", awards=[{"id": "a1", "suppliers": [{"name": "A"}, {"name": "B"}]}])
    second = release(rid="2", date="2020-02-01T00:00:00Z", awards=[{"id": "a1", "suppliers": [{"name": "C"}]}])
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"uri": "u", "publishedDate": "2020-06-01T00:00:00Z", "releases": [first, second]}))
    load(path)
    process = the_process(sessions)
    assert process.merge_rules == OcdsVersion.V1_0
    assert [s["name"] for s in json.loads(process.compiled)["awards"][0]["suppliers"]] == ["C"]  # whole list
    assert "merged by the OCDS 1.0 rules" in page(client)
    load(
        package(
            tmp_path,
            "q.json",
            release(ocid="ocds-fid000-2", rid="1", awards=first["awards"]),
            release(ocid="ocds-fid000-2", rid="2", date="2020-02-01T00:00:00Z", awards=second["awards"]),
        )
    )
    eleven = the_process(sessions, "ocds-fid000-2")
    assert eleven.merge_rules == OcdsVersion.V1_1
    assert [s["name"] for s in json.loads(eleven.compiled)["awards"][0]["suppliers"]] == ["A", "B", "C"]


def test_a_record_with_linked_releases_uses_the_publishers_compiled_release(sessions, load, tmp_path, client):
    record = {
        "ocid": OCID,
        "releases": [{"url": "https://example.org/r/1.json", "date": "2020-01-01T00:00:00Z", "tag": ["tender"]}],
        "compiledRelease": release(tender={"title": "Bridge repair", "value": {"amount": 70, "currency": "EUR"}}),
    }
    path = tmp_path / "records.json"
    path.write_text(
        json.dumps({"uri": "u", "version": "1.1", "publishedDate": "2020-06-01T00:00:00Z", "records": [record]})
    )
    result = load(path)
    assert result.status == "succeeded", result.errors
    process = the_process(sessions)
    assert (process.title, process.compiled_by, process.value_amount) == (
        "Bridge repair",
        CompiledBy.PUBLISHER,
        Decimal("70.00"),
    )
    assert "compiled by the publisher" in page(client)
    with sessions() as session:
        run = session.scalars(select(IngestRun)).one()
    assert any("linked release" in n["note"] for n in run.notes)
    # Once the linked releases are fetched and loaded, the record is compiled by the portal from them.
    load(package(tmp_path, "fetched.json", release(tender={"title": "Bridge repair, as released"})))
    process = the_process(sessions)
    assert (process.title, process.compiled_by) == ("Bridge repair, as released", CompiledBy.PORTAL)


# Validation against the OCDS 1.1.5 schema


def test_schema_errors_are_notes_of_the_release_shown_and_counted_per_source(sessions, load, tmp_path, client):
    broken = release(awards={"id": "a1", "value": {"amount": 5, "currency": "CAD"}})
    result = load(package(tmp_path, "p.json", broken, release(ocid="ocds-fid000-2")), "city")
    assert result.status == "succeeded" and result.counts.releases_invalid == 1
    with sessions() as session:
        notes = session.scalars(select(Release.notes).where(Release.ocid == OCID)).one()
        run = session.scalars(select(IngestRun)).one()
        figures = home_figures(session)
    assert notes == ["awards: {'id': 'a1', 'value': {'amount': 5, 'currency': 'CAD'}} is not of type 'array'"]
    assert run.releases_invalid == 1
    assert figures.invalid_by_source == {"city": 1}
    text = page(client)
    assert "release 1: awards:" in text and "is not of type 'array'" in text
    assert "`awards` is an object, not an array: read as one entry" in text
