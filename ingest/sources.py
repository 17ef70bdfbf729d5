"""The configured sources: one TOML file lists each endpoint, its licence, and how its rows map onto the model.

Sources are configured, not coded: a new city register is a new `[[source]]` entry, not a new module. The file
is checked as a whole when it is read, so a typo in a column name or an unknown kind is reported with the
source's name before anything is fetched. Secrets never live in the file: a source names the environment
variable that holds its app token (`app_token_env`), and the token is read when the source runs.

The format is documented in README.md ("Sources"); `portal/sources.toml` holds the real endpoints and
`portal/demo_data/sources.toml` the registers shipped with the demo.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from portal.vocabulary import SourceKind

# The data model's fields a tabular row can fill; each maps to one column of the register.
MODEL_FIELDS = {
    "contract_id": "the contract (or purchase order) number; rows sharing it are one contract",
    "revision": "the revision number: 0 is the contract, later revisions are amendments of it",
    "title": "what was bought",
    "description": "a longer description",
    "buyer": "the buying department",
    "supplier": "the supplier's name (one row per supplier of a multi-supplier award)",
    "supplier_id": "the supplier's identifier in the publisher's own register",
    "amount": "the amount awarded (text: thousands separators, decimal commas, currency symbols are read)",
    "currency": "a column holding the currency code (else the source's `currency`)",
    "date": "the date of the row (approval, signature): the release date",
    "date_signed": "the date the contract was signed",
    "start_date": "the contract period's start",
    "end_date": "the contract period's end",
    "method": "the procurement method as published (mapped onto OCDS with `method_values`)",
    "status": "the award status as published",
    "tender_id": "the tender or specification number",
    "contract_type": "the kind of contract or revision (a modification, a time extension, ...)",
    "document_url": "a link to the signed contract",
}
REQUIRED_FIELDS = ("supplier", "amount")  # a row without either is not a contract row
MISSING_VALUES = ("", "NA", "N/A", "n/a", "NaN", "null", "NULL", "None", "-")
DEFAULT_PAGE_SIZE = 1000  # rows or releases per request; Socrata allows up to 50,000, CKAN 32,000
DEFAULT_TIMEOUT = 30.0  # seconds to wait for an answer; a source slower than this is "down" for this run
DEFAULT_RATE_LIMIT = 2.0  # requests per second per source: polite to publishers without a stated limit


class SourceConfigError(ValueError):
    """The sources file cannot be used; the message names the source and the key."""


@dataclass(frozen=True)
class TableFormat:
    """How a register's text is written: what pandas needs to read it and what the mapping needs to parse it."""

    header: bool = True
    columns: tuple[str, ...] = ()  # the column names of a headerless file, in order
    encoding: str | None = None  # None: UTF-8 if it decodes, else Windows-1252 (reported)
    delimiter: str = ","
    decimal: str = "."
    thousands: str = ","
    date_format: str = "%Y-%m-%d"  # strptime format, or "iso" for ISO 8601 (Socrata's floating timestamps)
    missing: tuple[str, ...] = MISSING_VALUES
    placeholder_ids: tuple[str, ...] = ()  # regular expressions: contract numbers that are not ids
    sheet: str | int = 0  # XLSX only


@dataclass(frozen=True)
class SourceConfig:
    name: str
    kind: SourceKind
    url: str  # an http(s) URL, or for csv/xlsx a path (relative to the sources file)
    licence: str
    attribution: str = ""
    licence_url: str = ""
    publisher: str = ""
    schedule: str = "daily"  # how often `portal sources run --due` runs it: hourly, daily, weekly, manual
    ocid_prefix: str = ""  # tabular sources: every generated ocid starts with it
    currency: str = ""
    timezone: str = "UTC"  # where the register's dates without a time zone were written
    language: str = ""
    app_token_env: str = ""  # the environment variable holding the app token, never the token itself
    page_size: int = DEFAULT_PAGE_SIZE
    timeout: float = DEFAULT_TIMEOUT
    rate_limit: float = DEFAULT_RATE_LIMIT
    retries: int = 4
    allow_private: bool = False  # fetch from loopback or private addresses (tests, intranet publishers)
    order: str = ":id"  # Socrata: a stable order for paging
    incremental_field: str = ""  # Socrata: e.g. ":updated_at"; OCDS API: the query parameter of a since-date
    overlap_hours: float = 24.0  # incremental runs ask again for this much before the cursor
    dataset: str = ""  # CKAN: the dataset (package) name, read with package_show
    resource: str = ""  # CKAN: the resource's id or name within the dataset
    mapping: dict[str, str] = field(default_factory=dict)  # model field -> column
    method_values: dict[str, str] = field(default_factory=dict)  # published method -> OCDS procurementMethod
    award_status: str = ""  # stated for registers that publish no status: what every row is
    supplier_scheme: str = ""  # the register of the publisher's own supplier ids (`supplier_id`)
    table: TableFormat = field(default_factory=TableFormat)
    base: Path = Path(".")  # the sources file's folder, for relative paths

    @property
    def tabular(self) -> bool:
        return self.kind in (SourceKind.SOCRATA, SourceKind.CKAN, SourceKind.CSV, SourceKind.XLSX)

    @property
    def is_local(self) -> bool:
        return self.kind in (SourceKind.CSV, SourceKind.XLSX) and not self.url.startswith(("http://", "https://"))

    def local_path(self) -> Path:
        path = Path(self.url)
        return path if path.is_absolute() else self.base / path

    def app_token(self) -> str | None:
        """The token from the environment; a named variable that is not set is an error, not an anonymous run."""
        if not self.app_token_env:
            return None
        token = os.environ.get(self.app_token_env)
        if not token:
            raise SourceConfigError(f"{self.name}: the environment variable {self.app_token_env} is not set")
        return token

    def is_placeholder(self, contract_id: str) -> bool:
        return any(re.search(pattern, contract_id, flags=re.IGNORECASE) for pattern in self.table.placeholder_ids)


