"""Learning from agents' choices: confirmed messages become candidate phrasings, counted, and activated as
evidence (kb.learned) only under the rules below. Pure logic over an in-memory `Book`; the service persists it
(api/learned/), `kb eval learning` replays a stream through it.

A confirmation (the agent used, edited or chose article A for a message) joins the phrasing of A the message is
a near-repeat of (kb.near_repeat), or starts a new candidate; each phrasing counts its distinct confirming
agents, the distinct agents who rejected A for a near-repeat of it, its confirmations and when it was first and
last seen. A message of at most `short_words` words is never learned (nothing specific to learn).

What counts is the choice that STANDS for each suggestion (request and article), as the service keeps one
feedback row per suggestion with the last choice winning: an agent who clicks used, then rejected, has rejected
the article for that message, so the confirmation is taken out of the counts and the rejection counted in the
same phrasing; a withdrawn choice (`withdraw`) counts nothing. `Book.standing` holds, per suggestion, the
phrasing its choice counts in and what it was.

A phrasing is evidence when

1. an editor approved it, or at least `min_agents` distinct agents (never fewer than two; 0 means editors only)
   confirmed it, counting each agent who rejected A for a near-repeat of it against it; and
2. it does no harm to the confirmation history: no phrasing confirmed for another article (by anyone, editors'
   rejections aside) is a near-repeat of it. As evidence it would take those confirmed messages away from their
   article; both stay out (`held`) until an editor decides between them.

So one agent can never make evidence on their own, and one agent's mistake on a copy keeps the copies out of
learning rather than in it. An editor's rejection or removal is final for that phrasing: near-repeats join it
and stay out.

    >>> book = Book(measure)  # doctest: +SKIP
    >>> observe(book, rules, Observation("suiker-voedt-kanker", text, vector, agent="k1", action="used",
    ...                                  at="2026-12-01T10:00:00+00:00", request_id="r1"))  # doctest: +SKIP
    [Phrasing(... status=<Status.CANDIDATE: 'candidate'> ...)]
    >>> withdraw(book, rules, "r1", "suiker-voedt-kanker")  # doctest: +SKIP
    [Phrasing(... confirmers=Counter() ...)]
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from kb.errors import InvalidInput
from kb.learned import EvidencePhrasing, ReadingIndex
from kb.near_repeat import NearRepeat, Reading, trigrams
from kb.normalize import normalize

_NAMESPACE = uuid.UUID("8d3f9a52-1c4e-4e0b-9a61-2f5d7c3b8e14")
#: Feedback actions that confirm an article for the message, and the one that counts against it.
CONFIRMING = frozenset({"used", "edited", "chosen"})
REJECTING = "rejected"


class Status(StrEnum):
    CANDIDATE = "candidate"  # counted; not evidence (yet)
    ACTIVE = "active"  # evidence: enough distinct agents, no harm
    APPROVED = "approved"  # evidence: an editor approved it
    REJECTED = "rejected"  # an editor rejected or removed it: never evidence
    MERGED = "merged"  # exported into the article's front matter: the Markdown is the source of truth now
    DROPPED = "dropped"  # its article is no longer served
    EXPIRED = "expired"  # unapproved and older than KB_RETENTION_DAYS: its text is gone


#: Statuses whose text and vector are gone (tombstones, kept for the counts).
GONE = frozenset({Status.DROPPED, Status.EXPIRED})


@dataclass(frozen=True)
class Rules:
    """`min_agents`: distinct agents that activate a phrasing without an editor (2 or more; 0: editors only)."""

    min_agents: int = 2
    short_words: int = 4

    def __post_init__(self) -> None:
        if self.min_agents == 1 or self.min_agents < 0:
            raise InvalidInput("learned_min_agents: one agent can never activate a phrasing; use 2 or more (or 0 "
                               "for editors' approval only)", field="learned_min_agents")


def phrasing_id(article_id: str, text: str) -> str:
    """Derived from content: the same masked message confirmed for the same article is the same phrasing."""
    return str(uuid.uuid5(_NAMESPACE, f"{article_id}\x1f{normalize(text).lower()}"))


@dataclass
class Phrasing:
    """A candidate or evidence phrasing of one article (masked text, its vector) and its counts."""

    id: str
    article_id: str
    text: str
    vector: np.ndarray
    language: str
    status: Status
    first_seen: str
    last_seen: str
    #: agent -> standing choices confirming the article for a message of this phrasing (one per suggestion)
    confirmers: Counter[str] = field(default_factory=Counter)
    #: agent -> standing choices rejecting the article for a message of this phrasing
    rejecters: Counter[str] = field(default_factory=Counter)
    held: str | None = None  # why an eligible phrasing is not evidence (a conflict)
    review: bool = False  # its article changed since it became evidence: an editor should look again
    article_hash: str | None = None  # the article's content hash when it became evidence
    decided_by: str | None = None  # the editor who approved, rejected or removed it
    exported: str | None = None  # when `kb learned export` wrote it into the article's front matter

    @property
    def confirmations(self) -> int:
        """Standing confirmations: suggestions whose agent's last choice used, edited or chose the article."""
        return sum(self.confirmers.values())

    @property
    def net_agents(self) -> int:
        """Distinct confirming agents, less the distinct agents who rejected the article for a near-repeat."""
        confirming, rejecting = set(self.confirmers), set(self.rejecters)
        return len(confirming - rejecting) - len(rejecting - confirming)

    def tally(self, agent: str, action: str, step: int) -> None:
        """Count (`step` 1) or take back (-1) one agent's choice."""
        counts = self.confirmers if action in CONFIRMING else self.rejecters if action == REJECTING else None
        if counts is None:
            return
        counts[agent] += step
        if counts[agent] <= 0:
            del counts[agent]

    @property
    def is_evidence(self) -> bool:
        return self.status in (Status.ACTIVE, Status.APPROVED) and self.held is None

    @property
    def counts_as_confirmed(self) -> bool:
        """Part of the confirmation history that evidence must not harm."""
        return self.status not in (Status.REJECTED, *GONE) and (bool(self.confirmers) or self.status in (
            Status.APPROVED, Status.MERGED))


