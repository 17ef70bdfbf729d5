"""The update after a load (`recompute_flags(changed=...)`) against a full computation: the same rows, while
reading only the rows of the changed processes and of their buyers', suppliers' and tenderers' processes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from portal.domain.redflags import recompute_flags
from portal.models import FlagCoverage, FlagFence, FlagResult, Process
from tests.redflags.conftest import award, bid, release
from tests.redflags.test_bid_indicators import priced
from tests.redflags.test_entity_indicators import PARKS, bought

LIBRARY = {"id": "B3", "name": "Library Board", "identifier": {"scheme": "XX-CITY", "id": "B3"}}
SHORT = {"startDate": "2024-03-01T00:00:00Z", "endDate": "2024-03-04T00:00:00Z"}  # 3 days: R003 fires


def base() -> list[dict]:
    """test_entity_indicators' two buyers and five suppliers, and a third buyer sharing none of them."""
    return [
        bought("d1", "ACME", 10_000, "2024-01-01", method="direct", category="works", codes=("72101500",)),
        bought("d2", "ACME", 9_000, "2024-01-15", method="direct", category="works", codes=("72101500",)),
        bought("d3", "ACME", 8_000, "2024-01-20", method="direct", category="works", codes=("72101500",)),
        bought("d4", "BETA", 500, "2024-05-01", method="direct"),
        bought("o1", "BETA", 100_000, "2024-03-01"),
        bought("o2", "BETA", 100_000, "2024-04-01"),
        *[bought(f"g{i}", "GAMMA", 1_000, f"2024-0{i}-01", buyer=PARKS, codes=("80101500",)) for i in range(1, 5)],
        bought("e1", "DELTA", 1_000, "2024-06-01", buyer=PARKS, codes=("81101500",)),
        bought(
            "x1",
            "OMNI",
            None,
            "2024-07-01",
            buyer=PARKS,
            codes=("10101500", "20101500", "30101500", "40101500", "50101500"),
        ),
        *[release(f"l{i}", buyer=LIBRARY, tender={"id": "t", "procurementMethod": "open"}) for i in range(1, 4)],
    ]


def write(path: Path, releases: list[dict]) -> Path:
    package = {"version": "1.1", "publishedDate": "2024-06-01T00:00:00Z", "uri": "x", "releases": releases}
    path.write_text(json.dumps(package))
    return path


def snapshot(sessions) -> tuple[dict[tuple[str, str], Any], dict[str, tuple[str, float | None]], dict]:
    """Every stored result but its stamp: (ocid, code) -> evidence; ocid -> (outcomes, score); the fences."""
    with sessions() as session:
        fired = {
            (ocid, code): evidence
            for ocid, code, evidence in session.execute(
                select(Process.ocid, FlagResult.code, FlagResult.evidence).join(
                    Process, Process.id == FlagResult.process_id
                )
            )
        }
        coverage = {
            ocid: (outcomes, score)
            for ocid, outcomes, score in session.execute(
                select(Process.ocid, FlagCoverage.outcomes, FlagCoverage.transparency).join(
                    Process, Process.id == FlagCoverage.process_id
                )
            )
        }
        fences = {(c, n): v for c, n, v in session.execute(select(FlagFence.code, FlagFence.name, FlagFence.value))}
    return fired, coverage, fences


def without_peers(fired: dict) -> dict:
    """The evidence but the data-set figures TRANSPARENCY and NONCOMPETITIVE show as peers (their stored
    fences, which an update keeps)."""
    return {k: {**v, "peers": None} if k[1] in ("TRANSPARENCY", "NONCOMPETITIVE") else v for k, v in fired.items()}


def ids_of(sessions, *suffixes: str) -> list[int]:
    with sessions() as session:
        ocids = [f"ocds-flags0-{s}" for s in suffixes]
        return list(session.scalars(select(Process.id).where(Process.ocid.in_(ocids))))


def first_load(load, sessions, tmp_path) -> None:
    assert load(write(tmp_path / "a.json", base()), "hand-made").status == "succeeded"
    with sessions.begin() as session:
        recompute_flags(session)


def test_an_update_after_a_load_writes_what_a_full_computation_would(load, sessions, tmp_path):
    first_load(load, sessions, tmp_path)
    before = snapshot(sessions)
    changes = [
        # Per process: a tender period of three days (R003), republished.
        {
            **bought("o2", "BETA", 100_000, "2024-04-01"),
            "id": "2",
            "tender": {"id": "t", "procurementMethod": "open", "tenderPeriod": SHORT},
        },
        # The buyer's group: a fifth direct award of Works (5 of 7: every direct process's share moves) and a
        # fourth small direct award to ACME (the repeat and split chains of d1-d3 grow).
        bought("d5", "ACME", 7_000, "2024-01-25", method="direct", category="works", codes=("72101500",)),
        # A stored fence: OMNI wins a sixth segment; the varieties' quartiles (1, 1) stay, its evidence moves.
        bought("x2", "OMNI", None, "2024-08-01", buyer=PARKS, codes=("60101500",)),
    ]
    changes[0]["date"] = "2024-04-02T00:00:00Z"
    assert load(write(tmp_path / "b.json", changes), "hand-made").status == "succeeded"
    changed = ids_of(sessions, "o2", "d5", "x2")
    with sessions.begin() as session:
        report = recompute_flags(session, changed=changed)
    updated = snapshot(sessions)
    with sessions.begin() as session:
        recompute_flags(session)
    full = snapshot(sessions)

    # The update kept the stored fences. Of them only two data-set figures the evidence shows as its peers moved
    # with the new processes (the mean transparency score, the buyers' median share); the Tukey fences stayed.
    # Everything else is what the full computation wrote.
    fired, coverage, fences = updated
    assert fences == before[2]
    moved = {k for k in set(fences) | set(full[2]) if fences.get(k) != full[2].get(k)}
    assert moved == {("TRANSPARENCY", "score"), ("NONCOMPETITIVE", "buyers")}
    assert fences[("R048", "variety")] == full[2][("R048", "variety")]
    assert (
        fired[("ocds-flags0-d1", "NONCOMPETITIVE")]["peers"] == before[0][("ocds-flags0-d1", "NONCOMPETITIVE")]["peers"]
    )
    assert without_peers(fired) == without_peers(full[0])
    assert coverage == full[1]
    assert ("ocds-flags0-o2", "R003") in fired and ("ocds-flags0-o2", "R003") not in before[0]  # per process
    share = fired[("ocds-flags0-d1", "NONCOMPETITIVE")]  # an unchanged process of the changed buyer
    assert (share["noncompetitive"], share["processes"]) == (5, 7)
    assert before[0][("ocds-flags0-d1", "NONCOMPETITIVE")]["processes"] == 6
    assert fired[("ocds-flags0-x1", "R048")]["suppliers"][0]["variety"] == 6  # fence-based, supplier's group
    # Library Board shares nothing with the changed processes: none of its rows was read.
    assert report.read == 7 + 7  # Works' 7 processes (ACME's, BETA's among them), Parks Office's 7 (OMNI's)
    assert report.update and report.processes == 17


