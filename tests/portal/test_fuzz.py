"""No parameter reaches a 5xx: every route, with path values, query parameters and headers drawn by Hypothesis.
(`q=NOT NOT a` is left to test_render.py, where it is a known failure of search_index's parser.)

The app runs with TESTING on, so an exception in a view fails the example with its traceback rather than
turning into a 500 page.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.render import CARRIED_PARAMETERS, encode_ocid

CDMX = "OCDS-87SD3T-AD-SF-DRM-063-2015"
# Parameters that once steered `url_for`, beside those the pages read.
STEERING = ("_external", "_anchor", "_scheme", "_method", "endpoint", "values", "lang")
EXAMPLES = 40  # per route: enough to find the odd value, little enough to share two cores

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
typed = st.one_of(
    text,
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.dates().map(str),
    st.sampled_from(["9999-12-31", "0001-01-01", "1,5e999", "2017-13", "-0", "1 000,50 CAD", "a" * 600]),
)
# Parameters of the comparison page (vendors, a buyer, a category, a name to look up).
COMPARE = ("vendor", "buyer", "category", "add")
ids = st.lists(st.integers(min_value=0, max_value=60).map(str), max_size=8).map(" ".join)
query = st.lists(st.tuples(st.sampled_from(CARRIED_PARAMETERS + STEERING + COMPARE) | text, typed | ids), max_size=6)
headers = st.fixed_dictionaries(
    {},
    optional={
        "Accept": st.sampled_from(["application/json", "text/csv", "text/html;q=0.1, */*", "*/*;q=0", "garbage"]),
        "Accept-Language": st.sampled_from(["fr-CA,fr;q=0.9", "uk", "xx-YY", "*", ";;;", "zh-Hant-TW"]),
        "Host": st.sampled_from(["evil.example", "127.0.0.1:1", "[::1]"]),
    },
)


def routes(app) -> list[str]:
    return sorted(rule.rule for rule in app.url_map.iter_rules() if "GET" in rule.methods and rule.endpoint != "static")


def fill(rule: str, ocid: str, number: int) -> str:
    path = re.sub(r"<ocid:\w+>", lambda _: encode_ocid(ocid), rule)
    return re.sub(r"<int[^>]*:\w+>", str(number), path)


# Every GET route of the site, pinned: a route added later must be listed here, and is then fuzzed below.
ROUTES = sorted(
    [
        "/",
        "/index.json",
        "/index.csv",
        "/search",
        "/search.json",
        "/search.csv",
        "/search.atom",
        "/process/<ocid:ocid>",
        "/process/<ocid:ocid>.json",
        "/process/<ocid:ocid>.csv",
        "/process/<ocid:ocid>/releases/<int(max=2147483647):row_id>.json",
        "/process/<ocid:ocid>/published-record/<int(max=2147483647):record_id>.json",
        "/supplier/<int(max=2147483647):party_id>",
        "/supplier/<int(max=2147483647):party_id>.json",
        "/supplier/<int(max=2147483647):party_id>.csv",
        "/sources",
        "/sources.json",
        "/vendor/<int(max=2147483647):vendor_id>",
        "/vendor/<int(max=2147483647):vendor_id>.json",
        "/vendor/<int(max=2147483647):vendor_id>.csv",
        "/buyer/<int(max=2147483647):vendor_id>",
        "/buyer/<int(max=2147483647):vendor_id>.json",
        "/buyer/<int(max=2147483647):vendor_id>.csv",
        "/compare",
        "/compare.json",
        "/compare.csv",
        "/audit",
        "/audit.json",
        "/audit/checkpoints.atom",
        "/audit/checkpoints/<day>.json",
        "/published/releases.json",
        "/officials/",
        "/officials/sign-in",
        "/officials/password",
        "/officials/second-factor",
        "/officials/accounts",
        "/officials/vendors",
        "/officials/notices/new",
        "/officials/notices/<int:notice_id>",
        "/officials/notices/<int:notice_id>/amend",
        # Residents' concerns
        "/process/<ocid:ocid>/concerns",
        "/process/<ocid:ocid>/concerns.json",
        "/process/<ocid:ocid>/concerns.atom",
        "/privacy",
        "/privacy.json",
        "/officials/concerns",
        "/officials/concerns/<int:concern_id>",
        "/methodology",
        "/methodology.json",
        "/methodology.csv",
        "/methodology/<code>",
        "/methodology/<code>.json",
        "/methodology/<code>.csv",
        # OCDS packages of listed processes, the API's description, bulk downloads
        "/search/releases.json",
        "/search/records.json",
        "/supplier/<int(max=2147483647):party_id>/releases.json",
        "/supplier/<int(max=2147483647):party_id>/records.json",
        "/api",
        "/api/openapi.json",
        "/downloads",
        "/downloads.json",
        "/downloads.csv",
        "/downloads/<name>",
        # Vendor and buyer entities: OCDS packages of a page of their awards, totals by year
        "/vendor/<int(max=2147483647):vendor_id>/releases.json",
        "/vendor/<int(max=2147483647):vendor_id>/records.json",
        "/vendor/<int(max=2147483647):vendor_id>/by-year.csv",
        "/buyer/<int(max=2147483647):vendor_id>/releases.json",
        "/buyer/<int(max=2147483647):vendor_id>/records.json",
        "/buyer/<int(max=2147483647):vendor_id>/by-year.csv",
    ]
)


def test_every_route_is_fuzzed(demo_app):
    assert routes(demo_app) == ROUTES


@pytest.mark.parametrize("index", range(len(ROUTES)))
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI must not pass or fail by chance
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    ocid=st.one_of(st.just(CDMX), text.filter(bool)),
    number=st.one_of(st.integers(min_value=0, max_value=2**80), st.just(1)),
    params=query,
    sent=headers,
)
def test_no_parameter_reaches_a_server_error(demo_app, index, ocid, number, params, sent):
    rule = routes(demo_app)[index]
    path = fill(rule, ocid, number)
    client = demo_app.test_client()
    response = client.get(quote(path, safe="/~") + "?" + urlencode(params), headers=sent)
    assert response.status_code < 500, (path, params, sent)
    body = response.get_data(as_text=True)
    if response.mimetype == "text/html":
        # Whatever came in, no link leaves the site or carries a steering parameter.
        # Links to a publisher's documents are data, marked rel="external", and only ever http(s).
        for attributes in re.findall(r"<a ([^>]*)>", body):
            found = re.search(r'href="([^"]*)"', attributes)
            if found is None:
                continue
            href = found.group(1)
            if 'rel="nofollow noopener external"' in attributes:
                assert href.lower().startswith(("http://", "https://")), href
                continue
            assert not href.startswith(("http:", "https:", "//", "javascript:")), href
            assert not re.search(r"[?&](_external|_anchor|_scheme|_method|endpoint|values)=", href), href
    assert "evil.example" not in body
