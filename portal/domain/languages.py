"""The language each process was published in (its compiled release's `language`), so that pages can mark titles
and descriptions with it: a French title on an English page is read out in French.

Read straight from the compiled JSON in the database, one query for a page's processes; the model has no column
for it (TODO: a `language` column filled at compile time would spare the JSON read).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement, cast

from portal.models import Process

# BCP 47 as OCDS uses it (ISO 639-1, "es"); a value that is not a language tag is left out rather than
# written into a `lang` attribute.
_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")


def language_tag(value: object) -> str | None:
    """A published `language` as a `lang` value ("ES" -> "es", "en_GB" -> "en-GB"), or None."""
    if not isinstance(value, str):
        return None
    text = value.strip().replace("_", "-")
    if not _TAG.fullmatch(text) or len(text) > 35:
        return None
    primary, _, rest = text.partition("-")
    return primary.lower() + (f"-{rest}" if rest else "")


def language_of_compiled(session: Session) -> ColumnElement:
    """The compiled release's `language`, as published (read it with `language_tag`)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(Process.compiled, JSONB)["language"].astext
    return func.json_extract(Process.compiled, "$.language")


def content_languages(session: Session, *, ocids: Iterable[str]) -> dict[str, str]:
    """Ocid -> language tag, for those of `ocids` whose compiled release names a valid one."""
    wanted = sorted(set(ocids))
    if not wanted:
        return {}
    rows = session.execute(select(Process.ocid, language_of_compiled(session)).where(Process.ocid.in_(wanted)))
    found = {}
    for ocid, value in rows:
        tag = language_tag(value)
        if tag:
            found[ocid] = tag
    return found
