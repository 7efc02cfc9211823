"""The retrieval ablation: one step at a time from the plain encoder to the service's pipeline, on the blind golden
split, policyqa-nl and CheckThat 2020 (docs/benchmarks.md, "Ablation").

Each step changes one thing of the step before; every figure is computed by the service's own retrieval code over
an in-memory store (eval.workbench), with every text embedded once through the embedding cache:

    kb eval ablation --set blind --set policyqa --set checkthat --sample 2000 --out reports/ablation

The steps before issue 24's fix read messages with names and handles dropped (`keep_names=False`); the fix rows
that follow them are the candidates measured to win back the loss, one of which the service now runs.

    >>> [s.name for s in STEPS][:2]
    ['plain: one vector per article', '+ normalised text']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from eval.golden import DATA, SHARED, load_golden
from eval.metrics import average_precision_at_k, mean, reciprocal_rank
from eval.workbench import Ask, Corpus, Variant, Workbench, dataset_corpus, golden_corpus
from kb.chunking import ChunkKind
from kb.config import Settings
from kb.corpus import load_corpus
from kb.retrieval import SecondStage

_DENSE: dict[str, Any] = {"mode": "dense", "cross_language_bonus": 0.0}
NO_QUERY_KINDS: frozenset[ChunkKind] = frozenset()


def _before(name: str, **fields: Any) -> Variant:
    """A step of the pipeline before issue 24's fixes: messages normalised with names and handles dropped, long
    answers one chunk."""
    return Variant(name, keep_names=False, answer_windows=False, **fields)


#: From the plain encoder to the pipeline as it was at the start of issue 24, one change per step.
STEPS: tuple[Variant, ...] = (
    _before("plain: one vector per article", unit="article", normalise=False, axis=False, windows=False,
            retriever=_DENSE),
    _before("+ normalised text", unit="article", axis=False, windows=False, retriever=_DENSE),
    _before("+ chunks (title, claims, answer, background; all passages), article = best chunk",
            query_kinds=NO_QUERY_KINDS, axis=False, windows=False, retriever=_DENSE),
    _before("+ titles and claims embedded as queries", axis=False, windows=False, retriever=_DENSE),
    _before("+ Dutch-English axis projected out", windows=False, retriever=_DENSE),
    _before("+ long messages also read by their questions", retriever=_DENSE),
    _before("+ cross-language bonus 0.01", retriever={"mode": "dense", "cross_language_bonus": 0.01}),
    _before("+ lexical bonus (hybrid, weight 0.10): the pipeline before issue 24",
            retriever={"cross_language_bonus": 0.01, "within_language": False}),
    _before("lexical compared within one language, no cross-language bonus (issue 24)"),
)


def steps_with(reranker: SecondStage | None) -> tuple[Variant, ...]:
    """STEPS and, with a re-ranker, the second stage on top (the service's pipeline since issue 24), then each
    candidate fix (FIXES) on top of that."""
    steps = STEPS if reranker is None else (
        *STEPS, _before("+ second stage: the learned re-ranker (kb.rerank)", retriever={"reranker": reranker}))
    return (*steps, *fixes_on(steps[-1]))


#: Candidate fixes for what the pipeline loses against the plain encoder on CheckThat (issue 24, point 1), each one
#: change on top of the pipeline (`fixes_on`): the message read twice, a gentler normalisation, the plain passage.
FIXES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("fix a1: message also read as written (two query vectors, per-chunk max)",
     {"retriever": {"as_written": True}}),
    ("fix a2: gentler normalisation (trailer and handles inside the message kept as words)",
     {"keep_names": True}),
    ("fix a3: gentle reading and as written (two query vectors)",
     {"keep_names": True, "retriever": {"as_written": True}}),
    ("fix b: + the plain passage (title and answer) as one more chunk", {"plain_chunk": True}),
    ("fix a1 + b", {"plain_chunk": True, "retriever": {"as_written": True}}),
    ("fix a2 + b", {"plain_chunk": True, "keep_names": True}),
    ("fix a3 + b", {"plain_chunk": True, "keep_names": True, "retriever": {"as_written": True}}),
    # Point 2 (cross-lingual), measured 2026-12-07 and not adopted: see docs/benchmarks.md, "A pair ranked by its
    # Dutch twin".
    ("fix c: for an English message, a translation pair ranked by its Dutch twin", {"pivot": "nl"}),
    # Point 1 on policyqa-nl (long answers), adopted 2026-12-07: kb.chunking.answer_windows.
    ("fix d: + long answers also as windows of sentences (700 characters)", {"answer_windows": True}),
    ("fix a2 + d: the pipeline now", {"keep_names": True, "answer_windows": True}),
)


def fixes_on(pipeline: Variant, fixes: Sequence[tuple[str, dict[str, Any]]] = FIXES) -> tuple[Variant, ...]:
    """Each fix as its own variant of `pipeline` (retriever settings merged, other fields replaced).

        >>> [v.plain_chunk for v in fixes_on(Variant("now"))][3]
        True
    """
    out = []
    for name, change in fixes:
        fields = {k: v for k, v in change.items() if k != "retriever"}
        out.append(replace(pipeline, name=name, retriever=pipeline.retriever | change.get("retriever", {}), **fields))
    return tuple(out)


def scores(bench: Workbench, v: Variant, asks: Sequence[Ask]) -> dict[str, float]:
    """hit@1, MRR@10 and MAP@5 of one variant over the answerable messages of `asks`."""
    hit, rr, ap = [], [], []
    for q in asks:
        if not q.relevant:
            continue
        ranked = [m.article_id for m in bench.rank(v, q)]
        hit.append(1.0 if ranked[:1] and ranked[0] in q.relevant else 0.0)
        rr.append(max(reciprocal_rank(ranked, r, k=10) for r in q.relevant))
        ap.append(average_precision_at_k(ranked, set(q.relevant), k=5))
    return {"hit@1": round(mean(hit), 4), "mrr@10": round(mean(rr), 4), "map@5": round(mean(ap), 4), "n": len(hit)}


def corpus_for(name: str, *, articles: Path, shared: Path = SHARED, sample: int | None = None,
               questions: int | None = None) -> Corpus:
    """`blind` (the sample KB's blind split), `golden` (all its golden messages), `randmeer` (the second KB's blind
    split, against its own articles), `policyqa` (optionally a subset
    of its questions, with only their answers as targets) or `checkthat` (optionally a sample of its targets)."""
    if name == "golden":
        return golden_corpus(list(load_corpus(articles).articles.values()), load_golden(), "golden")
    if name == "blind":
        messages = load_golden([DATA / "golden_dev_blind.jsonl", DATA / "golden_test_blind.jsonl"])
        return golden_corpus(list(load_corpus(articles).articles.values()), messages, "blind")
    if name == "randmeer":
        root = Path(__file__).resolve().parent / "kbs" / "randmeer"
        return golden_corpus(list(load_corpus(root / "articles").articles.values()), load_golden(folder=root),
                             "randmeer")
    if name == "policyqa":
        return dataset_corpus(shared / "policyqa-nl", questions=questions, sample=0 if questions else None)
    if name == "checkthat":
        return dataset_corpus(shared / "checkthat2020-en", sample=sample)
    raise ValueError(f"unknown set {name!r}: blind, randmeer, policyqa or checkthat")


def run_ablation(bench: Workbench, steps: Sequence[Variant] = STEPS,
                 log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """One row per step: its dev and test figures, and by kind of message where the set has kinds."""
    rows = []
    for step in steps:
        row: dict[str, Any] = {"set": bench.corpus.name, "step": step.name}
        for split in ("dev", "test"):
            row[split] = scores(bench, step, bench.corpus.split(split))
            kinds = sorted({q.kind for q in bench.corpus.split(split) if q.kind and q.relevant})
            for kind in kinds:
                row[f"{split} {kind}"] = scores(bench, step, [q for q in bench.corpus.split(split) if q.kind == kind])
        log(f"{bench.corpus.name:9} {step.name[:70]:70} dev {_brief(row['dev'])}  test {_brief(row['test'])}")
        rows.append(row)
    return rows


def _brief(s: dict[str, float]) -> str:
    return f"hit@1 {s['hit@1']:.3f} MRR {s['mrr@10']:.3f} MAP@5 {s['map@5']:.3f}"


def with_settings(step: Variant, **retriever: Any) -> Variant:
    """`step` with other retriever settings (for a variant outside the table)."""
    return replace(step, retriever=step.retriever | retriever)


def load_bench(name: str, settings: Settings, *, articles: Path, sample: int | None,
               log: Callable[[str], None] = print, questions: int | None = None) -> Workbench:
    corpus = corpus_for(name, articles=articles, sample=sample, questions=questions)
    for note in corpus.notes:
        log(f"{name}: {note}")
    return Workbench.load(corpus, settings, settings.data_dir / "eval" / "embeddings.sqlite", log=log)
