"""The second stage: a small learned model re-orders the first few candidates of a ranking.

The first stage (kb.retrieval) ranks every article by one fused score. For some messages the right article is
second or third: its claims match the message less well than another article's, but its answer matches better,
or the lexical evidence points the other way. The re-ranker reads what the first stage already computed for each
of the first `top` candidates (`FEATURES`: how far its fused score, its best cosine, its best claim or title
cosine and its best answer or background cosine are below the best candidate's; its share of the message's
words; whether it is in the message's language, and the words' share when it is) and scores them with a
conditional logit: P(candidate i is right | these candidates) = softmax(w . x_i). It is fitted per embedding
model on dev messages only (`kb eval rerank --write`, eval/rerank.py), cross-validated by message, and shipped
as small weights next to the confidence calibration (`kb/calibration/<model>.rerank.json`).

    >>> from kb.retrieval import Match
    >>> a = Match("a", "nl", 0.90, 0.90, 0.0, "t", "claim", dense_query=0.90, dense_passage=0.80)
    >>> b = Match("b", "nl", 0.89, 0.89, 0.0, "t", "claim", dense_query=0.85, dense_passage=0.88)
    >>> r = Reranker("m", FEATURES, (0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0), "doc", top=2)
    >>> [m.article_id for m in r.rerank([a, b], "nl")]
    ['b', 'a']
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from kb.errors import ConfigError
from kb.fitted import load_fitted
from kb.models import file_slug
from kb.retrieval import Match, lexical_part

#: What the re-ranker reads of each candidate (see `features`).
FEATURES = ("score_gap", "dense_gap", "query_gap", "passage_gap", "lexical", "same_language", "lexical_same",
            "first")
#: Candidates re-ordered; the rest keep their places after them.
TOP = 5
#: Cosine gaps are hundredths: scaled so one unit is 0.02 of cosine (the spread among close candidates).
_GAP = 50.0
BUNDLED = Path(__file__).resolve().parent / "calibration"


def features(head: Sequence[Match], language: str | None) -> list[list[float]]:
    """One row of FEATURES per candidate of `head` (the first stage's best few, best first)."""
    best = {k: max(getattr(m, k) for m in head) for k in ("score", "dense", "dense_query", "dense_passage")}
    rows = []
    for i, m in enumerate(head):
        same = 1.0 if language is None or not m.language or m.language == language else 0.0
        lex = lexical_part(m.lexical)
        rows.append([_GAP * (m.score - best["score"]), _GAP * (m.dense - best["dense"]),
                     _GAP * (m.dense_query - best["dense_query"]), _GAP * (m.dense_passage - best["dense_passage"]),
                     lex, same, lex * same, 1.0 if i == 0 else 0.0])
    return rows


@dataclass(frozen=True)
class Reranker:
    """Weights of a conditional logit over FEATURES (no intercept: it would not change an order)."""

    model_id: str
    features: tuple[str, ...]
    weights: tuple[float, ...]
    fitted_on: str
    top: int = TOP

    def probabilities(self, head: Sequence[Match], language: str | None) -> list[float]:
        """P(each candidate of `head` is the right one, given that one of them is)."""
        z = [sum(w * v for w, v in zip(self.weights, row, strict=True)) for row in features(head, language)]
        peak = max(z)
        e = [math.exp(v - peak) for v in z]
        return [v / sum(e) for v in e]

    def rerank(self, ranked: Sequence[Match], language: str | None) -> list[Match]:
        """`ranked` with its first `top` candidates re-ordered by the model (ties keep the first stage's order)."""
        head, rest = list(ranked[: self.top]), list(ranked[self.top:])
        if len(head) < 2:
            return [*head, *rest]
        p = self.probabilities(head, language)
        order = sorted(range(len(head)), key=lambda i: (-round(p[i], 9), i))
        return [*(dataclasses.replace(head[i], rerank=round(p[i], 6)) for i in order), *rest]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str) -> Reranker:
        try:
            raw = json.loads(text)
            out = cls(str(raw["model_id"]), tuple(raw["features"]), tuple(map(float, raw["weights"])),
                      str(raw.get("fitted_on", "")), int(raw.get("top", TOP)))
        except (ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"re-ranker: {source} is not a re-ranker file ({e})") from e
        if out.features != FEATURES or len(out.weights) != len(FEATURES) or out.top < 2:
            raise ConfigError(f"re-ranker: {source} does not fit this version's features {FEATURES}")
        return out


def reranker_file(model_id: str) -> Path:
    return BUNDLED / f"{file_slug(model_id)}.rerank.json"


def load_reranker(model_id: str) -> Reranker | None:
    """The bundled re-ranker for `model_id`, or None (the first stage's order is then final)."""
    return load_fitted("re-ranker", model_id, reranker_file(model_id), parse=Reranker.from_json)
