"""Tabular registers mapped onto OCDS releases: each quirk on a small hand-made file, then the real registers on
both databases (the demo slices always, the full files of ../shared/data when they are there)."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ingest.jobs import run_source
from ingest.sources import SourceConfig, TableFormat, load_sources
from ingest.tabular import Rejected, SchemaDrift, TableStats, map_file, parse_amount_text, plainly_valid
from portal.domain.ocds import release_content
from portal.domain.validation import schema_errors
from portal.models import Amendment, Process, RejectedRow, Release, SourceItem
from portal.resources import demo_sources_file
from portal.vocabulary import SourceKind

CHICAGO, MONTREAL, CONSEIL = load_sources(demo_sources_file())


def source(tmp_path: Path, text: str | bytes, **overrides) -> SourceConfig:
    """A csv source over a small file written here; by default with a header and the common mapping."""
    path = tmp_path / "register.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    table = overrides.pop("table", TableFormat())
    mapping = overrides.pop(
        "mapping", {"contract_id": "number", "supplier": "supplier", "amount": "amount", "title": "what"}
    )
    return SourceConfig(
        name="Test register",
        kind=SourceKind.CSV,
        url=str(path),
        licence="CC BY 4.0",
        ocid_prefix="x-test",
        currency="CAD",
        timezone="America/Toronto",
        award_status="active",
        mapping=mapping,
        table=table,
        **overrides,
    )


def mapped(config: SourceConfig) -> tuple[list[dict], list[Rejected], TableStats]:
    stats = TableStats()
    items = list(map_file(Path(config.url), config, stats, location="register.csv"))
    releases = [item.data for item in items if not isinstance(item, Rejected)]
    return releases, [item for item in items if isinstance(item, Rejected)], stats


# ---- values -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "decimal", "thousands", "expected"),
    [
        ("3\u00a0500 $ ", ",", " ", "3500"),
        ("7801,41", ",", " ", "7801.41"),
        ("25 394 602,80 $", ",", " ", "25394602.80"),
        ("25,222.00", ".", ",", "25222.00"),
        ("$1,000.50", ".", ",", "1000.50"),
        ("(1,000.00)", ".", ",", "-1000.00"),
        ("-105880.80", ".", ",", "-105880.80"),
        ("1.234,56 €", ",", ".", "1234.56"),
        ("CA$ 12\u202f000", ",", " ", "12000"),
    ],
)
def test_amounts_are_read_as_registers_write_them(text, decimal, thousands, expected):
    assert parse_amount_text(text, TableFormat(decimal=decimal, thousands=thousands)) == Decimal(expected)


def test_an_amount_that_is_not_a_number_rejects_the_row_with_its_reason(tmp_path):
    config = source(tmp_path, "number,supplier,amount,what\n1,A,12.50,ok\n2,B,douze,bad\n")
    releases, rejected, _ = mapped(config)
    assert [r["ocid"] for r in releases] == ["x-test-1"]
    assert [(r.number, r.reason) for r in rejected] == [(2, "amount 'douze' is not a number")]


# ---- shapes -------------------------------------------------------------------------------------------------


def test_a_headerless_file_is_read_with_the_configured_columns(tmp_path):
    table = TableFormat(header=False, columns=("supplier", "number", "amount"), decimal=",", thousands=" ")
    config = source(
        tmp_path,
        '"A INC.","100","3\u00a0500 $ "\r\n"B INC.","101","7801,41"\r\n',
        table=table,
        mapping={"supplier": "supplier", "contract_id": "number", "amount": "amount"},
    )
    releases, rejected, _ = mapped(config)
    assert not rejected
    assert [(r["ocid"], r["awards"][0]["value"]) for r in releases] == [
        ("x-test-100", {"amount": 3500, "currency": "CAD"}),
        ("x-test-101", {"amount": 7801.41, "currency": "CAD"}),
    ]


def test_a_headerless_file_with_another_number_of_columns_is_schema_drift(tmp_path):
    table = TableFormat(header=False, columns=("supplier", "number", "amount"))
    config = source(
        tmp_path,
        '"A","1","2","extra"\n',
        table=table,
        mapping={"supplier": "supplier", "contract_id": "number", "amount": "amount"},
    )
    with pytest.raises(SchemaDrift, match="4 columns where the configuration names 3"):
        mapped(config)


def test_a_renamed_column_stops_the_file_before_any_row(tmp_path):
    config = source(tmp_path, "number,vendor,amount,what\n1,A,1,x\n")
    with pytest.raises(SchemaDrift, match=r"supplier → 'supplier'.*the data has: amount, number, vendor, what"):
        mapped(config)


def test_quoted_line_breaks_stay_inside_their_cell(tmp_path):
    config = source(tmp_path, 'number,supplier,amount,what\n1,A,1,"PAIEMENT ""X""\nBANNIÈRES"\n2,B,2,y\n')
    releases, _, stats = mapped(config)
    assert stats.rows == 2
    assert releases[0]["awards"][0]["title"] == 'PAIEMENT "X"\nBANNIÈRES'


def test_windows_1252_is_detected_and_reported(tmp_path):
    config = source(tmp_path, "number,supplier,amount,what\n1,MARCHÉ,1,été\n".encode("cp1252"))
    releases, _, stats = mapped(config)
    assert stats.encoding == "cp1252"
    assert releases[0]["parties"][0]["name"] == "MARCHÉ"


@pytest.mark.parametrize("missing", ["", "NA", "null", "N/A", "-"])
def test_missing_markers_are_missing(tmp_path, missing):
    config = source(tmp_path, f"number,supplier,amount,what\n1,A,10,{missing}\n")
    releases, _, _ = mapped(config)
    assert "title" not in releases[0]["awards"][0]
    assert releases[0]["sourceRows"] == [{"number": "1", "supplier": "A", "amount": "10", "what": None}]


def test_duplicate_rows_load_once_and_are_noted(tmp_path):
    config = source(tmp_path, "number,supplier,amount,what\n1,A,10,x\n1,A,10,x\n2,B,5,y\n")
    releases, _, stats = mapped(config)
    assert stats.duplicates == 1
    assert releases[0]["awards"][0]["value"]["amount"] == 10
    assert ("register.csv row 2", "repeats an earlier row exactly: loaded once") in stats.notes


def test_rows_sharing_a_contract_number_are_one_award_with_every_supplier(tmp_path):
    # One row per supplier of a multi-supplier award, some with amount 0, not next to each other.
    config = source(tmp_path, "number,supplier,amount,what\n7,A,100,x\n8,C,1,z\n7,B,0,x\n7,D,50.5,x\n")
    releases, _, _ = mapped(config)
    award = next(r for r in releases if r["ocid"] == "x-test-7")["awards"][0]
    assert [s["name"] for s in award["suppliers"]] == ["A", "B", "D"]
    assert award["value"] == {"amount": 150.5, "currency": "CAD"}
    assert len(releases) == 2


def test_a_placeholder_number_is_not_an_id(tmp_path):
    text = "number,supplier,amount,what\nPLUSIEURS,A,10,x\nPLUSIEURS,B,20,y\nPLUSIEURS FACTURES,A,10,x\n"
    config = source(tmp_path, text, table=TableFormat(placeholder_ids=("^PLUSIEURS",)))
    releases, _, _ = mapped(config)
    ocids = [r["ocid"] for r in releases]
    assert len(set(ocids)) == 3 and all(o.startswith("x-test-row-") for o in ocids)
    again, _, _ = mapped(config)
    assert [r["ocid"] for r in again] == ocids  # stable: a hash of the row, not its position


def test_a_line_with_too_many_fields_is_rejected_and_the_rest_load(tmp_path):
    config = source(tmp_path, "number,supplier,amount,what\n1,A,10,x\n2,B,20,y,surplus\n3,C,30,z\n")
    releases, rejected, stats = mapped(config)
    assert [r["ocid"] for r in releases] == ["x-test-1", "x-test-3"]
    assert [r.reason for r in rejected] == ["line 3 not read: expected 4 fields, saw 5"]
    assert stats.unread == 1


def test_contract_ids_that_cannot_sit_in_a_url_get_a_slug_and_a_hash(tmp_path):
    config = source(tmp_path, "number,supplier,amount,what\nRMI 0000945780000  969740004,A,1,x\nA/B,B,1,y\n")
    releases, _, _ = mapped(config)
    assert [r["ocid"].rsplit("-", 1)[0] for r in releases] == ["x-test-RMI_0000945780000_969740004", "x-test-A_B"]
    assert all("/" not in r["ocid"] and " " not in r["ocid"] for r in releases)


# ---- Chicago: revisions ---------------------------------------------------------------------------------------


def test_chicago_revisions_are_amendments_of_one_contract():
    releases, rejected, stats = mapped(dataclasses.replace(CHICAGO, url=str(CHICAGO.local_path())))
    assert not rejected and stats.rows == 513
    lease = [r for r in releases if r["ocid"] == "x-chicago-contracts-21600"]
    first = next(r for r in lease if r["id"] == "revision-0")
    assert first["awards"][0]["value"] == {"amount": 3368397, "currency": "USD"}
    assert first["awards"][0]["suppliers"][0]["name"] == "33 NORTH LASALLE PARTNERS LP"
    later = [r for r in lease if r["id"] != "revision-0"]
    assert later and all(r["tag"] == ["contractAmendment"] and "awards" not in r for r in later)
    amendment = next(r for r in later if r["id"] == "revision-15")["contracts"][0]["amendments"][0]
    assert amendment["description"].startswith("PROPERTY LEASE (revision 15): -4937.20 USD")


CHICAGO_LIKE = {
    "contract_id": "number",
    "revision": "revision",
    "supplier": "vendor",
    "amount": "amount",
    "title": "what",
    "buyer": "department",
    "contract_type": "type",
    "date": "approved",
}
AMENDMENT_ONLY = (
    "number,revision,vendor,amount,what,department,type,approved\n"
    "77,2,ACME PAPER,250.00,PRINTING PAPER,PROCUREMENT SERVICES,COMMODITIES,2013-01-28\n"
    "77,5,ACME PAPER,-40.00,PRINTING PAPER,PROCUREMENT SERVICES,COMMODITIES,2014-08-19\n"
)


def test_a_contract_whose_revision_0_is_missing_is_described_by_its_earliest_revision(tmp_path):
    releases, rejected, _ = mapped(source(tmp_path, AMENDMENT_ONLY, mapping=CHICAGO_LIKE))
    assert not rejected
    earliest, later = sorted(releases, key=lambda r: r["id"])
    assert earliest["id"] == "revision-2"
    assert earliest["tag"] == ["award", "contract", "contractAmendment"]
    assert earliest["buyer"]["name"] == "PROCUREMENT SERVICES"
    award = earliest["awards"][0]
    assert (award["title"], award["suppliers"][0]["name"]) == ("PRINTING PAPER", "ACME PAPER")
    assert award["value"] == {"amount": 250, "currency": "CAD"}
    assert earliest["contracts"][0]["amendments"][0]["id"] == "revision-2"
    # A later revision stays an amendment: its amount (a change) never replaces the contract's.
    assert later["tag"] == ["contractAmendment"] and "awards" not in later
    assert later["contracts"] == [
        {
            "id": "77",
            "awardID": "77",
            "amendments": [
                {
                    "id": "revision-5",
                    "description": "COMMODITIES (revision 5): -40.00 CAD — PRINTING PAPER",
                    "date": "2014-08-19T00:00:00-04:00",
                }
            ],
        }
    ]


def test_a_contract_with_its_revision_0_keeps_later_revisions_as_amendments_only(tmp_path):
    text = AMENDMENT_ONLY + "77,0,ACME PAPER,1000.00,PRINTING PAPER,PROCUREMENT SERVICES,COMMODITIES,2008-10-22\n"
    releases, _, _ = mapped(source(tmp_path, text, mapping=CHICAGO_LIKE))
    assert [r["id"] for r in releases if "awards" in r] == ["revision-0"]


def test_an_amendment_only_contract_is_titled_and_valued_once_stored(sessions, tmp_path):
    result = run_source(sessions, source(tmp_path, AMENDMENT_ONLY, mapping=CHICAGO_LIKE))
    assert result.status == "succeeded" and result.counts.releases_invalid == 0
    with sessions() as session:
        process = session.scalars(select(Process)).one()
        assert (process.title, process.value_amount, process.value_currency) == (
            "PRINTING PAPER",
            Decimal("250"),
            "CAD",
        )
        assert process.buyer is not None and process.buyer.name == "PROCUREMENT SERVICES"
        assert session.scalar(select(func.count()).select_from(Amendment)) == 2


def test_chicago_dates_pandas_cannot_hold_are_kept_as_text_and_reported():
    releases, _, _ = mapped(dataclasses.replace(CHICAGO, url=str(CHICAGO.local_path())))
    odd = [
        r
        for r in releases
        if any((row.get("Start Date") or "").endswith(("/0201", "/0204")) for row in r["sourceRows"])
    ]
    assert len(odd) == 2
    for release in odd:
        assert "startDate" not in release["contracts"][0].get("period", {})


def judged(config: SourceConfig) -> tuple[int, int]:
    """Every release the register maps to, validated against the OCDS release schema: each one the mapper calls
    valid (and the runner then stores without validating) has no schema error, and each one it does not call
    valid has one. Returns (valid, invalid)."""
    stats = TableStats()
    valid = invalid = 0
    for item in map_file(Path(config.url), config, stats, location="register"):
        if isinstance(item, Rejected):
            continue
        errors = schema_errors(release_content(item.data))
        assert item.valid == (not errors), (item.where, errors)
        assert item.valid == plainly_valid(item.data)
        valid, invalid = valid + item.valid, invalid + (not item.valid)
    return valid, invalid


def test_every_demo_register_release_is_judged_valid_as_the_schema_judges_it():
    judgements = [judged(dataclasses.replace(c, url=str(c.local_path()))) for c in (CHICAGO, MONTREAL, CONSEIL)]
    # Montréal's staff contracts have no date column: a release without `date` is invalid OCDS, and noted so.
    assert judgements == [(501, 12), (0, 308), (9, 0)]


def test_every_real_register_release_is_judged_valid_as_the_schema_judges_it(shared_data):
    chicago = dataclasses.replace(CHICAGO, url=str(shared_data / "csv/chicago/chicago-contracts-sample-20k.csv"))
    # Twelve Chicago contracts have no approval date, so their releases have no `date`, which OCDS requires.
    assert judged(chicago) == (19988, 12)
    montreal = shared_data / "csv/montreal"
    staff = dataclasses.replace(MONTREAL, url=str(montreal / "contrats-fonctionnaires-2013-2014.csv"))
    assert judged(staff) == (0, 7685)
    council = dataclasses.replace(CONSEIL, url=str(montreal / "contrats-conseil-municipal-excerpt.csv"))
    assert judged(council) == (9, 0)
    centrale = dataclasses.replace(
        MONTREAL,
        url=str(montreal / "contrats-fonctionnaires-ville-centrale-2014-2015.csv"),
        table=dataclasses.replace(MONTREAL.table, columns=(*MONTREAL.table.columns, "agglo")),
    )
    assert judged(centrale) == (0, 1129)


def _spoilt(release: dict, how: str) -> dict:
    spoilt = json.loads(json.dumps(release))
    award, contract = spoilt["awards"][0], spoilt["contracts"][0]
    if how == "no date":
        del spoilt["date"]
    elif how == "unknown currency":
        award["value"]["currency"] = "XYZ"
    elif how == "amount as text":
        contract["value"]["amount"] = "12"
    elif how == "amount as a boolean":
        award["value"]["amount"] = True
    elif how == "unknown award status":
        award["status"] = "awarded"
    elif how == "unknown method":
        spoilt["tender"]["procurementMethod"] = "auction"
    elif how == "empty supplier name":
        award["suppliers"][0]["name"] = ""
    elif how == "empty contract id":
        contract["id"] = ""
    elif how == "a null tender id":
        spoilt["tender"]["id"] = None
    return spoilt


@pytest.mark.parametrize(
    "how",
    [
        "no date",
        "unknown currency",
        "amount as text",
        "amount as a boolean",
        "unknown award status",
        "unknown method",
        "empty supplier name",
        "empty contract id",
        "a null tender id",
    ],
)
def test_a_mapped_release_with_a_value_the_schema_refuses_is_not_called_valid(how):
    releases, _, _ = mapped(dataclasses.replace(CHICAGO, url=str(CHICAGO.local_path())))
    release = next(r for r in releases if r["tag"] == ["award", "contract"] and "value" in r["awards"][0])
    release["tender"].setdefault("procurementMethod", "open")
    assert plainly_valid(release) and not schema_errors(release_content(release))
    spoilt = _spoilt(release, how)
    assert schema_errors(release_content(spoilt))
    assert not plainly_valid(spoilt)


# ---- stored, on both databases --------------------------------------------------------------------------------


def count(sessions, model, *where) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_the_demo_registers_load_and_reloading_changes_nothing(sessions):
    first = [run_source(sessions, config) for config in (CHICAGO, MONTREAL, CONSEIL)]
    assert [r.status for r in first] == ["succeeded"] * 3, [r.errors for r in first]
    assert [r.counts.releases_new for r in first] == [513, 308, 9]
    with sessions() as session:
        compiled = dict(session.execute(select(Process.ocid, Process.compiled)).all())
        assert session.scalar(select(func.count()).select_from(Amendment)) == 409
    second = [run_source(sessions, config) for config in (CHICAGO, MONTREAL, CONSEIL)]
    assert [r.counts.releases_new for r in second] == [0, 0, 0]
    assert [r.counts.processes_compiled for r in second] == [0, 0, 0]
    with sessions() as session:
        assert dict(session.execute(select(Process.ocid, Process.compiled)).all()) == compiled


def test_the_invalid_montreal_row_is_recorded_once_with_its_reason(sessions):
    first, second = run_source(sessions, CONSEIL), run_source(sessions, CONSEIL)
    assert first.rejected == second.rejected == 1
    with sessions() as session:
        rows = session.scalars(select(RejectedRow)).all()
    assert [(r.row_number, r.reason, r.first_run_id) for r in rows] == [
        (7, "not a contract row: no contract number and no amount (filled: FOURNISSEUR)", first.run_id)
    ]
    assert json.loads(rows[0].data)["FOURNISSEUR"] == "A DUMMY LINE TO SEE IF I CATCH INVALID STUFF"
    assert any("not loaded" in n["note"] for n in first.counts.notes)
    assert not any("not loaded" in n["note"] for n in second.counts.notes)
    assert "fetched 10 of the publisher's 10" in [n["note"] for n in first.counts.notes][-1]


def test_plusieurs_rows_each_get_a_process_of_their_own(sessions):
    result = run_source(sessions, MONTREAL)
    assert result.status == "succeeded" and result.duplicates == 2
    with sessions() as session:
        placeholders = session.scalars(select(Process).where(Process.ocid.like("x-montreal-fonctionnaires-2013-row-%")))
        titles = {p.ocid: p.value_amount for p in placeholders}
    assert len(titles) == 20


def test_rows_that_disappear_are_kept_and_marked_by_the_run_that_noticed(sessions, tmp_path):
    config = source(tmp_path, "number,supplier,amount,what\n1,A,10,x\n2,B,20,y\n3,C,30,z\n")
    run_source(sessions, config)
    Path(config.url).write_text("number,supplier,amount,what\n1,A,10,x\n3,C,30,z\n", encoding="utf-8")
    second = run_source(sessions, config)
    assert second.gone == 1
    with sessions() as session:
        gone = session.execute(
            select(SourceItem.ocid, SourceItem.gone_since_run_id).where(SourceItem.gone_since_run_id.is_not(None))
        ).all()
        assert gone == [("x-test-2", second.run_id)]
        assert session.scalar(select(func.count()).select_from(Process).where(Process.ocid == "x-test-2")) == 1
    Path(config.url).write_text("number,supplier,amount,what\n1,A,10,x\n2,B,20,y\n", encoding="utf-8")
    third = run_source(sessions, config)
    assert third.gone == 1
    assert count(sessions, SourceItem, SourceItem.gone_since_run_id.is_not(None)) == 1  # 2 is back, 3 is gone


def test_schema_drift_stops_the_run_with_a_clear_message_and_stores_nothing(sessions, tmp_path):
    config = source(tmp_path, "number,vendor,amount,what\n1,A,10,x\n")
    result = run_source(sessions, config)
    assert result.status == "failed"
    assert "mapped column(s) missing from the data: supplier → 'supplier'" in result.errors[0]
    assert count(sessions, Release) == 0


def test_a_changed_row_is_a_new_version_of_the_same_release(sessions, tmp_path):
    config = source(tmp_path, "number,supplier,amount,what\n1,A,10,x\n")
    run_source(sessions, config)
    Path(config.url).write_text("number,supplier,amount,what\n1,A,12,x\n", encoding="utf-8")
    second = run_source(sessions, config)
    assert (second.counts.releases_new, second.counts.conflicts) == (1, 1)
    with sessions() as session:
        process = session.scalars(select(Process)).one()
        assert process.value_amount == Decimal("12")


def test_the_full_registers_load(sessions, shared_data):
    chicago = dataclasses.replace(CHICAGO, url=str(shared_data / "csv/chicago/chicago-contracts-sample-20k.csv"))
    result = run_source(sessions, chicago)
    assert (result.status, result.fetched, result.publisher_total, result.rejected) == ("succeeded", 20000, 20000, 0)
    assert result.counts.releases_new == 20000
    montreal = dataclasses.replace(
        MONTREAL, url=str(shared_data / "csv/montreal/contrats-fonctionnaires-2013-2014.csv"), name="Montréal 2013"
    )
    result = run_source(sessions, montreal)
    assert (result.status, result.fetched, result.duplicates, result.counts.releases_new) == (
        "succeeded",
        7979,
        17,
        7685,
    )
    centrale = dataclasses.replace(
        MONTREAL,
        name="Montréal ville centrale 2014",
        ocid_prefix="x-montreal-fonctionnaires-2014",
        url=str(shared_data / "csv/montreal/contrats-fonctionnaires-ville-centrale-2014-2015.csv"),
        table=dataclasses.replace(MONTREAL.table, columns=(*MONTREAL.table.columns, "agglo")),
    )
    result = run_source(sessions, centrale)
    assert (result.status, result.fetched, result.rejected) == ("succeeded", 1153, 0)
    with sessions() as session:
        amount = session.scalar(
            select(Process.value_amount).where(Process.ocid == "x-montreal-fonctionnaires-2014-991378")
        )
    assert amount == Decimal("7801.41")


def test_an_xlsx_register_maps_like_its_csv(sessions, tmp_path):
    import pandas as pd

    frame = pd.read_csv(CONSEIL.local_path(), dtype=str, keep_default_na=False)
    frame.to_excel(tmp_path / "contrats.xlsx", index=False)
    config = dataclasses.replace(CONSEIL, kind=SourceKind.XLSX, url=str(tmp_path / "contrats.xlsx"))
    result = run_source(sessions, config)
    assert result.status == "succeeded", result.errors
    assert (result.fetched, result.counts.releases_new, result.rejected) == (10, 9, 1)
    csv_releases, _, _ = mapped(dataclasses.replace(CONSEIL, url=str(CONSEIL.local_path())))
    with sessions() as session:
        stored = {json.loads(data)["ocid"]: json.loads(data) for data in session.scalars(select(Release.data))}
    assert stored == {release["ocid"]: release for release in csv_releases}
