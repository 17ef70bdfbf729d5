"""portal.privacy: the client's address as counted (proxies, IPv6 /64), the day's key (HMAC, rotation, shared by
forked workers, in Redis for real), and counters in memory and in Redis."""

from __future__ import annotations

import hashlib
import os
import uuid

import pytest

from portal import privacy
from portal.privacy import (
    DAY_SECONDS,
    DailyKey,
    MemoryCounters,
    RateLimiter,
    RedisCounters,
    RedisKey,
    client_address,
    client_network,
    pseudonym,
)
from tests.conftest import missing

REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_peer_is_the_client_unless_it_is_a_trusted_proxy():
    assert client_address("203.0.113.7", None) == "203.0.113.7"
    # Anyone can send the header: without a trusted proxy it is ignored.
    assert client_address("203.0.113.7", "198.51.100.1") == "203.0.113.7"
    trusted = ["127.0.0.1", "10.0.0.0/8"]
    assert client_address("127.0.0.1", "203.0.113.7", trusted) == "203.0.113.7"
    # The right-most address that is not a trusted proxy: what the client put to its left is not believed.
    assert client_address("127.0.0.1", "198.51.100.1, 203.0.113.7, 10.1.2.3", trusted) == "203.0.113.7"
    assert client_address("127.0.0.1", "", trusted) == "127.0.0.1"
    assert client_address("127.0.0.1", "not an address", trusted) == privacy.UNKNOWN
    assert client_address(None, None) == privacy.UNKNOWN
    assert client_address("::ffff:203.0.113.7", None) == "203.0.113.7"


def test_an_ipv6_client_is_its_slash_64():
    assert client_network("2001:db8:85a3:1:0:8a2e:370:7334") == "2001:db8:85a3:1::/64"
    assert client_network("2001:db8:85a3:1:ffff::1") == "2001:db8:85a3:1::/64"
    assert client_network("2001:db8:85a3:2::1") != client_network("2001:db8:85a3:1::1")
    assert client_network("203.0.113.7") == "203.0.113.7"
    assert client_network("garbage") == privacy.UNKNOWN


def test_the_pseudonym_is_keyed_and_is_no_plain_hash_of_the_address():
    key = DailyKey().current()
    name = pseudonym(key, "203.0.113.7")
    assert name == pseudonym(key, "203.0.113.7")
    assert name != pseudonym(DailyKey().current(), "203.0.113.7")  # each start makes a new key
    assert name != hashlib.sha256(b"203.0.113.7").hexdigest()
    assert "203.0.113.7" not in name
    # A whole /64 counts as one client.
    assert pseudonym(key, "2001:db8:85a3:1::1") == pseudonym(key, "2001:db8:85a3:1::2")


def test_the_key_changes_every_day_and_copies_stay_in_step():
    clock = Clock()
    key = DailyKey(clock)
    first = key.current()
    clock.now += 3600
    assert key.current() == first
    # A worker forked from the server holds a copy: moving on by the same one-way step, it reaches the same key.
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker
        os.close(read)
        clock.now += DAY_SECONDS
        os.write(write, key.current())
        os._exit(0)
    os.close(write)
    worker_key = os.read(read, 64)
    os.close(read)
    os.waitpid(pid, 0)
    clock.now += DAY_SECONDS
    second = key.current()
    assert second != first
    assert worker_key == second
    clock.now += 3 * DAY_SECONDS  # days without a request: the key still moves on once per day
    assert key.current() != second
    assert (
        key.current()
        == hashlib.sha256(
            b"portal next day key"
            + hashlib.sha256(b"portal next day key" + hashlib.sha256(b"portal next day key" + second).digest()).digest()
        ).digest()
    )


def test_memory_counters_forget_after_24_hours():
    clock = Clock()
    counters = MemoryCounters(clock)
    assert [counters.hit("a") for _ in range(3)] == [1, 2, 3]
    assert counters.hit("b") == 1
    clock.now += DAY_SECONDS - 1
    assert counters.hit("a") == 4
    clock.now += 1
    assert counters.hit("a") == 1
    assert len(counters._counts) == 1  # "b" expired too, and is gone from memory


