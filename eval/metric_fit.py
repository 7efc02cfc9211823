"""A learned linear metric over the encoder's vectors, fitted on dev messages: measured, not adopted (issue 24;
docs/benchmarks.md, "A learned metric over the encoder's vectors").

Every vector (articles' chunks and messages alike) is mapped by `M = I + D` after the shipped Dutch-English axis
is projected out, then normalised again; `D` (384 x 384) is fitted so that each dev message's right article wins
the softmax over all articles of its knowledge base (an article scores its best chunk, as the service ranks),
with an L2 penalty pulling `M` towards the identity. Fitted and applied in the workbench (eval.workbench: the
service's retrieval code over cached vectors), so the question "does it generalise to a knowledge base it never
saw" is answered leaving one set out at a time, on dev only:

    python -m eval.metric_fit --l2 1,3,10,30           # first stage, each set's dev with a metric fitted without it
    python -m eval.metric_fit --folds 1                # dev out of fold: metric and re-ranker fitted as shipped
    python -m eval.metric_fit --pipeline 1             # fitted on all dev, re-ranker refitted; dev and test

    >>> import numpy as np
    >>> [round(float(x), 3) for x in Metric(np.diag([1.0, 0.5]), None).apply(np.array([[0.6, 0.8]]), ["nl"])[0]]
    [0.832, 0.555]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from eval.ablation import scores
from eval.metrics import fold_of
from eval.workbench import Ask, Variant, Workbench
from kb.language_axis import project
from kb.normalize import Message

FIRST = Variant("first stage")  # the service's first stage, as `kb eval rerank` reads it
SETS = ("golden", "randmeer", "policyqa", "checkthat")  # fitted on their dev halves
HELD_OUT = {"blind": "golden", "randmeer": "randmeer", "policyqa": "policyqa", "checkthat": "checkthat"}
TAU = 0.02  # e5's cosines of related texts lie within a few hundredths: a softmax over them needs a low temperature


class Metric:
    """A `LanguageSpace`: the axis projected out (when given), then `matrix`, then unit length."""

    def __init__(self, matrix: np.ndarray, axis: np.ndarray | None) -> None:
        self.matrix, self.axis = np.asarray(matrix, np.float32), axis

    def apply(self, vectors: np.ndarray, languages: Sequence[str], kinds: Sequence[str] = ()) -> np.ndarray:
        v = np.asarray(vectors, np.float32)
        v = project(v, self.axis) if self.axis is not None else v
        v = v @ self.matrix.T
        return (v / np.clip(np.linalg.norm(v, axis=1, keepdims=True), 1e-12, None)).astype(np.float32)


@dataclass(frozen=True)
class Pairs:
    """Dev messages of one knowledge base with every chunk of it: `right[i, a]` is whether article `a` answers
    message `i`; `owner[j]` is the article of chunk `j`."""

    messages: np.ndarray
    chunks: np.ndarray
    owner: np.ndarray
    right: np.ndarray


def pairs_of(bench: Workbench, asks: Sequence[Ask] | None = None) -> Pairs:
    """The messages of `asks` (default: the dev half) with an article, read as the service reads them, and the
    first stage's chunks (a translation pair's twin counts as right too), all with the axis projected out."""
    store, _ = bench.store(replace(FIRST, axis=False))
    mirror = store.mirror
    articles = sorted({p["article_id"] for p in mirror.dense_payloads})
    index = {a: i for i, a in enumerate(articles)}
    owner = np.array([index[p["article_id"]] for p in mirror.dense_payloads])
    answers: list[set[str]] = [set() for _ in articles]  # an article answers for itself and its translations
    for p in mirror.dense_payloads:
        answers[index[p["article_id"]]] |= {p["article_id"], *(p.get("translations") or ())}
    messages, right = [], []
    for q in bench.corpus.split("dev") if asks is None else asks:
        row = np.array([bool(a & q.relevant) for a in answers])
        if row.any():
            messages.append(bench.table.get("query", Message.of(q.text).query))
            right.append(row)
    axis = bench.axis
    as_read = np.stack(messages).astype(np.float32)
    chunks = np.asarray(mirror.dense, np.float32)
    return Pairs(project(as_read, axis) if axis is not None else as_read,
                 project(chunks, axis) if axis is not None else chunks, owner, np.stack(right))


def fit_metric(sets: Sequence[Pairs], l2: float, *, steps: int = 100) -> np.ndarray:
    """`I + D` minimising the mean of -log softmax(article scores / TAU)[right] over every message of `sets`, plus
    `l2 * |D|^2`; an article scores its best chunk. L-BFGS, full batch (a few hundred messages): Adam's steps of a
    fixed size left D hovering around its optimum, which with a large penalty was noise larger than the fit."""
    import torch

    dim = sets[0].messages.shape[1]
    delta = torch.zeros(dim, dim, requires_grad=True)
    optimiser = torch.optim.LBFGS([delta], max_iter=steps, line_search_fn="strong_wolfe")
    data = [(torch.tensor(s.messages, dtype=torch.float32), torch.tensor(s.chunks, dtype=torch.float32),
             torch.tensor(s.owner, dtype=torch.int64), torch.tensor(s.right), s.right.shape[1]) for s in sets]
    count = sum(s.messages.shape[0] for s in sets)

    def loss() -> torch.Tensor:
        optimiser.zero_grad()
        m = torch.eye(dim) + delta
        total = l2 * (delta ** 2).sum()
        for messages, chunks, owner, right, n_articles in data:
            q = torch.nn.functional.normalize(messages @ m.T, dim=1)
            c = torch.nn.functional.normalize(chunks @ m.T, dim=1)
            best = torch.full((len(q), n_articles), -2.0).scatter_reduce(
                1, owner.expand(len(q), -1), q @ c.T, "amax")
            z = best / TAU
            total = total + (torch.logsumexp(z, 1) - torch.logsumexp(z.masked_fill(~right, -1e9), 1)).sum() / count
        total.backward()
        return total

    optimiser.step(loss)
    return (torch.eye(dim) + delta).detach().numpy()


def main(argv: Sequence[str] | None = None) -> None:
    from eval.ablation import load_bench
    from kb.cli import settings_from

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--l2", default="1,3,10,30", help="penalties to compare, first stage, one set left out")
    parser.add_argument("--pipeline", type=float, help="instead: this penalty, with the re-ranker refitted on it")
    parser.add_argument("--folds", type=float, help="instead: this penalty, metric and re-ranker fitted five times "
                        "on four fifths of every dev half, each message judged by the fit without it")
    args = parser.parse_args(argv)
    settings = settings_from()
    benches = {n: load_bench(n, settings, articles=settings.articles_dir, sample=2000 if n == "checkthat" else None,
                             log=lambda s: None)
               for n in ("golden", "blind", "randmeer", "policyqa", "checkthat")}
    pairs = {n: pairs_of(benches[n]) for n in SETS}
    if args.folds is not None:
        _out_of_fold(benches, args.folds)
        return
    if args.pipeline is not None:
        _pipeline(benches, pairs, args.pipeline)
        return
    for l2 in (float(x) for x in args.l2.split(",")):
        for name, left_out in HELD_OUT.items():
            bench = benches[name]
            bench.spaces["metric"] = Metric(fit_metric([p for n, p in pairs.items() if n != left_out], l2),
                                            bench.axis)
            before = scores(bench, FIRST, bench.corpus.split("dev"))
            after = scores(bench, replace(FIRST, space="metric"), bench.corpus.split("dev"))
            print(f"l2 {l2:<5} {name:9} dev hit@1 {before['hit@1']:.3f} -> {after['hit@1']:.3f}  "
                  f"MRR@10 {before['mrr@10']:.3f} -> {after['mrr@10']:.3f}  (fitted without {left_out})", flush=True)


def _pipeline(benches: dict[str, Workbench], pairs: dict[str, Pairs], l2: float) -> None:
    """The pipeline a metric ships: a re-ranker refitted on its first stage (the sets `kb eval rerank` fits on),
    beside the axis alone with a re-ranker refitted the same way; a metric fitted on every set, and one without
    Randmeer (a new KB)."""
    from eval.cli_retrieval import RERANK_SETS
    from eval.rerank import collect, fit_reranker

    rows = []
    for label, used in (("axis only (no metric) + re-ranker", ()), ("metric (every set) + re-ranker", SETS),
                        ("metric (without Randmeer) + re-ranker", tuple(s for s in SETS if s != "randmeer"))):
        if used:
            matrix = fit_metric([pairs[n] for n in used], l2)
            for bench in benches.values():
                bench.spaces[label] = Metric(matrix, bench.axis)
        first = replace(FIRST, space=label if used else "")
        groups = [g for n in RERANK_SETS for g in collect(benches[n], first, benches[n].corpus.split("dev"))]
        rows.append((label, first, fit_reranker(groups, label, log=lambda s: None)))
    for name in ("blind", "randmeer", "policyqa", "checkthat"):
        bench = benches[name]
        for label, first, reranker in rows:
            v = replace(first, retriever=FIRST.retriever | {"reranker": reranker})
            figures = []
            for split in ("dev", "test"):
                asks = bench.corpus.split(split)
                s = scores(bench, v, asks)
                cross = [q for q in asks if q.kind == "crosslingual"]
                c = f" cross-lingual {scores(bench, v, cross)['hit@1']:.3f}" if cross else ""
                figures.append(f"{split} hit@1 {s['hit@1']:.3f} MRR@10 {s['mrr@10']:.3f}{c}")
            print(f"{name:9} {label:38} " + "   ".join(figures), flush=True)


FOLDS = 5


def _fold(message_id: str) -> int:
    """By message id alone: a blind dev message is in the golden set too, and must fall in one fold in both."""
    return fold_of(message_id, FOLDS)


def _out_of_fold(benches: dict[str, Workbench], l2: float) -> None:
    """Dev only, as the service would be fitted (every KB's own dev messages in the fit): for each fold, a metric
    and a re-ranker on its first stage fitted without the fold, against the re-ranker alone refitted without it;
    first places right, out of fold, per set."""
    from eval.cli_retrieval import RERANK_SETS
    from eval.rerank import collect, fit_reranker

    right: dict[tuple[str, str], int] = {}
    for fold in range(FOLDS):
        train = {n: [q for q in benches[n].corpus.split("dev") if _fold(q.id) != fold] for n in benches}
        matrix = fit_metric([pairs_of(benches[n], train[n]) for n in SETS], l2)
        for bench in benches.values():
            bench.spaces["metric"] = Metric(matrix, bench.axis)
        for label, space in (("re-ranker alone", ""), ("metric + re-ranker", "metric")):
            first = replace(FIRST, space=space)
            groups = [g for n in RERANK_SETS for g in collect(benches[n], first, train[n])]
            reranker = fit_reranker(groups, label, log=lambda s: None)
            v = replace(first, retriever=FIRST.retriever | {"reranker": reranker})
            for name in HELD_OUT:
                held = [q for q in benches[name].corpus.split("dev") if _fold(q.id) == fold and q.relevant]
                hits = scores(benches[name], v, held)
                right[(name, label)] = right.get((name, label), 0) + round(hits["hit@1"] * hits["n"])
                if label == "re-ranker alone":
                    right[(name, "n")] = right.get((name, "n"), 0) + int(hits["n"])
        print(f"fold {fold} done", flush=True)
    for name in HELD_OUT:
        n = right[(name, "n")]
        print(f"{name:9} dev, out of fold: first stage + re-ranker {right[(name, 're-ranker alone')]}/{n}, "
              f"metric + re-ranker {right[(name, 'metric + re-ranker')]}/{n}")


if __name__ == "__main__":
    main()
