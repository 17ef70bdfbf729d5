"""Vendors as entities: the parties that are one organisation under several spellings, identifiers or publishers.

Evidence, strongest first: the same identifier (scheme + id) with names that agree; the same words under the same
legal form once names are normalised (case, accents, punctuation, `&`, word order, articles); fuzzy similarity
only *proposes* a pair for an official's review. Precision before recall: a wrong merge misleads a reporter, a
missed one only splits a total. So initials-only names ("F H", "ASI"), names of generic words only ("TRAINING
INSTITUTE") and different legal forms ("EDGE SYSTEMS INC" / "EDGE SYSTEMS LLC") never merge by name; an identifier
shared by names that disagree (registers reuse ids) is flagged for review instead of merged. The words, forms and
thresholds are in `vendor_rules.toml`.

Buyers are resolved the same way, apart from suppliers (`EntityKind`). An official's merge or split
(`VendorDecision`) is applied on every run, above the rules, and can be undone. Vendor ids are kept stable across
runs: a cluster keeps the id most of its parties had; a vendor left without parties points to where they went.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from rapidfuzz import fuzz, process
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from portal.domain.audit import append_entry
from portal.models import AwardSupplier, Party, ProcessParty, Vendor, VendorDecision, VendorParty, VendorReview, utcnow
from portal.vocabulary import AuditAction, DecisionAction, EntityKind, Evidence, PartyRole, ReviewReason, ReviewStatus

RULES_FILE = Path(__file__).with_name("vendor_rules.toml")
KEY_LENGTH = 400  # vendor_party.words and .id_key are indexed: longer keys are replaced by their digest
ROLES = {
    EntityKind.SUPPLIER: (PartyRole.SUPPLIER, PartyRole.TENDERER),
    EntityKind.BUYER: (PartyRole.BUYER, PartyRole.PROCURING_ENTITY),
}


class VendorError(Exception):
    """A merge or split that cannot be made as asked (unknown vendor, one party only, ...)."""


# ---------------------------------------------------------------------------------------------------------------
# Rules and names.


@dataclass(frozen=True)
class Rules:
    forms: tuple[tuple[tuple[str, ...], str], ...]  # spelling as words -> form, longest spellings first
    leading_forms: frozenset[str]
    stop_words: frozenset[str]
    generic_words: frozenset[str]
    identifier_name_agreement: int
    proposal: int
    max_block: int
    initials_length: int
    formless_joins_single_form: bool


def parse_rules(text: str) -> Rules:
    data = tomllib.loads(text)
    forms = [
        (tuple(spelling.split()), form) for form, spellings in data["legal_forms"].items() for spelling in spellings
    ]
    forms.sort(key=lambda item: -len(item[0]))
    names, thresholds = data["names"], data["thresholds"]
    return Rules(
        forms=tuple(forms),
        leading_forms=frozenset(names.get("leading_forms", ())),
        stop_words=frozenset(names["stop_words"]),
        generic_words=frozenset(names["generic_words"]),
        identifier_name_agreement=int(thresholds["identifier_name_agreement"]),
        proposal=int(thresholds["proposal"]),
        max_block=int(thresholds["max_block"]),
        initials_length=int(thresholds["initials_length"]),
        formless_joins_single_form=bool(names["formless_joins_single_form"]),
    )


@cache
def load_rules(path: Path = RULES_FILE) -> Rules:
    return parse_rules(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class NameReading:
    """A published name as the rules read it: its distinctive words, its legal form, and why it is too weak to
    merge on its own (None when it is not)."""

    words: tuple[str, ...]  # sorted: word order does not matter
    form: str | None
    weak: str | None  # "initials", "generic", "empty"

    @property
    def key(self) -> str:
        return " ".join(self.words)

    @property
    def text(self) -> str:
        return f"{self.key} {self.form}" if self.form else self.key


_NOT_WORD = re.compile(r"[^\w]+", re.UNICODE)


def _fold(name: str) -> list[str]:
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).upper()
    plain = plain.replace("&", " AND ").replace("'", "")  # CHILDREN'S = CHILDRENS
    return _NOT_WORD.sub(" ", plain).replace("_", " ").split()


def _strip_form(tokens: list[str], rules: Rules, *, leading: bool) -> tuple[list[str], list[str]]:
    found: list[str] = []
    changed = True
    while changed and tokens:
        changed = False
        for spelling, form in rules.forms:
            n = len(spelling)
            if len(tokens) >= n and tuple(tokens[-n:]) == spelling:
                tokens, changed = tokens[:-n], True
                found.insert(0, form)
                break
            if leading and form in rules.leading_forms and len(tokens) > n and tuple(tokens[:n]) == spelling:
                tokens, changed = tokens[n:], True
                found.append(form)
                break
    return tokens, found


def read_name(name: str, rules: Rules | None = None) -> NameReading:
    """ "ACME Corp." and "Acme Corporation" read alike (ACME, CORP); "ACME INC" does not (INC is another form)."""
    rules = rules or load_rules()
    tokens = [t.lstrip("0") or t for t in _fold(name)]
    tokens, forms = _strip_form(tokens, rules, leading=True)
    # A trailing branch or sequence number ("CAPITOL CEMENT CO INC 01") hides the form: look behind it.
    if not forms and tokens and tokens[-1].isdigit():
        rest, forms = _strip_form(tokens[:-1], rules, leading=False)
        if forms:
            tokens = rest
    words = [t for t in tokens if t not in rules.stop_words]
    # "CO INC" is one form (a company, incorporated); the last one named is the organisation's form.
    form = forms[-1] if forms else None
    distinctive = [w for w in words if w not in rules.generic_words]
    if not words:
        weak: str | None = "empty"
    elif not distinctive:
        weak = "generic"
    elif all(len(w) <= rules.initials_length for w in distinctive):
        weak = "initials"
    else:
        weak = None
    return NameReading(tuple(sorted(words)), form, weak)


def compact(key: str) -> str:
    return key if len(key) <= KEY_LENGTH else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def identifier_key(scheme: str | None, identifier: str | None, publisher: str | None = None) -> str | None:
    """ "SCHEME/ID"; an id without a scheme (Montréal's "police") means something only within its publisher."""
    if identifier is None or not str(identifier).strip():
        return None
    scheme = (scheme or "").strip().upper() or (f"PUBLISHER:{publisher.upper()}" if publisher else "")
    return compact(f"{scheme}/{str(identifier).strip().upper()}")


# ---------------------------------------------------------------------------------------------------------------
# Resolution, on plain values.


@dataclass(frozen=True)
class Candidate:
    """One party as the resolver sees it."""

    party_id: int
    name: str
    scheme: str | None = None
    identifier: str | None = None
    spellings: tuple[str, ...] = ()  # other names published for this same party (under its one identifier)
    publisher: str | None = None  # an identifier without a scheme is only the publisher's own


@dataclass(frozen=True)
class Review:
    party_a: int
    party_b: int
    reason: ReviewReason
    score: int | None
    detail: str


@dataclass(frozen=True)
class Decision:
    """An official's merge (these parties are one) or split (these parties are apart from `apart_from`)."""

    id: int
    action: DecisionAction
    party_ids: frozenset[int]
    apart_from: frozenset[int] = frozenset()


@dataclass
class Resolution:
    clusters: list[list[int]]  # party ids, each cluster sorted, clusters by their first party
    evidence: dict[int, tuple[Evidence, str]]  # how each party joined its cluster; a cluster's first has none
    reviews: list[Review]
    readings: dict[int, NameReading] = field(default_factory=dict)

    def cluster_of(self, party_id: int) -> list[int]:
        return next(c for c in self.clusters if party_id in c)


class _Clusters:
    """Union-find whose roots carry "kept apart" tags: a split decision tags each side, and no union may join
    two sides of the same split."""

    def __init__(self, ids: Iterable[int]):
        self.parent = {i: i for i in ids}
        self.tags: dict[int, set[tuple[int, int]]] = defaultdict(set)
        self.evidence: dict[int, tuple[Evidence, str]] = {}

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int, evidence: Evidence, detail: str, *, forced: bool = False) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        if not forced and any((d, 1 - side) in self.tags[rb] for d, side in self.tags[ra]):
            return False
        ra, rb = min(ra, rb), max(ra, rb)
        self.parent[rb] = ra
        self.tags[ra] |= self.tags.pop(rb, set())
        self.evidence.setdefault(b, (evidence, detail))  # callers pass the party that joins as `b`
        return True


