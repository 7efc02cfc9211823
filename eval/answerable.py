"""Fit the answerability gate (kb.answerable) on messages written without seeing the articles' claims.

Training data: the blind dev half of the golden messages (`golden_dev_*blind*.jsonl`: written from article titles
only, a fifth of them needing no article) and the real Dutch dev tweets (`../shared/data/dutch-tweets`, almost all
without an article); never the core and extra dev sets, whose words come from the claims, and never a test
split. Each message is ranked and calibrated the way the service does it and becomes one row of
`kb.answerable.signals`, labelled by whether it has an article at all. Other knowledge bases' blind dev messages can
be pooled in (`kb eval answerable --also-kb`), each ranked by its own KB's engine: their rows carry the KB's name and
count as blind messages everywhere, so one gate is fitted, and its line chosen, on all of them.

The line is chosen out of fold (5 folds by message): the highest P(answerable) at which the blind dev messages
that get no match still have no article in at least `PRECISION` of cases (the tweets would make any line look
precise). What that line costs is printed beside it: how many blind dev messages whose right article ranks first
it hides.

    >>> rows = [GateRow(str(i), "blind", {"top_cosine": 0.8 + i / 100}, i >= 5, i >= 5) for i in range(10)]
    >>> choose_line(rows, [i / 10 for i in range(10)], precision=0.9)
    0.5
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from eval.calibrate import fit_logistic
from eval.golden import GoldenMessage
from eval.metrics import fold_of as fold_of_key
from kb.answerable import OPTIONAL, AnswerGate, signals
from kb.engine import Engine
from kb.language import detect_language
from kb.models import Embedder
from kb.normalize import Message
from kb.outside import OutsideRemit

#: What the bundled gate reads when no message kinds are classified.
RANKING_FEATURES = ("confidence_logit", "top_cosine", "mean_cosine", "lexical", "lexical_best", "log_words")
#: Read when the knowledge base has an outside list (kb.outside).
OUTSIDE_FEATURES = ("outside_cosine",)
KIND_FEATURES = ("kind_offtopic", "kind_thanks", "kind_spam")
FOLDS = 5
PRECISION = 0.90
L2 = 1.0


@dataclass(frozen=True)
class GateRow:
    """One message: what the gate reads, and what was true."""

    message_id: str
    source: str  # "blind" or "tweets"
    signal: Mapping[str, float]
    answerable: bool  # it has an article
    right_first: bool  # ... and the ranking puts it first
    shown: bool = True  # a candidate clears KB_THRESHOLD_LOW (without one, it is no match anyway)
    kb: str = ""  # which knowledge base ranked it ("" for the one being fitted for)


def collect(engine: Engine, messages: Sequence[GoldenMessage], *, source: str,
            kinds: Callable[[GoldenMessage], Mapping[str, float] | None] | None = None,
            progress: Callable[[int, int], None] | None = None, kb: str = "",
            outside: OutsideRemit | None = None) -> list[GateRow]:
    """One row per message, ranked and calibrated as `Suggester.suggest` does over `engine` (the KB named `kb`);
    `kinds` gives a message's kind probabilities where the service classifies kinds, `outside` the KB's outside
    list (kb.outside) where it has one."""
    rows = []
    low = engine.settings.threshold_low
    for n, msg in enumerate(messages):
        language = detect_language(msg.text).language
        ranked = engine.suggester.rank(msg.text, language)
        words = Message.of(msg.text).words
        confidence = engine.suggester.confidences(ranked, words=words, language=language)
        signal = signals(ranked, confidence, words=words, kinds=kinds(msg) if kinds else None,
                         outside=outside.cosine(msg.text) if outside is not None else None)
        rows.append(GateRow(msg.id, source, signal, msg.expected is not None,
                            bool(ranked) and ranked[0].article_id == msg.expected,
                            any(p >= low for p in confidence), kb))
        if progress:
            progress(n + 1, len(messages))
    return rows


def fit_gate(rows: Sequence[GateRow], features: Sequence[str], model_id: str, *, line: float = 0.5,
             fitted_on: str = "", l2: float = L2) -> AnswerGate:
    x = np.array([[r.signal.get(f, np.nan) if f in OPTIONAL else r.signal[f] for f in features] for r in rows],
                 dtype=float)
    # a KB without an outside list (kb.outside) lacks that feature: read as the mean, as the service reads it
    x = np.where(np.isnan(x), np.nanmean(x, axis=0), x)
    y = np.array([1.0 if r.answerable else 0.0 for r in rows])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    w = fit_logistic((x - mean) / scale, y, l2=l2)
    return AnswerGate(model_id, tuple(features), tuple(round(float(v), 6) for v in mean),
                      tuple(round(float(v), 6) for v in scale), tuple(round(float(v), 6) for v in w), line,
                      fitted_on)


def fold_of(row: GateRow) -> int:
    # another KB's ids are prefixed with its name (two KBs may both have a "dev-001"); the main KB's folds stay put
    key = f"{row.kb}/{row.message_id}" if row.kb else row.message_id
    return fold_of_key(key, FOLDS)


def out_of_fold(rows: Sequence[GateRow], features: Sequence[str], l2: float = L2) -> list[float]:
    """Each message's P(answerable) from a gate fitted without its fold."""
    out = [0.0] * len(rows)
    for fold in range(FOLDS):
        gate = fit_gate([r for r in rows if fold_of(r) != fold], features, "fold", l2=l2)
        for i, r in enumerate(rows):
            if fold_of(r) == fold:
                out[i] = gate.probability(r.signal)
    return out


