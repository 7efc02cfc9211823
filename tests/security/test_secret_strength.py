"""Issue 25, point 2: production secrets by a documented entropy rule (kb/secret_strength.py), not an exact match
of a few placeholders. The issue's secrets started in production, and with them a forged session cookie opened
the editor, QA and insights pages; every one now stops start-up, naming the setting and how to make a good one,
while generated secrets pass and development keeps its defaults."""

from __future__ import annotations

import base64
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from api.session import load_secret
from kb.config import Settings
from kb.errors import ConfigError
from kb.secret_strength import GENERATE
from tests.conftest import ROOT

pytestmark = pytest.mark.unit

#: What the audit started production with, and variants of the same mistakes.
WEAK = {
    "changeme repeated": "changeme" * 4,
    "32 spaces": " " * 32,
    "one character": "x" * 48,
    "padded placeholder": "changeme" + "0" * 24,
    "placeholder and a counter": "changeme-0123456789012345678901234",
    "a short secret repeated": "aB3dE5gH7jK9mN1p" * 2,
    "a keyboard row": "qwertyuiopasdfghjklzxcvbnm1234567890",
    "placeholders in a row": "Secret2024!Password2024!Changeme",
    "a line break inside": secrets.token_urlsafe(32)[:20] + "\n" + secrets.token_urlsafe(32),
}
#: What generators make: these must always pass.
GENERATED = {
    "token_urlsafe(32)": lambda: secrets.token_urlsafe(32),
    "openssl rand -hex 32": lambda: secrets.token_hex(32),
    "openssl rand -base64 48": lambda: base64.b64encode(secrets.token_bytes(48)).decode(),
}
#: Each secret setting, and how a value is put into it.
SETTINGS = {
    "KB_SESSION_SECRET": lambda v: {"session_secret": v},
    "KB_API_KEY": lambda v: {"api_key": f"kb_1a2b3c4d_{v}"},
    "KB_QDRANT_API_KEY": lambda v: {"qdrant_api_key": v},
    "KB_QDRANT_READ_API_KEY": lambda v: {"qdrant_read_api_key": v},
    "KB_DATABASE_URL": lambda v: {"database_url": f"postgresql://kb:{v.replace('/', '%2F')}@db/kb"},
}


@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("weak", list(WEAK))
def test_a_weak_secret_stops_production_start_up_and_says_how_to_make_one(setting: str, weak: str) -> None:
    value = WEAK[weak]
    if setting == "KB_DATABASE_URL" and any(c.isspace() for c in value):
        pytest.skip("a URL cannot carry whitespace")
    with pytest.raises(ValidationError) as refused:
        Settings(env="production", **SETTINGS[setting](value))
    message = str(refused.value)
    assert setting in message and GENERATE in message
    assert not value.strip() or value.strip() not in message  # the reason, never the secret
    Settings(env="development", **SETTINGS[setting](value))  # development keeps its defaults and test values


@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("generator", list(GENERATED))
def test_generated_secrets_pass_in_production_every_time(setting: str, generator: str) -> None:
    for _ in range(200):
        Settings(env="production", **SETTINGS[setting](GENERATED[generator]()))


def test_development_starts_with_no_secret_set() -> None:
    settings = Settings()
    assert settings.env == "development" and settings.session_secret is None


def test_a_weak_session_secret_file_stops_production_too(tmp_path: Path) -> None:
    (tmp_path / "session-secret").write_text("changeme" * 4)
    with pytest.raises(ConfigError, match="too weak"):
        load_secret(Settings(env="production", data_dir=tmp_path))
    assert load_secret(Settings(data_dir=tmp_path)) == b"changeme" * 4  # development: as it is
    (tmp_path / "session-secret").write_text(secrets.token_urlsafe(48))
    assert len(load_secret(Settings(env="production", data_dir=tmp_path))) == 64


def test_kb_serve_refuses_the_issues_secret_in_one_line(tmp_path: Path) -> None:
    import os

    clean = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    out = subprocess.run([sys.executable, "-m", "kb.cli", "serve"], cwd=ROOT, capture_output=True, text=True,
                         env={**clean, "KB_ENV": "production", "KB_SESSION_SECRET": "changeme" * 4,
                              "KB_DATA_DIR": str(tmp_path)}, timeout=120)
    assert out.returncode == 1 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "KB_SESSION_SECRET" in out.stderr and "token_urlsafe" in out.stderr