def _agree(a: NameReading, b: NameReading, rules: Rules) -> tuple[bool, int]:
    if a.key == b.key and (a.form == b.form or a.form is None or b.form is None):
        return True, 100
    score = round(fuzz.token_set_ratio(a.key, b.key))
    compatible = a.form == b.form or a.form is None or b.form is None
    return compatible and bool(a.key) and score >= rules.identifier_name_agreement, score


def resolve_names(
    candidates: Sequence[Candidate], *, rules: Rules | None = None, decisions: Sequence[Decision] = ()
) -> Resolution:
    """Cluster parties into entities by identifier, then by name rule; list the pairs an official should look at."""
    rules = rules or load_rules()
    by_id = {c.party_id: c for c in candidates}
    readings = {c.party_id: read_name(c.name, rules) for c in candidates}
    clusters = _Clusters(by_id)
    reviews: list[Review] = []

    for decision in decisions:  # in the order they were made: a later split is not undone by an earlier merge
        present = sorted(p for p in decision.party_ids if p in by_id)
        if decision.action == DecisionAction.MERGE:
            for other in present[1:]:
                clusters.union(
                    present[0], other, Evidence.MANUAL, f"merged by hand (decision {decision.id})", forced=True
                )
        else:
            for side, parties in ((0, decision.party_ids), (1, decision.apart_from)):
                for p in parties:
                    if p in by_id:
                        clusters.tags[clusters.find(p)].add((decision.id, side))

    # 1. Identifiers: strong evidence, not proof.
    with_id: dict[str, list[int]] = defaultdict(list)
    for c in candidates:
        key = identifier_key(c.scheme, c.identifier, c.publisher)
        if key:
            with_id[key].append(c.party_id)
        for spelling in c.spellings:
            agree, score = _agree(readings[c.party_id], read_name(spelling, rules), rules)
            if not agree:
                detail = f"{c.name!r} and {spelling!r} under {key or 'one key'}"
                reviews.append(Review(c.party_id, c.party_id, ReviewReason.IDENTIFIER_NAMES_DISAGREE, score, detail))
    for key, sharing in with_id.items():
        anchor = sharing[0]
        for other in sharing[1:]:
            agree, score = _agree(readings[anchor], readings[other], rules)
            if agree:
                clusters.union(anchor, other, Evidence.IDENTIFIER, key)
            else:
                detail = f"{by_id[anchor].name!r} and {by_id[other].name!r} share {key}"
                reviews.append(Review(anchor, other, ReviewReason.IDENTIFIER_NAMES_DISAGREE, score, detail))

    # 2. Names: the same words under the same legal form.
    by_words: dict[str, dict[str | None, list[int]]] = defaultdict(lambda: defaultdict(list))
    for party_id, reading in readings.items():
        if reading.weak is None:
            by_words[reading.key][reading.form].append(party_id)
    for key, forms in by_words.items():
        for form, members in forms.items():
            for other in members[1:]:
                detail = f"same words “{key}”" + (f", legal form {form}" if form else ", no legal form")
                clusters.union(members[0], other, Evidence.NAME, detail)
        formless = forms.get(None, [])
        with_form = [f for f in forms if f is not None]
        if formless and len(with_form) == 1 and rules.formless_joins_single_form:
            anchor = forms[with_form[0]][0]
            for other in formless:
                clusters.union(
                    anchor, other, Evidence.NAME, f"same words “{key}”, the one legal form known ({with_form[0]})"
                )
        elif len(with_form) > 1:
            firsts = [forms[f][0] for f in with_form]
            for other in firsts[1:]:
                reviews.append(
                    Review(
                        firsts[0],
                        other,
                        ReviewReason.LEGAL_FORMS_DIFFER,
                        100,
                        f"“{key}” under {', '.join(map(str, with_form))}",
                    )
                )

    # 3. Proposals: similar names in different clusters, and weak names with the same words. Never merged here.
    reviews += _proposals(readings, clusters, rules)

    by_root: dict[int, list[int]] = defaultdict(list)
    for party_id in sorted(by_id):
        by_root[clusters.find(party_id)].append(party_id)
    found = sorted(by_root.values(), key=lambda c: c[0])
    evidence = {p: e for p, e in clusters.evidence.items() if p in by_id}
    return Resolution(clusters=found, evidence=evidence, reviews=_unique(reviews), readings=readings)


