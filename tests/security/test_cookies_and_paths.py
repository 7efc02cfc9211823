"""Issue 25, points 8 and 9. Behind a TLS proxy on another host the app sees plain HTTP, so the session cookie went
out without `Secure`: in production every cookie is Secure now, whatever the scheme the app sees (attributes set
in one place, api.session.cookie_attributes). And answers never show where the server keeps its files: `/readyz`
showed the part of a data-dir path after a space and relative paths such as `.kb/qdrant`, a QA user's 404 on
/qa/reports/... the absolute reports folder; the paths go to the log instead.

On the app over HTTP with a small deterministic embedder and an empty local index: what is tested here is the
answers' headers and words, not retrieval (the real model's /readyz: tests/security/test_edges.py)."""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from kb.config import Settings
from kb.embedding import HashEmbedder
from kb.engine import Engine
from tests.api.conftest import assert_error_shape, make_keys
from tests.conftest import ROOT

pytestmark = pytest.mark.unit


@pytest.fixture()
def spaced(tmp_path: Path) -> Path:
    """A data dir with a space in its name, given relative to the working directory (as `.kb` is)."""
    folder = tmp_path / "my kb data"
    folder.mkdir()
    return Path(os.path.relpath(folder, ROOT))


def _app(data: Path, url: str, **settings: Any) -> Iterator[tuple[TestClient, dict[str, str], Settings]]:
    config = Settings(data_dir=data, reports_dir=data.parent / "reports", key_rate=0, **settings)
    keys = make_keys(data)
    with Engine.open(config, embedder=HashEmbedder()) as engine, \
            TestClient(create_app(config, engine), base_url=url, raise_server_exceptions=False,
                       follow_redirects=False) as client:
        yield client, keys, config


@pytest.fixture()
def production(spaced: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, dict[str, str], Settings]]:
    """Production as browsers reach it: through HTTPS, here ending at the test client (the app itself sees plain
    HTTP behind a proxy the same way; see the first test)."""
    monkeypatch.chdir(ROOT)
    yield from _app(spaced, "https://testserver", env="production", session_secret=secrets.token_urlsafe(32))


@pytest.fixture()
def development(spaced: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, dict[str, str], Settings]]:
    monkeypatch.chdir(ROOT)
    yield from _app(spaced, "http://testserver")


def _login(client: TestClient, key: str) -> Any:
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    return page, client.post("/login", data={"csrf": token.group(1), "key": key})


def _cookies(response: Any) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in response.headers.get_list("set-cookie")}


def test_in_production_every_cookie_is_secure_though_the_app_sees_plain_http(spaced: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy on another host terminates TLS and forwards plain HTTP (without forwarded headers the app trusts):
    the cookies are Secure all the same. A browser on plain HTTP never sends them back, and is told why."""
    monkeypatch.chdir(ROOT)
    for client, keys, _ in _app(spaced, "http://testserver", env="production",
                                session_secret=secrets.token_urlsafe(32)):
        page, login = _login(client, keys["qa"])
        assert "secure" in _cookies(page)["kb_login"].lower()
        assert login.status_code == 403 and "https://" in login.text  # the Secure login cookie stayed away


def test_in_production_login_and_logout_cookies_are_secure_httponly_and_strict(production: Any) -> None:
    client, keys, _ = production
    page, login = _login(client, keys["qa"])
    assert login.status_code == 303
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/qa").text)
    assert csrf
    logout = client.post("/logout", data={"csrf": csrf.group(1)})
    set_ = {**_cookies(page), **_cookies(login)}
    cleared = _cookies(logout)
    assert {"kb_login", "kb_session"} <= set(set_) and "kb_session" in cleared
    for header in [*set_.values(), *cleared.values()]:
        attributes = {a.strip().lower() for a in header.split(";")}
        assert {"secure", "httponly", "samesite=strict"} <= attributes, header


def test_in_development_over_plain_http_the_cookies_work_without_secure(development: Any) -> None:
    client, keys, _ = development
    page, login = _login(client, keys["qa"])
    assert login.status_code == 303
    for header in {**_cookies(page), **_cookies(login)}.values():
        assert "secure" not in header.lower() and "httponly" in header.lower()


def test_readyz_names_no_server_path_and_logs_it(production: Any, caplog: pytest.LogCaptureFixture) -> None:
    client, _, settings = production
    with caplog.at_level(logging.WARNING, logger="kb.api"):
        answer = client.get("/readyz")
    error = assert_error_shape(answer, 503)
    assert error["code"] == "index_not_ready" and "run `kb index`" in error["message"]
    for leak in (str(settings.data_dir), "kb data", ".kb", "qdrant", str(settings.data_dir.resolve())):
        assert leak not in answer.text, (leak, answer.text)
    assert str(settings.qdrant_path) in caplog.text  # where it looked: in the log


def test_an_unavailable_index_names_no_server_path_to_an_agent_either(production: Any) -> None:
    client, keys, settings = production
    answer = client.post("/v1/suggest", json={"message": "klopt het dat suiker kanker voedt?"},
                         headers={"Authorization": f"Bearer {keys['agent']}"})
    error = assert_error_shape(answer, 503)
    assert "kb data" not in answer.text and str(settings.data_dir) not in answer.text, error


def test_a_missing_report_names_no_server_path(production: Any, caplog: pytest.LogCaptureFixture) -> None:
    client, keys, settings = production
    _login(client, keys["qa"])
    with caplog.at_level(logging.INFO, logger="kb.api"):
        answer = client.get("/qa/reports/runs/nope/agents.html", headers={"accept": "application/json"})
    error = assert_error_shape(answer, 404)
    assert "no report" in error["message"]
    for leak in (str(settings.reports_dir), str(settings.reports_dir.resolve()), "kb data"):
        assert leak not in answer.text, (leak, answer.text)
    assert str(settings.reports_dir.resolve()) in caplog.text
