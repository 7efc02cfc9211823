"""External retrieval benchmarks on our own retrieval stack: CheckThat! 2020 Task 2 (English tweets to the
Snopes fact-check that verifies them).

Each fact-check becomes an "article" with two chunks, its title and its claim, as our chunker does with an
article's title and claims; both are embedded with the configured model, given lexical vectors, and stored in a
temporary Qdrant collection. Every query tweet then goes through `kb.retrieval.Retriever`, the same code the
service runs, in the three modes. Tuning (the hybrid's dense weight) uses only `queries_dev.jsonl`; the test
figures are reported for the shipped default weight and for the dev-tuned one.

    >>> report = run_checkthat(Path("../shared/data/checkthat2020-en"), settings)  # doctest: +SKIP
    >>> report["test"]["hybrid"]["map@5"]  # doctest: +SKIP
    0.95
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.metrics import average_precision_at_k, mean, reciprocal_rank
from kb.article import Language
from kb.config import Settings
from kb.embedding import CachedEmbedder, EmbeddingCache, load_embedder
from kb.lexical import SparseEncoder
from kb.normalize import normalize
from kb.retrieval import DENSE_WEIGHT, Mode, Retriever
from kb.store import Point, QdrantStore

MODES: tuple[Mode, ...] = ("dense", "lexical", "hybrid")
WEIGHTS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
_NS = uuid.UUID("6f1d2c1e-8a43-4c38-9d1f-2b7f4c1f0a11")


@dataclass(frozen=True)
class Query:
    id: str
    text: str
    relevant: frozenset[str]


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_queries(path: Path) -> list[Query]:
    return [Query(str(r["id"]), r["text"], frozenset(str(i) for i in r["relevant_ids"])) for r in _jsonl(path)]


def target_points(targets: Sequence[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(point id, target id, text) for each target's title and claim, normalised as index time does."""
    out = []
    for t in targets:
        for kind in ("title", "text"):
            text = normalize(str(t.get(kind) or ""))
            if text:
                out.append((str(uuid.uuid5(_NS, f"{t['id']}:{kind}")), str(t["id"]), text))
    return out


def score_queries(retriever: Retriever, queries: Sequence[Query]) -> dict[str, float]:
    ap, rr = [], []
    for q in queries:
        ranked = [m.article_id for m in retriever.search(q.text, Language.EN, limit=10)]
        ap.append(average_precision_at_k(ranked, set(q.relevant), k=5))
        rr.append(max(reciprocal_rank(ranked, r, k=10) for r in q.relevant))
    return {"map@5": round(mean(ap), 4), "mrr@10": round(mean(rr), 4), "n": len(queries)}


def run_checkthat(root: Path, settings: Settings, *, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Index the fact-checks into a temporary collection and score dev and test queries in every mode."""
    targets = _jsonl(root / "targets.jsonl")
    dev, test = load_queries(root / "queries_dev.jsonl"), load_queries(root / "queries.jsonl")
    cache = EmbeddingCache(settings.cache_path)
    embedder = CachedEmbedder(load_embedder(settings), cache)
    sparse = SparseEncoder(avg_len=12.0)  # fact-check titles and claims are one sentence, not paragraphs
    store = QdrantStore(settings)
    collection = "eval_checkthat2020"
    try:
        started = time.perf_counter()
        rows = target_points(targets)
        if store.exists(collection):
            store.drop(collection)
        store.create(collection, embedder.dim, {"dataset": "checkthat2020-en"})
        for start in range(0, len(rows), 512):
            batch = rows[start:start + 512]
            vectors = embedder.embed([text for _, _, text in batch])
            store.upsert(collection, [
                Point(pid, {"article_id": tid, "kind": "claim", "text": text, "language": "en"}, vector,
                      sparse.encode_document(text, Language.EN))
                for (pid, tid, text), vector in zip(batch, vectors, strict=True)])
            log(f"indexed {min(start + 512, len(rows))}/{len(rows)} fact-check chunks")
        index_seconds = time.perf_counter() - started

        def retriever(mode: Mode, weight: float = DENSE_WEIGHT) -> Retriever:
            return Retriever(store, embedder, sparse, alias=collection, mode=mode, dense_weight=weight)

        report: dict[str, Any] = {"targets": len(targets), "chunks": len(rows), "model": settings.model_id,
                                  "index_seconds": round(index_seconds, 1), "dev": {}, "test": {}}
        for mode in MODES:
            report["dev"][mode] = score_queries(retriever(mode), dev)
            report["test"][mode] = score_queries(retriever(mode), test)
            log(f"{mode:8} dev {report['dev'][mode]}  test {report['test'][mode]}")
        sweep = {w: score_queries(retriever("hybrid", w), dev)["map@5"] for w in WEIGHTS}
        best = max(sweep, key=lambda w: (sweep[w], -abs(w - DENSE_WEIGHT)))
        report["dev_weight_sweep"] = {str(w): v for w, v in sweep.items()}
        report["tuned_dense_weight"] = best
        report["test"]["hybrid_tuned"] = score_queries(retriever("hybrid", best), test)
        rrf = Retriever(store, embedder, sparse, alias=collection, mode="hybrid", fusion="rrf")
        report["test"]["hybrid_rrf"] = score_queries(rrf, test)
        log(f"hybrid (dev-tuned dense weight {best}) test {report['test']['hybrid_tuned']}; "
            f"rrf test {report['test']['hybrid_rrf']}")
        store.drop(collection)
        return report
    finally:
        store.close()
        cache.close()