def _proposals(readings: dict[int, NameReading], clusters: _Clusters, rules: Rules) -> list[Review]:
    found: list[Review] = []
    weak_words: dict[str, list[int]] = defaultdict(list)
    blocks: dict[str, list[int]] = defaultdict(list)
    for party_id, reading in readings.items():
        if reading.weak in ("initials", "generic"):
            weak_words[reading.key].append(party_id)
        elif reading.weak is None:
            for word in reading.words[:1]:
                blocks[word].append(party_id)
    for text, members in weak_words.items():
        roots = {clusters.find(m): m for m in members}
        if len(roots) > 1:
            first, *others = list(roots.values())
            why = readings[first].weak
            found += [
                Review(first, o, ReviewReason.WEAK_NAME, 100, f"“{text}” ({why}): not merged by name") for o in others
            ]
    for members in blocks.values():
        if len(members) < 2 or len(members) > rules.max_block:
            continue
        texts = [readings[m].key for m in members]
        scores = process.cdist(texts, texts, scorer=fuzz.token_sort_ratio, score_cutoff=rules.proposal, workers=1)
        for i, j in zip(*scores.nonzero(), strict=True):
            a, b = members[int(i)], members[int(j)]
            if a < b and clusters.find(a) != clusters.find(b):
                score = int(scores[i, j])
                detail = f"“{readings[a].text}” ~ “{readings[b].text}” ({score}%)"
                found.append(Review(a, b, ReviewReason.SIMILAR_NAMES, score, detail))
    return found


