"""A single release compiled without ocdsmerge's flatten and unflatten gives exactly what ocdsmerge gives.

Releases are generated from the shapes of the OCDS 1.1 and 1.0 release schemas shipped in the package: nested
objects, arrays of objects with and without ids (repeated ids too, as text and as integers), whole-list fields,
nulls, empty objects and arrays, extensions' extra keys, a value of another type where the schema expects an
object or an array, `tag` as a string. Each is compiled by both rules of both versions.
"""

from __future__ import annotations

import copy
import warnings
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ocdsmerge.merge import CompiledRelease

from portal.domain.ocds import canonical_json, compile_releases, compile_single, merge_rules, release_schema
from portal.vocabulary import OcdsVersion

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**20),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
    st.text(max_size=4),
)
ANY_JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "b", "id"]), inner, max_size=3),
    max_leaves=6,
)
# Ids from a small pool so that arrays repeat them, as text and as integers ("1" and 1 collide in ocdsmerge).
IDS = st.one_of(st.sampled_from(["1", "2", "a", "", "x-1"]), st.integers(0, 3), SCALARS)
EXTRA_KEYS = st.dictionaries(st.sampled_from(["extension", "x_field", "details"]), ANY_JSON, max_size=2)


def ocdsmerge_compiled(release: dict, version: OcdsVersion) -> dict:
    """What ocdsmerge gives for one release."""
    merged = CompiledRelease(merge_rules=merge_rules(version))
    merged.append(release)
    return merged.asdict()


