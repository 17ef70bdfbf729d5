"""Whose data a process is, and on which terms: the source, its licence and the attribution it asks for, for the
process page and every export (JSON and CSV), and whether the source has stopped publishing it.

A licence such as CC BY 4.0 asks that reuse credit the publisher: a spreadsheet made from an export keeps a
column, not a comment or a header, so the terms travel as columns beside the rows they cover.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.domain.store import chunks
from portal.models import IngestRun, Package, Release, Source, SourceItem, SourceState


@dataclass(frozen=True)
class Terms:
    """One source of a process: its licence (None for files loaded with `portal ingest`, whose licence is the
    files' own), its attribution, and when a run noticed it no longer publishes the process (None if it does)."""

    source: str
    licence: str | None
    licence_url: str | None
    attribution: str | None
    gone_since: datetime | None = None

    def as_json(self) -> dict:
        return {
            "source": self.source,
            "licence": self.licence,
            "licence_url": self.licence_url,
            "attribution": self.attribution,
            "no_longer_published_since": self.gone_since,
        }


def terms_of(session: Session, ocids: Iterable[str]) -> dict[str, list[Terms]]:
    """Per ocid, the sources its releases came from (by name), with their terms."""
    found: dict[str, list[Terms]] = defaultdict(list)
    wanted = sorted(set(ocids))
    for chunk in chunks(wanted, 500):
        query = (
            select(
                Release.ocid,
                Source.name,
                SourceState.licence,
                SourceState.licence_url,
                SourceState.attribution,
                IngestRun.started_at,
            )
            .distinct()
            .join(Package, Package.id == Release.package_id)
            .join(Source, Source.id == Package.source_id)
            .outerjoin(SourceState, SourceState.source_id == Source.id)
            .outerjoin(SourceItem, (SourceItem.source_id == Source.id) & (SourceItem.ocid == Release.ocid))
            .outerjoin(IngestRun, IngestRun.id == SourceItem.gone_since_run_id)
            .where(Release.ocid.in_(chunk))
        )
        for ocid, name, licence, licence_url, attribution, gone_since in session.execute(query):
            found[ocid].append(Terms(name, licence, licence_url, attribution, gone_since))
    return {ocid: sorted(terms, key=lambda t: t.source) for ocid, terms in found.items()}


def as_columns(terms: list[Terms]) -> dict[str, str | None]:
    """The terms as three cells of an export row (several sources joined by "; ")."""

    def joined(values: list[str | None]) -> str | None:
        kept = [v for v in values if v]
        return "; ".join(dict.fromkeys(kept)) or None

    return {
        "source": joined([t.source for t in terms]),
        "licence": joined([t.licence for t in terms]),
        "attribution": joined([t.attribution for t in terms]),
    }


def source_terms(session: Session) -> dict[int, Terms]:
    """Every source's terms, by source id (one row a source), for `as_columns`: a source's terms are the same
    for each of its processes, so an export reads them in this one small query rather than joined to each
    release."""
    rows = session.execute(
        select(Source.id, Source.name, SourceState.licence, SourceState.licence_url, SourceState.attribution).outerjoin(
            SourceState, SourceState.source_id == Source.id
        )
    )
    return {
        source_id: Terms(name, licence, licence_url, attribution)
        for source_id, name, licence, licence_url, attribution in rows
    }