def _unique(reviews: list[Review]) -> list[Review]:
    seen: dict[tuple[int, int, str], Review] = {}
    for r in reviews:
        a, b = sorted((r.party_a, r.party_b))
        seen.setdefault((a, b, r.reason), Review(a, b, r.reason, r.score, r.detail))
    return list(seen.values())


# ---------------------------------------------------------------------------------------------------------------
# Resolution over the database.


@dataclass
class ResolveReport:
    kind: EntityKind
    parties: int = 0
    vendors: int = 0
    merged_parties: int = 0  # parties that joined another party's entity
    reviews: int = 0
    created: int = 0
    retired: int = 0  # vendors whose parties all went elsewhere (their pages redirect)


def _candidates(session: Session, kind: EntityKind, party_ids: Iterable[int] | None) -> list[Candidate]:
    roles = ROLES[kind]
    query = (
        select(Party.id, Party.name, Party.scheme, Party.identifier, Party.publisher)
        .where(Party.id.in_(select(ProcessParty.party_id).where(ProcessParty.role.in_(roles))))
        .order_by(Party.id)
    )
    wanted = None if party_ids is None else sorted(set(party_ids))
    if wanted is not None:
        query = query.where(Party.id.in_(wanted))
    rows = session.execute(query).all()
    spellings: dict[int, set[str]] = defaultdict(set)
    if kind == EntityKind.SUPPLIER:
        names = select(AwardSupplier.party_id, AwardSupplier.name).distinct()
        if wanted is not None:
            names = names.where(AwardSupplier.party_id.in_(wanted))
        for party_id, name in session.execute(names):
            spellings[party_id].add(name)
    return [
        Candidate(pid, name, scheme, ident, tuple(sorted(spellings.get(pid, set()) - {name})) if ident else (), pub)
        for pid, name, scheme, ident, pub in rows
    ]


def _decisions(session: Session, kind: EntityKind) -> list[Decision]:
    rows = session.scalars(
        select(VendorDecision)
        .where(VendorDecision.kind == kind, VendorDecision.undone_at.is_(None))
        .order_by(VendorDecision.id)
    )
    return [
        Decision(d.id, DecisionAction(d.action), frozenset(d.party_ids), frozenset(d.apart_from or ())) for d in rows
    ]


def resolve_parties(session: Session, *, kind: EntityKind, incremental: bool = False) -> ResolveReport:
    """Resolve every party of `kind` into entities (or, `incremental`, only the parties not yet resolved and the
    entities they touch), and write the result. The caller commits."""
    if incremental:
        party_ids = _neighbourhood(session, kind)
        if not party_ids:
            return ResolveReport(kind)
        candidates = _candidates(session, kind, party_ids)
    else:
        candidates = _candidates(session, kind, None)
    resolution = resolve_names(candidates, decisions=_decisions(session, kind))
    return _write(session, kind, candidates, resolution, whole=not incremental)


def _neighbourhood(session: Session, kind: EntityKind) -> set[int]:
    """The parties of `kind` without an entity yet, or renamed since they were resolved, with every party of the
    entities they could join and of the entities the renamed ones are in now."""
    roles = ROLES[kind]
    known = select(VendorParty.party_id).where(VendorParty.kind == kind, VendorParty.renamed.is_(False))
    columns = select(Party.id, Party.name, Party.scheme, Party.identifier, Party.publisher)
    new = session.execute(
        columns.where(Party.id.in_(select(ProcessParty.party_id).where(ProcessParty.role.in_(roles)))).where(
            Party.id.not_in(known)
        )
    ).all()
    if not new:
        return set()
    rules = load_rules()
    words, id_keys = set(), set()
    # The entities renamed parties are in now: they are resolved again with them (one may be left without
    # parties, and then points to where they went).
    vendor_ids = set(
        session.scalars(
            select(VendorParty.vendor_id).where(VendorParty.kind == kind, VendorParty.renamed.is_(True)).distinct()
        )
    )
    for _, name, scheme, ident, publisher in new:
        reading = read_name(name, rules)
        if reading.words:
            words.add(compact(reading.key))
        if key := identifier_key(scheme, ident, publisher):
            id_keys.add(key)
    for column, values in ((VendorParty.words, words), (VendorParty.id_key, id_keys)):
        values_list = sorted(values)
        for start in range(0, len(values_list), 500):
            chunk = values_list[start : start + 500]
            vendor_ids |= set(
                session.scalars(select(VendorParty.vendor_id).where(VendorParty.kind == kind, column.in_(chunk)))
            )
    found = {row[0] for row in new}
    vendor_list = sorted(vendor_ids)
    for start in range(0, len(vendor_list), 500):
        vendors = vendor_list[start : start + 500]
        query = select(VendorParty.party_id).where(VendorParty.kind == kind, VendorParty.vendor_id.in_(vendors))
        found |= set(session.scalars(query))
    return found


