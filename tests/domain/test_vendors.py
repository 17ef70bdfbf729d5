"""Vendor resolution on real names: every merge expected in the Chicago contracts register, and every refusal.

The register (../shared/data/csv/chicago, read here with pandas as published) lists vendors under several
spellings and several vendor ids, one id under two organisations, and one name under two legal forms. Each
(name, vendor id) is one candidate, as if each were a party published on its own.
"""

from __future__ import annotations

from functools import cache

import pandas as pd
import pytest

from portal.domain.vendors import RULES_FILE, Candidate, Decision, parse_rules, read_name, resolve_names
from portal.vocabulary import DecisionAction, Evidence, ReviewReason

SCHEME = "US-CHICAGO-VENDOR"

# Pairs the rules must merge, with the evidence that merges them.
EXPECTED_MERGES = [
    # The same vendor id, names that agree.
    (
        ("ABOVE & BEYOND FAMILY RECOVERY CENTER", "105503486X"),
        ("Above and Beyond Family Recovery Center", "105503486X"),
        Evidence.IDENTIFIER,
    ),
    (("CAPITOL CEMENT CO INC 01", "15244443L"), ("CAPITOL CEMENT CO INC", "15244443L"), Evidence.IDENTIFIER),
    (("HABILITATIVES SYSTEMS, INC.", "3612573H"), ("HABILITATIVES SYSTEMS , INC", "3612573H"), Evidence.IDENTIFIER),
    # Different vendor ids, the same words under the same legal form (punctuation, case, "CO INC", "01").
    (
        ("BLINDERMAN CONSTRUCTION COMPANY, INC.", "38785860Z"),
        ("BLINDERMAN CONSTRUCTION COMPANY INC", "105473617H"),
        Evidence.NAME,
    ),
    (
        ("F.H. PASCHEN S.N. NIELSEN & ASSOCIATES, LLC", "94387210X"),
        ("F.H. PASCHEN, S.N. NIELSEN & ASSOCIATES, LLC", "102903767L"),
        Evidence.NAME,
    ),
    (("LANDIS & STAEFA, INC", "31367324L"), ("LANDIS & STAEFA INC", "22602527A"), Evidence.NAME),
    (("LATINO YOUTH, INC", "3971029L"), ("LATINO YOUTH, INC.", "14600291A"), Evidence.NAME),
    (("MEYERCORD CO", "31370998P"), ("MEYERCORD CO.", "31371003Z"), Evidence.NAME),
    (
        ("Seventy-Seven Communities Meal Services LLC", "105500686M"),
        ("SEVENTY-SEVEN COMMUNITIES MEAL SERVICES LLC", "105510180M"),
        Evidence.NAME,
    ),
    (
        ("SOUTH CENTRAL COMMUNITY SERVICES, INC.", "99253710V"),
        ("SOUTH CENTRAL COMMUNITY. SERVICES INC", "5379225V"),
        Evidence.NAME,
    ),
    (
        ("BOARD OF TRUSTEES OF THE UNIVERSITY. OF ILLINOIS", "102485369L"),
        ("BOARD OF TRUSTEES OF THE UNIVERSITY OF ILLINOIS", "102650258A"),
        Evidence.NAME,
    ),
    (("STANDARD PARKING CORPORATION.", "3883127P"), ("STANDARD PARKING CORPORATION 01", "93963607P"), Evidence.NAME),
    (("T J LAMBRECHT / WALSH JV", "93337977A"), ("WALSH/T J LAMBRECHT JV", "85246282A"), Evidence.NAME),  # word order
    (("VERIZON WIRELESS", "33646293X"), ("VERIZON WIRELESS", "102550495P"), Evidence.NAME),  # one name, two ids
    (("ASIAN HUMAN SERVICES, INC.", "38544823A"), ("ASIAN HUMAN SERVICES, INC.", "91969516M"), Evidence.NAME),
    # A name without a legal form joins the one form its words are found with.
    (("PATSON INC.", "33652054A"), ("PATSON", "93915714M"), Evidence.NAME),
    (("TORVAC INC", "31311043E"), ("TORVAC", "31304112Z"), Evidence.NAME),
    (("YOUTH GUIDANCE INC", "31302278V"), ("YOUTH GUIDANCE", "99253665A"), Evidence.NAME),
    (("FAMILY RESCUE, INC", "18846078H"), ("FAMILY RESCUE", "102667254E"), Evidence.NAME),
    (("ZIMMERMAN REAL ESTATE GROUP LIMITED", "31313181P"), ("ZIMMERMAN REAL ESTATE GROUP", "93275013L"), Evidence.NAME),
    (
        ("ETHIOPIAN COMMUNITY ASSOCIATION OF CHICAGO, INC.", "102652682X"),
        ("ETHIOPIAN COMMUNITY ASSOCIATION CHICAGO", "85240316V"),
        Evidence.NAME,
    ),
    # "CO INC" is a company, incorporated: INC is its form.
    (("R&W CLARK CONSTRUCTION CO INC", "9197202X"), ("R W CLARK CONSTRUCTION INC", "19262709V"), Evidence.NAME),
]