@dataclass(frozen=True)
class Observation:
    """One agent's choice for a suggestion (`request_id`, `article_id`) of a message: `action` used, edited or
    chosen (confirming `article_id`) or rejected; any other action (no_good_answer) counts nothing. A later
    observation of the same suggestion replaces it."""

    article_id: str
    text: str  # masked
    vector: np.ndarray  # the message's query vector (of its normalised text)
    agent: str
    action: str
    at: str  # ISO time, UTC
    language: str = ""
    request_id: str = field(default="", kw_only=True)  # the suggestion request; '' : a suggestion of its own


@dataclass(frozen=True)
class Standing:
    """The choice that counts for one suggestion: in which phrasing, whose and what (kb.learning's docstring)."""

    phrasing_id: str
    agent: str
    action: str
    at: str  # when it was counted: a phrasing started again after its text was gone does not hold it


#: A suggestion: (request id, article id).
Suggestion = tuple[str, str]


class Book:
    """Every phrasing (all statuses), with a near-repeat lookup over the ones that still have a text."""

    def __init__(self, measure: NearRepeat) -> None:
        self.measure = measure
        self.phrasings: dict[str, Phrasing] = {}
        #: The choice counted for each suggestion this book has seen (the service loads the one it changes).
        self.standing: dict[Suggestion, Standing] = {}
        self._index: ReadingIndex | None = None
        self._last: ReadingIndex | None = None  # the index before the last change: its trigrams are reused

    def put(self, phrasings: Iterable[Phrasing]) -> None:
        for p in phrasings:
            self.phrasings[p.id] = p
        self._index = None

    def index(self) -> ReadingIndex:
        if self._index is None:
            alive = [p for p in self.phrasings.values() if p.status not in GONE]
            self._index = ReadingIndex.build(self.measure, [(p.id, p.text, p.vector) for p in alive],
                                             reuse=self._last)
            self._last = self._index
        return self._index

    def read(self, text: str, vector: np.ndarray) -> Reading:
        return Reading(self.measure.centre(vector)[0], trigrams(text))

    def near(self, reading: Reading, *, article_id: str | None = None) -> list[tuple[Phrasing, float]]:
        """Phrasings `reading` is a near-repeat of (of `article_id` only, if given), most similar first."""
        index = self.index()
        found = [(self.phrasings[index.ids[row]], s) for row, s in index.near(reading, limit=len(index) or 1)]
        return [(p, s) for p, s in found if article_id is None or p.article_id == article_id]

    def evidence(self, titles: dict[str, tuple[str, str]] | None = None) -> list[EvidencePhrasing]:
        """The phrasings in force, as kb.learned reads them; `titles` maps article id -> (language, title) and
        leaves out phrasings of articles it does not list (not served)."""
        out = []
        for p in sorted(self.phrasings.values(), key=lambda p: p.id):
            if not p.is_evidence or (titles is not None and p.article_id not in titles):
                continue
            language, title = (titles or {}).get(p.article_id, (p.language, p.article_id))
            out.append(EvidencePhrasing(p.id, p.article_id, language, p.text, title, p.vector,
                                        agents=max(0, p.net_agents), approved=p.status is Status.APPROVED))
        return out


