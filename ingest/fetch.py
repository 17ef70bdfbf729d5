"""Downloading a published file to disk before reading it, so a failed or cut-off download is never half-loaded.

Retries (429 and 5xx, honouring Retry-After up to a limit) are urllib3's; a body shorter than its
Content-Length is an error, not a smaller file. A download is bounded in size and in time (`ingest.limits`),
however slowly the server sends it, and goes into a folder named after the process that made it, so that a
later run can remove what a killed one left behind (`clean_temporary_folders`).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ProtocolError, ReadTimeoutError
from urllib3.util.retry import Retry

from ingest.limits import DEFAULT_LIMITS, Deadline, Limits, human_bytes
from ingest.ocds import IngestError, accepted_suffix
from ingest.status import pid_alive

TIMEOUT = (DEFAULT_LIMITS.connect_timeout, DEFAULT_LIMITS.read_timeout)  # seconds to connect, between reads
RETRIES = 4  # a source that still fails after this is reported, not hammered
USER_AGENT = "open-procurement-portal-ingest"
TEMPORARY_PREFIX = "portal-ingest-"  # then the pid of the process that owns the folder, and a dash
_TEMPORARY_NAME = re.compile(re.escape(TEMPORARY_PREFIX) + r"(\d+)-")


@dataclass
class Download:
    path: Path
    charset: str | None


class RetryAfterTooLong(IngestError):
    """The server asked to be retried later than the limit allows."""


class _Retry(Retry):
    """urllib3's retries, giving up at once when Retry-After asks for more than `max_retry_after` seconds."""

    max_retry_after: float = DEFAULT_LIMITS.retry_after_seconds

    def new(self, **kw: object) -> _Retry:
        retry = super().new(**kw)
        retry.max_retry_after = self.max_retry_after
        return retry

    def get_retry_after(self, response):
        seconds = super().get_retry_after(response)
        asked = (response.headers.get("Retry-After") or "").strip()
        if seconds is not None and asked.isdigit():
            seconds = max(seconds, float(asked))  # urllib3 caps it at six hours: say what was asked
        if seconds is not None and seconds > self.max_retry_after:
            raise RetryAfterTooLong(
                f"the server answered {response.status} and asked to be retried after {seconds:g} s, "
                f"more than the {self.max_retry_after:g} s a run waits"
            )
        return seconds


def http_session(
    retries: int = RETRIES, backoff: float = 0.5, *, max_retry_after: float = DEFAULT_LIMITS.retry_after_seconds
) -> requests.Session:
    session = requests.Session()
    retry = _Retry(
        total=retries,
        backoff_factor=backoff,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=("GET",),
        respect_retry_after_header=True,
        raise_on_status=True,  # give up with RetryError (reported as "still failing"), not the last answer
    )
    retry.max_retry_after = max_retry_after
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    session.headers["User-Agent"] = USER_AGENT
    return session


def temporary_folder(parent: Path | None = None) -> Path:
    """A new folder for this process's downloads, named so that a later run knows whose it was."""
    return Path(tempfile.mkdtemp(prefix=f"{TEMPORARY_PREFIX}{os.getpid()}-", dir=parent))


def clean_temporary_folders(parent: Path | None = None) -> list[Path]:
    """Remove download folders left by processes that are gone (killed mid-download); return them."""
    removed = []
    root = Path(parent or tempfile.gettempdir())
    for folder in root.glob(f"{TEMPORARY_PREFIX}*"):
        match = _TEMPORARY_NAME.match(folder.name)
        if match and folder.is_dir() and not pid_alive(int(match.group(1))):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def download(
    url: str,
    directory: Path,
    *,
    session: requests.Session | None = None,
    limits: Limits = DEFAULT_LIMITS,
    deadline: Deadline | None = None,
) -> Download:
    """Fetch `url` into a new file under `directory`; raise IngestError saying what went wrong.

    Stopped when it grows past `limits.download_bytes` or takes longer than `limits.download_seconds` (or
    passes `deadline`, the run's), checked after every read from the socket, so a server that trickles a byte
    at a time cannot hold it open.
    """
    session = session or http_session(max_retry_after=limits.retry_after_seconds)
    own = Deadline(limits.download_seconds)
    stop = own if deadline is None or own.at <= deadline.at else deadline
    what = "download time limit" if stop is own else "run's time limit"
    timeout = (limits.connect_timeout, limits.read_timeout)
    name = None
    try:
        with session.get(url, stream=True, timeout=timeout) as response:
            if response.status_code >= 400:
                raise IngestError(f"{url}: the server answered {response.status_code} {response.reason}")
            announced = response.headers.get("Content-Length", "")
            if announced.isdigit() and int(announced) > limits.download_bytes:
                raise IngestError(
                    f"{url}: announces {human_bytes(int(announced))}, more than the download limit of "
                    f"{human_bytes(limits.download_bytes)}; not fetched"
                )
            handle, name = tempfile.mkstemp(dir=directory, suffix=accepted_suffix(_name(url)) or ".json")
            written = 0
            with open(handle, "wb") as out:
                for chunk in _chunks(response, stop):
                    written += len(chunk)
                    if written > limits.download_bytes:
                        raise IngestError(
                            f"{url}: stopped at the download limit of {human_bytes(limits.download_bytes)}"
                        )
                    if stop.expired:
                        raise IngestError(
                            f"{url}: stopped by the {what} ({stop.seconds:g} s) after {human_bytes(written)}; the "
                            "server sends too slowly"
                        )
                    out.write(chunk)
            charset = None
            if "charset=" in response.headers.get("Content-Type", ""):
                charset = response.headers["Content-Type"].split("charset=")[-1].split(";")[0].strip()
            return Download(Path(name), charset)
    except IngestError as error:
        _remove(name)
        if isinstance(error, RetryAfterTooLong):
            raise IngestError(f"{url}: {error}") from None
        raise
    except requests.exceptions.RetryError as error:
        raise IngestError(f"{url}: still failing after {RETRIES} retries ({error})") from None
    except requests.exceptions.ChunkedEncodingError as error:
        raise IngestError(f"{url}: the download was cut off before its end ({error})") from None
    except requests.exceptions.ConnectionError as error:
        if "timed out" in str(error).lower():
            raise IngestError(f"{url}: no answer within {limits.read_timeout:g} s ({error})") from None
        raise IngestError(f"{url}: could not be fetched ({error})") from None
    except requests.exceptions.RequestException as error:
        raise IngestError(f"{url}: could not be fetched ({error})") from None
    except ReadTimeoutError:
        _remove(name)
        raise IngestError(f"{url}: no data for {limits.read_timeout:g} s; stopped") from None
    except ProtocolError as error:
        _remove(name)
        raise IngestError(f"{url}: the download was cut off before its end ({error})") from None
    except OSError:
        _remove(name)  # disk full, for one: the caller says what it means for the run
        raise


def _remove(name: str | None) -> None:
    if name:
        Path(name).unlink(missing_ok=True)


def _chunks(response: requests.Response, stop: Deadline) -> Iterator[bytes]:
    """The body as it arrives, one socket read at a time (urllib3's read1), so the deadline is checked often."""
    raw = response.raw
    while not stop.expired:
        chunk = raw.read1(1 << 16, decode_content=True)
        if not chunk:
            return
        yield chunk
    yield b""  # past the deadline: the caller reports it


def _name(url: str) -> str:
    return url.split("?")[0].rsplit("/", 1)[-1]