# Pairs that must stay apart, and the review each goes to.
EXPECTED_REFUSALS = [
    # One vendor id, two organisations: flagged, never merged.
    (
        ("INDUSTRIAL COUNCIL OF NEAR WEST CHICAGO", "3624927P"),
        ("KINZIE INDUSTRIAL. DEVELOPMENT. CORPORATION", "3624927P"),
        ReviewReason.IDENTIFIER_NAMES_DISAGREE,
    ),
    # One name under two legal forms.
    (("EDGE SYSTEMS, INC.", "31312312L"), ("EDGE SYSTEMS, LLC", "88636660A"), ReviewReason.LEGAL_FORMS_DIFFER),
    # Initials only: the same letters may be many companies.
    (("ASI, INC", "22188778X"), ("ASI, INC.", "93792297Z"), ReviewReason.WEAK_NAME),
    (
        ("S & G CONSTRUCTION GROUP, INC.", "6836241X"),
        ("S & G CONSTRUCTION GROUP INC", "7468594M"),
        ReviewReason.WEAK_NAME,
    ),
    # Generic words only.
    (("TRAINING INSTITUTE", "31342518P"), ("TRAINING INSTITUTE INC", "31310045M"), ReviewReason.WEAK_NAME),
]


@pytest.fixture
def chicago(shared_data):
    return _chicago(shared_data)


@cache
def _chicago(shared_data):
    frame = pd.read_csv(shared_data / "csv" / "chicago" / "chicago-contracts-sample-20k.csv", dtype=str)
    pairs = frame[["Vendor Name", "Vendor ID"]].dropna().drop_duplicates().reset_index(drop=True)
    candidates = [
        Candidate(i, name, SCHEME, vendor_id)
        for i, (name, vendor_id) in enumerate(zip(pairs["Vendor Name"], pairs["Vendor ID"], strict=True))
    ]
    index = {(c.name, c.identifier): c.party_id for c in candidates}
    return candidates, index, resolve_names(candidates)


def _ids(index, a, b):
    assert a in index, f"{a} is not in the register"
    assert b in index, f"{b} is not in the register"
    return index[a], index[b]


@pytest.mark.parametrize(("a", "b", "evidence"), EXPECTED_MERGES, ids=[m[0][0] for m in EXPECTED_MERGES])
def test_the_register_s_spellings_of_one_vendor_are_merged(chicago, a, b, evidence):
    _, index, resolution = chicago
    first, second = _ids(index, a, b)
    cluster = resolution.cluster_of(first)
    assert second in cluster
    reasons = {resolution.evidence[p][0] for p in cluster if p in resolution.evidence}
    assert evidence in reasons


@pytest.mark.parametrize(("a", "b", "reason"), EXPECTED_REFUSALS, ids=[r[0][0] for r in EXPECTED_REFUSALS])
def test_different_companies_are_never_merged_and_go_to_review(chicago, a, b, reason):
    _, index, resolution = chicago
    first, second = _ids(index, a, b)
    assert second not in resolution.cluster_of(first)
    pair = tuple(sorted((first, second)))
    assert any((r.party_a, r.party_b) == pair and r.reason == reason for r in resolution.reviews)


