"""HTTP for configured sources: which URLs are refused before any request, and how long a retry waits."""

from __future__ import annotations

import dataclasses
import time
from email.utils import formatdate

import pytest

from ingest.endpoints import MAX_RETRY_WAIT, Client, Refused, check_url, retry_after
from ingest.sources import SourceConfig
from portal.vocabulary import SourceKind
from tests.ingest.platforms import platform_server

CONFIG = SourceConfig(name="t", kind=SourceKind.OCDS_API, url="http://x/", licence="x", rate_limit=0, retries=1)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.org/releases.json",
        "http://127.0.0.1:8000/",
        "http://localhost/",
        "http://[::1]/",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata: link-local
        "http://10.0.0.7/",
        "http://192.168.1.1/",
        "http://172.16.0.1/",
        "http://0.0.0.0/",
        "http://[::ffff:127.0.0.1]/",
        "http://100.64.0.1/",  # carrier-grade NAT
    ],
)
def test_urls_that_reach_inside_are_refused(url):
    with pytest.raises(Refused):
        check_url(url)


def test_allow_private_opens_private_addresses_but_never_other_schemes():
    check_url("http://127.0.0.1:8000/", allow_private=True)
    with pytest.raises(Refused):
        check_url("file:///etc/passwd", allow_private=True)


def test_a_redirect_to_a_file_url_is_refused_even_where_private_addresses_are_allowed():
    with platform_server() as server:
        url = server.redirect("/moved", "file:///etc/passwd")
        client = Client(dataclasses.replace(CONFIG, allow_private=True))
        with pytest.raises(Refused, match="file:///etc/passwd"):
            client.get(url)


def test_a_redirect_is_followed_and_checked():
    with platform_server() as server:
        target = server.file("/new.csv", b"a,b\n")
        url = server.redirect("/old.csv", target)
        answer = Client(dataclasses.replace(CONFIG, allow_private=True)).get(url)
        assert (answer.url, answer.body) == (target, b"a,b\n")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("3", 3.0),
        ("0", 0.0),
        ("86400", MAX_RETRY_WAIT),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # a date in the past: at once
        (None, 0.5 * 2**2),  # no header: exponential backoff (third attempt)
        ("soon", 0.5 * 2**2),
    ],
)
def test_retry_after_in_seconds_or_as_an_http_date(header, expected):
    assert retry_after(header, 2) == expected


def test_retry_after_a_future_http_date_waits_until_then():
    wait = retry_after(formatdate(time.time() + 30, usegmt=True), 0)
    assert 28 <= wait <= 30


def test_requests_to_one_source_are_spaced_by_its_rate_limit():
    with platform_server() as server:
        url = server.file("/a.csv", b"x")
        client = Client(dataclasses.replace(CONFIG, allow_private=True, rate_limit=10))
        started = time.monotonic()
        for _ in range(4):
            client.get(url)
        assert time.monotonic() - started >= 0.3
