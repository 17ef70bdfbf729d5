"""Settings: one table that parses, validates and documents every `PORTAL_*` variable.

Each setting has embedded defaults that need no service running, so `make run` works on a fresh clone.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any


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
    # A random key per process is safe while nothing signs in (no sessions survive a restart); set one to keep them.
    Setting("SECRET_KEY", lambda _instance: secrets.token_hex(32), "signs cookies; set it in production"),
    Setting(
        "SOURCES_FILE",
        lambda _instance: str(Path(str(files("portal").joinpath("sources.toml")))),
        "the sources file `portal sources` runs (TOML; see Sources)",
    ),
    Setting("PER_PAGE", lambda _instance: 20, "search results per page (1 to 200)", _positive_int(1, 200)),
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