_TOP_KEYS = {f for f in SourceConfig.__dataclass_fields__ if f not in ("table", "base", "kind")} | {
    "kind",
    "table",
}


def _table(name: str, raw: dict[str, Any]) -> TableFormat:
    known = set(TableFormat.__dataclass_fields__)
    unknown = set(raw) - known
    if unknown:
        raise SourceConfigError(f"{name}: unknown key(s) in [source.table]: {', '.join(sorted(unknown))}")
    values = dict(raw)
    for key in ("columns", "missing", "placeholder_ids"):
        if key in values:
            values[key] = tuple(values[key])
    table = TableFormat(**values)
    if not table.header and not table.columns:
        raise SourceConfigError(f"{name}: a file without a header row needs `columns` naming them in order")
    for pattern in table.placeholder_ids:
        try:
            re.compile(pattern)
        except re.error as error:
            raise SourceConfigError(
                f"{name}: placeholder_ids {pattern!r} is not a regular expression: {error}"
            ) from None
    return table


def parse_source(raw: dict[str, Any], base: Path) -> SourceConfig:
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SourceConfigError("a source without a name")
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise SourceConfigError(f"{name}: unknown key(s): {', '.join(sorted(unknown))}")
    try:
        kind = SourceKind(str(raw.get("kind")))
    except ValueError:
        raise SourceConfigError(
            f"{name}: kind {raw.get('kind')!r} is not one of {', '.join(k.value for k in SourceKind)}"
        ) from None
    for key in ("url", "licence"):
        if not raw.get(key):
            raise SourceConfigError(f"{name}: `{key}` is required")
    values = {k: v for k, v in raw.items() if k not in ("kind", "table")}
    config = SourceConfig(**values, kind=kind, table=_table(name, raw.get("table", {})), base=base)
    if config.tabular:
        unknown_fields = set(config.mapping) - set(MODEL_FIELDS)
        if unknown_fields:
            raise SourceConfigError(
                f"{name}: mapping names no field of the model: {', '.join(sorted(unknown_fields))} "
                f"(fields: {', '.join(MODEL_FIELDS)})"
            )
        missing = [f for f in REQUIRED_FIELDS if f not in config.mapping]
        if missing:
            raise SourceConfigError(f"{name}: mapping needs {', '.join(missing)}")
        if not config.ocid_prefix:
            raise SourceConfigError(f"{name}: tabular sources need an `ocid_prefix` for the ocids they generate")
        if not config.currency and "currency" not in config.mapping:
            raise SourceConfigError(f"{name}: say the `currency` of its amounts, or map a currency column")
        if config.table.columns:
            absent = sorted(set(config.mapping.values()) - set(config.table.columns))
            if absent:
                raise SourceConfigError(f"{name}: mapped column(s) not among `columns`: {', '.join(absent)}")
    if config.kind == SourceKind.CKAN and not (config.resource or config.dataset):
        raise SourceConfigError(f"{name}: a CKAN source needs its `resource` id, or the `dataset` holding it")
    try:
        ZoneInfo(config.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SourceConfigError(f"{name}: unknown time zone {config.timezone!r}") from None
    return config


def load_sources(path: str | Path) -> list[SourceConfig]:
    """Every source in a sources file, checked; names are unique."""
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise SourceConfigError(f"{path}: cannot be read ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise SourceConfigError(f"{path}: not valid TOML ({error})") from None
    sources = [parse_source(raw, path.parent) for raw in document.get("source", [])]
    seen: set[str] = set()
    for source in sources:
        if source.name in seen:
            raise SourceConfigError(f"{path}: two sources are named {source.name!r}")
        seen.add(source.name)
    return sources


def find_source(sources: list[SourceConfig], name: str) -> SourceConfig:
    for source in sources:
        if source.name == name:
            return source
    raise SourceConfigError(f"no source named {name!r} (configured: {', '.join(s.name for s in sources)})")
