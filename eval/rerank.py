"""Fit the second-stage re-ranker (kb.rerank) on dev messages only, cross-validated by message.

Training data: the dev messages of the sample KB (golden dev: core, extra and the blind dev half), policyqa-nl's
dev questions and CheckThat 2020's dev tweets, each ranked by the first stage over its own knowledge base
(eval.workbench: the service's retrieval code over the cached vectors). A message whose right article is among
the first `TOP` candidates gives one group; the conditional logit is fitted by Newton's method with an L2 penalty
(eight weights: no library needed). Five folds by message id estimate how often the second stage fixes a first
place the first stage got wrong, and how often it breaks one it got right; the shipped weights are fitted on
every group.

    >>> x = [np.array([[1.0], [0.0]]), np.array([[0.0], [1.0]])]
    >>> float(fit_conditional_logit(x, [0, 1], l2=0.1)[0]) > 0
    True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from eval.metrics import fold_of
from eval.newton import minimise
from eval.workbench import Ask, Variant, Workbench
from kb.rerank import FEATURES, TOP, Reranker, features

FOLDS = 5
L2 = 1.0


@dataclass(frozen=True)
class Group:
    """The first stage's best few candidates for one message, and which is right (-1: none of them)."""

    message_id: str
    corpus: str
    kind: str
    x: np.ndarray
    right: int
    cross: bool  # the right article is in another language than the message


def collect(bench: Workbench, variant: Variant, asks: Sequence[Ask], top: int = TOP) -> list[Group]:
    groups = []
    languages = {a.id: str(a.meta.language) for a in bench.corpus.articles}
    for q in asks:
        if not q.relevant:
            continue
        head = bench.rank(variant, q, limit=top)
        if not head:
            continue
        right = next((i for i, m in enumerate(head) if m.article_id in q.relevant or
                      set(m.translations) & q.relevant), -1)
        cross = all(languages.get(r) != str(q.language) for r in q.relevant)
        groups.append(Group(q.id, bench.corpus.name, q.kind, np.array(features(head, str(q.language))), right,
                            cross))
    return groups


def fit_conditional_logit(x: Sequence[np.ndarray], right: Sequence[int], l2: float = L2,
                          steps: int = 100) -> np.ndarray:
    """Weights maximising sum log softmax(x_g w)[right_g] - l2/2 |w|^2 (groups with right -1 are skipped), by
    damped Newton steps (eval.newton: with eight candidates a head, plain steps overshot on the last ones' large
    cosine gaps and ended at weights in the hundreds)."""
    used = [(xg, r) for xg, r in zip(x, right, strict=True) if r >= 0]
    return minimise(lambda w: _penalised_loss(used, w, l2), np.zeros(x[0].shape[1]), steps=steps)


def _penalised_loss(groups: Sequence[tuple[np.ndarray, int]], w: np.ndarray,
                    l2: float) -> tuple[float, np.ndarray, np.ndarray]:
    """-sum log softmax(x_g w)[right_g] + l2/2 |w|^2, its gradient and its Hessian: what the fit minimises."""
    loss, gradient, hessian = l2 / 2 * float(w @ w), l2 * w, l2 * np.eye(len(w))
    for xg, r in groups:
        z = xg @ w
        top = float(z.max())
        p = np.exp(z - top)
        total = float(p.sum())
        p /= total
        mean = xg.T @ p
        loss += top + float(np.log(total)) - float(z[r])
        gradient = gradient + mean - xg[r]
        hessian = hessian + xg.T @ (xg * p[:, None]) - np.outer(mean, mean)
    return loss, gradient, hessian


def _fold(message_id: str) -> int:
    return fold_of(message_id, FOLDS)


def cross_validate(groups: Sequence[Group], l2: float = L2) -> list[tuple[Group, int]]:
    """Each group with the candidate a model fitted without its fold puts first."""
    out = []
    for fold in range(FOLDS):
        train = [g for g in groups if _fold(f"{g.corpus}/{g.message_id}") != fold]
        w = fit_conditional_logit([g.x for g in train], [g.right for g in train], l2)
        out += [(g, int(np.argmax(g.x @ w))) for g in groups if _fold(f"{g.corpus}/{g.message_id}") == fold]
    return out


def fixes_and_breaks(judged: Sequence[tuple[Group, int]]) -> dict[str, Any]:
    """Per corpus: messages, first place right before and after, fixed (wrong -> right) and broken."""
    out: dict[str, Any] = {}
    for corpus in sorted({g.corpus for g, _ in judged}):
        part = [(g, top) for g, top in judged if g.corpus == corpus]
        before = sum(g.right == 0 for g, _ in part)
        after = sum(g.right == top for g, top in part)
        out[corpus] = {"messages": len(part), "first right before": before, "first right after": after,
                       "fixed": sum(g.right == top != 0 for g, top in part),
                       "broken": sum(g.right == 0 != top for g, top in part)}
    return out


def fit_reranker(groups: Sequence[Group], model_id: str, l2: float = L2,
                 log: Callable[[str], None] = print) -> Reranker:
    w = fit_conditional_logit([g.x for g in groups], [g.right for g in groups], l2)
    corpora = ", ".join(f"{c} {sum(g.corpus == c for g in groups)}" for c in sorted({g.corpus for g in groups}))
    log("weights: " + ", ".join(f"{n} {v:+.3f}" for n, v in zip(FEATURES, w, strict=True)))
    return Reranker(model_id, FEATURES, tuple(round(float(v), 6) for v in w),
                    f"dev messages only ({corpora}); top {TOP} candidates each; L2 {l2}")
