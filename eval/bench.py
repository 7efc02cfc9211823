"""`kb bench`: our encoder, retrieval and indexing measured side by side with the plain alternatives, in one
process, on the same data: (a) sentence-transformers `encode`, (b) a plain LlamaIndex pipeline
(`VectorStoreIndex` over Qdrant with the same model, `as_retriever`), which is what a user would build instead.

Figures are medians and p95 of repeated single calls after a warm-up, and ratios against the baseline measured
in the same run (so a noisy, shared machine moves both sides). Nothing here asserts a time: the smoke test only
checks that every field is filled.

    >>> report = run_bench(settings, BenchConfig.quick())  # doctest: +SKIP
    >>> report["encoder"]["latency_ratio"]  # doctest: +SKIP
    0.31
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from eval.golden import load_golden
from kb.chunking import chunk_article
from kb.config import Settings
from kb.corpus import build_corpus, iter_article_files
from kb.embedding import Embedder, SentenceTransformerEmbedder
from kb.engine import Engine
from kb.lexical import SparseVec
from kb.onnx_encoder import OnnxEmbedder
from kb.store import DENSE, Point, QdrantStore

Log = Callable[[str], None]


@dataclass
class BenchConfig:
    messages: int = 200  # golden messages timed one by one
    scales: Sequence[int] = (10_000, 100_000)  # synthetic chunk counts for the store
    scale_queries: int = 50
    kb_articles: int = 1000  # synthetic KB size for the incremental re-index figure
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def quick(cls) -> BenchConfig:
        """A tiny run for the smoke test: every field filled in seconds."""
        return cls(messages=12, scales=(500,), scale_queries=5, kb_articles=8)


def timings(fn: Callable[[], object], n: int, warmup: int = 3) -> dict[str, float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return {"p50_ms": round(statistics.median(samples), 3),
            "p95_ms": round(samples[min(len(samples) - 1, int(0.95 * len(samples)))], 3), "n": n}


def per_item(fn: Callable[[str], object], items: Sequence[str]) -> dict[str, float]:
    return paired({"only": fn}, items)["only"]


def paired(fns: dict[str, Callable[[str], object]], items: Sequence[str]) -> dict[str, dict[str, float]]:
    """Time every function on every item, interleaved (a, b, then b, a on the next item), so that a burst of load
    from another process hits both sides alike."""
    names = list(fns)
    for item in items[:3]:
        for name in names:
            fns[name](item)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for i, item in enumerate(items):
        for name in (names if i % 2 == 0 else names[::-1]):
            t = time.perf_counter()
            fns[name](item)
            samples[name].append((time.perf_counter() - t) * 1000)
    return {name: _summary(values) for name, values in samples.items()}


def _summary(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    return {"p50_ms": round(statistics.median(samples), 3),
            "p95_ms": round(samples[min(len(samples) - 1, int(0.95 * len(samples)))], 3),
            "p99_ms": round(samples[min(len(samples) - 1, int(0.99 * len(samples)))], 3), "n": len(samples)}


def throughput(embedder: Embedder, texts: Sequence[str]) -> float:
    embedder.embed(list(texts[:16]))
    t = time.perf_counter()
    embedder.embed(list(texts))
    return round(len(texts) / (time.perf_counter() - t), 1)


def bench_encoder(settings: Settings, messages: Sequence[str], chunks: Sequence[str],
                  log: Log) -> tuple[dict[str, Any], Embedder, Embedder]:
    reference = SentenceTransformerEmbedder(settings.model_location(), settings.model_id, threads=1)
    fast = OnnxEmbedder.load(settings)
    log(f"encoder: ONNX {fast.variant} ({fast.manifest.get(f'{fast.variant}_min_cosine')} min cosine on probes)")
    lat = paired({"torch": lambda m: reference.embed([m]), "onnx": lambda m: fast.embed([m])}, messages)
    ref_lat, fast_lat = lat["torch"], lat["onnx"]
    ref_tp, fast_tp = throughput(reference, chunks), throughput(fast, chunks)
    cos = (reference.embed(list(messages)) * fast.embed(list(messages))).sum(axis=1)
    out = {"variant": fast.variant, "torch_latency": ref_lat, "onnx_latency": fast_lat,
           "latency_ratio": round(fast_lat["p50_ms"] / ref_lat["p50_ms"], 3),
           "torch_chunks_per_s": ref_tp, "onnx_chunks_per_s": fast_tp, "throughput_ratio": round(fast_tp / ref_tp, 3),
           "cosine_min": round(float(cos.min()), 4), "cosine_mean": round(float(cos.mean()), 4)}
    log(f"encoder: p50 {fast_lat['p50_ms']} ms vs {ref_lat['p50_ms']} ms (ratio {out['latency_ratio']}); "
        f"{fast_tp} vs {ref_tp} chunks/s (ratio {out['throughput_ratio']}); cosine min {out['cosine_min']}")
    return out, reference, fast


def _llamaindex_embedding(embedder: Embedder) -> Any:
    """Our embedder as a LlamaIndex embedding model: the same vectors on both sides of the comparison."""
    from llama_index.core.embeddings import BaseEmbedding

    class Wrapped(BaseEmbedding):
        def _get_query_embedding(self, query: str) -> list[float]:
            return list(map(float, embedder.embed([query])[0]))

        def _get_text_embedding(self, text: str) -> list[float]:
            return list(map(float, embedder.embed([text])[0]))

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return [list(map(float, v)) for v in embedder.embed(texts)]

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    return Wrapped(model_name=embedder.model_id, embed_batch_size=64)


def bench_retrieval(settings: Settings, embedder: Embedder, reference: Embedder, messages: Sequence[str],
                    log: Log) -> dict[str, Any]:
    """Our hybrid retrieval and whole suggestion against a plain LlamaIndex retriever, interleaved message by
    message: `VectorStoreIndex` over the same Qdrant collection (our served build of the sample KB), with the same
    model loaded as a user would load it (sentence-transformers), `as_retriever(similarity_top_k=10)`."""
    from indexer.cli import run_index

    with Engine.open(settings, embedder=embedder) as engine:
        run_index(engine, settings.articles_dir)
        collection = engine.store.resolve_alias(settings.collection)
        assert collection is not None
        retriever = llamaindex_retriever(engine.store, collection, reference)
        times = paired({"ours": lambda m: engine.retriever.search(m, None, limit=10),
                        "llamaindex": lambda m: retriever.retrieve(m)}, messages)
        ours, plain = times["ours"], times["llamaindex"]
        suggest = per_item(lambda m: engine.suggester.suggest(_query(m)), messages)
    out = {"ours_retrieval": ours, "llamaindex_retrieval": plain, "suggest_in_process": suggest,
           "retrieval_ratio": round(ours["p50_ms"] / plain["p50_ms"], 3)}
    log(f"retrieval: ours p50 {ours['p50_ms']} ms (ONNX + hybrid) vs plain LlamaIndex {plain['p50_ms']} ms "
        f"(sentence-transformers + dense) → ratio {out['retrieval_ratio']}; suggest p50 {suggest['p50_ms']} ms")
    return out


def llamaindex_retriever(store: QdrantStore, collection: str, reference: Embedder) -> Any:
    """What a user would build instead: LlamaIndex's QdrantVectorStore on an existing collection (its dense vector
    is named `dense`; the `text` payload is read as the node text), `VectorStoreIndex.from_vector_store`."""
    from llama_index.core import VectorStoreIndex
    from llama_index.vector_stores.qdrant import QdrantVectorStore

    vector_store = QdrantVectorStore(client=store.client, collection_name=collection, dense_vector_name=DENSE)
    index = VectorStoreIndex.from_vector_store(vector_store, embed_model=_llamaindex_embedding(reference))
    return index.as_retriever(similarity_top_k=10)


def _query(message: str) -> Any:
    from kb.suggest import SuggestQuery

    return SuggestQuery(message=message, language=None, limit=3)


def bench_scale(settings: Settings, n: int, queries: int, log: Log) -> dict[str, Any]:
    """Search latency at `n` synthetic chunks (deterministic random vectors) in the configured store."""
    rng = np.random.default_rng(n)
    store = QdrantStore(settings)
    name = f"bench_scale_{n}"
    try:
        if store.exists(name):
            store.drop(name)
        store.create(name, 384, {"bench": n})
        started = time.perf_counter()
        batch = 2048
        for start in range(0, n, batch):
            size = min(batch, n - start)
            vectors = rng.standard_normal((size, 384)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            terms = rng.integers(0, 50_000, size=(size, 12))
            payloads = [{"article_id": f"a{(start + i) // 8}", "kind": "answer", "text": "", "language": "nl"}
                        for i in range(size)]
            store.upsert(name, [Point(str(uuid.UUID(int=start + i)), payloads[i],
                                      vectors[i], SparseVec(tuple(sorted(set(terms[i].tolist()))),
                                                            tuple([1.0] * len(set(terms[i].tolist())))))
                               for i in range(size)], batch_size=batch)
        load_s = time.perf_counter() - started
        qv = rng.standard_normal((queries, 384)).astype(np.float32)
        qv /= np.linalg.norm(qv, axis=1, keepdims=True)
        qs = [SparseVec(tuple(sorted(set(t.tolist()))), tuple([1.0] * len(set(t.tolist()))))
              for t in rng.integers(0, 50_000, size=(queries, 6))]
        it = iter(range(10**9))
        dense = timings(lambda: store.search(name, qv[next(it) % queries], None, limit=10, fused=False), queries,
                        warmup=2)
        it2 = iter(range(10**9))
        hybrid = timings(lambda: store.search(name, qv[(i := next(it2)) % queries], qs[i % queries], limit=10,
                                              candidates=60, fused=False), queries, warmup=2)
        store.drop(name)
    finally:
        store.close()
    out = {"chunks": n, "load_s": round(load_s, 1), "dense": dense, "hybrid": hybrid}
    log(f"scale {n}: dense p50 {dense['p50_ms']} ms, hybrid p50 {hybrid['p50_ms']} ms (load {out['load_s']} s)")
    return out


def synthetic_kb(source: Path, target: Path, articles: int) -> None:
    """`articles` valid articles made from the sample ones (ids and titles numbered), plus the templates."""
    shutil.copytree(source / "_templates", target / "_templates")
    files = [p for p in sorted(source.glob("*/*.md")) if "status: published" in p.read_text(encoding="utf-8")]
    for i in range(articles):
        src = files[i % len(files)]
        text = src.read_text(encoding="utf-8")
        old_id = text.split("\nid: ", 1)[1].split("\n", 1)[0]
        new_id = f"{old_id}-{i:04d}"
        text = text.replace(f"\nid: {old_id}\n", f"\nid: {new_id}\n", 1).replace("\ntitle: ", f"\ntitle: ({i}) ", 1)
        text = "\n".join(line for line in text.splitlines() if not line.startswith("related:")) + "\n"
        text = text.replace("## Antwoord\n\n", f"## Antwoord\n\nVersie {i}. ", 1).replace(
            "## Answer\n\n", f"## Answer\n\nVersion {i}. ", 1)
        out = target / src.parent.name / f"{new_id}.md"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")


def bench_indexing(settings: Settings, embedder: Embedder, articles: int, log: Log) -> dict[str, Any]:
    """Indexing throughput against the raw encoder, and an incremental re-index after one edit against a full
    rebuild, on a synthetic KB of `articles` articles."""
    from indexer.cli import run_index

    with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
        root = Path(tmp) / "articles"
        synthetic_kb(settings.articles_dir, root, articles)
        kb_settings = settings.model_copy(update={"data_dir": Path(tmp) / "data", "articles_dir": root})
        corpus = build_corpus(iter_article_files(root))
        texts = [c.text for a in corpus.served() for c in chunk_article(a)]
        raw = throughput(embedder, texts)
        with Engine.open(kb_settings, embedder=embedder) as engine:
            full = run_index(engine, root, full=True)
            target = sorted(p for p in root.glob("*/*.md") if not p.parent.name.startswith("_"))[0]
            edited = target.read_text(encoding="utf-8").replace("Versie ", "Versie (bijgewerkt) ", 1)
            target.write_text(edited.replace("Version ", "Version (updated) ", 1), encoding="utf-8")
            incremental = run_index(engine, root)
    out = {"articles": full.articles, "chunks": full.chunks, "raw_encoder_chunks_per_s": raw,
           "index_chunks_per_s": round(full.chunks / full.seconds, 1), "full_s": round(full.seconds, 2),
           "incremental_s": round(incremental.seconds, 3), "incremental_embedded": incremental.embedded}
    out["throughput_ratio"] = round(out["index_chunks_per_s"] / raw, 3)
    out["incremental_share"] = round(incremental.seconds / full.seconds, 4)
    log(f"indexing {full.articles} articles / {full.chunks} chunks: {out['index_chunks_per_s']} chunks/s vs raw "
        f"{raw} (ratio {out['throughput_ratio']}); one edit re-indexed in {out['incremental_s']} s = "
        f"{out['incremental_share']:.2%} of the full {out['full_s']} s")
    return out


def run_bench(settings: Settings, config: BenchConfig, *, log: Log = print) -> dict[str, Any]:
    messages = [m.text for m in load_golden()][:config.messages]
    corpus = build_corpus(iter_article_files(settings.articles_dir))
    chunks = [c.text for a in corpus.served() for c in chunk_article(a)]
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
        # Its own data dir (the served index is untouched); the ONNX export is reused from the main data dir.
        local = settings.model_copy(update={"data_dir": Path(tmp), "qdrant_url": settings.qdrant_url})
        onnx_src = settings.data_dir / "onnx"
        if onnx_src.exists():
            shutil.copytree(onnx_src, Path(tmp) / "onnx")
        encoder, reference, fast = bench_encoder(local, messages, chunks, log)
        if not onnx_src.exists() and (Path(tmp) / "onnx").exists():
            shutil.copytree(Path(tmp) / "onnx", onnx_src)  # keep the export for the service and the next run
        retrieval = bench_retrieval(local, fast, reference, messages, log)
        scale = [bench_scale(local, n, config.scale_queries, log) for n in config.scales]
        indexing = bench_indexing(local, fast, config.kb_articles, log)
    return {"machine": machine(), "config": {"messages": len(messages), "scales": list(config.scales),
                                             "kb_articles": config.kb_articles},
            "encoder": encoder, "retrieval": retrieval, "scale": scale, "indexing": indexing}


def machine() -> dict[str, Any]:
    import os
    import platform

    return {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
            "processor": platform.processor() or platform.machine()}
