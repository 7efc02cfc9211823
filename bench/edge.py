"""Optional part of `kb bench --edge`: the same synthetic scale test on `qdrant-edge-py`, Qdrant's in-process engine
(Rust, HNSW, the server's own segment code), to weigh it against local mode and a Qdrant server.

It is not a dependency of Kennisbank (see docs/benchmarks.md for why); install it to run this part:
`.venv/bin/pip install qdrant-edge-py`.

    >>> bench_edge(10_000, queries=50, log=print)  # doctest: +SKIP
    {'chunks': 10000, 'load_s': 3.1, 'dense': {'p50_ms': 0.4, ...}, 'hybrid': {...}}
"""

from __future__ import annotations

import importlib.util
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np

from bench.stats import timings


def available() -> bool:
    return importlib.util.find_spec("qdrant_edge") is not None


def bench_edge(n: int, queries: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Load `n` synthetic chunks (the same generator as bench.run.bench_scale) and time dense and hybrid
    top-60 queries (two queries, one per vector, as kb.retrieval asks for both modes' scores)."""
    import qdrant_edge as qe

    rng = np.random.default_rng(n)
    with tempfile.TemporaryDirectory(prefix="kb-edge-") as tmp:
        config = qe.EdgeConfig(vectors={"dense": qe.EdgeVectorParams(size=384, distance=qe.Distance.Cosine)},
                               sparse_vectors={"lexical": qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
                               max_search_threads=1)
        shard = qe.EdgeShard.create(tmp, config)
        started = time.perf_counter()
        for start in range(0, n, 2048):
            size = min(2048, n - start)
            vectors = rng.standard_normal((size, 384)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            terms = rng.integers(0, 50_000, size=(size, 12))
            points = []
            for i in range(size):
                idx = sorted(set(terms[i].tolist()))
                vector = {"dense": vectors[i].tolist(), "lexical": qe.SparseVector(idx, [1.0] * len(idx))}
                points.append(qe.Point(str(uuid.UUID(int=start + i)), vector,
                                       {"article_id": f"a{(start + i) // 8}", "kind": "answer", "language": "nl"}))
            shard.update(qe.UpdateOperation.upsert_points(points))
        shard.optimize()  # build the HNSW index, as a server does in the background
        load_s = time.perf_counter() - started
        qv = rng.standard_normal((queries, 384)).astype(np.float32)
        qv /= np.linalg.norm(qv, axis=1, keepdims=True)
        qs = [sorted(set(t.tolist())) for t in rng.integers(0, 50_000, size=(queries, 6))]
        counter = iter(range(10**9))

        def dense() -> object:
            i = next(counter) % queries
            return shard.query(qe.QueryRequest(limit=60, query=qe.Query.Nearest(qv[i].tolist(), using="dense"),
                                               with_payload=True))

        def hybrid() -> object:
            i = next(counter) % queries
            return [shard.query(qe.QueryRequest(limit=60, query=qe.Query.Nearest(qv[i].tolist(), using="dense"),
                                                with_payload=True)),
                    shard.query(qe.QueryRequest(limit=60, query=qe.Query.Nearest(
                        qe.SparseVector(qs[i], [1.0] * len(qs[i])), using="lexical"), with_payload=True))]

        out: dict[str, Any] = {"chunks": n, "load_s": round(load_s, 1), "dense": timings(dense, queries, warmup=2),
               "hybrid": timings(hybrid, queries, warmup=2)}
        shard.close()
    log(f"qdrant-edge {n}: dense p50 {out['dense']['p50_ms']} ms, hybrid p50 {out['hybrid']['p50_ms']} ms "
        f"(load + optimize {out['load_s']} s)")
    return out
