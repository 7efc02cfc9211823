"""External retrieval benchmarks on our own retrieval stack: CheckThat! 2020 Task 2 (English tweets to the
Snopes fact-check that verifies them), the Dutch government FAQs (policyqa-nl: questions to their answers), or any
`targets.jsonl` + `queries.jsonl` pair in that shape.

Each target becomes a temporary article (Markdown with front matter, in memory: title, the claim as its one
claim and its answer, a source when the target has a URL) in its own language (the `language` field of the
JSONL, detected from its text when absent, so Dutch targets get Dutch stemming) and goes through the real
indexer, the LlamaIndex ingestion pipeline `kb index` runs, into its own collection; the embedding cache makes a
second run embed nothing. Every query then goes through `kb.retrieval.Retriever`, the same code the service runs,
in the three modes, in its own language (its `language` field, or detected). Tuning (the hybrid's lexical weight)
uses only the dev queries; the test figures are reported for the shipped default and for the dev-tuned weight.

    >>> report = run_checkthat(Path("../shared/data/checkthat2020-en"), settings)  # doctest: +SKIP
    >>> report["test"]["hybrid"]["map@5"]  # doctest: +SKIP
    0.95
"""

from __future__ import annotations

import datetime as dt
import json
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from eval.metrics import average_precision_at_k, mean, recall_at, reciprocal_rank
from indexer.build import Indexer
from indexer.git import Revision
from kb.article import Language
from kb.config import Settings
from kb.embedding import CachedEmbedder, EmbeddingCache, load_embedder
from kb.language import detect_language
from kb.lexical import SparseEncoder
from kb.rerank import load_reranker
from kb.retrieval import LEXICAL_WEIGHT, Fusion, Mode, Retriever
from kb.store import open_store

MODES: tuple[Mode, ...] = ("dense", "lexical", "hybrid")
WEIGHTS = (0.0, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3)


@dataclass(frozen=True)
class Query:
    id: str
    text: str
    relevant: frozenset[str]
    language: Language


def language_of(row: dict[str, Any], text: str) -> Language:
    """The row's `language` field where it has a usable one, else detected from the text."""
    try:
        return Language(str(row.get("language") or "").lower())
    except ValueError:
        return detect_language(text).language


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_queries(path: Path) -> list[Query]:
    return [Query(str(r["id"]), r["text"], frozenset(str(i) for i in r["relevant_ids"]), language_of(r, r["text"]))
            for r in _jsonl(path)]


def target_article(target: dict[str, Any], dataset: str, today: dt.date) -> tuple[str, str, bytes]:
    """(article id, file path, Markdown bytes) of one target, as an editor would write it."""
    slug = "t-" + (re.sub(r"[^a-z0-9]+", "-", str(target["id"]).lower()).strip("-") or "x")
    text = " ".join(str(target.get("text") or "").split())[:2000]
    title = " ".join(str(target.get("title") or "").split())[:300] or text[:120]
    url = str(target.get("url") or "")
    front = {"id": slug, "type": "faq", "language": str(language_of(target, f"{title} {text}")),
             "title": title, "status": "published",
             "claims": [text or title], "topics": [dataset], "owner": "eval",
             "sources": [{"title": title, "url": url}] if url.startswith(("http://", "https://")) else [],
             "reviewed": today, "review_by": today + dt.timedelta(days=365)}
    body = f"## Answer\n\n{text or title}\n\n## Background\n\nTarget {target['id']} of {dataset}.\n"
    markdown = "---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False) + "---\n\n" + body
    return slug, f"{dataset}/{slug}.md", markdown.encode("utf-8")


@dataclass(frozen=True)
class Scored:
    """A retriever whose article ids are mapped back to the dataset's target ids."""

    retriever: Retriever
    ids: dict[str, str]

    def ranked(self, query: Query) -> list[str]:
        matches = self.retriever.search(query.text, query.language, limit=10)
        return [self.ids.get(m.article_id, m.article_id) for m in matches]


def score_queries(scored: Scored, queries: Sequence[Query]) -> dict[str, float]:
    ap: list[float] = []
    rr: list[float] = []
    rec: dict[int, list[float]] = {1: [], 5: [], 10: []}
    for q in queries:
        ranked = scored.ranked(q)
        ap.append(average_precision_at_k(ranked, set(q.relevant), k=5))
        rr.append(max(reciprocal_rank(ranked, r, k=10) for r in q.relevant))
        for k, values in rec.items():
            values.append(recall_at(ranked, set(q.relevant), k))
    return {"map@5": round(mean(ap), 4), "mrr@10": round(mean(rr), 4),
            **{f"recall@{k}": round(mean(v), 4) for k, v in rec.items()}, "n": len(queries)}


