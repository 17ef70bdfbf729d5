"""Rate limits without keeping anyone's address: an HMAC of the client's address under a key that lives only in
memory (or in Redis, with a 24-hour expiry) and is replaced every day; counters that expire after 24 hours; the
client's address read from `X-Forwarded-For` only when the request comes from a configured proxy; and a server
log line without the client's address.

Why an HMAC and not a hash: there are only 2^32 IPv4 addresses, so a plain hash of one is reversed by hashing them
all. Under a secret key that nobody can read from disk, and that is gone the next day, the pseudonym says only
"the same connection as earlier today". An IPv6 client is counted by its /64 network: one home or phone holds a
whole /64 and could otherwise take a fresh address for every post.

Where the key comes from:
- with `PORTAL_REDIS_URL`: a random key stored in Redis with a 24-hour expiry (`SET NX EX`), so every worker and
  server uses the same one, and Redis replaces it when it expires; the counters live there too.
- without: a key made when this module is first imported, in memory only, moved on each day by a one-way step
  (`next = sha256(key)`), so that processes forked from one parent (gunicorn, with `portal/gunicorn_conf.py`
  importing this module in the master) agree on each day's key and none can go back to an earlier day's. The
  counters are then in the process's memory: fine for one process (development); use Redis with several.

No Flask here: the web app hands in the request's addresses (`client_address`).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from werkzeug.serving import WSGIRequestHandler

KEY_BYTES = 32
DAY_SECONDS = 86_400  # counters and keys last a day
IPV6_PREFIX = 64  # an IPv6 client is its /64: the block one subscriber is usually given
UNKNOWN = "unknown"  # a client whose address cannot be read: all such clients share one counter
REDIS_KEY = "portal:client-key"  # the day's address key, when it lives in Redis
REDIS_COUNTER = "portal:count:"


# ---------------------------------------------------------------------------------------------------------------
# The client's address.


def _networks(trusted: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(t, strict=False) for t in trusted]


def _parse(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip().strip("[]")
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def client_address(remote_addr: str | None, forwarded_for: str | None, trusted: Iterable[str] = ()) -> str:
    """The client's address: the socket's peer, unless that peer is a trusted proxy, in which case the right-most
    address of `X-Forwarded-For` that is not itself a trusted proxy (the ones to its left are whatever the client
    chose to send). `UNKNOWN` when nothing readable is found."""
    networks = _networks(trusted)
    peer = _parse(remote_addr or "")
    if peer is None:
        return UNKNOWN

    def is_trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(address.version == n.version and address in n for n in networks)

    if not is_trusted(peer) or not forwarded_for:
        return str(peer)
    for hop in reversed(forwarded_for.split(",")):
        address = _parse(hop)
        if address is None:
            return UNKNOWN  # a proxy we trust wrote something unreadable: count it apart rather than as the proxy
        if not is_trusted(address):
            return str(address)
    return str(peer)


def client_network(address: str) -> str:
    """What a client is counted as: an IPv4 address itself, an IPv6 address's /64 network."""
    parsed = _parse(address)
    if parsed is None:
        return UNKNOWN
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, IPV6_PREFIX), strict=False))
    return str(parsed)


# ---------------------------------------------------------------------------------------------------------------
# The day's key.


class KeySource(Protocol):
    def current(self) -> bytes: ...


class DailyKey:
    """A key in memory only, made at construction and moved on by one sha256 step per day (UTC day number). Two
    copies forked from one parent stay in step; a copy cannot compute an earlier day's key."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._key = secrets.token_bytes(KEY_BYTES)
        self._day = int(clock() // DAY_SECONDS)
        self._lock = threading.Lock()

    def current(self) -> bytes:
        today = int(self._clock() // DAY_SECONDS)
        with self._lock:
            while self._day < today:
                self._key = hashlib.sha256(b"portal next day key" + self._key).digest()
                self._day += 1
            return self._key


class RedisKey:
    """A random key kept in Redis for 24 hours; the first worker to find none makes it (`SET NX`), and the rest
    read that one."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def current(self) -> bytes:
        key = self._client.get(REDIS_KEY)
        if key is None:
            self._client.set(REDIS_KEY, secrets.token_bytes(KEY_BYTES), nx=True, ex=DAY_SECONDS)
            key = self._client.get(REDIS_KEY)
        return bytes(key)