def _write(
    session: Session, kind: EntityKind, candidates: Sequence[Candidate], resolution: Resolution, *, whole: bool
) -> ResolveReport:
    report = ResolveReport(kind, parties=len(candidates), vendors=len(resolution.clusters))
    names = {c.party_id: c for c in candidates}
    current: dict[int, int] = {}
    first: dict[int, int | None] = {}
    renamed: set[int] = set()  # resolved under a name they no longer have: their entity is not a vote
    query = select(VendorParty.party_id, VendorParty.vendor_id, VendorParty.first_vendor_id, VendorParty.renamed).where(
        VendorParty.kind == kind
    )
    if not whole:
        query = query.where(VendorParty.party_id.in_(list(names)))
    for party_id, vendor_id, first_vendor_id, was_renamed in session.execute(query):
        current[party_id] = vendor_id
        first[party_id] = first_vendor_id
        if was_renamed:
            renamed.add(party_id)
    before: dict[int, set[int]] = defaultdict(set)
    for party_id, vendor_id in current.items():
        before[vendor_id].add(party_id)
    in_use = set(current.values())

    taken: set[int] = set()
    assigned: dict[int, int] = {}  # party -> vendor
    rows: list[Vendor] = []
    for cluster in sorted(resolution.clusters, key=len, reverse=True):  # the biggest cluster keeps a shared id
        votes = Counter(current[p] for p in cluster if p in current and current[p] not in taken and p not in renamed)
        if not votes:  # renamed parties only: they keep their entity unless another cluster took it
            votes = Counter(current[p] for p in cluster if p in current and current[p] not in taken)
        if not votes:
            # Parties that lost their entity to a merge get it back when the merge is undone.
            votes = Counter(
                v
                for p in cluster
                if (v := first.get(p)) is not None and v not in taken and v not in in_use and _unused(session, v)
            )
        name = _display_name([names[p].name for p in cluster])
        if votes:
            vendor_id = min(votes, key=lambda v: (-votes[v], v))
            taken.add(vendor_id)
            session.execute(update(Vendor).where(Vendor.id == vendor_id).values(name=name, merged_into_id=None))
        else:
            vendor = Vendor(kind=kind, name=name)
            session.add(vendor)
            rows.append(vendor)
            report.created += 1
            vendor_id = -len(rows)  # filled in after the flush
        for p in cluster:
            assigned[p] = vendor_id
    session.flush()
    for p, vendor_id in assigned.items():
        if vendor_id < 0:
            assigned[p] = rows[-vendor_id - 1].id

    # A vendor whose parties all went elsewhere points to where most of them went (its page redirects there).
    for vendor_id, parties in before.items():
        if vendor_id not in taken:
            went = Counter(assigned[p] for p in parties if p in assigned)
            if went:
                target = min(went, key=lambda v: (-went[v], v))
                session.execute(update(Vendor).where(Vendor.id == vendor_id).values(merged_into_id=target))
                report.retired += 1

    # Open reviews the rules no longer propose go; those still proposed keep their row (and the number an
    # official may be looking at on the review page). A run over some parties only judges the pairs it saw whole.
    wanted = {(r.party_a, r.party_b, r.reason) for r in resolution.reviews}
    open_reviews = select(VendorReview.id, VendorReview.party_a, VendorReview.party_b, VendorReview.reason).where(
        VendorReview.kind == kind, VendorReview.status == ReviewStatus.OPEN
    )
    stale: set[int] = set()
    scope = list(names)
    for start in range(0, len(scope), 500):
        chunk = scope[start : start + 500]
        session.execute(delete(VendorParty).where(VendorParty.kind == kind, VendorParty.party_id.in_(chunk)))
        if not whole:
            in_chunk = open_reviews.where(VendorReview.party_a.in_(chunk))
            stale |= {i for i, a, b, reason in session.execute(in_chunk) if b in names and (a, b, reason) not in wanted}
    if whole:
        session.execute(delete(VendorParty).where(VendorParty.kind == kind))
        stale = {i for i, a, b, reason in session.execute(open_reviews) if (a, b, reason) not in wanted}
    stale_list = sorted(stale)
    for start in range(0, len(stale_list), 500):
        session.execute(delete(VendorReview).where(VendorReview.id.in_(stale_list[start : start + 500])))
    mappings = []
    for p, vendor_id in assigned.items():
        reading = resolution.readings[p]
        evidence, detail = resolution.evidence.get(p, (Evidence.PUBLISHED, ""))
        c = names[p]
        mappings.append(
            {
                "party_id": p,
                "kind": kind,
                "vendor_id": vendor_id,
                "evidence": evidence,
                "detail": detail,
                "words": compact(reading.key) if reading.words else None,
                "form": reading.form,
                "id_key": identifier_key(c.scheme, c.identifier, c.publisher),
                "first_vendor_id": first.get(p) or vendor_id,
            }
        )
        if evidence != Evidence.PUBLISHED:
            report.merged_parties += 1
    if mappings:
        session.execute(insert(VendorParty), mappings)
    present = {
        (a, b, reason): status
        for a, b, reason, status in session.execute(
            select(VendorReview.party_a, VendorReview.party_b, VendorReview.reason, VendorReview.status).where(
                VendorReview.kind == kind
            )
        )
    }
    fresh = [
        {
            "kind": kind,
            "party_a": r.party_a,
            "party_b": r.party_b,
            "reason": r.reason,
            "score": r.score,
            "detail": r.detail,
        }
        for r in resolution.reviews
        if (r.party_a, r.party_b, r.reason) not in present
    ]
    if fresh:
        session.execute(insert(VendorReview), fresh)
    # Open for review after this run: the new pairs and those still proposed (settled pairs are not asked again).
    report.reviews = sum(
        present.get((r.party_a, r.party_b, r.reason), ReviewStatus.OPEN) == ReviewStatus.OPEN
        for r in resolution.reviews
    )
    return report


