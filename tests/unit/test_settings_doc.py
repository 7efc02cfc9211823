"""Every setting is documented in the README table (datasette's test_docs idea)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kb.config import Settings

README = Path(__file__).resolve().parents[2] / "README.md"

pytestmark = pytest.mark.unit


def test_every_setting_is_in_the_readme_table() -> None:
    documented = set(re.findall(r"^\| `(KB_[A-Z_]+)` \|", README.read_text(), flags=re.MULTILINE))
    expected = {f"KB_{name.upper()}" for name in Settings.model_fields}
    assert expected - documented == set(), "add these settings to the README table"
    assert documented - expected == set(), "the README documents settings that do not exist"


def test_tier_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="low <= medium <= high"):
        Settings(threshold_low=0.9, threshold_medium=0.5, threshold_high=0.95)


def test_settings_come_from_kb_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_DATA_DIR", "/tmp/elsewhere")
    monkeypatch.setenv("KB_QDRANT_URL", "http://127.0.0.1:6333")
    s = Settings()
    assert s.qdrant_path == Path("/tmp/elsewhere/qdrant")
    assert s.qdrant_url == "http://127.0.0.1:6333"
