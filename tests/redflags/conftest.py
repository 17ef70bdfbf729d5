"""Hand-made minimal releases for the red-flag indicators: each test writes the processes it needs as one
release package, loads it the way `portal ingest` does and computes every indicator over it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from portal.domain.redflags import FlagLine, process_flags, recompute_flags
from portal.models import Process

BUYER = {"id": "B1", "name": "Department of Works", "identifier": {"scheme": "XX-CITY", "id": "B1"}}


def release(n: int | str, *, prefix: str = "ocds-flags0", buyer: dict | None = BUYER, **parts: Any) -> dict:
    """A release with a buyer and whatever parts are given (tender, awards, contracts, bids, parties)."""
    parties = [dict(p) for p in parts.pop("parties", [])]
    data: dict[str, Any] = {
        "ocid": f"{prefix}-{n}",
        "id": "1",
        "date": "2024-03-01T00:00:00Z",
        "tag": ["tender"],
        "initiationType": "tender",
    }
    if buyer is not None:
        parties.insert(0, {**buyer, "roles": ["buyer"]})
        data["buyer"] = {"id": buyer["id"], "name": buyer["name"]}
    for award in parts.get("awards", []):
        for s in award.get("suppliers", []):
            if not any(p["id"] == s["id"] for p in parties):
                parties.append({**s, "roles": ["supplier"]})
    for bid in parts.get("bids", {}).get("details", []):
        for t in bid.get("tenderers", []):
            if not any(p["id"] == t["id"] for p in parties):
                parties.append({**t, "roles": ["tenderer"]})
    data["parties"] = parties
    data.update(parts)
    return data


def award(supplier: dict, amount: float | None, *, currency: str = "USD", status: str = "active", **more: Any) -> dict:
    found: dict[str, Any] = {"id": more.pop("id", "a1"), "status": status, "suppliers": [supplier], **more}
    if amount is not None:
        found["value"] = {"amount": amount, "currency": currency}
    return found


def bid(n: int, tenderer: dict, amount: float | None, *, status: str = "valid", **more: Any) -> dict:
    found: dict[str, Any] = {"id": f"bid{n}", "status": status, "tenderers": [tenderer], **more}
    if amount is not None:
        found["value"] = {"amount": amount, "currency": more.pop("currency", "USD")}
    return found


Outcomes = Callable[[str], dict[str, FlagLine]]


@pytest.fixture
def flags(load, sessions, tmp_path) -> Callable[..., Outcomes]:
    """flags(releases) loads them, computes every indicator and returns ocid-suffix -> {code: FlagLine}."""

    def compute(releases: list[dict], settings: dict | None = None, prefix: str = "ocds-flags0") -> Outcomes:
        path = tmp_path / f"releases-{len(list(tmp_path.iterdir()))}.json"
        package = {"version": "1.1", "publishedDate": "2024-06-01T00:00:00Z", "uri": "x", "releases": releases}
        path.write_text(json.dumps(package))
        result = load(path, "hand-made")
        assert result.status == "succeeded", result.errors
        with sessions.begin() as session:
            recompute_flags(session, settings=settings)

        def outcomes(n: str) -> dict[str, FlagLine]:
            with sessions() as session:
                process_id = session.scalar(select(Process.id).where(Process.ocid == f"{prefix}-{n}"))
                assert process_id is not None, n
                lines, _ = process_flags(session, process_id)
            return {line.code: line for line in lines}

        return outcomes

    return compute
