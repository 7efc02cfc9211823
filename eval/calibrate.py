"""Calibrate confidence on the dev messages only: fit kb.confidence's logistic model and propose the tiers.

Every dev message (golden `dev` files and the `dev` half of the labelled Dutch tweets) is ranked the way the
service ranks it; each of its first `TOP` candidates becomes one row (kb.confidence.features), labelled 1 when it
is the expected article. The model is fitted by Newton's method with a little L2 regularisation (a few hundred
rows and six features: no library needed). Test messages are never read here.

Thresholds are proposed from out-of-fold probabilities (5-fold by message), so they are not fitted to the same
rows they are judged on:

- `low`, the no-match line: set only on messages written without seeing the articles' claims (the blind dev
  files, `golden_dev_*blind*.jsonl`, and with `--line-dataset` a public set's dev questions, e.g. policyqa-nl),
  never on the core and extra sets whose words come from the claims: the highest probability at which
  `LINE_SHOWN` of those answerable messages whose right article ranks first still get it shown (without such
  messages: the probability that handles most golden dev messages right);
- `high`: the lowest probability from which the top suggestion is right for at least 95% of the messages at or
  above it (no-article messages count as wrong whenever they get a suggestion), raised further, if need be,
  until at most 1% of the dev tweets without an article reach it;
- `medium`: the lowest probability from which the suggestions an agent is shown (each message's first three at
  or above `low`) that fall below `high` are right for at least 80% of them, judged only where at least
  `MIN_BAND` suggestions fall in that band. That is the medium tier's own precision, not one lifted by the high
  suggestions above it (the rule before this one measured "at or above", which the high ones carried past 80%
  from the no-match line up, so `medium` sat on `low` and no suggestion was ever `low`). What remains between
  `low` and `medium` is the `low` tier: shown, and right about one time in three on the dev data.

    >>> w = fit_logistic(np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0.0, 0.0, 1.0, 1.0]))
    >>> bool(w[1] > 0)
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.golden import GoldenMessage
from eval.metrics import fold_of
from eval.newton import minimise
from kb.confidence import FEATURES, Calibration, features
from kb.engine import Engine
from kb.language import detect_language
from kb.normalize import normalize
from kb.retrieval import Match

#: Candidates of each message the model is fitted on (the agent sees at most three).
TOP = 5
FOLDS = 5
#: Suggestions an agent sees per message (the page's and the API's default limit).
SHOWN = 3
#: Fewest suggestions between a candidate `medium` and `high` to judge that band's precision on.
MIN_BAND = 10
#: Share of the line messages whose right article ranks first that must stay above the no-match line.
LINE_SHOWN = 0.99


@dataclass(frozen=True)
class Row:
    """One candidate of one message."""

    message_id: str
    rank: int
    x: tuple[float, ...]
    right: bool  # the candidate is the expected article
    answerable: bool  # the message has an expected article at all
    source: str  # "golden", "tweets" or "dataset" (a public set's dev questions: they only set the line)
    line: bool = False  # written without seeing the claims: may set the no-match line


def collect(engine: Engine, messages: Sequence[GoldenMessage], *, source: str = "golden",
            line: Collection[str] = (), progress: Callable[[int, int], None] | None = None) -> list[Row]:
    """The feature rows of each message's first TOP candidates, ranked as the service ranks them; messages whose
    id is in `line` may set the no-match line."""
    rows: list[Row] = []
    for n, msg in enumerate(messages):
        language = detect_language(msg.text).language
        rows += candidate_rows(msg.id, engine.suggester.rank(msg.text, language)[:TOP], msg.expected,
                               words=len(normalize(msg.text).split()), language=str(language), source=source,
                               line=msg.id in line)
        if progress:
            progress(n + 1, len(messages))
    return rows


def candidate_rows(message_id: str, ranked: Sequence[Match], expected: str | None, *, words: int, language: str,
                   source: str, line: bool) -> list[Row]:
    return [Row(message_id, i, tuple(f[name] for name in FEATURES), match.article_id == expected,
                expected is not None, source, line)
            for i, match in enumerate(ranked)
            for f in [features(ranked, i, words=words, language=language)]]


def no_match_line(rows: Sequence[Row], probabilities: Sequence[float], shown: float = LINE_SHOWN) -> float:
    """The highest probability (to 0.001, rounded down) at which `shown` of the line messages whose right article
    ranks first keep it; 0 without line messages.

        >>> rows = [Row(str(i), 0, (), True, True, "golden", True) for i in range(4)]
        >>> no_match_line(rows, [0.2, 0.5, 0.6, 0.9], shown=0.75)
        0.5
    """
    right_first = sorted(p for p, r in zip(probabilities, rows, strict=True) if r.line and r.rank == 0 and r.right)
    if not right_first:
        return 0.0
    return math.floor(right_first[int((1 - shown) * len(right_first))] * 1000) / 1000


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 0.01, steps: int = 50) -> np.ndarray:
    """Weights (intercept first) of a logistic regression on standardised `x` (the intercept not penalised), by
    damped Newton steps (eval.newton)."""
    z = np.c_[np.ones(len(x)), x]
    penalty = l2 * np.diag(np.r_[0.0, np.ones(z.shape[1] - 1)])

    def objective(w: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        logits = np.clip(z @ w, -60, 60)
        p = 1.0 / (1.0 + np.exp(-logits))
        loss = float(np.sum(np.logaddexp(0.0, logits) - y * logits)) + float(w @ penalty @ w) / 2
        return loss, z.T @ (p - y) + penalty @ w, (z * (p * (1 - p))[:, None]).T @ z + penalty

    return minimise(objective, np.zeros(z.shape[1]), steps=steps, tolerance=1e-8, ridge=1e-9)


def fit_calibration(rows: Sequence[Row], model_id: str, fitted_on: str) -> Calibration:
    x = np.array([r.x for r in rows], dtype=float)
    y = np.array([1.0 if r.right else 0.0 for r in rows])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    w = fit_logistic((x - mean) / scale, y)
    return Calibration(model_id=model_id, features=FEATURES, mean=tuple(round(float(v), 6) for v in mean),
                       scale=tuple(round(float(v), 6) for v in scale), weights=tuple(round(float(v), 6) for v in w),
                       fitted_on=fitted_on)


def _fold(message_id: str) -> int:
    return fold_of(message_id, FOLDS)


def out_of_fold(rows: Sequence[Row], model_id: str) -> list[float]:
    """Each row's probability from a model fitted without its message's fold."""
    probabilities = [0.0] * len(rows)
    for fold in range(FOLDS):
        train = [r for r in rows if _fold(r.message_id) != fold]
        cal = fit_calibration(train, model_id, "fold")
        for i, r in enumerate(rows):
            if _fold(r.message_id) == fold:
                probabilities[i] = cal.probability(r.x)
    return probabilities


@dataclass(frozen=True)
class Proposal:
    low: float
    medium: float
    high: float
    low_accuracy: float
    medium_precision: float  # share right of the shown suggestions in [medium, high)
    high_precision: float  # share right of the top suggestions at or above high
    high_coverage: float  # share of answerable golden messages whose top suggestion reaches `high`
    tweets_shown: float | None  # share of dev tweets without an article that get any suggestion at `low`
    tweets_high: float | None  # ... and that get a `high` one
    low_precision: float = 0.0  # share right of the shown suggestions in [low, medium)
    tiers: dict[str, int] | None = None  # shown suggestions per tier (before the short-message/stale caps)


def propose(rows: Sequence[Row], probabilities: Sequence[float], *, high: float = 0.95,
            medium: float = 0.80, off_topic_high: float = 0.01) -> Proposal:
    """Thresholds from (out-of-fold) probabilities; see the module docstring."""
    tops = [(p, r) for p, r in zip(probabilities, rows, strict=True) if r.rank == 0 and r.source != "dataset"]
    golden = [(p, r) for p, r in tops if r.source == "golden"]
    grid = sorted({round(p, 3) for p, _ in tops})

    def precision_from(t: float) -> tuple[float, int]:
        above = [r for p, r in tops if p >= t]
        return (sum(r.right for r in above) / len(above) if above else 1.0), len(above)

    def lowest_with(target: float, floor: float) -> float:
        lowest = None
        for t in reversed([g for g in grid if g >= floor]):
            precision, support = precision_from(t)
            if support < 5:
                continue
            if precision < target:
                break
            lowest = t
        return lowest if lowest is not None else 1.0

    shown_right = {r.message_id: p for p, r in zip(probabilities, rows, strict=True) if r.right and r.rank < SHOWN}
    best_low, best_accuracy = 0.0, -1.0
    for t in grid:
        right = sum((p < t) if not r.answerable else shown_right.get(r.message_id, -1.0) >= t for p, r in golden)
        accuracy = right / len(golden) if golden else 0.0
        if accuracy > best_accuracy:
            best_low, best_accuracy = t, accuracy
    if any(r.line for r in rows):  # the line from the line messages alone; the accuracy it gives on golden dev
        best_low = no_match_line(rows, probabilities)
        right = sum((p < best_low) if not r.answerable else shown_right.get(r.message_id, -1.0) >= best_low
                    for p, r in golden)
        best_accuracy = right / len(golden) if golden else 0.0
    t_high = max(best_low, lowest_with(high, best_low))
    tweets = [p for p, r in tops if r.source == "tweets" and not r.answerable]
    while tweets and t_high < 1.0 and sum(p >= t_high for p in tweets) > off_topic_high * len(tweets):
        t_high = next((g for g in grid if g > t_high), 1.0)
    shown = [(p, r) for p, r in zip(probabilities, rows, strict=True)
             if r.rank < SHOWN and p >= best_low and r.source != "dataset"]
    t_medium = medium_line(shown, grid, low=best_low, high=t_high, target=medium)
    answerable = [(p, r) for p, r in golden if r.answerable]
    return Proposal(
        low=best_low, medium=t_medium, high=t_high, low_accuracy=round(best_accuracy, 4),
        medium_precision=round(_band_precision(shown, t_medium, t_high), 4),
        high_precision=round(precision_from(t_high)[0], 4),
        high_coverage=round(sum(p >= t_high for p, _ in answerable) / len(answerable), 4) if answerable else 0.0,
        tweets_shown=round(sum(p >= best_low for p in tweets) / len(tweets), 4) if tweets else None,
        tweets_high=round(sum(p >= t_high for p in tweets) / len(tweets), 4) if tweets else None,
        low_precision=round(_band_precision(shown, best_low, t_medium), 4),
        tiers={"high": sum(p >= t_high for p, _ in shown), "medium": sum(t_medium <= p < t_high for p, _ in shown),
               "low": sum(p < t_medium for p, _ in shown)},
    )


def medium_line(shown: Sequence[tuple[float, Row]], grid: Sequence[float], *, low: float, high: float,
                target: float) -> float:
    """The lowest grid probability t in [low, high) from which the shown suggestions in [t, high) are right for
    at least `target` of them, with at least MIN_BAND of them; `high` (an empty medium tier) when none is.

        >>> rows = [Row(str(i), 0, (), right=i >= 8, answerable=True, source="golden") for i in range(20)]
        >>> shown = [(i / 20, r) for i, r in enumerate(rows)]
        >>> medium_line(shown, [i / 20 for i in range(20)], low=0.0, high=0.9, target=0.8)
        0.3
    """
    for t in sorted(g for g in grid if low <= g < high):
        band = [r for p, r in shown if t <= p < high]
        if len(band) >= MIN_BAND and sum(r.right for r in band) >= target * len(band):
            return t
    return high


def _band_precision(shown: Sequence[tuple[float, Row]], lo: float, hi: float) -> float:
    band = [r for p, r in shown if lo <= p < hi]
    return sum(r.right for r in band) / len(band) if band else 0.0


def dataset_line_rows(engine: Engine, root: Path, progress: Callable[[int, int], None] | None = None) -> list[Row]:
    """Rows for the no-match line from a public set's dev questions (`root/queries_dev.jsonl`, e.g. policyqa-nl),
    ranked by the engine's own retrieval settings over that set's targets held in memory (eval.workbench; every
    text embedded once through the evaluation cache in KB_DATA_DIR/eval). Every question has its answer, so these
    rows only ever push the line down."""
    from eval.workbench import Variant, Workbench, dataset_corpus

    corpus = dataset_corpus(root)
    corpus.queries = corpus.split("dev")
    retriever = engine.retriever
    # the cache `kb eval dataset` and `kb eval ablation` fill, so a set embedded once is never embedded again
    bench = Workbench.load(corpus, engine.settings, engine.settings.data_dir / "eval" / "embeddings.sqlite",
                           log=lambda _: None)
    variant = Variant("service", retriever={"lexical_weight": retriever.lexical_weight,
                                            "cross_language_bonus": retriever.cross_language_bonus,
                                            "reranker": retriever.reranker, "fusion": retriever.fusion})
    rows: list[Row] = []
    for n, q in enumerate(corpus.queries):
        ranked = bench.rank(variant, q, limit=TOP)
        expected = next(iter(q.relevant), None)
        rows += candidate_rows(q.id, ranked, expected, words=len(normalize(q.text).split()), language=str(q.language),
                               source="dataset", line=True)
        if progress:
            progress(n + 1, len(corpus.queries))
    return rows
