"""Bounds on every input, and one JSON error shape for every 4xx and 5xx on every route."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.conftest import assert_error_shape


def test_message_of_5000_characters_passes_and_5001_is_refused(client: Any, auth: Any) -> None:
    base = "suiker voedt kanker klopt dat "
    ok = client.post("/v1/suggest", headers=auth["agent"], json={"message": (base * 200)[:5000]})
    assert ok.status_code == 200, ok.text
    error = assert_error_shape(client.post("/v1/suggest", headers=auth["agent"],
                                           json={"message": (base * 200)[:5001]}), 422)
    assert "message" in error["message"]


def test_kb_max_message_chars_bounds_the_api_and_its_openapi_document(sample_engine: Any, tmp_path: Any) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from tests.api.conftest import make_keys

    settings = sample_engine.settings.model_copy(update={"data_dir": tmp_path, "max_message_chars": 200})
    agent = {"Authorization": f"Bearer {make_keys(tmp_path)['agent']}"}
    with TestClient(create_app(settings, sample_engine), raise_server_exceptions=False) as client:
        assert client.post("/v1/suggest", headers=agent, json={"message": "suiker " * 27 + "kanker"}).status_code == 200
        error = assert_error_shape(client.post("/v1/suggest", headers=agent, json={"message": "s" * 201}), 422)
        assert error["message"] == "message: 201 characters, at most 200"
        documented = client.app.openapi()["components"]["schemas"]["SuggestIn"]["properties"]["message"]
        assert documented["maxLength"] == 200


@pytest.mark.parametrize("limit", [0, 11, -1])
def test_limit_outside_1_to_10_is_refused(client: Any, auth: Any, limit: int) -> None:
    error = assert_error_shape(client.post("/v1/suggest", headers=auth["agent"],
                                           json={"message": "suiker voedt kanker", "limit": limit}), 422)
    assert "limit" in error["message"]


def test_limit_10_is_accepted(client: Any, auth: Any) -> None:
    body = client.post("/v1/suggest", headers=auth["agent"],
                       json={"message": "klopt het dat suiker kanker voedt", "limit": 10}).json()
    assert 1 <= len(body["suggestions"]) <= 10


def test_unknown_channel_is_refused_naming_the_valid_ones(client: Any, auth: Any) -> None:
    error = assert_error_shape(client.post("/v1/suggest", headers=auth["agent"],
                                           json={"message": "suiker voedt kanker", "channel": "myspace"}), 422)
    for channel in ("x", "facebook", "instagram", "whatsapp", "email"):
        assert channel in error["message"]


@pytest.mark.parametrize("body", [{}, {"message": ""}, {"message": "   "}, {"message": 42},
                                  {"message": "hoi", "unexpected": 1}, {"message": "hoi", "language": "de"}])
def test_malformed_suggest_bodies_are_422(client: Any, auth: Any, body: dict[str, Any]) -> None:
    assert_error_shape(client.post("/v1/suggest", headers=auth["agent"], json=body), 422)


def test_invalid_json_is_422(client: Any, auth: Any) -> None:
    response = client.post("/v1/suggest", headers={**auth["agent"], "content-type": "application/json"},
                           content=b'{"message": "hoi"')
    assert_error_shape(response, 422)


def test_a_body_over_64_kib_is_413_from_content_length(client: Any, auth: Any) -> None:
    big = b'{"message": "' + b"a" * (70 * 1024) + b'"}'
    response = client.post("/v1/suggest", headers={**auth["agent"], "content-type": "application/json"},
                           content=big)
    assert assert_error_shape(response, 413)["code"] == "payload_too_large"


def test_a_streamed_body_over_64_kib_is_413(client: Any, auth: Any) -> None:
    # No Content-Length: the limit must hold on the stream itself. (That the server answers before the client
    # has sent the rest is checked against a real `kb serve` in tests/e2e/test_serve.py.)
    def chunks() -> Iterator[bytes]:
        yield b'{"message": "'
        for _ in range(100):
            yield b"a" * 1024
        yield b'"}'

    response = client.post("/v1/suggest", headers={**auth["agent"], "content-type": "application/json"},
                           content=chunks())
    assert_error_shape(response, 413)


def test_unknown_path_and_wrong_method_have_the_error_shape(client: Any, auth: Any) -> None:
    assert assert_error_shape(client.get("/v1/nothing", headers=auth["admin"]), 404)["code"] == "not_found"
    assert_error_shape(client.get("/v1/suggest", headers=auth["admin"]), 405)


def test_an_unexpected_failure_is_500_with_the_shape_and_no_trace(sample_engine: Any, tmp_path: Any) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.deps import get_engine

    settings = sample_engine.settings.model_copy(update={"data_dir": tmp_path})
    from tests.api.conftest import make_keys

    keys = make_keys(tmp_path)
    app = create_app(settings, sample_engine)

    def broken() -> Any:
        raise RuntimeError("secret internal detail /etc/passwd")

    app.dependency_overrides[get_engine] = broken
    with TestClient(app, raise_server_exceptions=False) as client:
        for method, path, body in [("POST", "/v1/suggest", {"message": "hoi"}), ("GET", "/readyz", None),
                                   ("GET", "/v1/articles", None), ("GET", "/metrics", None)]:
            response = client.request(method, path, json=body, headers={"Authorization": f"Bearer {keys['admin']}"})
            error = assert_error_shape(response, 500)
            assert error["code"] == "internal_error" and "passwd" not in response.text and error["request_id"]


def test_readyz_and_suggest_are_503_with_the_reason_when_there_is_no_index(make_engine: Any, tmp_path: Any) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from tests.api.conftest import make_keys

    engine = make_engine()  # an empty data directory: never indexed
    keys = make_keys(engine.settings.data_dir)
    with TestClient(create_app(engine.settings, engine)) as client:
        assert client.get("/healthz").status_code == 200
        error = assert_error_shape(client.get("/readyz"), 503)
        assert "kb index" in error["message"]
        response = client.post("/v1/suggest", json={"message": "suiker voedt kanker"},
                               headers={"Authorization": f"Bearer {keys['agent']}"})
        assert_error_shape(response, 503)
        assert response.headers["retry-after"]


def test_readyz_is_503_when_the_database_does_not_answer(client: Any) -> None:
    from api.db import DatabaseUnavailable
    from api.deps import get_db

    class Down:
        def ping(self) -> None:
            raise DatabaseUnavailable("database: postgresql://kb@db:5432/kb unavailable: connection refused")

    client.app.dependency_overrides[get_db] = Down
    try:
        response = client.get("/readyz")
    finally:
        client.app.dependency_overrides.clear()
    error = assert_error_shape(response, 503)
    assert error["code"] == "database_unavailable" and "connection refused" in error["message"]
    assert response.headers["retry-after"]
    assert client.get("/readyz").status_code == 200
