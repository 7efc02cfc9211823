"""Fit the near-repeat measure (kb.near_repeat) on the dev messages, and show how well it separates.

Positives are each dev message and two lightly edited copies of it (eval.surge, seeded); negatives are every
pair of two different dev messages, told apart into pairs about the same article (real rephrasings, which
learned evidence must *not* treat as repeats unless they are near-identical) and pairs about different articles
(which it must never join). The common direction is the mean vector of the dev messages; the cut is set a
`MARGIN` above the most similar pair of dev messages about different articles, so that on dev no such pair is
joined with room to spare, and the share of copies it keeps is reported beside it. Messages of at most
`short_words` words are left out, as kb.learned leaves them out.

    >>> measure, figures = fit_near_repeat(embedder, load_golden(split="dev"))  # doctest: +SKIP
    >>> figures["copies_kept"]  # doctest: +SKIP
    0.95
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from eval.golden import GoldenMessage
from eval.surge import copies
from kb.models import Embedder
from kb.near_repeat import NearRepeat, jaccard, trigrams
from kb.normalize import Message

#: How far above the closest dev pair about different articles the cut is set.
MARGIN = 0.10
COPIES = 2


@dataclass(frozen=True)
class _Text:
    text: str
    article: str | None
    original: int  # index of the message it is a copy of (itself for an original)


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    if not len(pos) or not len(neg):
        return float("nan")
    scores = np.concatenate([pos, neg])
    order = scores.argsort(kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores):  # average ranks of ties
        tied = scores == value
        ranks[tied] = ranks[tied].mean()
    return float((ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def pair_features(vectors: np.ndarray, grams: Sequence[frozenset[str]], mean: np.ndarray,
                  pairs: np.ndarray) -> dict[str, np.ndarray]:
    """Raw cosine, centred cosine, trigram Jaccard and their combination for each pair (row indices)."""
    centred = vectors - mean
    centred /= np.clip(np.linalg.norm(centred, axis=1, keepdims=True), 1e-12, None)
    a, b = pairs[:, 0], pairs[:, 1]
    raw = (vectors[a] * vectors[b]).sum(1)
    cen = (centred[a] * centred[b]).sum(1)
    tri = np.array([jaccard(grams[i], grams[j]) for i, j in pairs])
    return {"cosine": raw, "centred": cen, "trigrams": tri, "combined": (cen + tri) / 2}


@dataclass(frozen=True)
class PairSet:
    """Dev (or test) messages with their copies, embedded, and the pairs the figures are made of."""

    vectors: np.ndarray
    grams: list[frozenset[str]]
    originals: np.ndarray  # row of each original message
    copies: np.ndarray  # (original row, copy row)
    same: np.ndarray  # two different messages about the same article
    other: np.ndarray  # two messages about different articles (or one without an article)


def pair_set(embedder: Embedder, messages: Sequence[GoldenMessage], *, seed: int = 7,
             short_words: int = 4) -> PairSet:
    """`messages` of more than `short_words` words, `COPIES` edited copies of each (seeded), embedded as the
    retriever embeds a message; pairs of two messages without an article are left out (nothing is learned from
    either)."""
    rng = random.Random(seed)
    texts: list[_Text] = []
    for m in messages:
        if Message.of(m.text).words <= short_words:
            continue
        at = len(texts)
        texts.append(_Text(m.text, m.expected, at))
        texts += [_Text(c, m.expected, at) for c in copies(m.text, COPIES, rng, language=m.language)]
    vectors = np.asarray(embedder.embed([Message.of(t.text).text for t in texts], kind="query"), np.float32)
    first = [i for i, t in enumerate(texts) if t.original == i]
    same: list[tuple[int, int]] = []
    other: list[tuple[int, int]] = []
    for x, i in enumerate(first):
        for j in first[x + 1:]:
            a, b = texts[i].article, texts[j].article
            if a is not None or b is not None:
                (same if a == b else other).append((i, j))
    return PairSet(vectors, [trigrams(t.text) for t in texts], np.array(first),
                   np.array([(t.original, i) for i, t in enumerate(texts) if t.original != i]).reshape(-1, 2),
                   np.array(same).reshape(-1, 2), np.array(other).reshape(-1, 2))


def separation(pairs: PairSet, mean: np.ndarray, cut: float) -> dict[str, Any]:
    """How well the measure with `mean` and `cut` separates copies from other messages on `pairs`."""
    pos = pair_features(pairs.vectors, pairs.grams, mean, pairs.copies)
    same = pair_features(pairs.vectors, pairs.grams, mean, pairs.same)
    other = pair_features(pairs.vectors, pairs.grams, mean, pairs.other)
    kept = pos["combined"] >= cut
    joined_same = int((same["combined"] >= cut).sum())
    joined_other = int((other["combined"] >= cut).sum())
    good = int(kept.sum()) + joined_same
    return {
        "messages": len(pairs.originals), "copies": len(pairs.copies), "pairs_same_article": len(pairs.same),
        "pairs_other_article": len(pairs.other), "cut": cut,
        "closest_other_article_pair": round(float(other["combined"].max()), 4) if len(pairs.other) else 0.0,
        "copies_kept": round(float(kept.mean()), 4), "same_article_pairs_joined": joined_same,
        "other_article_pairs_joined": joined_other,
        "precision": round((good + 1) / (good + joined_other + 2), 4),
        **{f"auc_{name}": round(_auc(pos[name], np.concatenate([same[name], other[name]])), 4) for name in pos},
        **{f"auc_{name}_same_article": round(_auc(pos[name], same[name]), 4) for name in pos},
        **{f"median_copy_{name}": round(float(np.median(pos[name])), 4) for name in pos},
    }


def fit_near_repeat(embedder: Embedder, messages: Sequence[GoldenMessage], *, seed: int = 7,
                    short_words: int = 4) -> tuple[NearRepeat, dict[str, Any]]:
    """The measure fitted on `messages` (dev only) and its separation figures there."""
    pairs = pair_set(embedder, messages, seed=seed, short_words=short_words)
    mean = pairs.vectors[pairs.originals].mean(axis=0).astype(np.float32)
    other = pair_features(pairs.vectors, pairs.grams, mean, pairs.other)["combined"]
    closest = float(other.max()) if len(other) else 0.0
    cut = math.ceil((closest + MARGIN) * 100) / 100
    figures = separation(pairs, mean, cut)
    measure = NearRepeat(model_id=embedder.model_id, mean=mean, cut=cut, precision=figures["precision"],
                         fitted_on=f"{figures['messages']} golden dev messages (more than {short_words} words) and "
                         f"{figures['copies']} edited copies (eval/surge.py, seed {seed})",
                         separation={k: v for k, v in figures.items() if isinstance(v, float)})
    return measure, figures
