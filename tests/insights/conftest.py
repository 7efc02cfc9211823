"""Fixtures for the insights: generated traffic (bench/traffic.py) ending today, loaded into a fresh service
database, and the real app over HTTP on the sample index with one key per role."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.db import open_database
from bench.traffic import Traffic, TrafficPlan, generate, load
from kb.config import Settings
from tests.api.conftest import make_keys


@pytest.fixture(scope="session")
def traffic() -> Traffic:
    """Eight weeks ending today (UTC): a surge in the third week from the end, a drift, a new gap last week."""
    return generate(TrafficPlan(end=dt.datetime.now(dt.UTC).date()))


@pytest.fixture(scope="module")
def insights_app(tmp_path_factory: pytest.TempPathFactory, sample_engine: Any,
                 traffic: Traffic) -> Iterator[tuple[Any, dict[str, str]]]:
    """(TestClient, keys per role) over a database holding the generated traffic."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    data = tmp_path_factory.mktemp("insights") / "data"
    settings = sample_engine.settings.model_copy(update={"data_dir": data, "key_rate": 0.0})
    keys = make_keys(data)
    db = open_database(Settings(data_dir=data))
    try:
        load(db, traffic)
    finally:
        db.close()
    with TestClient(create_app(settings, sample_engine), raise_server_exceptions=False) as client:
        yield client, keys


def auth(keys: dict[str, str], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys[role]}"}


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"
