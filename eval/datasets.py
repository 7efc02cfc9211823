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
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.metrics import average_precision_at_k, mean, recall_at, reciprocal_rank
from kb.article import Language
from kb.config import Settings
from kb.embedding import CachedEmbedder, EmbeddingCache, load_embedder
from kb.language import detect_language
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
    ap: list[float] = []
    rr: list[float] = []
    rec: dict[int, list[float]] = {1: [], 5: [], 10: []}
    for q in queries:
        ranked = [m.article_id for m in retriever.search(q.text, detect_language(q.text).language, limit=10)]
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
    """Index the targets into a temporary collection and score the queries in every mode; the hybrid's dense
    weight is tuned on `tune` queries when given (never on the scored ones)."""
    # 20k points is past local mode's comfort (it says so); fine for a one-off evaluation, so not worth a warning.
    warnings.filterwarnings("ignore", message="Local mode is not recommended")
    targets = _jsonl(targets_path)
    test = load_queries(queries_path)
    dev = load_queries(tune) if tune else []
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
            if dev:
                report["dev"][mode] = score_queries(retriever(mode), dev)
            report["test"][mode] = score_queries(retriever(mode), test)
            log(f"{mode:8} dev {report['dev'].get(mode)}  test {report['test'][mode]}")
        sweep = {w: score_queries(retriever("hybrid", w), dev)["map@5"] for w in WEIGHTS} if dev else {DENSE_WEIGHT: 0}
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
