"""Issue 25, point 6: 500s where a 4xx belongs. A chunked body over the limit on a page route (`/login`,
`/qa/jobs/upload`) gave a 500 and a 100-line traceback (the limit's exception came back wrapped in an
ExceptionGroup), and a deeply nested JSON line in an uploaded `.jsonl` export gave a 500 (RecursionError). Now 413
and 422 with the one error body, and nothing logged as an unexpected error. Over HTTP, on the real app."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.api.conftest import assert_error_shape, make_keys

pytestmark = pytest.mark.e2e


@pytest.fixture()
def qa(sample_engine: Any, tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    keys = make_keys(tmp_path)
    settings = sample_engine.settings.model_copy(update={"data_dir": tmp_path, "key_rate": 0.0,
                                                         "reports_dir": tmp_path / "reports"})
    with TestClient(create_app(settings, sample_engine), raise_server_exceptions=False,
                    follow_redirects=False) as client:
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
        assert token
        assert client.post("/login", data={"csrf": token.group(1), "key": keys["qa"]}).status_code == 303
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/qa").text)
        assert csrf
        yield client, csrf.group(1)


def _chunks(total: int) -> Iterator[bytes]:
    """`total` bytes without a Content-Length: the limit is met while the body is read."""
    for _ in range(total // 16_384 + 1):
        yield b"key=" + b"x" * 16_380


@pytest.mark.parametrize(("path", "total"), [("/login", 200_000), ("/qa/jobs/upload?period=week", 6_000_000),
                                             ("/agent/suggest", 200_000)])
def test_a_chunked_body_over_the_limit_on_a_page_route_is_413(qa: tuple[TestClient, str], path: str, total: int,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    client, csrf = qa
    with caplog.at_level(logging.ERROR):
        answer = client.post(path, content=_chunks(total), headers={
            "x-csrf-token": csrf, "x-filename": "export.csv", "content-type": "application/x-www-form-urlencoded"})
    error = assert_error_shape(answer, 413)
    assert error["code"] == "payload_too_large"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text[-2000:]


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_a_deeply_nested_json_line_in_an_upload_is_422_naming_the_line(qa: tuple[TestClient, str],
                                                                       depth: int) -> None:
    client, csrf = qa
    good = b'{"agent": "anna", "message": "klopt het?", "reply": "nee"}\n'
    nested = b'{"agent": ' + b"[" * depth + b"]" * depth + b', "message": "x", "reply": "y"}\n'
    answer = client.post("/qa/jobs/upload?period=week", content=good + nested, headers={
        "x-csrf-token": csrf, "x-filename": "log.jsonl", "accept": "application/json"})
    error = assert_error_shape(answer, 422)
    assert "log.jsonl:2" in error["message"] and "nested" in error["message"]
