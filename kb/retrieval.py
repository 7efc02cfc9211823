"""Retrieval: an incoming message -> articles ranked by how well they answer it.

The message is normalised the same way chunks were at index time, embedded (dense) and tokenised (lexical,
Dutch/English stems), and sent to Qdrant as one batch: native prefetch + RRF fusion for candidates, plus each
mode's own scores. Chunks are grouped per article; an article's score combines its best dense cosine and its
best lexical score into one number in [0, 1] that the confidence tiers are calibrated on.

    >>> retriever = Retriever(store, embedder, SparseEncoder(), alias="kb_articles")  # doctest: +SKIP
    >>> [m.article_id for m in retriever.search("klopt het dat suiker kanker voedt", Language.NL, limit=3)]
    ['suiker-voedt-kanker', ...]  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kb.article import Language
from kb.embedding import Embedder
from kb.lexical import SparseEncoder
from kb.normalize import normalize
from kb.store import Hit, QdrantStore

Mode = Literal["hybrid", "dense", "lexical"]
Fusion = Literal["weighted", "rrf"]

#: Lexical scores are unbounded BM25 sums; s / (s + LEXICAL_HALF) maps them into [0, 1).
LEXICAL_HALF = 6.0
#: Weight of the dense cosine in the combined score (the rest is lexical); set from the golden messages.
DENSE_WEIGHT = 0.6
_FIELDS = ("article_id", "kind", "text", "language")


@dataclass(frozen=True)
class Match:
    """One article and why it matched."""

    article_id: str
    language: str
    score: float
    dense: float
    lexical: float
    matched_text: str
    matched_kind: str


def combine(dense: float, lexical: float, mode: Mode, dense_weight: float = DENSE_WEIGHT) -> float:
    """One score in [0, 1] from a cosine and a BM25 sum (see the module docstring)."""
    lex = lexical / (lexical + LEXICAL_HALF) if lexical > 0 else 0.0
    if mode == "dense":
        return max(0.0, dense)
    if mode == "lexical":
        return lex
    return max(0.0, dense_weight * dense + (1 - dense_weight) * lex)


class Retriever:
    def __init__(self, store: QdrantStore, embedder: Embedder, sparse: SparseEncoder, *, alias: str,
                 mode: Mode = "hybrid", fusion: Fusion = "weighted", candidates: int = 60,
                 dense_weight: float = DENSE_WEIGHT) -> None:
        self.store = store
        self.embedder = embedder
        self.sparse = sparse
        self.alias = alias
        self.mode = mode
        self.fusion = fusion
        self.candidates = candidates
        self.dense_weight = dense_weight

    def search(self, message: str, language: Language | None, *, limit: int) -> list[Match]:
        text = normalize(message)
        dense = self.embedder.embed([text])[0] if self.mode != "lexical" else None
        sparse = self.sparse.encode_query(text, language) if self.mode != "dense" else None
        # The fused ranking is only read in `rrf` mode; `weighted` orders by the combined score of both modes.
        result = self.store.search(self.alias, dense, sparse, limit=self.candidates, candidates=self.candidates,
                                   fields=_FIELDS, fused=self.fusion == "rrf" and self.mode == "hybrid")
        return rank_articles(result.fused, result.dense, result.lexical, self.mode, self.fusion,
                             self.dense_weight)[:limit]


def rank_articles(fused: list[Hit], dense: list[Hit], lexical: list[Hit], mode: Mode,
                  fusion: Fusion = "weighted", dense_weight: float = DENSE_WEIGHT) -> list[Match]:
    """Group chunk hits by article and score each by its best chunks.

    `weighted` orders articles by the combined score; `rrf` keeps Qdrant's reciprocal-rank-fused order (the
    combined score is still what the tiers read). Measured on the golden messages: see docs/retrieval.md.
    """
    best_dense: dict[str, Hit] = {}
    for hit in dense:
        best_dense.setdefault(hit.payload["article_id"], hit)  # hits come best first
    best_lex: dict[str, Hit] = {}
    for hit in lexical:
        best_lex.setdefault(hit.payload["article_id"], hit)
    candidates = dict.fromkeys(h.payload["article_id"] for h in [*fused, *dense, *lexical])
    matches = []
    for article_id in candidates:
        d, lx = best_dense.get(article_id), best_lex.get(article_id)
        d_score, l_score = (d.score if d else 0.0), (lx.score if lx else 0.0)
        # Show the agent the chunk that matched most convincingly in the mode that counts most.
        shown = d if d is not None and (lx is None or mode != "lexical") else lx
        assert shown is not None
        score = round(combine(d_score, l_score, mode, dense_weight), 6)
        matches.append(Match(article_id, shown.payload.get("language", ""), score,
                             round(d_score, 6), round(l_score, 6), shown.payload.get("text", ""),
                             shown.payload.get("kind", "")))
    if fusion == "weighted" or mode != "hybrid":
        matches.sort(key=lambda m: (-m.score, m.article_id))
    return matches