def observe(book: Book, rules: Rules, seen: Observation) -> list[Phrasing]:
    """Count one agent's choice for a suggestion in `book`, in place of the choice that stood for it (if any);
    the phrasings whose counts or status changed (to be stored). `book.standing` says where it now counts."""
    key = (seen.request_id or uuid.uuid4().hex, seen.article_id)
    before, changed = _take_back(book, key)
    confirming = seen.action in CONFIRMING
    if (not confirming and seen.action != REJECTING) or len(normalize(seen.text).split()) <= rules.short_words:
        return _settled(book, rules, changed)
    # the same message for the same article: the new choice counts where the old one did
    phrasing = before if before is not None and before.status not in GONE else _phrasing_for(book, seen, confirming)
    if phrasing is None:  # a rejection with no phrasing of that article near: nothing to count against
        return _settled(book, rules, changed)
    phrasing.tally(seen.agent, seen.action, 1)
    phrasing.last_seen = max(phrasing.last_seen, seen.at)
    book.standing[key] = Standing(phrasing.id, seen.agent, seen.action, seen.at)
    return _settled(book, rules, [*changed, phrasing])


def withdraw(book: Book, rules: Rules, request_id: str, article_id: str) -> list[Phrasing]:
    """The choice for a suggestion was taken back (undo): it counts nowhere now. The phrasings that changed."""
    return _settled(book, rules, _take_back(book, (request_id, article_id))[1])


def _take_back(book: Book, key: Suggestion) -> tuple[Phrasing | None, list[Phrasing]]:
    """Take the choice that stood for `key` out of its phrasing's counts: (that phrasing, [it]) or (None, [])."""
    standing = book.standing.pop(key, None)
    phrasing = book.phrasings.get(standing.phrasing_id) if standing else None
    if standing is None or phrasing is None or standing.at < phrasing.first_seen:
        return None, []
    phrasing.tally(standing.agent, standing.action, -1)
    return phrasing, [phrasing]


def _settled(book: Book, rules: Rules, counted: list[Phrasing]) -> list[Phrasing]:
    """`counted` and every phrasing whose status their new counts changed."""
    around_them = [q for p in counted for q in around(book, p)]
    return list({p.id: p for p in [*counted, *settle(book, rules, around_them)]}.values())


def _phrasing_for(book: Book, seen: Observation, confirming: bool) -> Phrasing | None:
    """The phrasing of `seen.article_id` the message is a near-repeat of; else, for a confirmation, a new one."""
    reading = book.read(seen.text, seen.vector)
    same = book.near(reading, article_id=seen.article_id)
    if same:
        return same[0][0]
    if confirming:
        pid = phrasing_id(seen.article_id, seen.text)
        phrasing = book.phrasings.get(pid) or Phrasing(pid, seen.article_id, seen.text, seen.vector,
                                                       seen.language, Status.CANDIDATE, seen.at, seen.at)
        if phrasing.status in GONE:  # its text was removed: this confirmation starts it again
            phrasing = Phrasing(pid, seen.article_id, seen.text, seen.vector, seen.language, Status.CANDIDATE,
                                seen.at, seen.at)
        book.put([phrasing])
        return phrasing
    return None


