"""Learned evidence: phrasings agents confirmed for an article, consulted once per ranking, for near-repeats only.

Agents already know the right article for the messages a surge copies hundreds of times; a phrasing they
confirmed (kb.learning decides when: an editor's approval, or enough distinct agents and no harm to what was
confirmed before) is evidence here. It is not an ordinary claim: measured on the blind messages, adding
confirmed messages to their articles as claims made a few generic ones hubs and lowered top-1 (0.86 -> 0.70).
So a phrasing counts only for a message that is a near-repeat of it (kb.near_repeat), and then says one thing:
this message is a copy of one agents answered with article A.

This module is the one seam between learning and the suggestion path (`kb.suggest.Suggester` holds an `Evidence`
and consults it once per ranking):

- `LearnedEvidence.rerank` reads the message (its vector comes from the retriever's own call, remembered by
  `kb.embedding.RecentQueries`, so no second embedding), finds the most similar evidence phrasing above the
  near-repeat cut, and moves its article to the front as a `LearnedMatch` (marked, so the suggestion can say
  "matched a phrasing agents confirmed"); the article's own scores are left as retrieval gave them.
- `learned_probabilities` then gives that article the probability the evidence supports and caps every other
  candidate at what is left (the candidates' probabilities add up to at most one).

What the evidence supports is capped by who confirmed it (`support`): an editor's approval counts fully; `k`
distinct agents (less those who rejected it) count `1 - (1 - AGENT_RIGHT) ** k`. One agent alone is worth 0.80,
below any sensible `high` line, so one agent's confirmations can never make an article `high` for everyone even
if it were allowed to activate a phrasing (kb.learning does not allow it: at least two). Two agents give 0.96.
The near-repeat measure's own precision on dev multiplies in.

Whatever ranking the retriever produces (fusion, re-rankers), this wraps it from outside: it reads only
`Match.article_id`, `.translations` and `.score`, and returns the same list reordered.

    >>> evidence = LearnedEvidence(measure, embedder, short_words=4)  # doctest: +SKIP
    >>> evidence.replace([EvidencePhrasing("p1", "suiker-voedt-kanker", "nl", "Voedt suiker kanker?", "...", vector,
    ...                                    agents=2, approved=False)])  # doctest: +SKIP
    >>> evidence.rerank(Message.of("RT @x: klopt het dat suiker kanker voedt??"), ranked)[0].learned  # doctest: +SKIP
    Learned(phrasing_id='p1', similarity=0.91, probability=0.959, agents=2, approved=False)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from kb.blas import one_blas_thread
from kb.models import Embedder
from kb.near_repeat import NearRepeat, Reading, trigrams
from kb.normalize import Message
from kb.retrieval import Match

#: What one agent's confirmation is taken to be worth: right 4 times in 5. Deliberately modest: agents confirm
#: the article they sent, and may be wrong, or be one person behind two keys.
AGENT_RIGHT = 0.8
#: Two evidence phrasings of different articles this close to the message (in similarity): neither counts.
AMBIGUOUS = 0.05
#: Evidence phrasings looked at per message (by centred cosine) before the trigram half is computed.
SHORTLIST = 32
#: Slack for float32 cosines in the bound that skips rows (`ReadingIndex.near`): far above their rounding error.
_ROUNDING = 1e-4


def support(agents: int, approved: bool) -> float:
    """How likely the article behind a phrasing is right, from who confirmed it (see the module docstring).

        >>> support(1, False), support(2, False), support(0, True)
        (0.8, 0.96, 1.0)
    """
    if approved:
        return 1.0
    return round(1.0 - (1.0 - AGENT_RIGHT) ** max(0, agents), 6)


@dataclass(frozen=True)
class EvidencePhrasing:
    """One phrasing that counts as evidence: its article (and that article's language and title, for a match
    made when retrieval did not return the article), its masked text and vector, and who confirmed it."""

    phrasing_id: str
    article_id: str
    language: str
    text: str
    title: str
    vector: np.ndarray
    agents: int
    approved: bool  # by an editor, or merged into the article's front matter


@dataclass(frozen=True)
class Learned:
    """Why a match was moved to the front: the phrasing, how near the message was, what that supports."""

    phrasing_id: str
    similarity: float
    probability: float
    agents: int
    approved: bool


@dataclass(frozen=True)
class LearnedMatch(Match):
    """A retrieval match whose article a confirmed phrasing vouches for (its scores are retrieval's own)."""

    learned: Learned | None = None


def learned_of(match: Match) -> Learned | None:
    """The learned evidence behind `match`, if any."""
    return match.learned if isinstance(match, LearnedMatch) else None


class ReadingIndex:
    """Readings (centred unit vectors and trigrams) of many texts, searched for near-repeats of one reading."""

    def __init__(self, measure: NearRepeat, ids: list[str], centred: np.ndarray, grams: list[frozenset[str]],
                 texts: list[str] | None = None) -> None:
        self.measure, self.ids, self.centred, self.grams = measure, ids, centred, grams
        self.texts = texts or []
        self.sizes = np.array([len(g) for g in grams], dtype=np.float32)  # for the overlap's bound in `near`

    @classmethod
    def build(cls, measure: NearRepeat, items: Sequence[tuple[str, str, np.ndarray]],
              reuse: ReadingIndex | None = None) -> ReadingIndex:
        """From (id, text, raw vector) triples; the trigrams of texts `reuse` already read are taken from it
        (reading 10,000 texts again on every change would cost a second)."""
        if not items:
            return cls(measure, [], np.zeros((0, measure.mean.shape[0]), np.float32), [])
        known = dict(zip(reuse.texts, reuse.grams, strict=True)) if reuse is not None and reuse.texts else {}
        centred = measure.centre(np.stack([v for _, _, v in items]))
        texts = [t for _, t, _ in items]
        grams = [known[t] if t in known else trigrams(t) for t in texts]
        return cls(measure, [i for i, _, _ in items], centred, grams, texts)

    def near(self, reading: Reading, limit: int = SHORTLIST) -> list[tuple[int, float]]:
        """(row, similarity) of the rows at or above the cut, most similar first."""
        if not self.ids:
            return []
        with one_blas_thread():  # as the store's mirror does: BLAS threads waiting for each other cost more
            cosines = self.centred @ reading.centred
        floor = self.measure.cosine_floor
        rows = np.flatnonzero(cosines >= floor)
        if len(rows) > limit:
            rows = rows[np.argpartition(-cosines[rows], limit - 1)[:limit]]
        # The trigram overlap of two sets is at most the smaller over the larger: rows that cannot reach the cut even
        # so are not compared (most of a new message's shortlist; exact, with room for the cosine's rounding).
        mine = float(len(reading.grams))
        most = np.minimum(self.sizes[rows], mine) / np.maximum(np.maximum(self.sizes[rows], mine), 1.0)
        rows = rows[(cosines[rows] + most) / 2 >= self.measure.cut - _ROUNDING]
        found = []
        for row in rows.tolist():
            similarity = self.measure.similarity(Reading(self.centred[row], self.grams[row]), reading)
            if similarity >= self.measure.cut:
                found.append((row, round(similarity, 6)))
        return sorted(found, key=lambda f: (-f[1], self.ids[f[0]]))

    def __len__(self) -> int:
        return len(self.ids)


class Evidence(Protocol):
    """What the Suggester consults once per ranking (`LearnedEvidence`, or `NoEvidence`)."""

    def rerank(self, message: Message, ranked: list[Match]) -> list[Match]: ...


class NoEvidence:
    """Ranking as retrieval gave it (the default, and `kb eval learning`'s run without learning)."""

    def rerank(self, message: Message, ranked: list[Match]) -> list[Match]:
        return ranked


class LearnedEvidence:
    """The evidence phrasings in force, swapped whole when they change (readers never see half an update)."""

    def __init__(self, measure: NearRepeat, embedder: Embedder, *, short_words: int) -> None:
        self.measure, self.embedder, self.short_words = measure, embedder, short_words
        # One attribute for both, so a reader never sees new phrasings with an old index.
        self._state: tuple[tuple[EvidencePhrasing, ...], ReadingIndex] = ((), ReadingIndex.build(measure, []))

    def replace(self, evidence: Sequence[EvidencePhrasing]) -> None:
        """Put `evidence` in force (all of it, replacing what was)."""
        items = tuple(evidence)
        index = ReadingIndex.build(self.measure, [(e.phrasing_id, e.text, e.vector) for e in items],
                                   reuse=self._state[1])
        self._state = (items, index)

    def __len__(self) -> int:
        return len(self._state[0])

    def nearest(self, message: Message) -> tuple[EvidencePhrasing, float] | None:
        """The evidence phrasing `message` is a near-repeat of, unless two articles' phrasings are about as near
        (then neither counts); None for a short message or when nothing is near."""
        evidence, index = self._state
        if not evidence or message.words <= self.short_words:
            return None
        vector = np.asarray(self.embedder.embed([message.text], kind="query"))[0]
        found = index.near(self.measure.read(message.text, vector))
        if not found:
            return None
        best, similarity = evidence[found[0][0]], found[0][1]
        rival = next(((evidence[r], s) for r, s in found[1:] if evidence[r].article_id != best.article_id), None)
        if rival is not None and similarity - rival[1] < AMBIGUOUS:
            return None
        return best, similarity

    def rerank(self, message: Message, ranked: list[Match]) -> list[Match]:
        """`ranked` with the article of the nearest evidence phrasing first, as a LearnedMatch."""
        nearest = self.nearest(message)
        if nearest is None:
            return ranked
        ev, similarity = nearest
        learned = Learned(ev.phrasing_id, similarity, round(self.measure.precision * support(ev.agents, ev.approved),
                                                             6), ev.agents, ev.approved)
        at = next((i for i, m in enumerate(ranked) if m.article_id == ev.article_id or
                   ev.article_id in m.translations), None)
        if at is None:  # retrieval did not find it: a match of its own, scored no better than the last candidate
            floor = min((m.score for m in ranked), default=0.0)
            first = LearnedMatch(ev.article_id, ev.language, floor, min((m.dense for m in ranked), default=0.0),
                                 0.0, ev.title, "learned", learned=learned)
            return [first, *ranked]
        own = ranked[at]
        first = LearnedMatch(**{f.name: getattr(own, f.name) for f in dataclasses.fields(Match)}, learned=learned)
        return [first, *ranked[:at], *ranked[at + 1:]]


def learned_probabilities(ranked: Sequence[Match], own: Sequence[float]) -> list[float]:
    """Each candidate's probability with the learned evidence in `ranked` (at most one LearnedMatch): that
    article gets the better of its own and what the evidence supports; every other candidate at most what is
    left.

        >>> m = Match("a", "nl", 0.9, 0.9, 0.0, "t", "claim")
        >>> first = LearnedMatch(**dataclasses.asdict(m), learned=Learned("p", 0.9, 0.95, 2, False))
        >>> learned_probabilities([first, dataclasses.replace(m, article_id="b")], [0.30, 0.70])
        [0.95, 0.05]
    """
    learned = next((lm for lm in map(learned_of, ranked) if lm is not None), None)
    if learned is None:
        return list(own)
    rest = round(1.0 - learned.probability, 6)
    return [max(p, learned.probability) if learned_of(m) is not None else min(p, rest)
            for m, p in zip(ranked, own, strict=True)]
