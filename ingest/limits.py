"""How much one ingest may read, download and spend in time: each limit named, with the reason for its default.

Every limit is a field of `Limits`, which `run_ingest`, `read_file` and `download` take as a keyword argument;
the module constants are the defaults. A file that reaches a limit fails with an error naming the limit, and
the run goes on with the next file (the run's own time limit stops the run).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

MiB = 1 << 20
GiB = 1 << 30

# A member of a gzip or zip file is stopped once it has decompressed to this much. Published OCDS files run to a
# few GB (the 1M-process benchmark corpus is 349 MB gzipped); anything past this is a mistake or an attack.
MAX_DECOMPRESSED_BYTES = 16 * GiB
# ... or once it has grown past this multiple of its compressed size. JSON compresses 5 to 20 times, very
# repetitive JSON up to about 50; a decompression bomb 1,000 times and more.
MAX_COMPRESSION_RATIO = 100
# The ratio is only checked past this many decompressed bytes, so that a small, very regular file is never a bomb.
RATIO_GRACE_BYTES = 64 * MiB
# One JSON Lines line (one release, record or package) may be this long; a longer one is refused rather than
# held in memory. The largest real record in ../shared/data is 431 KB.
MAX_LINE_BYTES = 256 * MiB
# A download is stopped at this size (it is written to the temporary folder before it is read).
MAX_DOWNLOAD_BYTES = 8 * GiB
# A download is stopped after this long, however steadily the bytes trickle in.
MAX_DOWNLOAD_SECONDS = 60 * 60
# Seconds to wait for a connection, and at most between two reads of the answer.
CONNECT_TIMEOUT = 10
READ_TIMEOUT = 60
# A server that asks to be retried later than this (Retry-After) is given up on at once, not waited for.
MAX_RETRY_AFTER_SECONDS = 120
# A run stops reading new files after this long (the 1M benchmark corpus took 17 minutes on two cores).
MAX_RUN_SECONDS = 12 * 60 * 60


@dataclass(frozen=True)
class Limits:
    decompressed_bytes: int = MAX_DECOMPRESSED_BYTES
    compression_ratio: float = MAX_COMPRESSION_RATIO
    ratio_grace_bytes: int = RATIO_GRACE_BYTES
    line_bytes: int = MAX_LINE_BYTES
    download_bytes: int = MAX_DOWNLOAD_BYTES
    download_seconds: float = MAX_DOWNLOAD_SECONDS
    connect_timeout: float = CONNECT_TIMEOUT
    read_timeout: float = READ_TIMEOUT
    retry_after_seconds: float = MAX_RETRY_AFTER_SECONDS
    run_seconds: float = MAX_RUN_SECONDS


DEFAULT_LIMITS = Limits()


class Deadline:
    """A point in time, read from the monotonic clock, after which `expired` is true."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.at - time.monotonic()

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0


def human_bytes(size: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size} GiB"  # unreachable