def test_an_update_reads_and_writes_only_the_changed_groups(load, sessions, tmp_path):
    first_load(load, sessions, tmp_path)
    before = snapshot(sessions)
    # One Library Board process republished unchanged but for its period: no other buyer's row is read.
    later = release("l1", buyer=LIBRARY, tender={"id": "t", "procurementMethod": "open", "tenderPeriod": SHORT})
    assert (
        load(write(tmp_path / "b.json", [{**later, "id": "2", "date": "2024-04-02T00:00:00Z"}]), "x").status
        == "succeeded"
    )
    with sessions.begin() as session:
        report = recompute_flags(session, changed=ids_of(sessions, "l1"))
    assert report.read == 3  # the Library Board's processes
    assert report.written == 1 and report.processes == 15
    # Its rows only: R003 added, TRANSPARENCY's evidence replaced (the period is a key field), its coverage.
    assert report.rows == 1 + 2 + 1
    fired, coverage, _ = snapshot(sessions)
    assert set(fired) - set(before[0]) == {("ocds-flags0-l1", "R003")}
    assert {k: v for k, v in fired.items() if k[0] != "ocds-flags0-l1"} == {
        k: v for k, v in before[0].items() if k[0] != "ocds-flags0-l1"
    }
    assert {k: v for k, v in coverage.items() if k != "ocds-flags0-l1"} == {
        k: v for k, v in before[1].items() if k != "ocds-flags0-l1"
    }
    # One process of fifteen rewritten since the fences were computed, beyond DRIFT (5%): a full one is due.
    assert report.since == round(1 / 15, 4) and report.fences_moved


def test_an_update_reads_a_tenderers_processes_by_its_name_in_any_case(load, sessions, tmp_path):
    # test_bid_indicators' rounds: A, B and C win 2 of 4 bids each; L bids 6 times, always disqualified (R025,
    # R038 by tenderer). The Library Board's processes share no buyer, supplier or tenderer with them.
    rounds = [("A", "B"), ("B", "C"), ("C", "A"), ("A", "C"), ("B", "A"), ("C", "B")]
    x, y = {"id": "X", "name": "X Works"}, {"id": "Y", "name": "Y Works"}
    library = [  # one process with bids: too few for a buyer ratio (no buyer fence, which would move)
        release("l1", buyer=LIBRARY, awards=[award(x, 100)], bids={"details": [bid(0, x, 100), bid(1, y, 130)]}),
        release("l2", buyer=LIBRARY, awards=[award(y, 100)]),
    ]
    releases = [priced(n, w, [(o, 120, "valid"), ("L", 150, "disqualified")]) for n, (w, o) in enumerate(rounds, 1)]
    assert load(write(tmp_path / "a.json", releases + library), "hand-made").status == "succeeded"
    with sessions.begin() as session:
        recompute_flags(session)
    before = snapshot(sessions)
    # A seventh process: a new firm wins alone, L disqualified again, its name published in another case.
    winner = {"id": "W", "name": "W Works"}
    seventh = release(
        7,
        awards=[award(winner, 100)],
        bids={
            "details": [bid(0, winner, 100), bid(1, {"id": "L", "name": " l INDUSTRIES"}, 150, status="disqualified")]
        },
    )
    assert load(write(tmp_path / "b.json", [seventh]), "hand-made").status == "succeeded"
    with sessions.begin() as session:
        report = recompute_flags(session, changed=ids_of(sessions, "7"))
    updated = snapshot(sessions)
    with sessions.begin() as session:
        recompute_flags(session)
    full = snapshot(sessions)

    assert report.read == 7  # the buyer's seven processes (L's among them), not the Library Board's
    fired, coverage, fences = updated
    moved = {k for k in set(fences) | set(full[2]) if fences.get(k) != full[2].get(k)}
    assert moved <= {("TRANSPARENCY", "score")}  # the tenderers' fences stayed
    assert without_peers(fired) == without_peers(full[0])
    assert coverage == full[1]
    # An unchanged process of L's: its evidence counts the seventh bid.
    assert fired[("ocds-flags0-1", "R025")]["tenderers"][0]["submitted"] == 7
    assert before[0][("ocds-flags0-1", "R025")]["tenderers"][0]["submitted"] == 6