def around(book: Book, phrasing: Phrasing) -> list[Phrasing]:
    """`phrasing` and the phrasings of other articles it is a near-repeat of (whose harm check it may change)."""
    if phrasing.status in GONE:
        return []
    return [phrasing, *(q for q, _ in book.near(book.read(phrasing.text, phrasing.vector))
                        if q.article_id != phrasing.article_id)]


def conflicts(book: Book, phrasing: Phrasing) -> list[Phrasing]:
    """Confirmed phrasings of other articles that are near-repeats of `phrasing` (what it would take away)."""
    return [q for q in around(book, phrasing)[1:] if q.counts_as_confirmed]


def settle(book: Book, rules: Rules, phrasings: Sequence[Phrasing]) -> list[Phrasing]:
    """Decide the status of each of `phrasings` by the rules (module docstring); those that changed."""
    changed = []
    for p in phrasings:
        before = (p.status, p.held)
        if p.status in (Status.CANDIDATE, Status.ACTIVE, Status.APPROVED):
            against = conflicts(book, p)
            held = (f"conflict: {len(against)} confirmed near-repeat(s) for "
                    f"{', '.join(sorted({q.article_id for q in against}))}") if against else None
            if p.status is Status.APPROVED:
                p.held = held
            else:
                eligible = rules.min_agents >= 2 and p.net_agents >= rules.min_agents
                p.status = Status.ACTIVE if eligible and held is None else Status.CANDIDATE
                p.held = held if eligible else None
        if (p.status, p.held) != before:
            changed.append(p)
    return changed


def decide(book: Book, rules: Rules, phrasing_id: str, decision: str, editor: str,
           article_hash: str | None = None) -> list[Phrasing]:
    """An editor's decision on one phrasing: `approve` (evidence, whatever the count), `reject` (of a proposed
    one) or `remove` (of one in force); both of the latter are final. The phrasings that changed."""
    phrasing = book.phrasings.get(phrasing_id)
    if phrasing is None or phrasing.status in GONE:
        raise InvalidInput(f"phrasing: no phrasing '{phrasing_id}' with a text to decide on", field="phrasing")
    if decision not in ("approve", "reject", "remove"):
        raise InvalidInput(f"decision: unknown '{decision}'; use approve, reject or remove", field="decision")
    if phrasing.status is Status.MERGED:
        raise InvalidInput("phrasing: it is in the article's front matter now; edit the article instead",
                           field="phrasing")
    phrasing.status = Status.APPROVED if decision == "approve" else Status.REJECTED
    phrasing.decided_by, phrasing.held, phrasing.review = editor, None, False
    if decision == "approve":
        phrasing.article_hash = article_hash
    neighbours = around(book, phrasing)
    return [phrasing, *settle(book, rules, neighbours)]


def reconcile(book: Book, rules: Rules, served: dict[str, str]) -> list[Phrasing]:
    """Follow the served articles (`served`: article id -> content hash), after a re-index or at start-up: a
    phrasing whose article is no longer served is dropped (its text too); one in force remembers its article's
    hash, and is flagged for review (kept in force) once the article changed. The phrasings that changed."""
    changed: list[Phrasing] = []
    neighbours: list[Phrasing] = []
    for p in list(book.phrasings.values()):
        if p.status in GONE:
            continue
        if p.article_id not in served:
            neighbours += around(book, p)[1:]  # while it still has a text to find them by
            p.status, p.text, p.held = Status.DROPPED, "", None
            changed.append(p)
        elif p.is_evidence and p.article_hash is None:
            p.article_hash = served[p.article_id]
            changed.append(p)
        elif p.is_evidence and p.article_hash != served[p.article_id] and not p.review:
            p.review = True
            changed.append(p)
    if changed:
        book.put([])  # the index is rebuilt without the dropped ones
        changed += settle(book, rules, [q for q in neighbours if q.status not in GONE])
    return list({p.id: p for p in changed}.values())
