"""Retrieval: an incoming message -> articles ranked by how well they answer it.

The message is normalised the way chunks were at index time, but with names and handles kept as words
(`kb.normalize.Message.query`: fact-checks name the people a message quotes), embedded as a query (dense) and tokenised
(lexical, Dutch/English stems), and sent to the store, which returns each mode's chunk candidates with their own
scores. Chunks are grouped per article and fused here (`rank_articles`), so local mode, a server and a cluster
rank alike.

An article's score is its best dense cosine plus a small lexical part, `LEXICAL_WEIGHT * s / (s + LEXICAL_HALF)`
for a BM25 sum `s`. The multilingual encoder carries the ranking: its cosines live in a narrow band (0.82-0.95 on
the golden messages), where one shared word of evidence is worth a few hundredths. Lexical evidence is compared
within one language only: each language's lexically best candidate is its zero, so it orders articles of one
language and never decides between a same-language and an other-language article (which shares no stems with
the message): there the encoder alone decides. An article's lexical evidence belongs to the language of the words
that matched (the payload's `text_language`): an editor's claim in the other language (`claims_other_language`)
competes with that language's articles. Before issue 24 it was added across languages, and on messages
whose only article is in the other language the same-language articles won on shared words (Randmeer dev:
cross-lingual hit@1 0.08, now 0.38; docs/benchmarks.md). `CROSS_LANGUAGE_BONUS` (now 0) can still lift
other-language articles. Each `Match` also carries its best claim-or-title cosine and its best answer-or-background
cosine, which the second stage (kb.rerank, through `SecondStage`) reads. Where both languages have the article,
kb.suggest answers in the message's language.

A long message (a personal story with a question in it) is also read by its questions: each sentence that asks
something is embedded too, and an article's dense score is the better of the whole message's and its best
question's (less `WINDOW_PENALTY`), so the one sentence that asks about sugar is not drowned by the story.

    >>> retriever = Retriever(store, embedder, SparseEncoder(), alias="kb_articles")  # doctest: +SKIP
    >>> [m.article_id for m in retriever.search("klopt het dat suiker kanker voedt", Language.NL, limit=3)]
    ... # doctest: +SKIP
    ['suiker-voedt-kanker', ...]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from kb.article import Language
from kb.chunking import text_language
from kb.embedding import Embedder
from kb.lexical import SparseEncoder
from kb.normalize import Message
from kb.store import Hit, Store

Mode = Literal["hybrid", "dense", "lexical"]
Fusion = Literal["weighted", "rrf"]

#: Lexical scores are unbounded BM25 sums; s / (s + LEXICAL_HALF) maps them into [0, 1).
LEXICAL_HALF = 10.0
#: Most the lexical evidence adds to a cosine (hybrid mode). Tuned on the dev messages (docs/benchmarks.md).
LEXICAL_WEIGHT = 0.10
#: Cosine added to an article in another language than the message. 0 since lexical evidence is compared within
#: one language (issue 24): with that, 0.01 cost more same-language answers than it won cross-lingual ones on the
#: dev messages (blind dev hit@1 0.938 without, 0.898 with; Randmeer dev 0.772 / 0.763).
CROSS_LANGUAGE_BONUS = 0.0
#: Messages longer than this many words are also read by their questions.
LONG_WORDS = 30
#: A question's cosine counts for a little less than the whole message's: one sentence says less.
WINDOW_PENALTY = 0.005
#: At most this many questions of one message are embedded (the rest still count in the whole message).
MAX_WINDOWS = 6
#: Qdrant's reciprocal-rank-fusion constant, kept for `fusion="rrf"` (see rrf_scores).
RRF_K = 2
_FIELDS = ("article_id", "kind", "text", "language", "translations", "text_language")
#: Chunk kinds embedded as queries (kb.chunking.ChunkKind.embed_as), told apart from passages in `Match`.
QUERY_KINDS = ("title", "claim")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\s*\n+\s*")


@dataclass(frozen=True)
class Match:
    """One article and why it matched: its fused score, its best cosine and its BM25 sum."""

    article_id: str
    language: str
    score: float
    dense: float
    lexical: float
    matched_text: str
    matched_kind: str
    translations: tuple[str, ...] = ()
    dense_query: float = 0.0  # best cosine of its titles and claims (embedded as queries)
    dense_passage: float = 0.0  # best cosine of its answer and background (embedded as passages)
    rerank: float | None = None  # the second stage's probability among the first few (kb.rerank), if it ran


class SecondStage(Protocol):
    """Re-orders the first few candidates (kb.rerank.Reranker)."""

    def rerank(self, ranked: Sequence[Match], language: str | None) -> list[Match]: ...


def lexical_part(lexical: float) -> float:
    """A BM25 sum mapped into [0, 1)."""
    return lexical / (lexical + LEXICAL_HALF) if lexical > 0 else 0.0


def combine(dense: float, lexical: float, mode: Mode, lexical_weight: float = LEXICAL_WEIGHT) -> float:
    """An article's score from its best cosine and its BM25 sum (see the module docstring).

        >>> [round(combine(0.9, 10.0, mode), 6) for mode in ("hybrid", "dense", "lexical")]
        [0.95, 0.9, 0.5]
    """
    if mode == "dense":
        return max(0.0, dense)
    if mode == "lexical":
        return lexical_part(lexical)
    return max(0.0, dense) + lexical_weight * lexical_part(lexical)


def question_windows(text: str) -> list[str]:
    """The questions of a long message, each with the sentence before it when it is very short ("En dat?"); []
    for a short message or one that is a single sentence.

        >>> question_windows("kort bericht?")
        []
        >>> question_windows("Mijn moeder is 70 en heeft net de diagnose borstkanker gekregen, we zijn allemaal "
        ...                  "erg geschrokken en verdrietig. Ze eet sindsdien geen suiker meer. Voedt suiker "
        ...                  "kanker echt? Groetjes van Anna")
        ['Voedt suiker kanker echt?']
    """
    if len(text.split()) <= LONG_WORDS:
        return []
    sentences = [s for s in _SENTENCE_END.split(text) if s.strip()]
    if len(sentences) < 2:
        return []
    windows = []
    for i, sentence in enumerate(sentences):
        if "?" in sentence:
            short = len(sentence.split()) < 4 and i > 0
            windows.append(f"{sentences[i - 1]} {sentence}" if short else sentence)
    return windows[:MAX_WINDOWS]


class Retriever:
    def __init__(self, store: Store, embedder: Embedder, sparse: SparseEncoder, *, alias: str,
                 mode: Mode = "hybrid", fusion: Fusion = "weighted", candidates: int = 60,
                 lexical_weight: float = LEXICAL_WEIGHT, questions: bool = True,
                 cross_language_bonus: float = CROSS_LANGUAGE_BONUS, within_language: bool = True,
                 reranker: SecondStage | None = None, as_written: bool = False) -> None:
        self.store = store
        self.embedder = embedder
        self.sparse = sparse
        self.alias = alias
        self.mode = mode
        self.fusion = fusion
        self.candidates = candidates
        self.lexical_weight = lexical_weight
        self.questions = questions  # read a long message by its questions too (off only to measure it)
        self.cross_language_bonus = cross_language_bonus
        self.within_language = within_language
        self.reranker = reranker
        # also read the message as written (a second query vector; each chunk keeps its better cosine)
        self.as_written = as_written

    def search(self, message: str | Message, language: Language | None, *, limit: int) -> list[Match]:
        """Articles for `message` (text as received, or a `Message` already read), best first."""
        read = Message.of(message)
        text = read.query  # names and handles kept (kb.normalize.Message)
        windows = question_windows(text) if self.mode != "lexical" and self.questions else []
        written = [read.raw] if self.as_written and self.mode != "lexical" and read.raw != text else []
        vectors = self.embedder.embed([text, *written, *windows], kind="query") if self.mode != "lexical" else None
        sparse = self.sparse.encode_query(read, language) if self.mode != "dense" else None
        # Both fusions are computed here from each mode's scores (see rrf_scores for why not Qdrant's own RRF).
        result = self.store.search(self.alias, vectors[0] if vectors is not None else None, sparse,
                                   limit=self.candidates, fields=_FIELDS)
        dense_hits = without_cut_ties(result.dense, self.candidates)
        if written and vectors is not None:
            dense_hits = self._with_windows(dense_hits, vectors[1:2], penalty=0.0)
        if vectors is not None and len(vectors) > 1 + len(written):
            dense_hits = self._with_windows(dense_hits, vectors[1 + len(written):])
        lexical_hits = without_cut_ties(result.lexical, self.candidates)
        ranked = rank_articles(dense_hits, lexical_hits, self.mode, self.fusion, language=language,
                               lexical_weight=self.lexical_weight, cross_language_bonus=self.cross_language_bonus,
                               within_language=self.within_language)
        if self.reranker is not None and self.mode == "hybrid":
            ranked = self.reranker.rerank(ranked, str(language) if language else None)
        return ranked[:limit]

    def _with_windows(self, whole: list[Hit], windows: np.ndarray, penalty: float = WINDOW_PENALTY) -> list[Hit]:
        """Each chunk's best cosine over the whole message and its other readings (less `penalty`)."""
        best = {h.id: h for h in whole}
        for vector in windows:
            found = self.store.search(self.alias, vector, None, limit=self.candidates, fields=_FIELDS).dense
            for h in without_cut_ties(found, self.candidates):
                score = h.score - penalty
                if h.id not in best or score > best[h.id].score:
                    best[h.id] = Hit(h.id, score, h.payload)
        return sorted(best.values(), key=lambda h: (-h.score, h.id))


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
    return [h for h in hits if not _same_score(h.score, last)]


