"""Retrieval: an incoming message -> articles ranked by how well they answer it.

The message is normalised the same way chunks were at index time, embedded (dense) and tokenised (lexical,
Dutch/English stems), and sent to Qdrant as one batch that returns each mode's candidates with their own scores.
Chunks are grouped per article; an article's score combines its best dense cosine and its best lexical score into
one number in [0, 1] that the confidence tiers are calibrated on, and fusion happens here (`rank_articles`), so
local mode, a server and a cluster rank alike.

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
#: Qdrant's reciprocal-rank-fusion constant, kept for `fusion="rrf"` (see rrf_scores).
RRF_K = 2
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
        # Both fusions are computed here from each mode's scores (see rrf_scores for why not Qdrant's own RRF).
        result = self.store.search(self.alias, dense, sparse, limit=self.candidates, candidates=self.candidates,
                                   fields=_FIELDS, fused=False)
        dense_hits, lexical_hits = (without_cut_ties(hits, self.candidates) for hits in (result.dense, result.lexical))
        return rank_articles(dense_hits, lexical_hits, self.mode, self.fusion, self.dense_weight)[:limit]


def without_cut_ties(hits: list[Hit], limit: int) -> list[Hit]:
    """`hits` without its last group of equal scores when the list is full: that group may go on past the limit,
    and which of its members made the cut is storage order (another on a server than in local mode).

        >>> from kb.store import Hit
        >>> [h.id for h in without_cut_ties([Hit("a", 3.0, {}), Hit("b", 2.0, {}), Hit("c", 2.0, {})], limit=3)]
        ['a']
    """
    if len(hits) < limit or not hits:
        return hits
    last = hits[-1].score
    return [h for h in hits if h.score - last > 1e-6 * max(1.0, abs(last))]


def rank_articles(dense: list[Hit], lexical: list[Hit], mode: Mode, fusion: Fusion = "weighted",
                  dense_weight: float = DENSE_WEIGHT) -> list[Match]:
    """Group chunk hits by article and score each by its best chunks.

    `weighted` orders articles by the combined score; `rrf` by their best chunk's reciprocal-rank-fused score
    (`rrf_scores`; the combined score is still what the tiers read). Measured on the golden messages: see
    docs/benchmarks.md.
    """
    best_dense: dict[str, Hit] = {}
    for hit in dense:
        best_dense.setdefault(hit.payload["article_id"], hit)  # hits come best first
    best_lex: dict[str, Hit] = {}
    for hit in lexical:
        best_lex.setdefault(hit.payload["article_id"], hit)
    candidates = dict.fromkeys(h.payload["article_id"] for h in [*dense, *lexical])
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
    else:
        chunk_rrf = rrf_scores(dense, lexical)
        best: dict[str, float] = {}
        for hit in [*dense, *lexical]:
            article_id = hit.payload["article_id"]
            best[article_id] = max(best.get(article_id, 0.0), chunk_rrf[hit.id])
        matches.sort(key=lambda m: (-best.get(m.article_id, 0.0), m.article_id))
    return matches


def rrf_scores(*rankings: list[Hit]) -> dict[str, float]:
    """Reciprocal-rank fusion per chunk id, Qdrant's formula (1 / (rank + RRF_K), rank from 0), except that hits
    with equal scores share the best rank of their group.

    Qdrant's native RRF ranks tied hits in storage order, which differs between local mode, a server, a cluster
    and one server before and after it optimises segments. Lexical BM25 sums tie often (chunks with the same
    terms), and on the golden messages native RRF gave 25 of 307 messages another first article on a server than
    in local mode (tests/server/test_congruence.py). Shared ranks make the order a function of the scores alone.

        >>> from kb.store import Hit
        >>> ranked = rrf_scores([Hit("a", 0.9, {}), Hit("b", 0.9, {}), Hit("c", 0.5, {})])
        >>> ranked["a"] == ranked["b"] == 1 / RRF_K, round(ranked["c"], 3)
        (True, 0.25)
    """
    fused: dict[str, float] = {}
    for ranking in rankings:
        rank, group_score = 0, None
        for position, hit in enumerate(ranking):
            # float32 on a server, float64 here: scores within a millionth are the same score
            if group_score is None or abs(hit.score - group_score) > 1e-6 * max(1.0, abs(group_score)):
                rank, group_score = position, hit.score
            fused[hit.id] = fused.get(hit.id, 0.0) + 1 / (rank + RRF_K)
    return fused