def no_match(rows: Sequence[GateRow], probabilities: Sequence[float], line: float) -> list[bool]:
    """Which messages get no match: below the gate's line, or no candidate above KB_THRESHOLD_LOW."""
    return [p < line or not r.shown for p, r in zip(probabilities, rows, strict=True)]


def figures(rows: Sequence[GateRow], probabilities: Sequence[float], line: float) -> dict[str, Any]:
    """No-match precision and recall, and right-first answers kept, for the rows given."""
    nm = no_match(rows, probabilities, line)
    hits = sum(m and not r.answerable for m, r in zip(nm, rows, strict=True))
    unanswerable = sum(not r.answerable for r in rows)
    right_first = [m for m, r in zip(nm, rows, strict=True) if r.right_first]
    return {"messages": len(rows), "no_match": sum(nm),
            "precision": round(hits / sum(nm), 3) if sum(nm) else None,
            "recall": round(hits / unanswerable, 3) if unanswerable else None,
            "right_first_shown": f"{sum(not m for m in right_first)} of {len(right_first)}"}


def figures_by_part(rows: Sequence[GateRow], probabilities: Sequence[float], line: float) -> dict[str, dict[str, Any]]:
    """`figures` for each KB's blind and tweets rows apart ("blind", "randmeer blind", ...), and for all blind rows
    pooled ("blind, pooled") when more than one KB gave some: the line is chosen on the pooled ones.

        >>> rows = [GateRow("a", "blind", {}, False, False), GateRow("b", "blind", {}, True, True, kb="other")]
        >>> list(figures_by_part(rows, [0.1, 0.9], 0.5))
        ['blind', 'other blind', 'blind, pooled']
    """
    parts: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        parts.setdefault(f"{r.kb} {r.source}".strip(), []).append(i)
    if len({r.kb for r in rows if r.source == "blind"}) > 1:
        parts["blind, pooled"] = [i for i, r in enumerate(rows) if r.source == "blind"]
    return {name: figures([rows[i] for i in part], [probabilities[i] for i in part], line)
            for name, part in parts.items()}


def choose_line(rows: Sequence[GateRow], probabilities: Sequence[float], precision: float = PRECISION,
                recall: float | None = None) -> float:
    """The highest probability (to 0.001) at which the blind rows' no-match precision (every KB's, pooled) is at
    least `precision`, with at least five no-matches to judge it by; 0 (the gate lets everything through) when none
    is. With `recall`, the *lowest* such probability whose no-match recall on the blind rows is at least `recall`
    instead: the line that hides the fewest answers while still turning away that share of the messages without an
    article (an organisation that would rather show a right answer as `low` than turn one more message away).

        >>> rows = [GateRow(str(i), "blind", {}, i >= 10, i >= 10) for i in range(20)]
        >>> p = [0.05 * (i + 1) for i in range(10)] + [0.22, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.99]
        >>> choose_line(rows, p, precision=0.75), choose_line(rows, p, precision=0.75, recall=0.9)
        (0.7, 0.5)
    """
    blind = [(p, r) for p, r in zip(probabilities, rows, strict=True) if r.source == "blind"]
    unanswerable = sum(not r.answerable for _, r in blind)
    fits = []
    for t in sorted({round(p, 3) for p, _ in blind}):
        nm = [r for p, r in blind if p < t or not r.shown]
        turned_away = sum(not r.answerable for r in nm)
        if len(nm) >= 5 and turned_away >= precision * len(nm) and (
                recall is None or turned_away >= recall * unanswerable):
            fits.append(t)
    if not fits:
        return 0.0
    return min(fits) if recall is not None else max(fits)


def out_of_fold_kinds(embedder: Embedder) -> dict[str, dict[str, float]]:
    """The kind probabilities of every kinds dev message (eval.kinds) from a kind model fitted without its fold,
    by message id: the shipped kind model was fitted on these same messages, so its own probabilities on them are
    sharper than on any new message, and a gate fitted on those would trust them too much. The rules come first,
    as in the service (their dev precision as the probability of their kind)."""
    from eval.kinds import embed_messages, feature_matrix, load_kind_messages
    from eval.kinds_fit import KINDS, out_of_fold
    from kb.kinds import advert, insult, load_kind_model

    model = load_kind_model(embedder.model_id)
    if model is None:
        return {}
    dev = load_kind_messages(split="dev")
    x = feature_matrix(dev, embed_messages(embedder, dev))
    y = np.array([KINDS.index(m.kind) for m in dev])
    p = out_of_fold(x, y, [m.id for m in dev], l2=model.fitted_with.get("l2", 1.0),
                    balance=model.fitted_with.get("balance", 0.5))
    out = {}
    for m, row in zip(dev, p, strict=True):
        raw = Message.of(m.text).raw
        if insult(raw):
            out[m.id] = {"abuse": model.rule_precision.get("insult", 1.0)}
        elif advert(raw):
            out[m.id] = {"spam": model.rule_precision.get("advert", 1.0)}
        else:
            out[m.id] = {k: float(q) for k, q in zip(KINDS, row, strict=True)}
    return out
