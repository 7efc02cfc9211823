"""Keys and roles: every route but the health checks needs a key, and each role reaches only its routes."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from api.db import SqliteDatabase
from tests.api.conftest import ROLES, assert_error_shape

OPEN = {"/healthz", "/readyz"}
#: The role each route needs. A new route fails `test_every_route_is_in_the_role_matrix` until it is listed.
NEEDS = {
    ("POST", "/v1/suggest"): "agent",
    ("POST", "/v1/feedback"): "agent",
    ("GET", "/v1/articles"): "agent",
    ("GET", "/v1/articles/{article_id}"): "agent",
    ("POST", "/v1/index"): "editor",
    ("GET", "/metrics"): "qa",
}
MAY = {"agent": {"agent"}, "editor": {"agent", "editor"}, "qa": {"agent", "qa"}, "admin": set(ROLES)}
BODIES: dict[str, dict[str, Any]] = {
    "/v1/suggest": {"message": "klopt het dat suiker kanker voedt?", "channel": "facebook"},
    "/v1/feedback": {"request_id": "does-not-exist", "action": "used"},
    "/v1/index": {"full": False},
}


def _call(client: Any, method: str, path: str, headers: dict[str, str] | None = None) -> Any:
    url = path.replace("{article_id}", "suiker-voedt-kanker")
    return client.request(method, url, json=BODIES.get(path), headers=headers or {})


def test_every_route_is_in_the_role_matrix(client: Any) -> None:
    paths = client.app.openapi()["paths"]
    routes = {(method.upper(), path) for path, ops in paths.items() for method in ops}
    assert routes - {(m, p) for m, p in routes if p in OPEN} == set(NEEDS)


@pytest.mark.parametrize(("method", "path"), sorted(NEEDS))
def test_a_route_without_a_key_answers_401(client: Any, method: str, path: str) -> None:
    response = _call(client, method, path)
    assert assert_error_shape(response, 401)["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path"), sorted(NEEDS))
@pytest.mark.parametrize("presented", ["Bearer kb_nothere_x", "Bearer ", "Basic a2I6a2I=", "kb_abc_def"])
def test_a_route_with_a_bad_key_answers_401(client: Any, method: str, path: str, presented: str) -> None:
    assert_error_shape(_call(client, method, path, {"Authorization": presented}), 401)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path"), sorted(NEEDS))
def test_each_role_reaches_exactly_its_routes(client: Any, auth: dict[str, dict[str, str]], role: str,
                                              method: str, path: str) -> None:
    response = _call(client, method, path, auth[role])
    if NEEDS[(method, path)] in MAY[role]:
        assert response.status_code not in (401, 403), response.text
    else:
        error = assert_error_shape(response, 403)
        assert NEEDS[(method, path)] in error["message"]


@pytest.mark.parametrize("path", sorted(OPEN))
def test_health_checks_need_no_key(client: Any, path: str) -> None:
    assert client.get(path).status_code == 200


def test_a_revoked_key_is_refused(client: Any, api_env: Any) -> None:
    settings, _ = api_env
    db = SqliteDatabase(settings.data_dir / "kennisbank.sqlite")
    try:
        key, record = db.add_key("agent", name="leaving volunteer")
        headers = {"Authorization": f"Bearer {key}"}
        assert client.get("/v1/articles", headers=headers).status_code == 200
        assert db.revoke_key(record.id)
    finally:
        db.close()
    assert_error_shape(client.get("/v1/articles", headers=headers), 401)


def test_keys_are_stored_hashed_never_in_clear(api_env: Any, keys: dict[str, str]) -> None:
    settings, _ = api_env
    raw = (settings.data_dir / "kennisbank.sqlite").read_bytes()
    con = sqlite3.connect(settings.data_dir / "kennisbank.sqlite")
    try:
        stored = " ".join(str(v) for row in con.execute("SELECT * FROM api_keys") for v in row)
    finally:
        con.close()
    for key in keys.values():
        secret = key.split("_", 2)[2]
        assert secret not in stored and secret.encode() not in raw


def test_a_key_with_a_wrong_secret_for_a_real_id_is_refused(client: Any, keys: dict[str, str]) -> None:
    prefix, key_id, secret = keys["admin"].split("_", 2)
    forged = f"{prefix}_{key_id}_{secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}"
    assert_error_shape(client.get("/metrics", headers={"Authorization": f"Bearer {forged}"}), 401)


def test_production_refuses_the_demo_key(sample_engine: Any, tmp_path: Any) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app

    settings = sample_engine.settings.model_copy(update={"data_dir": tmp_path, "env": "production"})
    db = SqliteDatabase(tmp_path / "kennisbank.sqlite")
    try:
        demo, _ = db.add_key("admin", name="demo")
        real, _ = db.add_key("agent", name="Anna")
    finally:
        db.close()
    with TestClient(create_app(settings, sample_engine)) as client:
        error = assert_error_shape(client.get("/v1/articles", headers={"Authorization": f"Bearer {demo}"}), 401)
        assert "production" in error["message"]
        assert client.get("/v1/articles", headers={"Authorization": f"Bearer {real}"}).status_code == 200
