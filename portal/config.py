"""Settings: one table that parses, validates and documents every `PORTAL_*` variable.

Each setting has embedded defaults that need no service running, so `make run` works on a fresh clone.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

MIN_SECRET_LENGTH = 32  # characters of PORTAL_SECRET_KEY; shorter keys are guessable offline from a cookie


class SettingError(ValueError):
    """A `PORTAL_*` variable holds a value the portal cannot use; the message names it and says what fits."""


def _positive_int(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise SettingError(f"expected a whole number from {low} to {high}, got {text!r}") from None
        if not low <= value <= high:
            raise SettingError(f"expected a whole number from {low} to {high}, got {value}")
        return value

    return parse


def _flag(text: str) -> bool:
    word = text.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise SettingError(f"expected 1 or 0 (true or false), got {text!r}")


def _secret(text: str) -> str:
    if len(text.strip()) < MIN_SECRET_LENGTH:
        raise SettingError(
            f"expected at least {MIN_SECRET_LENGTH} characters "
            "(make one with `python -c 'import secrets; print(secrets.token_hex(32))'`)"
        )
    return text.strip()


_OCID_PREFIX = re.compile(r"ocds-[a-z0-9]{6}(-[A-Za-z0-9]+)?")


def _ocid_prefix(text: str) -> str:
    if not _OCID_PREFIX.fullmatch(text.strip()):
        raise SettingError(f"expected an ocid prefix such as ocds-a1b2c3 (ocds-, six letters or digits), got {text!r}")
    return text.strip()


def _addresses(text: str) -> tuple[str, ...]:
    """A comma- or space-separated list of IP addresses or networks (`127.0.0.1, 10.0.0.0/8`)."""
    found = []
    for part in text.replace(",", " ").split():
        try:
            found.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            raise SettingError(
                f"expected IP addresses or networks such as 127.0.0.1 or 10.0.0.0/8, got {part!r}"
            ) from None
    return tuple(found)


def _redis_url(text: str) -> str:
    if not text.strip().startswith(("redis://", "rediss://", "unix://")):
        raise SettingError(f"expected a redis:// (or rediss://, unix://) URL, got {text!r}")
    return text.strip()


def _text(text: str) -> str:
    if not text.strip():
        raise SettingError("expected a value, got an empty string")
    return text.strip()


@dataclass(frozen=True)
class Setting:
    name: str  # the config key; the environment variable is PORTAL_<name>
    default: Callable[[Path], Any]  # from the instance folder
    help: str
    parse: Callable[[str], Any] = _text

    @property
    def variable(self) -> str:
        return f"PORTAL_{self.name}"


SETTINGS = (
    Setting(
        "DATABASE_URL",
        lambda instance: f"sqlite:///{instance / 'portal.sqlite'}",
        "any SQLAlchemy URL",
    ),
    Setting("INDEX_DIR", lambda instance: str(instance / "index"), "the Whoosh index folder"),
    # No default: a random key per process would end sessions and refuse CSRF tokens across gunicorn workers.
    # Without one the app starts only in development or tests (portal.app.create_app), with a key of its own.
    Setting(
        "SECRET_KEY",
        lambda _instance: None,
        "signs sessions and CSRF tokens: required (the same for every worker) unless PORTAL_DEVELOPMENT is set",
        _secret,
    ),
    Setting(
        "DEVELOPMENT",
        lambda _instance: False,
        "1 on a developer's machine (`make run` sets it): a random key per process, cookies sent over plain http",
        _flag,
    ),
    Setting(
        "OCID_PREFIX",
        lambda _instance: "ocds-city00",
        "the city's registered ocid prefix, for the releases its officials publish here",
        _ocid_prefix,
    ),
    Setting(
        "CHECKPOINT_DIR",
        lambda instance: str(instance / "checkpoints"),
        "where the audit trail's daily checkpoints are written, and served from at /audit/checkpoints/",
    ),
    Setting(
        "SOURCES_FILE",
        lambda _instance: str(Path(str(files("portal").joinpath("sources.toml")))),
        "the sources file `portal sources` runs (TOML; see Sources)",
    ),
    Setting(
        "DOWNLOADS_DIR",
        lambda instance: str(instance / "downloads"),
        "where the whole data is written after each ingest, and served from at /downloads",
    ),
    Setting("PER_PAGE", lambda _instance: 20, "search results per page (1 to 200)", _positive_int(1, 200)),
    # Residents' concerns (portal/residents, portal/domain/concerns.py, portal/privacy.py).
    Setting(
        "CONCERN_EMAIL_DAYS",
        lambda _instance: 90,
        "days a resident's email is kept after their concern is closed; `portal concerns purge` deletes it then",
        _positive_int(1, 3650),
    ),
    Setting(
        "CONCERN_ANSWER_DAYS",
        lambda _instance: 10,
        "days a buyer has to answer a concern once it is published (the deadline shown on the page)",
        _positive_int(1, 365),
    ),
    Setting(
        "CONCERN_CLIENT_LIMIT",
        lambda _instance: 5,
        "concerns one client (address) may raise in 24 hours",
        _positive_int(1, 10000),
    ),
    Setting(
        "CONCERN_TENDER_LIMIT",
        lambda _instance: 30,
        "concerns one process may receive in 24 hours, from everyone",
        _positive_int(1, 100000),
    ),
    Setting(
        "REDIS_URL",
        lambda _instance: None,
        "where rate-limit counters and the day's address key live, shared by every worker; unset: in memory "
        "(one process, development)",
        _redis_url,
    ),
    Setting(
        "TRUSTED_PROXIES",
        lambda _instance: (),
        "addresses of the reverse proxies whose X-Forwarded-For is believed (e.g. 127.0.0.1); unset: none",
        _addresses,
    ),
)


def default_settings(instance_path: str, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every setting from the environment, else its default; a bad value raises `SettingError` naming it."""
    environ = os.environ if environ is None else environ
    instance = Path(instance_path)
    values = {}
    for setting in SETTINGS:
        raw = environ.get(setting.variable)
        if raw is None or raw == "":
            values[setting.name] = setting.default(instance)
            continue
        try:
            values[setting.name] = setting.parse(raw)
        except SettingError as error:
            raise SettingError(f"{setting.variable}: {error}") from None
    return values