def run_checkthat(root: Path, settings: Settings, *, log: Callable[[str], None] = print) -> dict[str, Any]:
    """CheckThat! 2020: tune on `queries_dev.jsonl`, report on `queries.jsonl`."""
    return run_dataset(root / "targets.jsonl", root / "queries.jsonl", settings, tune=root / "queries_dev.jsonl",
                       log=log)


def run_dataset(targets_path: Path, queries_path: Path, settings: Settings, *, tune: Path | None = None,
                log: Callable[[str], None] = print) -> dict[str, Any]:
    """Index the targets as temporary articles and score the queries in every mode; the hybrid's dense weight is
    tuned on `tune` queries when given (never on the scored ones)."""
    # 40k points is past local mode's comfort (it says so); fine for a one-off evaluation, so not worth a warning
    # (for this run only: the filter is undone after it).
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Local mode is not recommended")
        return _run_dataset(targets_path, queries_path, settings, tune=tune, log=log)


def _run_dataset(targets_path: Path, queries_path: Path, settings: Settings, *, tune: Path | None,
                 log: Callable[[str], None]) -> dict[str, Any]:
    dataset = targets_path.parent.name or "dataset"
    targets = _jsonl(targets_path)
    files, ids = [], {}
    today = dt.date.today()
    for t in targets:
        slug, path, markdown = target_article(t, dataset, today)
        ids[slug] = str(t["id"])
        files.append((path, markdown))
    test = load_queries(queries_path)
    dev = load_queries(tune) if tune else []
    cache = EmbeddingCache(settings.cache_path)
    embedder = CachedEmbedder(load_embedder(settings), cache)
    reranker = load_reranker(embedder.model_id)
    sparse = SparseEncoder(avg_len=12.0)  # fact-check titles and claims are one sentence, not paragraphs
    alias = "eval_" + re.sub(r"[^a-z0-9]+", "_", dataset.lower()).strip("_")
    settings = settings.model_copy(update={"collection": alias})
    store = open_store(settings)
    try:
        done = Indexer(settings, store, embedder, sparse).run(files, Revision(None, False), full=True)
        if done.errors:
            log(f"{len(done.errors)} targets could not be indexed, e.g. {done.errors[0]}")
        log(f"indexed {done.articles} targets as {done.chunks} chunks ({done.embedded} embedded, {done.reused} from "
            f"the cache) in {done.seconds:.0f} s")

        def retriever(mode: Mode, weight: float = LEXICAL_WEIGHT, fusion: Fusion = "weighted") -> Scored:
            return Scored(Retriever(store, embedder, sparse, alias=alias, mode=mode, lexical_weight=weight,
                                    fusion=fusion, reranker=reranker), ids)

        report: dict[str, Any] = {"targets": len(targets), "indexed": done.articles, "chunks": done.chunks,
                                  "model": embedder.model_id, "index_seconds": done.seconds,
                                  "embedded": done.embedded, "dev": {}, "test": {}}
        for mode in MODES:
            if dev:
                report["dev"][mode] = score_queries(retriever(mode), dev)
            report["test"][mode] = score_queries(retriever(mode), test)
            log(f"{mode:8} dev {report['dev'].get(mode)}  test {report['test'][mode]}")
        sweep = ({w: score_queries(retriever("hybrid", w), dev)["map@5"] for w in WEIGHTS} if dev
                 else {LEXICAL_WEIGHT: 0})
        best = max(sweep, key=lambda w: (sweep[w], -abs(w - LEXICAL_WEIGHT)))
        report["dev_weight_sweep"] = {str(w): v for w, v in sweep.items()}
        report["tuned_lexical_weight"] = best
        report["test"]["hybrid_tuned"] = score_queries(retriever("hybrid", best), test)
        report["test"]["hybrid_rrf"] = score_queries(retriever("hybrid", fusion="rrf"), test)
        log(f"hybrid (dev-tuned lexical weight {best}) test {report['test']['hybrid_tuned']}; "
            f"rrf test {report['test']['hybrid_rrf']}")
        for name in store.collections(prefix=f"{alias}__"):
            store.drop(name)
        return report
    finally:
        store.close()
        cache.close()
