"""Issue 15's smaller edges, in process over HTTP (Starlette's TestClient on the real app and sample index) and
through the `kb` command: API docs behind the API's own auth in production and without third-party assets,
a placeholder session secret refused at start-up, /readyz without server paths, owner-only files, `kb keys`
errors in one line, and a re-index already running answered at once by the API and the editor page."""

from __future__ import annotations

import dataclasses
import re
import secrets
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api import service
from api.app import create_app
from api.db import open_database
from api.session import load_secret
from kb.config import Settings
from kb.served import ServedIndex
from tests.api.conftest import assert_error_shape, make_keys
from tests.conftest import ROOT

pytestmark = [pytest.mark.e2e]


def _app(sample_engine: Any, data: Path, **settings: Any) -> tuple[TestClient, dict[str, str]]:
    keys = make_keys(data)
    config = sample_engine.settings.model_copy(update={"data_dir": data, "key_rate": 0.0, **settings})
    # Production is reached over HTTPS: its cookies are Secure (tests/security/test_cookies_and_paths.py).
    url = "https://testserver" if config.env == "production" else "http://testserver"
    return TestClient(create_app(config, sample_engine), base_url=url, follow_redirects=False,
                      raise_server_exceptions=False), keys


@pytest.fixture()
def production(sample_engine: Any, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    client, keys = _app(sample_engine, tmp_path, env="production")
    with client:
        yield client, keys


def _login(client: TestClient, key: str) -> None:
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert token
    assert client.post("/login", data={"csrf": token.group(1), "key": key}).status_code == 303


def test_in_production_the_openapi_document_needs_a_key_like_the_api(production: Any) -> None:
    client, keys = production
    assert assert_error_shape(client.get("/openapi.json"), 401)["code"] == "unauthorized"
    assert_error_shape(client.get("/openapi.json", headers={"Authorization": "Bearer kb_nothere_x"}), 401)
    answer = client.get("/openapi.json", headers={"Authorization": f"Bearer {keys['agent']}"})
    assert answer.status_code == 200 and "/v1/suggest" in answer.json()["paths"]


def test_in_production_the_docs_page_needs_a_session_and_redoc_is_gone(production: Any) -> None:
    client, keys = production
    anonymous = client.get("/docs")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login?next=/docs")
    for gone in ("/redoc", "/docs/oauth2-redirect"):
        assert client.get(gone).status_code == 404
    _login(client, keys["agent"])
    page = client.get("/docs")
    assert page.status_code == 200 and "POST /v1/suggest" in page.text


def test_the_docs_page_loads_nothing_from_another_site(sample_engine: Any, tmp_path: Path) -> None:
    client, _ = _app(sample_engine, tmp_path)
    with client:
        page = client.get("/docs")  # open in development
    assert page.status_code == 200
    assets = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="([^"]+)"', page.text)
    assert assets and all(url.startswith("/") and not url.startswith("//") for url in assets), assets
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for operation in ("POST /v1/index", "GET /v1/articles/{article_id}", "reindex_running"):
        assert operation in page.text


@pytest.mark.parametrize("secret", ["changeme", "secret", "short-but-not-a-placeholder"])
def test_a_placeholder_session_secret_stops_production_start_up(secret: str) -> None:
    with pytest.raises(ValidationError, match="KB_SESSION_SECRET"):
        Settings(env="production", session_secret=secret)
    Settings(env="development", session_secret=secret)  # allowed where nothing is at stake
    Settings(env="production", session_secret=secrets.token_urlsafe(32))


def _kb(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    clean = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    return subprocess.run([sys.executable, "-m", "kb.cli", *args], env={**clean, **env}, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_kb_serve_with_a_placeholder_secret_in_production_refuses_in_one_line(tmp_path: Path) -> None:
    out = _kb("serve", KB_ENV="production", KB_SESSION_SECRET="changeme", KB_DATA_DIR=str(tmp_path))
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [out.stderr.strip()]
    assert out.stderr.startswith("error: invalid settings: ") and "KB_SESSION_SECRET" in out.stderr


def test_kb_keys_on_an_unusable_data_directory_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "kennisbank.sqlite").write_text("this is not a database, whatever its name says\n" * 4)
    for data_dir in (tmp_path / "a-file" / "data", broken):
        for command in (("keys", "add", "--role", "agent"), ("keys", "list"), ("keys", "revoke", "abc")):
            out = _kb(*command, KB_DATA_DIR=str(data_dir))
            assert out.returncode == 1, out
            assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
            assert out.stderr.startswith("error: cannot use the key database")


def test_the_database_and_the_session_secret_are_created_readable_by_the_owner_only(tmp_path: Path) -> None:
    db = open_database(Settings(data_dir=tmp_path))
    db.add_key("agent", name="x")
    try:
        for name in ("kennisbank.sqlite", "kennisbank.sqlite-wal"):
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    finally:
        db.close()
    load_secret(Settings(data_dir=tmp_path))
    assert stat.S_IMODE((tmp_path / "session-secret").stat().st_mode) == 0o600


def test_anonymous_readyz_says_why_without_server_paths(sample_engine: Any, tmp_path: Path) -> None:
    other = sample_engine.settings.model_copy(update={"collection": "nothing_here"})
    engine = dataclasses.replace(sample_engine, served=ServedIndex(sample_engine.store, other))
    settings = sample_engine.settings.model_copy(update={"data_dir": tmp_path})
    with TestClient(create_app(settings, engine), raise_server_exceptions=False) as client:
        answer = client.get("/readyz")
    error = assert_error_shape(answer, 503)
    assert error["code"] == "index_not_ready" and "run `kb index`" in error["message"]
    location = str(sample_engine.store.location)
    assert location not in answer.text and str(tmp_path) not in answer.text
    assert "<server path>" in error["message"]


def test_while_a_reindex_runs_the_api_and_the_editor_page_answer_at_once(sample_engine: Any, tmp_path: Path) -> None:
    client, keys = _app(sample_engine, tmp_path)
    with client:
        _login(client, keys["editor"])
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/editor/index").text)
        assert csrf
        assert service._index_lock.acquire(timeout=60)  # a re-index is running
        try:
            api = client.post("/v1/index", json={"full": True}, headers={"Authorization": f"Bearer {keys['editor']}"})
            page = client.post("/editor/reindex", data={"csrf": csrf.group(1)})
        finally:
            service._index_lock.release()
        error = assert_error_shape(api, 409)
        assert error["code"] == "reindex_running" and "already running" in error["message"]
        assert page.status_code == 303 and page.headers["location"] == "/editor/index?busy=1"
        assert "Er loopt al een herindexering" in client.get(page.headers["location"]).text
        documented = client.app.openapi()["paths"]["/v1/index"]["post"]["responses"]["409"]["description"]
        assert "reindex_running" in documented


def test_sqlite_wal_files_follow_the_database_mode(tmp_path: Path) -> None:
    """SQLite makes -wal and -shm with the database file's permissions: checked, since we rely on it."""
    db = open_database(Settings(data_dir=tmp_path))
    try:
        db.add_key("agent")
        with sqlite3.connect(tmp_path / "kennisbank.sqlite") as con:
            con.execute("SELECT count(*) FROM api_keys").fetchone()
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    finally:
        db.close()
    assert modes and set(modes.values()) == {0o600}, modes
