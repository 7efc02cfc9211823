"""Messages grouped by meaning: each message is embedded with the service's own model (normalised as at query
time) and grouped greedily: a message joins the group whose centroid is closest if the cosine is at least
`GROUP_THRESHOLD`, else it starts a group. Biggest groups first.

Used by the gaps page (`api.pages.gaps`: messages agents marked "no good answer") and by the insights
(`api.insights.groups`: unanswered messages, and which groups grow). Outside the pages package, so the insights
can use it without importing the pages.

    >>> groups = group_messages([Flagged("r1", "mag ik zonnen na chemo?", "x", "2026-11-02", []),
    ...                          Flagged("r2", "zonnebank tijdens chemo?", "x", "2026-11-02", [])],
    ...                         embedder)  # doctest: +SKIP
    >>> [len(g.messages) for g in groups]  # doctest: +SKIP
    [2]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from kb.embedding import Embedder
from kb.models import TextKind
from kb.normalize import normalize

#: Cosine to a group's centroid from which a message joins it. Measured on the 414 messages of 69 questions in
#: eval/data/paraphrases.jsonl (multilingual-e5-small, whose cosines live in a narrow high band; normalised
#: text): at 0.89 a group is on average 87% one question and 87% of a question's messages land in its biggest
#: group (F1 0.87; 0.88: 0.88 but 11 groups for 69 questions, 0.90: 0.81, 0.86: 0.80). Lower merges different
#: questions, higher splits rewordings of one.
GROUP_THRESHOLD = 0.89
#: Newest flagged messages considered; older ones have usually been answered by an article already.
MAX_MESSAGES = 300


@dataclass
class Flagged:
    """One message an agent marked as having no good answer."""

    request_id: str
    message: str
    channel: str
    created: str
    offered: list[str]


@dataclass
class Group:
    messages: list[Flagged] = field(default_factory=list)

    @property
    def offered(self) -> list[str]:
        """Articles that were suggested for these messages and judged not good enough, most often first."""
        counts: dict[str, int] = {}
        for m in self.messages:
            for a in m.offered:
                counts[a] = counts.get(a, 0) + 1
        return sorted(counts, key=lambda a: (-counts[a], a))

    @property
    def channels(self) -> list[str]:
        return sorted({m.channel for m in self.messages})

    @property
    def latest(self) -> str:
        return max(m.created for m in self.messages)


def group_vectors(vectors: np.ndarray, threshold: float = GROUP_THRESHOLD) -> list[list[int]]:
    """Greedy grouping by cosine to each group's running centroid; indexes in input order within a group.

        >>> group_vectors(np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]]), 0.8)
        [[0, 1], [2]]
    """
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms == 0, 1, norms)
    groups: list[list[int]] = []
    sums: list[np.ndarray] = []
    for i, v in enumerate(unit):
        best, best_sim = -1, threshold
        for g, total in enumerate(sums):
            sim = float(v @ (total / (np.linalg.norm(total) or 1.0)))
            if sim >= best_sim:
                best, best_sim = g, sim
        if best < 0:
            groups.append([i])
            sums.append(v.copy())
        else:
            groups[best].append(i)
            sums[best] = sums[best] + v
    return groups


class VectorMemo:
    """Vectors of flagged messages already seen, so a page view embeds only the newly flagged ones (the encoder
    is the one suggestions are served from). Bounded: the oldest entries go first."""

    def __init__(self, embedder: Embedder, size: int = 2 * MAX_MESSAGES) -> None:
        self.embedder, self.size = embedder, size
        self._vectors: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str], *, kind: TextKind = "query") -> np.ndarray:
        """Messages are compared with messages: embedded as queries, as e5 asks for symmetric tasks."""
        if not texts:
            return np.zeros((0, self.embedder.dim), np.float32)
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            for text, vector in zip(missing, self.embedder.embed(missing, kind=kind), strict=True):
                self._vectors[text] = np.asarray(vector, dtype=np.float32)
        out = np.stack([self._vectors[t] for t in texts])
        for old in list(self._vectors)[: max(0, len(self._vectors) - self.size)]:
            del self._vectors[old]
        return out


def group_messages(flagged: Sequence[Flagged], embedder: Embedder | VectorMemo,
                   threshold: float = GROUP_THRESHOLD) -> list[Group]:
    """Groups of flagged messages, biggest first (ties: most recent first)."""
    if not flagged:
        return []
    vectors = np.asarray(embedder.embed([normalize(f.message) or f.message for f in flagged], kind="query"),
                         dtype=np.float32)
    groups = [Group([flagged[i] for i in idx]) for idx in group_vectors(vectors, threshold)]
    groups.sort(key=lambda g: g.latest, reverse=True)
    groups.sort(key=lambda g: len(g.messages), reverse=True)  # stable: same size keeps the recency order
    return groups