def test_a_client_over_its_limit_does_not_use_up_the_tenders():
    limiter = RateLimiter(DailyKey(), MemoryCounters(), client_limit=2, tender_limit=3)
    assert limiter.check(address="203.0.113.7", ocid="x") is None
    assert limiter.check(address="203.0.113.7", ocid="x") is None
    refused = limiter.check(address="203.0.113.7", ocid="x")
    assert refused is not None and (refused.per, refused.limit) == ("client", 2)
    assert limiter.check(address="198.51.100.1", ocid="x") is None
    refused = limiter.check(address="198.51.100.2", ocid="x")
    assert refused is not None and (refused.per, refused.limit) == ("tender", 3)
    assert limiter.check(address="198.51.100.2", ocid="another") is None


@pytest.fixture
def redis_client():
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as error:
        missing(f"Redis not reachable at {REDIS_URL}: {error}")
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    yield client, prefix
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


def test_redis_key_is_shared_expires_within_a_day_and_is_replaced(redis_client, monkeypatch):
    client, prefix = redis_client
    monkeypatch.setattr(privacy, "REDIS_KEY", f"{prefix}client-key")
    one, two = RedisKey(client), RedisKey(client)  # two workers
    key = one.current()
    assert len(key) == privacy.KEY_BYTES
    assert two.current() == key
    assert 0 < client.ttl(f"{prefix}client-key") <= DAY_SECONDS
    client.delete(f"{prefix}client-key")  # what the expiry does after 24 hours
    assert two.current() != key
    assert one.current() == two.current()


def test_redis_counters_count_across_workers_and_expire(redis_client, monkeypatch):
    client, prefix = redis_client
    monkeypatch.setattr(privacy, "REDIS_COUNTER", prefix)
    one, two = RedisCounters(client), RedisCounters(client)
    assert one.hit("c") == 1
    assert two.hit("c") == 2
    assert one.hit("c") == 3
    assert 0 < client.ttl(f"{prefix}c") <= DAY_SECONDS
    # The expiry is set by the first hit only: later hits do not push it back.
    client.expire(f"{prefix}c", 100)
    two.hit("c")
    assert client.ttl(f"{prefix}c") <= 100
    # Nothing in Redis holds the address.
    limiter = RateLimiter(RedisKey(client), one, client_limit=5, tender_limit=5)
    monkeypatch.setattr(privacy, "REDIS_KEY", f"{prefix}client-key")
    assert limiter.check(address="203.0.113.7", ocid="o") is None
    for key in client.scan_iter(f"{prefix}*"):
        assert b"203.0.113.7" not in key
        assert b"203.0.113.7" not in (client.get(key) or b"")


def test_make_limiter_uses_redis_when_configured(redis_client):
    limiter = privacy.make_limiter(redis_url=REDIS_URL, client_limit=1, tender_limit=1)
    assert isinstance(limiter.key, RedisKey) and isinstance(limiter.counters, RedisCounters)
    limiter = privacy.make_limiter(redis_url=None, client_limit=1, tender_limit=1)
    assert limiter.key is privacy.PROCESS_KEY and isinstance(limiter.counters, MemoryCounters)


def test_the_settings_read_proxies_and_redis_urls(tmp_path):
    from portal.config import SettingError, default_settings

    read = default_settings(
        str(tmp_path), {"PORTAL_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8 ::1", "PORTAL_REDIS_URL": REDIS_URL}
    )
    assert read["TRUSTED_PROXIES"] == ("127.0.0.1/32", "10.0.0.0/8", "::1/128")
    assert read["REDIS_URL"] == REDIS_URL
    defaults = default_settings(str(tmp_path), {})
    assert defaults["TRUSTED_PROXIES"] == () and defaults["REDIS_URL"] is None
    assert defaults["CONCERN_EMAIL_DAYS"] == 90
    for name, value in (("TRUSTED_PROXIES", "localhost"), ("REDIS_URL", "127.0.0.1:6379")):
        with pytest.raises(SettingError, match=f"PORTAL_{name}"):
            default_settings(str(tmp_path), {f"PORTAL_{name}": value})
