"""Helpers to run real `kb serve` processes for the reliability tests (the `Service` of tests/e2e/test_serve.py).

    data = prepare_data_dir(base / "data", sample_engine.settings.cache_path)
    svc = Service(base, port, serve_env(data, articles, port, KB_DATABASE_URL=url), keys={"agent": key})
"""

from __future__ import annotations

import os
from pathlib import Path

from kb.embedding import copy_cache
from tests.e2e.test_serve import Service
from tests.infra.processes import free_port

__all__ = ["QUEUE_TIMEOUT", "Service", "free_port", "prepare_data_dir", "serve_env"]

#: The served process's queue wait bound (the shipped default is 10 s; shorter keeps the overload run short).
QUEUE_TIMEOUT = 5.0


def prepare_data_dir(data: Path, embedding_cache: Path) -> Path:
    """A data dir that skips re-embedding: the session's embeddings copied in."""
    data.mkdir(parents=True, exist_ok=True)
    copy_cache(embedding_cache, data / "embeddings.sqlite")
    return data


def serve_env(data: Path, articles: Path, port: int, **extra: str) -> dict[str, str]:
    """The environment of one `kb serve`: the test's data dir, articles and port, nothing from the caller's KB_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    return {**env, "KB_DATA_DIR": str(data), "KB_ARTICLES_DIR": str(articles), "KB_PORT": str(port),
            "HF_HUB_OFFLINE": "1", **extra}