def _unused(session: Session, vendor_id: int) -> bool:
    """No party is in this entity now (it was merged away): its id can be given back."""
    return session.scalar(select(VendorParty.party_id).where(VendorParty.vendor_id == vendor_id).limit(1)) is None


def _display_name(names: list[str]) -> str:
    """The spelling most parties use; on a tie the one with capitals and lower case (as a person writes it)."""
    counts = Counter(names)
    return min(counts, key=lambda n: (-counts[n], n.isupper(), n))


def resolve_around(session: Session, *, kind: EntityKind, party_ids: Iterable[int]) -> ResolveReport:
    """Resolve again only these parties and every party of the entities they are in now: what a merge, split or
    undo changes. The other entities are untouched by it, so a decision costs its own entities, not a whole run."""
    wanted = sorted(set(party_ids))
    scope = set(wanted)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        vendors = select(VendorParty.vendor_id).where(VendorParty.kind == kind, VendorParty.party_id.in_(chunk))
        scope |= set(
            session.scalars(
                select(VendorParty.party_id).where(VendorParty.kind == kind, VendorParty.vendor_id.in_(vendors))
            )
        )
    candidates = _candidates(session, kind, scope)
    resolution = resolve_names(candidates, decisions=_decisions(session, kind))
    return _write(session, kind, candidates, resolution, whole=False)


def resolve_all(session: Session, *, incremental: bool = False) -> list[ResolveReport]:
    """Suppliers and buyers, each on its own."""
    return [resolve_parties(session, kind=kind, incremental=incremental) for kind in EntityKind]


# ---------------------------------------------------------------------------------------------------------------
# An official's merge and split, recorded and reversible, and appended to the audit trail (`actor_id` is the
# account that decided; None from the command line).


def _audit_decision(
    session: Session, decision: VendorDecision, action: AuditAction, actor_id: int | None, **extra: object
) -> None:
    """The trail keeps ids and the hash of what was decided; the decision row itself keeps the words."""
    content = {
        "decision": decision.id,
        "kind": decision.kind,
        "action": decision.action,
        "party_ids": list(decision.party_ids),
        "apart_from": list(decision.apart_from or ()),
        "by": decision.by,
        "reason": decision.reason,
        **extra,
    }
    append_entry(session, action=action, subject=f"vendor-decision:{decision.id}", content=content, actor_id=actor_id)


def _vendor_parties(session: Session, vendor_id: int) -> tuple[Vendor, list[int]]:
    vendor = session.get(Vendor, vendor_id)
    if vendor is None:
        raise VendorError(f"no vendor {vendor_id}")
    if vendor.merged_into_id is not None:
        raise VendorError(f"vendor {vendor_id} is now vendor {vendor.merged_into_id}")
    parties = list(session.scalars(select(VendorParty.party_id).where(VendorParty.vendor_id == vendor_id)))
    return vendor, parties


