"""Downloading a published file to disk before reading it, so a failed or cut-off download is never half-loaded.

Retries (429 and 5xx, honouring Retry-After) are urllib3's; a body shorter than its Content-Length is an error,
not a smaller file.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ingest.ocds import IngestError

TIMEOUT = (10, 60)  # seconds to connect, and between bytes of the answer
RETRIES = 4  # a source that still fails after this is reported, not hammered
USER_AGENT = "open-procurement-portal-ingest"


@dataclass
class Download:
    path: Path
    charset: str | None


def http_session(retries: int = RETRIES, backoff: float = 0.5) -> requests.Session:
    session = requests.Session()
    retry = Retry(
        total=retries,
        backoff_factor=backoff,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=("GET",),
        respect_retry_after_header=True,
        raise_on_status=True,  # give up with RetryError (reported as "still failing"), not the last answer
    )
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    session.headers["User-Agent"] = USER_AGENT
    return session


def download(url: str, directory: Path, *, session: requests.Session | None = None) -> Download:
    """Fetch `url` into a new file under `directory`; raise IngestError saying what went wrong."""
    session = session or http_session()
    try:
        with session.get(url, stream=True, timeout=TIMEOUT) as response:
            if response.status_code >= 400:
                raise IngestError(f"{url}: the server answered {response.status_code} {response.reason}")
            handle, name = tempfile.mkstemp(dir=directory, suffix=_suffix(url))
            with open(handle, "wb") as out:
                for chunk in response.iter_content(chunk_size=1 << 16):
                    out.write(chunk)
            charset = None
            if "charset=" in response.headers.get("Content-Type", ""):
                charset = response.headers["Content-Type"].split("charset=")[-1].split(";")[0].strip()
            return Download(Path(name), charset)
    except requests.exceptions.RetryError as error:
        raise IngestError(f"{url}: still failing after {RETRIES} retries ({error})") from None
    except requests.exceptions.ChunkedEncodingError as error:
        raise IngestError(f"{url}: the download was cut off before its end ({error})") from None
    except requests.exceptions.RequestException as error:
        raise IngestError(f"{url}: could not be fetched ({error})") from None


def _suffix(url: str) -> str:
    name = url.split("?")[0].rsplit("/", 1)[-1].lower()
    for suffix in (".jsonl.gz", ".json.gz", ".jsonl", ".ndjson", ".zip", ".gz", ".json"):
        if name.endswith(suffix):
            return suffix
    return ".json"
