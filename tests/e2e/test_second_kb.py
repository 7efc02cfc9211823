"""Randmeer, the second sample knowledge base (eval/kbs/randmeer): quality is not a property of the sample
charity KB. Its articles (kind templates included) lint clean, and its blind messages, run through the real CLI
on the real model with the bundled calibration, gate and kinds model, meet its own minimums."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

RANDMEER = ROOT / "eval" / "kbs" / "randmeer"


def _kb(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KB_DATA_DIR": str(data_dir), "KB_ARTICLES_DIR": str(RANDMEER / "articles")}
    return subprocess.run([sys.executable, "-m", "kb.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)


def test_the_second_kb_lints_clean_with_its_kind_templates(tmp_path: Path) -> None:
    done = _kb("lint", data_dir=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "48 valid articles" in done.stdout + done.stderr and " 0 errors" in done.stdout + done.stderr


def test_the_second_kbs_blind_messages_meet_its_own_minimums_on_the_real_model(tmp_path: Path) -> None:
    done = _kb("eval", "golden", "--articles", str(RANDMEER / "articles"), "--golden", str(RANDMEER),
               "--thresholds", str(RANDMEER / "thresholds.toml"), "--out", str(tmp_path / "report"),
               data_dir=tmp_path / "data")
    assert done.returncode == 0, done.stdout + done.stderr
    test_line = next(line for line in done.stdout.splitlines() if line.startswith("test "))
    assert re.search(r"n= 138 ", test_line), test_line  # every test message was run, kinds on
    assert float(re.search(r"hit@1=([\d.]+)", test_line).group(1)) >= 0.70, test_line  # type: ignore[union-attr]
    assert (tmp_path / "report" / "golden.html").is_file()
