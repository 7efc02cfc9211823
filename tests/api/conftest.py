"""The real FastAPI app over HTTP (httpx through Starlette's TestClient, lifespan included), on the sample
index built once per session, with one key per role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kb.config import Settings

ROLES = ("agent", "editor", "qa", "admin")


def make_keys(data_dir: Path) -> dict[str, str]:
    from api.db import open_database

    db = open_database(Settings(data_dir=data_dir))
    try:
        return {role: db.add_key(role, name=f"test {role}")[0] for role in ROLES}
    finally:
        db.close()


@pytest.fixture(scope="session")
def api_env(sample_engine: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict[str, str]]:
    data_dir = tmp_path_factory.mktemp("api") / "data"
    # key_rate 0: these tests send hundreds of requests per key within seconds; the per-key limit has its own
    # tests (tests/reliability/test_limits.py). auth_failures 0: they send a bad key to every route from one
    # address, which the failure throttle would answer with 429 (its tests: tests/security/test_auth_throttle.py).
    settings = sample_engine.settings.model_copy(update={"data_dir": data_dir, "key_rate": 0.0, "auth_failures": 0})
    return settings, make_keys(data_dir)


@pytest.fixture(scope="session")
def client(api_env: tuple[Settings, dict[str, str]], sample_engine: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from api.app import create_app

    settings, _ = api_env
    with TestClient(create_app(settings, sample_engine), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="session")
def keys(api_env: tuple[Settings, dict[str, str]]) -> dict[str, str]:
    return api_env[1]


@pytest.fixture(scope="session")
def auth(keys: dict[str, str]) -> dict[str, dict[str, str]]:
    """Authorization headers per role."""
    return {role: {"Authorization": f"Bearer {key}"} for role, key in keys.items()}


def assert_error_shape(response: Any, status: int) -> dict[str, Any]:
    """Every 4xx/5xx carries the one error shape and never a stack trace."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "request_id", "details"}
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], dict)
    assert "Traceback" not in response.text and 'File "' not in response.text
    return dict(error)