# Made when the module is first imported: by the server's start (gunicorn's master, with portal/gunicorn_conf.py,
# before it forks its workers), never written anywhere.
PROCESS_KEY = DailyKey()


def pseudonym(key: bytes, address: str) -> str:
    """The HMAC-SHA256 of the client's network (`client_network`) under the day's key, in hex."""
    return hmac.new(key, client_network(address).encode("ascii"), hashlib.sha256).hexdigest()


# ---------------------------------------------------------------------------------------------------------------
# Counters.


class Counters(Protocol):
    def hit(self, name: str) -> int:
        """Count one more under `name` and return the count in the current 24-hour window."""
        ...


class MemoryCounters:
    """Counters in this process's memory, each forgotten 24 hours after its first hit."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._counts: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, name: str) -> int:
        now = self._clock()
        with self._lock:
            # Expired counters go as any counter is touched: memory never holds more than a day's clients.
            for stale in [k for k, (expires, _) in self._counts.items() if expires <= now]:
                del self._counts[stale]
            expires, count = self._counts.get(name, (now + DAY_SECONDS, 0))
            self._counts[name] = (expires, count + 1)
            return count + 1


class RedisCounters:
    """Counters in Redis (`INCR`), each expiring 24 hours after its first hit."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def hit(self, name: str) -> int:
        key = REDIS_COUNTER + name
        pipe = self._client.pipeline()
        pipe.incr(key)
        pipe.expire(key, DAY_SECONDS, nx=True)
        count, _ = pipe.execute()
        return int(count)


# ---------------------------------------------------------------------------------------------------------------
# Limits.


@dataclass(frozen=True)
class Refusal:
    """A limit that was reached: `per` is "client" or "tender"; `limit` how many were allowed in 24 hours."""

    per: str
    limit: int


class RateLimiter:
    """Limits per client (its pseudonym) and per tender (its ocid, hashed so that a counter's name has a fixed
    length), counted over 24 hours."""

    def __init__(self, key: KeySource, counters: Counters, *, client_limit: int, tender_limit: int) -> None:
        self.key = key
        self.counters = counters
        self.client_limit = client_limit
        self.tender_limit = tender_limit

    def check(self, *, address: str, ocid: str) -> Refusal | None:
        """Count one post; None when it is allowed. A client over its limit is refused before the tender's counter
        moves, so one client cannot use up a tender's allowance."""
        client = pseudonym(self.key.current(), address)
        if self.counters.hit(f"client:{client}") > self.client_limit:
            return Refusal("client", self.client_limit)
        tender = hashlib.sha256(ocid.encode("utf-8")).hexdigest()
        if self.counters.hit(f"tender:{tender}") > self.tender_limit:
            return Refusal("tender", self.tender_limit)
        return None


def make_limiter(*, redis_url: str | None, client_limit: int, tender_limit: int) -> RateLimiter:
    """Redis when a URL is given (key and counters shared by every worker), else memory (one process)."""
    if redis_url:
        import redis  # only where configured

        client = redis.Redis.from_url(redis_url)
        return RateLimiter(
            RedisKey(client), RedisCounters(client), client_limit=client_limit, tender_limit=tender_limit
        )
    return RateLimiter(PROCESS_KEY, MemoryCounters(), client_limit=client_limit, tender_limit=tender_limit)


# ---------------------------------------------------------------------------------------------------------------
# Server logs.


class AnonymousRequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler (for `portal serve`), whose log lines name no client: "-" where the address was."""

    def address_string(self) -> str:
        return "-"


# gunicorn's access log format, without `%(h)s` (the client's address): see portal/gunicorn_conf.py.
GUNICORN_ACCESS_LOG_FORMAT = '- - - %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'
