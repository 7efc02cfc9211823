"""Fixtures for the reliability tests: one real PostgreSQL server per session (a fresh database per test), and
one real `kb serve` (embedded SQLite and local Qdrant, shipped admission limits) shared by the load and the
hostile-input tests."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from api.db import Database, open_database
from kb.config import Settings
from tests.conftest import ARTICLES
from tests.reliability.postgres import PostgresServer
from tests.reliability.serving import QUEUE_TIMEOUT, Service, free_port, prepare_data_dir, serve_env

_names = itertools.count()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer.start()
    yield server
    server.stop()


@pytest.fixture()
def postgres_url(postgres: PostgresServer) -> str:
    """The URL of a new, empty database on the session's server."""
    return postgres.create_database(f"kb_test_{next(_names)}")


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory, sample_engine: Any) -> Iterator[Service]:
    """`kb serve` on the sample articles with keys agent0..agent199 and admin."""
    base = tmp_path_factory.mktemp("served")
    data = prepare_data_dir(base / "data", sample_engine.settings.cache_path)
    db = open_database(Settings(data_dir=data))
    keys = {f"agent{i}": db.add_key("agent", name=f"load agent {i}")[0] for i in range(200)}
    keys["agent"] = keys["agent0"]
    keys["admin"] = db.add_key("admin", name="reliability admin")[0]
    db.close()
    port = free_port()
    defaults = Settings()  # the in-flight and queue limits under test are the shipped ones
    assert (defaults.max_in_flight, defaults.max_queued) == (8, 64)
    svc = Service(base, port, serve_env(data, ARTICLES, port, KB_QUEUE_TIMEOUT=str(QUEUE_TIMEOUT)), keys)
    indexed = svc.kb("index")
    assert indexed.returncode == 0, indexed.stderr
    svc.start()
    yield svc
    svc.stop()


Opener = Callable[[], Database]


@pytest.fixture(params=["sqlite", "postgresql"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens the same database again each time it is called (a restart, or a second process), on SQLite and on
    a fresh database of the session's PostgreSQL."""
    opened: list[Database] = []
    if request.param == "sqlite":
        settings = Settings(data_dir=tmp_path)
    else:
        settings = Settings(data_dir=tmp_path, database_url=request.getfixturevalue("postgres_url"))

    def open_again() -> Database:
        db = open_database(settings)
        opened.append(db)
        return db

    yield open_again
    for db in opened:
        db.close()
