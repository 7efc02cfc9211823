"""The Chatwoot integration end to end: the real app served by uvicorn on a free port (real HTTP both ways), on
the sample index and the real model (tests/chatwoot/serving.py), talking to a fake Chatwoot that holds it to
Chatwoot's pinned contract (tests/chatwoot/fake.py). Every test's fake must see no contract violation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.chatwoot.fake import FakeChatwoot
from tests.chatwoot.serving import KbServer, serve_kb


@pytest.fixture()
def fake() -> Iterator[FakeChatwoot]:
    chatwoot = FakeChatwoot().start()
    yield chatwoot
    chatwoot.stop()
    assert chatwoot.violations == [], "requests that break Chatwoot's pinned contract:\n" + \
        "\n".join(chatwoot.violations)


@pytest.fixture()
def make_kb(sample_engine: Any, tmp_path: Path) -> Iterator[Callable[..., KbServer]]:
    """make_kb(**settings) -> the app on the sample index, served by uvicorn in a thread, with its own data dir."""
    servers: list[KbServer] = []

    def make(**overrides: Any) -> KbServer:
        servers.append(serve_kb(sample_engine, tmp_path / f"data{len(servers)}", **overrides))
        return servers[-1]

    yield make
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """A real PostgreSQL (tests/reliability/postgres.py), for several services sharing one database."""
    from tests.reliability.postgres import PostgresServer

    server = PostgresServer.start()
    yield server
    server.stop()