def merge_vendors(
    session: Session, *, vendor_ids: Sequence[int], by: str, reason: str = "", actor_id: int | None = None
) -> VendorDecision:
    """Record that these entities are one organisation, and resolve their parties again."""
    if len(set(vendor_ids)) < 2:
        raise VendorError("a merge needs two vendors or more")
    kinds, parties = set(), []
    for vendor_id in vendor_ids:
        vendor, found = _vendor_parties(session, vendor_id)
        kinds.add(vendor.kind)
        parties += found
    if len(kinds) > 1:
        raise VendorError("a supplier and a buyer cannot be merged")
    decision = VendorDecision(
        kind=kinds.pop(), action=DecisionAction.MERGE, party_ids=sorted(parties), apart_from=[], by=by, reason=reason
    )
    session.add(decision)
    session.flush()
    _audit_decision(session, decision, AuditAction.VENDORS_MERGED, actor_id, vendor_ids=sorted(set(vendor_ids)))
    resolve_around(session, kind=EntityKind(decision.kind), party_ids=parties)
    return decision


def split_vendor(
    session: Session,
    *,
    vendor_id: int,
    party_ids: Sequence[int],
    by: str,
    reason: str = "",
    actor_id: int | None = None,
) -> VendorDecision:
    """Record that these parties are not the rest of the entity's organisation, and resolve the entity again."""
    vendor, parties = _vendor_parties(session, vendor_id)
    moving = sorted(set(party_ids))
    if not moving or not set(moving) <= set(parties) or set(moving) == set(parties):
        raise VendorError(f"name some, not all, of vendor {vendor_id}'s parties: {sorted(parties)}")
    decision = VendorDecision(
        kind=vendor.kind,
        action=DecisionAction.SPLIT,
        party_ids=moving,
        apart_from=sorted(set(parties) - set(moving)),
        by=by,
        reason=reason,
    )
    session.add(decision)
    session.flush()
    _audit_decision(session, decision, AuditAction.VENDOR_SPLIT, actor_id, vendor_ids=[vendor_id])
    resolve_around(session, kind=EntityKind(vendor.kind), party_ids=parties)
    return decision


def undo_decision(session: Session, *, decision_id: int, actor_id: int | None = None) -> VendorDecision:
    """Mark the decision undone (it stays on record) and rerun resolution without it; a review it settled opens
    again."""
    decision = session.get(VendorDecision, decision_id)
    if decision is None:
        raise VendorError(f"no decision {decision_id}")
    if decision.undone_at is not None:
        raise VendorError(f"decision {decision_id} was already undone")
    decision.undone_at = utcnow()
    session.execute(
        update(VendorReview)
        .where(VendorReview.decision_id == decision.id)
        .values(status=ReviewStatus.OPEN, settled_by=None, settled_at=None, decision_id=None)
    )
    session.flush()
    _audit_decision(session, decision, AuditAction.VENDOR_DECISION_UNDONE, actor_id)
    parties = [*decision.party_ids, *(decision.apart_from or ())]
    resolve_around(session, kind=EntityKind(decision.kind), party_ids=parties)
    return decision


# ---------------------------------------------------------------------------------------------------------------
# The review queue: pairs the rules would not merge on their own, settled by an official.


@dataclass(frozen=True)
class ReviewItem:
    """A pair in the queue as an official sees it: both parties with their names, publishers and entities."""

    review: VendorReview
    names: tuple[str, str]
    publishers: tuple[str | None, str | None]
    vendors: tuple[int | None, int | None]

    @property
    def mergeable(self) -> bool:
        """Two entities today (a party published under two names is one party: it can only be acknowledged)."""
        a, b = self.vendors
        return a is not None and b is not None and a != b


def review_queue(
    session: Session, *, status: ReviewStatus = ReviewStatus.OPEN, kind: EntityKind | None = None, limit: int = 50
) -> list[ReviewItem]:
    """Reviews identifier conflicts first (registers reuse ids: the likeliest wrong merge), then by score."""
    query = select(VendorReview).where(VendorReview.status == status)
    if kind is not None:
        query = query.where(VendorReview.kind == kind)
    first = (VendorReview.reason != ReviewReason.IDENTIFIER_NAMES_DISAGREE).asc()
    reviews = list(
        session.scalars(query.order_by(first, VendorReview.score.desc().nulls_last(), VendorReview.id).limit(limit))
    )
    ids = sorted({r.party_a for r in reviews} | {r.party_b for r in reviews})
    parties = {}
    entity: dict[tuple[int, str], int] = {}
    if ids:
        parties = {p.id: p for p in session.scalars(select(Party).where(Party.id.in_(ids)))}
        for party_id, kind_, vendor_id in session.execute(
            select(VendorParty.party_id, VendorParty.kind, VendorParty.vendor_id).where(VendorParty.party_id.in_(ids))
        ):
            entity[(party_id, kind_)] = vendor_id
    return [
        ReviewItem(
            review=r,
            names=(parties[r.party_a].name, parties[r.party_b].name),
            publishers=(parties[r.party_a].publisher, parties[r.party_b].publisher),
            vendors=(entity.get((r.party_a, r.kind)), entity.get((r.party_b, r.kind))),
        )
        for r in reviews
    ]