def rank_articles(dense: list[Hit], lexical: list[Hit], mode: Mode, fusion: Fusion = "weighted", *,
                  language: Language | None = None, lexical_weight: float = LEXICAL_WEIGHT,
                  cross_language_bonus: float = CROSS_LANGUAGE_BONUS, within_language: bool = True) -> list[Match]:
    """Group chunk hits by article and score each by its best chunks (an article in another language than
    `language` with `cross_language_bonus` on its cosine). With `within_language`, each language's lexically
    best candidate is its zero: the lexical part orders articles within a language and never across.

    `weighted` orders articles by the combined score; `rrf` by their best chunk's reciprocal-rank-fused score
    (`rrf_scores`; the combined score is still what confidence reads). Measured on the golden messages: see
    docs/benchmarks.md.

        >>> from kb.store import Hit
        >>> hit = lambda i, s, a: Hit(i, s, {"article_id": a, "language": "nl", "text": i, "kind": "claim"})
        >>> [(m.article_id, m.score) for m in rank_articles([hit("1", 0.90, "a"), hit("2", 0.89, "b")],
        ...                                                    [hit("2", 10.0, "b")], "hybrid")]
        [('b', 0.89), ('a', 0.85)]
    """
    best_dense: dict[str, Hit] = {}
    best_view: dict[tuple[str, bool], float] = {}  # (article, query-embedded kind?) -> best cosine
    for hit in dense:
        article_id = hit.payload["article_id"]
        best_dense.setdefault(article_id, hit)  # hits come best first
        best_view.setdefault((article_id, hit.payload.get("kind") in QUERY_KINDS), hit.score)
    best_lex: dict[str, Hit] = {}
    for hit in lexical:
        article_id = hit.payload["article_id"]
        # Chunks of one article often tie on BM25, and which comes first is storage order (another on a server):
        # the tie goes to a chunk in the article's own language, then to the smallest id, since the chunk's
        # language decides which language its lexical evidence is compared in.
        if article_id not in best_lex or (_same_score(hit.score, best_lex[article_id].score)
                                          and _tie_key(hit) < _tie_key(best_lex[article_id])):
            best_lex[article_id] = hit
    # An article the dense search did not return scores no better than the last one it did.
    floor = min((h.score for h in dense), default=0.0)
    candidates = dict.fromkeys(h.payload["article_id"] for h in [*dense, *lexical])
    shown_hits = {a: _shown(best_dense.get(a), best_lex.get(a), mode) for a in candidates}
    # Lexical evidence is compared within one language only: each language's best BM25 among the candidates is
    # its zero, so across languages the encoder alone decides (see the module docstring).
    # An article's lexical evidence belongs to the language of the words that matched: its best lexical chunk's
    # (an editor's claim in the other language competes with that language's articles, not its own).
    words_in = {a: text_language((best_lex.get(a) or shown).payload) for a, shown in shown_hits.items()}
    leader: dict[str, float] = {}
    for article_id in shown_hits:
        lx = best_lex.get(article_id)
        lang = words_in[article_id]
        leader[lang] = max(leader.get(lang, 0.0), lexical_part(lx.score) if lx else 0.0)
    matches = []
    for article_id, shown in shown_hits.items():
        d, lx = best_dense.get(article_id), best_lex.get(article_id)
        d_score, l_score = (d.score if d else floor), (lx.score if lx else 0.0)
        lang = str(shown.payload.get("language", ""))
        if language is not None and lang and lang != str(language):
            d_score += cross_language_bonus
        score = combine(d_score, l_score, mode, lexical_weight)
        if mode == "hybrid" and within_language:
            score -= lexical_weight * leader.get(words_in[article_id], 0.0)
        matches.append(Match(article_id, shown.payload.get("language", ""), round(score, 6),
                             round(d_score, 6), round(l_score, 6), shown.payload.get("text", ""),
                             shown.payload.get("kind", ""), tuple(shown.payload.get("translations") or ()),
                             dense_query=round(best_view.get((article_id, True), floor), 6),
                             dense_passage=round(best_view.get((article_id, False), floor), 6)))
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


def _same_score(a: float, b: float) -> bool:
    """Equal up to float32 noise (a server's scores) against float64 (local mode)."""
    return abs(a - b) <= 1e-6 * max(1.0, abs(b))


def _tie_key(hit: Hit) -> tuple[bool, str]:
    return text_language(hit.payload) != str(hit.payload.get("language", "")), hit.id


def _shown(d: Hit | None, lx: Hit | None, mode: Mode) -> Hit:
    """The chunk shown to the agent: the one that matched most convincingly in the mode that counts most."""
    shown = d if d is not None and (lx is None or mode != "lexical") else lx
    assert shown is not None
    return shown


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
            if group_score is None or not _same_score(hit.score, group_score):
                rank, group_score = position, hit.score
            fused[hit.id] = fused.get(hit.id, 0.0) + 1 / (rank + RRF_K)
    return fused