def _resolved(node: dict, schema: dict) -> dict:
    if "$ref" in node:
        target = schema["definitions"][node["$ref"].rsplit("/", 1)[1]]
        return {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def shaped(node: dict, schema: dict, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values of the shape this schema node allows, sometimes of another shape, often null."""
    node = _resolved(node, schema)
    types = node.get("type", [])
    types = [types] if isinstance(types, str) else types
    if depth > 6:
        return SCALARS
    options: list[st.SearchStrategy[Any]] = []
    if "object" in types or "properties" in node:
        properties = {
            key: IDS if key == "id" else shaped(sub, schema, depth + 1)
            for key, sub in node.get("properties", {}).items()
        }
        objects = st.builds(
            lambda known, extra: {**known, **extra},
            st.fixed_dictionaries({}, optional=properties),
            EXTRA_KEYS,
        )
        options.append(objects)
    if "array" in types:
        items = node.get("items", {})
        options.append(st.lists(shaped(items, schema, depth + 1), max_size=4))
    if "string" in types:
        options.append(st.text(max_size=4))
    if "number" in types:
        options.append(
            st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.decimals(places=2))
        )
    if "integer" in types:
        options.append(st.integers())
    if "boolean" in types:
        options.append(st.booleans())
    if not options:
        options.append(ANY_JSON)
    # Mostly the schema's shape; now and then null, or anything at all (publishers do both).
    return st.one_of(*options, *options, *options, st.none(), ANY_JSON)


def releases(version: OcdsVersion) -> st.SearchStrategy[dict]:
    schema = release_schema(version)
    body = shaped({k: v for k, v in schema.items() if k != "definitions"}, schema)
    top = st.fixed_dictionaries(
        {},
        optional={
            "ocid": st.one_of(st.text(max_size=8), st.none(), ANY_JSON),
            "id": IDS,
            "date": st.one_of(st.just("2020-01-01T00:00:00Z"), st.none(), ANY_JSON),
            "tag": st.one_of(st.lists(st.sampled_from(["tender", "award"]), max_size=2), st.just("tender")),
        },
    )
    return st.builds(lambda b, t: {**b, **t} if isinstance(b, dict) else t, body, top)


def unusual(value: Any) -> bool:
    """Whether an array of objects below holds an id of an odd type or two ids with the same text."""
    if isinstance(value, dict):
        return any(unusual(v) for v in value.values())
    if isinstance(value, list):
        if value and all(isinstance(item, dict) for item in value):
            ids = [item["id"] for item in value if "id" in item]
            if any(type(i) not in (str, int) for i in ids) or len({str(i) for i in ids}) < len(ids):
                return True
        return any(unusual(v) for v in value)
    return False


def outcome(function: Any, release: dict, rules: OcdsVersion) -> Any:
    """The compiled record, or the type of error raised. Each call has its own copy: ocdsmerge can write into
    the release it is given (an `ocid` that is an array receives the objects of the record)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return canonical_json(function(copy.deepcopy(release), rules))
    except Exception as error:  # noqa: BLE001 - the same error either way is the property
        return type(error)


def check(release: dict, rules: OcdsVersion) -> None:
    expected = outcome(ocdsmerge_compiled, release, rules)
    fast = compile_single(copy.deepcopy(release), merge_rules(rules))
    if fast is None:
        # Left to ocdsmerge only when a shape needs it: an ocid that is an object or array, or odd/repeated ids.
        assert isinstance(release.get("ocid"), (dict, list)) or unusual(release)
    else:
        assert canonical_json(fast) == expected
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert fast == ocdsmerge_compiled(copy.deepcopy(release), rules)
    assert outcome(compile_releases, [release], rules) == expected


COMMON = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@COMMON
@given(release=releases(OcdsVersion.V1_1), rules=st.sampled_from(list(OcdsVersion)))
def test_a_release_of_the_1_1_schema_compiles_as_ocdsmerge_compiles_it(release, rules):
    check(release, rules)


@COMMON
@given(release=releases(OcdsVersion.V1_0), rules=st.sampled_from(list(OcdsVersion)))
def test_a_release_of_the_1_0_schema_compiles_as_ocdsmerge_compiles_it(release, rules):
    check(release, rules)


@settings(max_examples=300, deadline=None)
@given(release=st.dictionaries(st.sampled_from(["ocid", "date", "tag", "tender", "awards", "parties"]), ANY_JSON))
def test_any_json_object_compiles_as_ocdsmerge_compiles_it(release):
    check(release, OcdsVersion.V1_1)


HAND_MADE = [
    # A typical tabular row's release: nested objects, a party list, one award with its supplier.
    {
        "ocid": "ocds-x-1",
        "id": "r1",
        "date": "2020-01-01T00:00:00Z",
        "tag": ["contract"],
        "parties": [{"id": "p1", "name": "City", "roles": ["buyer"]}, {"id": "p2", "name": "Acme"}],
        "awards": [{"id": "a1", "value": {"amount": Decimal("12.50"), "currency": "USD"}, "suppliers": [{"id": "p2"}]}],
    },
    # Nulls: left out, while the object holding them stays as {}.
    {"ocid": "o", "date": None, "tender": {"value": None, "title": "t"}, "planning": {"budget": None}},
    # Empty objects and arrays are left out; an array item holding only nulls stays as {}.
    {"ocid": "o", "tender": {}, "awards": [], "contracts": [{}, {"title": None}, {"id": 3}]},
    # Duplicate ids: two objects of one array with the same id, one as text, one as a number.
    {"ocid": "o", "awards": [{"id": "1", "title": "a"}, {"id": 1, "status": "active"}]},
    {"ocid": "o", "awards": [{"id": "1", "title": "a"}, {"id": "1", "title": "b"}]},
    {"ocid": "o", "awards": [{"id": None, "title": "a"}, {"id": None, "title": "b"}]},
    # `tag` as a string, and 1.0 forms: an inline buyer, tender.amendment, suppliers without parties.
    {
        "ocid": "o",
        "tag": "tender",
        "buyer": {"name": "City", "identifier": {"id": "1", "scheme": "X"}},
        "tender": {"amendment": {"changes": [{"property": "value", "former_value": 1}]}},
        "awards": [{"id": "1", "suppliers": [{"name": "Acme", "identifier": {"id": None}}]}],
    },
    # Whole-list fields keep nulls and empty arrays inside them; arrays of non-objects are kept whole.
    {"ocid": "o", "parties": [{"id": "1", "roles": [], "additionalIdentifiers": [{"id": None}]}], "x": [1, None]},
    # An array mixing objects and other values, nested arrays of objects, an ocid that is an object.
    {"ocid": {"a": 1}, "awards": [{"id": "1"}, "text"], "contracts": [{"id": "c", "items": [{"id": "i"}]}]},
    {},
]


def test_hand_made_releases_compile_as_ocdsmerge_compiles_them():
    for release in HAND_MADE:
        for rules in OcdsVersion:
            check(release, rules)


def test_a_common_release_takes_the_short_way():
    assert compile_single(HAND_MADE[0], merge_rules(OcdsVersion.V1_1)) == {
        "tag": ["compiled"],
        "id": "ocds-x-1-2020-01-01T00:00:00Z",
        "date": "2020-01-01T00:00:00Z",
        "ocid": "ocds-x-1",
        "parties": [{"id": "p1", "name": "City", "roles": ["buyer"]}, {"id": "p2", "name": "Acme"}],
        "awards": [{"id": "a1", "value": {"amount": Decimal("12.50"), "currency": "USD"}, "suppliers": [{"id": "p2"}]}],
    }
    assert compile_single(HAND_MADE[1], merge_rules(OcdsVersion.V1_1)) == {
        "tag": ["compiled"],
        "id": "o-None",
        "ocid": "o",
        "tender": {"title": "t"},
        "planning": {},
    }
    assert compile_single(HAND_MADE[3], merge_rules(OcdsVersion.V1_1)) is None  # "1" and 1: ocdsmerge's own answer
