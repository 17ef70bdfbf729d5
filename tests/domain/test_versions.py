"""The version rule and the field-by-field differences, on their own."""

from __future__ import annotations

from datetime import datetime, timezone

from portal.domain.versions import Change, Version, current, differences


def v(row_id, published=None, loaded=0, rid="1"):
    date = datetime(2020, 1, published, tzinfo=timezone.utc) if published else None
    return Version(row_id, "ocds-x-1", rid, date, loaded)


def test_the_latest_package_date_wins_whatever_the_load_order():
    assert current([v(1, published=2, loaded=1), v(2, published=1, loaded=2)])[("ocds-x-1", "1")].row_id == 1


def test_a_tie_goes_to_the_version_loaded_last():
    assert current([v(1, published=1, loaded=5), v(2, published=1, loaded=3)])[("ocds-x-1", "1")].row_id == 1
    assert current([v(1, loaded=2), v(2, loaded=3)])[("ocds-x-1", "1")].row_id == 2


def test_an_undated_version_loses_to_a_dated_one():
    assert current([v(1, published=1, loaded=1), v(2, loaded=9)])[("ocds-x-1", "1")].row_id == 1


def test_each_release_id_is_chosen_apart():
    chosen = current([v(1, rid="a", loaded=1), v(2, rid="b", loaded=1), v(3, rid="a", loaded=2)])
    assert {key[1]: version.row_id for key, version in chosen.items()} == {"a": 3, "b": 2}


def test_differences_field_by_field():
    old = {"tender": {"value": {"amount": 1311264.0}, "milestones": [{"id": "m"}]}, "tag": ["tender"]}
    new = {"tender": {"value": {"amount": 1311264}}, "tag": ["tender"], "language": "es"}
    assert differences(old, new) == [
        Change("tender.value.amount", 1311264.0, 1311264),
        Change("tender.milestones", [{"id": "m"}], None, new_absent=True),
        Change("language", None, "es", old_absent=True),
    ]
    assert differences(new, new) == []