def _open_review(session: Session, review_id: int) -> VendorReview:
    review = session.get(VendorReview, review_id)
    if review is None:
        raise VendorError(f"no review {review_id}")
    if review.status != ReviewStatus.OPEN:
        raise VendorError(f"review {review_id} was settled already ({review.status})")
    return review


def _audit_review(session: Session, review: VendorReview, action: AuditAction, actor_id: int | None) -> None:
    content = {
        "review": review.id,
        "kind": review.kind,
        "parties": [review.party_a, review.party_b],
        "reason": review.reason,
        "status": review.status,
        "decision": review.decision_id,
        "by": review.settled_by,
    }
    append_entry(session, action=action, subject=f"vendor-review:{review.id}", content=content, actor_id=actor_id)


def settle_review(
    session: Session,
    *,
    review_id: int,
    status: ReviewStatus,
    by: str,
    reason: str = "",
    actor_id: int | None = None,
) -> VendorReview:
    """Settle a pair: MERGED merges the two parties' entities (a decision, undoable: undoing it reopens the
    review); KEPT_APART closes the review, so later runs do not propose the pair again (`reopen_review`)."""
    review = _open_review(session, review_id)
    if status == ReviewStatus.MERGED:
        vendors = [
            session.scalar(
                select(VendorParty.vendor_id).where(VendorParty.party_id == p, VendorParty.kind == review.kind)
            )
            for p in (review.party_a, review.party_b)
        ]
        if None in vendors or vendors[0] == vendors[1]:
            raise VendorError(f"the parties of review {review_id} are one entity already: keep them apart or leave it")
        # Settled before the rerun, so that the rerun neither deletes nor proposes the pair again.
        review.status, review.settled_by, review.settled_at = ReviewStatus.MERGED, by, utcnow()
        session.flush()
        decision = merge_vendors(
            session, vendor_ids=[v for v in vendors if v is not None], by=by, reason=reason, actor_id=actor_id
        )
        review.decision_id = decision.id
    elif status == ReviewStatus.KEPT_APART:
        review.status, review.settled_by, review.settled_at = ReviewStatus.KEPT_APART, by, utcnow()
    else:
        raise VendorError("a review is settled as merged or as kept apart")
    session.flush()
    _audit_review(session, review, AuditAction.VENDOR_REVIEW_SETTLED, actor_id)
    return review


def reopen_review(session: Session, *, review_id: int, actor_id: int | None = None) -> VendorReview:
    """Put a pair kept apart back in the queue (a merged one reopens when its decision is undone)."""
    review = session.get(VendorReview, review_id)
    if review is None:
        raise VendorError(f"no review {review_id}")
    if review.status != ReviewStatus.KEPT_APART:
        raise VendorError(f"review {review_id} is {review.status}: only a pair kept apart is reopened here")
    review.status, review.settled_by, review.settled_at = ReviewStatus.OPEN, None, None
    session.flush()
    _audit_review(session, review, AuditAction.VENDOR_REVIEW_REOPENED, actor_id)
    return review


def vendor_parties(session: Session, vendor_id: int) -> list[tuple[Party, str, str]]:
    """An entity's parties with why each belongs (evidence, detail), for choosing which to split off."""
    rows = session.execute(
        select(Party, VendorParty.evidence, VendorParty.detail)
        .join(VendorParty, VendorParty.party_id == Party.id)
        .where(VendorParty.vendor_id == vendor_id)
        .order_by(Party.id)
    ).all()
    return [(party, evidence, detail) for party, evidence, detail in rows]


def recent_decisions(session: Session, *, limit: int = 50) -> list[VendorDecision]:
    return list(session.scalars(select(VendorDecision).order_by(VendorDecision.id.desc()).limit(limit)))


def count_vendors(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(Vendor.kind, func.count()).where(Vendor.merged_into_id.is_(None)).group_by(Vendor.kind)
    ).all()
    return {kind: n for kind, n in rows}
