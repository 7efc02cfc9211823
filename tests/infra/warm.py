"""Making the real model cheap to use again in tests: a memoising embedder and a data dir with a warm cache.

    >>> data = warm_data_dir(tmp_path / "data", sample_engine.settings.cache_path)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kb.embedding import copy_cache


class MemoEmbedder:
    """The real model, remembering each text's vector: the golden messages are embedded once per session, not once
    per test, store and trial (what those tests check is not the model, and the model is deterministic)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.model_id, self.dim = inner, inner.model_id, inner.dim
        self.memo: dict[tuple[str, str], np.ndarray] = {}

    def embed(self, texts: Sequence[str], *, kind: str) -> np.ndarray:
        keys = [(kind, t) for t in texts]
        missing = [k for k in dict.fromkeys(keys) if k not in self.memo]
        if missing:
            self.memo.update(zip(missing, self.inner.embed([t for _, t in missing], kind=kind), strict=True))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.memo[k] for k in keys])


def warm_data_dir(data: Path, cache: Path) -> Path:
    """A data dir holding a copy of an embedding cache (the session's: `sample_engine.settings.cache_path`), so
    an index of the sample KB costs seconds instead of re-embedding."""
    data.mkdir(parents=True, exist_ok=True)
    copy_cache(cache, data / "embeddings.sqlite")
    return data
