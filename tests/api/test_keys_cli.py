"""`kb keys add|list|revoke|ensure-demo`: a key is printed once, listed without its secret, and revocable."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.db import open_database
from kb.cli import main
from kb.config import Settings


def _kb(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_keys_add_prints_the_key_once_and_list_never_shows_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path))
    code, key, err = _kb(capsys, "keys", "add", "--role", "editor", "--name", "Anna de Vries")
    key = key.strip()
    assert code == 0 and key.startswith("kb_") and "cannot be shown again" in err
    db = open_database(Settings(data_dir=tmp_path))
    try:
        assert db.check_key(key) is not None and db.check_key(key).role == "editor"  # type: ignore[union-attr]
    finally:
        db.close()

    code, listing, _ = _kb(capsys, "keys", "list")
    key_id = key.split("_")[1]
    assert code == 0 and key_id in listing and "Anna de Vries" in listing and "editor" in listing
    assert key.split("_", 2)[2] not in listing

    assert _kb(capsys, "keys", "revoke", key_id)[0] == 0
    assert "revoked" in _kb(capsys, "keys", "list")[1]
    assert _kb(capsys, "keys", "revoke", key_id)[0] == 1  # already revoked: said, not silently ignored


def test_keys_add_refuses_an_unknown_role(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path))
    code, _, err = _kb(capsys, "keys", "add", "--role", "superuser")
    assert code == 2 and "superuser" in err


def test_demo_key_is_made_once_in_development_and_refused_in_production(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path))
    first = _kb(capsys, "keys", "ensure-demo")[1].strip()
    again = _kb(capsys, "keys", "ensure-demo")[1].strip()
    assert first == again and first.startswith("kb_")
    assert oct((tmp_path / "demo-key.txt").stat().st_mode & 0o777) == "0o600"

    monkeypatch.setenv("KB_ENV", "production")
    code, _, err = _kb(capsys, "keys", "ensure-demo")
    assert code == 1 and "production" in err
