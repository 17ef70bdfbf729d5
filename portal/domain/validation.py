"""Validating releases against the bundled OCDS 1.1.5 release schema: errors become data-quality notes.

Fast by construction: a release is first checked by a validator compiled once from the schema (fastjsonschema,
which stops at the first error); only an invalid release is validated again by jsonschema's Draft 4 validator,
also built once, to list every error. The schema's `format` keywords are not checked (jsonschema's default).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import fastjsonschema
import jsonschema

from portal.domain.ocds import release_schema

MAX_ERRORS = 20  # errors kept per release; the note says how many more


@cache
def _fast() -> Callable[[dict], object]:
    return fastjsonschema.compile(release_schema(), use_default=False)


@cache
def _full() -> jsonschema.Draft4Validator:
    return jsonschema.Draft4Validator(release_schema())


def schema_errors(release: dict) -> list[str]:
    """Where and how a release breaks the OCDS 1.1.5 schema ("awards: {...} is not of type 'array'"); [] if valid."""
    try:
        _fast()(release)
        return []
    except fastjsonschema.JsonSchemaException:
        pass
    except Exception:  # noqa: BLE001 - the compiled validator chokes on values JSON Schema never meant (Decimal)
        pass
    errors = sorted(_full().iter_errors(release), key=lambda e: [str(p) for p in e.absolute_path])
    notes = [f"{_path(e) or 'release'}: {_message(e)}" for e in errors[:MAX_ERRORS]]
    if len(errors) > MAX_ERRORS:
        notes.append(f"{len(errors) - MAX_ERRORS} more schema errors")
    return notes


def _path(error: jsonschema.ValidationError) -> str:
    text = ""
    for part in error.absolute_path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _message(error: jsonschema.ValidationError) -> str:
    message = error.message
    return message if len(message) <= 200 else message[:199] + "…"