def test_every_other_merge_in_the_register_is_one_name_under_several_ids(chicago):
    """Beyond the pairs named above, the rules merge only the same words under the same legal form (a name
    repeated under another vendor id, or with a trailing "01"): a new rule that merges more fails here."""
    candidates, index, resolution = chicago
    expected = {tuple(sorted(_ids(index, a, b))) for a, b, _ in EXPECTED_MERGES}
    found = {tuple(c) for c in resolution.clusters if len(c) > 1}
    assert expected <= found
    others = found - expected
    assert len(others) == 22
    for cluster in others:
        assert len(cluster) == 2
        assert len({read_name(candidates[p].name) for p in cluster}) == 1
        assert resolution.evidence[cluster[1]][0] == Evidence.NAME


def test_fuzzy_similarity_only_proposes(chicago):
    _, _, resolution = chicago
    proposals = [r for r in resolution.reviews if r.reason == ReviewReason.SIMILAR_NAMES]
    candidates = chicago[0]
    pairs = {frozenset((candidates[r.party_a].name, candidates[r.party_b].name)) for r in proposals}
    # A typo, and an abbreviation: likely one organisation each, left for an official to confirm.
    assert frozenset(("GUATEMALAN CHAMBER OF COMMERCE", "GUATAMALAN CHAMBER OF COMMERCE")) in pairs
    assert frozenset(("UNIV OF IL AT CHICAGO", "UNIV OF ILL AT CHICAGO")) in pairs
    # Similar, and plainly two companies: why a score never merges on its own.
    assert frozenset(("GRANITE CONSTRUCTION COMPANY", "GRANT CONSTRUCTION, INC.")) in pairs
    for review in proposals:
        assert review.party_b not in resolution.cluster_of(review.party_a)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("ACME Corp.", "Acme Corporation", True),
        ("ACME CORP", "ACME, CORP.", True),
        ("Société Générale de Construction", "SOCIETE GENERALE DE CONSTRUCTION", True),  # accents
        ("ACME INC", "ACME LLC", False),
        ("ACME Pty Limited", "ACME Limited", False),  # PTY LTD is its own form, not LTD with a stray word
        ("ACME Pty Ltd", "Acme Proprietary Limited", True),
        ("Grupo Constructor, S.A. de C.V.", "GRUPO CONSTRUCTOR SA DE CV", True),
    ],
)
def test_names_read_alike_only_under_the_same_legal_form(a, b, same):
    assert (read_name(a) == read_name(b)) is same


@pytest.mark.parametrize(
    ("name", "weak"),
    [("COMP", "generic"), ("SERVICES INC", "generic"), ("Pty Limited", "empty"), ("J.R.", "initials"), ("ACME", None)],
)
def test_weak_names_are_recognised(name, weak):
    assert read_name(name).weak == weak


def test_a_suffix_alone_never_merges():
    resolution = resolve_names([Candidate(1, "Pty Limited"), Candidate(2, "PTY LIMITED"), Candidate(3, "Services")])
    assert all(len(c) == 1 for c in resolution.clusters)


def test_rules_are_read_from_the_data_file():
    text = RULES_FILE.read_text(encoding="utf-8").replace("generic_words = [", 'generic_words = ["ACME", ')
    rules = parse_rules(text)
    assert read_name("ACME INC", rules).weak == "generic"
    assert read_name("ACME INC").weak is None


def test_a_split_keeps_parties_apart_and_a_merge_joins_them():
    candidates = [Candidate(1, "ACME INC"), Candidate(2, "Acme, Inc."), Candidate(3, "Wile E Coyote Supplies")]
    assert resolve_names(candidates).cluster_of(1) == [1, 2]
    split = Decision(7, DecisionAction.SPLIT, frozenset({2}), frozenset({1}))
    assert resolve_names(candidates, decisions=[split]).cluster_of(1) == [1]
    merge = Decision(8, DecisionAction.MERGE, frozenset({1, 3}))
    resolution = resolve_names(candidates, decisions=[split, merge])
    assert resolution.cluster_of(1) == [1, 3]
    assert resolution.evidence[3] == (Evidence.MANUAL, "merged by hand (decision 8)")
