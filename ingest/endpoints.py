"""HTTP for configured sources: URLs checked before any request, timeouts, retries, a rate limit, bounded bodies.

- Every URL, and every redirect, is checked first: only http(s), and never a loopback, private, link-local or
  otherwise reserved address (the portal must not be made to fetch from inside its own network), unless the
  source's configuration says `allow_private = true` (tests allow their own 127.0.0.1 servers).
- 429 and 5xx answers are retried with exponential backoff, honouring `Retry-After` in seconds or as an
  HTTP-date (capped, so a publisher cannot park a run for a day); other 4xx answers fail at once.
- Requests to one source are spaced by its `rate_limit` (requests per second).
- A page larger than MAX_BODY (a file larger than MAX_DOWNLOAD, streamed to disk), or one that takes longer
  than MAX_SECONDS to arrive, is an error, not a hang or an exhausted memory.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from ingest.ocds import IngestError
from ingest.sources import SourceConfig

MAX_BODY = 64 * 1024 * 1024  # bytes of one API page held in memory (and parsed): pages are far smaller
MAX_DOWNLOAD = 4 * 1024**3  # bytes of a register file, streamed to disk rather than held
MAX_SECONDS = 600  # to receive one answer in full, however steadily it trickles in
MAX_REDIRECTS = 5
MAX_RETRY_WAIT = 120.0  # seconds: a longer Retry-After is capped; the run is reported, not parked
BACKOFF = 0.5  # seconds, doubled on each retry
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
USER_AGENT = "open-procurement-portal-sources"


class Refused(IngestError):
    """A URL the portal will not fetch: not http(s), or an address inside a private network."""


class FetchError(IngestError):
    """A source that did not answer usefully: the message says which URL and what happened."""

    def __init__(self, message: str, *, status: int | None = None, body: bytes = b"") -> None:
        super().__init__(message)
        self.status = status
        self.body = body  # an error answer's body, for platforms that explain themselves (CKAN's envelopes)


def check_url(url: str, *, allow_private: bool = False) -> None:
    """Refuse URLs that would reach the portal's own network; resolves the host name to check every address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise Refused(f"{url}: only http and https URLs are fetched (not {parts.scheme or 'a bare path'}:)")
    if not parts.hostname:
        raise Refused(f"{url}: no host name")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except (socket.gaierror, UnicodeError) as error:
        raise FetchError(f"{url}: the host name does not resolve ({error})") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not address.is_global or address.is_multicast:
            raise Refused(
                f"{url}: {parts.hostname} is {address}, a private, loopback or reserved address; "
                f"set allow_private = true for this source if that is intended"
            )


def retry_after(value: str | None, attempt: int) -> float:
    """Seconds to wait before the next attempt: the server's Retry-After (seconds or HTTP-date), else backoff."""
    if value:
        value = value.strip()
        if value.isdigit():
            return min(float(value), MAX_RETRY_WAIT)
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            return min(max(when.timestamp() - time.time(), 0.0), MAX_RETRY_WAIT)
    return min(BACKOFF * 2**attempt, MAX_RETRY_WAIT)


@dataclass
class Answer:
    url: str  # after redirects
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            where = f" at line {error.lineno} column {error.colno}" if isinstance(error, json.JSONDecodeError) else ""
            raise IngestError(f"{self.url}: the answer is not JSON{where} ({error})") from None


class Client:
    """One source's HTTP: its checks, timeouts, retries and rate limit, on a requests session of its own."""

    def __init__(self, config: SourceConfig, session: requests.Session | None = None) -> None:
        self.config = config
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        token = config.app_token()
        if token and config.kind == "socrata":
            self.session.headers["X-App-Token"] = token
        elif token:
            self.session.headers["Authorization"] = token
        self._last_request = 0.0
        self.requests = 0

    def _wait_turn(self) -> None:
        if self.config.rate_limit > 0:
            gap = 1.0 / self.config.rate_limit - (time.monotonic() - self._last_request)
            if gap > 0:
                time.sleep(gap)
        self._last_request = time.monotonic()

    def get(self, url: str, params: dict[str, Any] | None = None, *, to: Path | None = None) -> Answer:
        """GET with checks, retries and limits; with `to`, the body is streamed into that file instead."""
        attempt = 0
        while True:
            answer = self._get_once(url, params, to)
            if answer.status not in RETRY_STATUSES:
                break
            if attempt >= self.config.retries:
                raise FetchError(
                    f"{answer.url}: still answering {answer.status} after {attempt} retries", status=answer.status
                )
            time.sleep(retry_after(answer.headers.get("retry-after"), attempt))
            attempt += 1
        if answer.status >= 400:
            raise FetchError(
                f"{answer.url}: the server answered {answer.status}", status=answer.status, body=answer.body
            )
        return answer

    def get_json(self, url: str, params: dict[str, Any] | None = None) -> tuple[Any, Answer]:
        answer = self.get(url, params)
        return answer.json(), answer

    def download(self, url: str, path: Path) -> Path:
        self.get(url, to=path)
        return path

    def _get_once(self, url: str, params: dict[str, Any] | None, to: Path | None) -> Answer:
        started = time.monotonic()
        for _ in range(MAX_REDIRECTS + 1):
            check_url(url, allow_private=self.config.allow_private)
            self._wait_turn()
            self.requests += 1
            try:
                response = self.session.get(
                    url,
                    params=params,
                    timeout=(min(10.0, self.config.timeout), self.config.timeout),
                    allow_redirects=False,
                    stream=True,
                )
            except requests.exceptions.Timeout:
                raise FetchError(f"{url}: no answer within {self.config.timeout:g} s") from None
            except requests.exceptions.RequestException as error:
                raise FetchError(f"{url}: could not be fetched ({type(error).__name__})") from None
            with response:
                if response.is_redirect and response.headers.get("location"):
                    url, params = urljoin(response.url, response.headers["location"]), None
                    continue
                headers = {k.lower(): v for k, v in response.headers.items()}
                body = self._read(response, started, to)
                return Answer(response.url, response.status_code, headers, body, time.monotonic() - started)
        raise FetchError(f"{url}: more than {MAX_REDIRECTS} redirects")

    def _read(self, response: requests.Response, started: float, to: Path | None) -> bytes:
        size, chunks = 0, []
        out = open(to, "wb") if to is not None and response.status_code < 400 else None  # noqa: SIM115
        limit = MAX_DOWNLOAD if out is not None else MAX_BODY
        try:
            for chunk in response.iter_content(chunk_size=1 << 16):
                size += len(chunk)
                if size > limit:
                    raise FetchError(f"{response.url}: the answer is larger than {limit // 2**20} MB")
                if time.monotonic() - started > MAX_SECONDS:
                    raise FetchError(f"{response.url}: the answer took longer than {MAX_SECONDS} s to arrive")
                if out is not None:
                    out.write(chunk)
                else:
                    chunks.append(chunk)
        except requests.exceptions.RequestException as error:
            raise FetchError(f"{response.url}: the answer was cut off ({type(error).__name__})") from None
        finally:
            if out is not None:
                out.close()
        return b"".join(chunks)
