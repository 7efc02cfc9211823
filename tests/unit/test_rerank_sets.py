"""`kb eval rerank --write` reproduces the bundled re-ranker: it fits on the sets the bundled files name, whatever
sets the ablation learns to run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from eval.cli_retrieval import RERANK_SETS, SETS

pytestmark = pytest.mark.unit

CALIBRATION = Path(__file__).resolve().parents[2] / "kb" / "calibration"
#: The corpus names a fit writes into `fitted_on`, by the set name the commands take.
CORPUS_OF = {"golden": "golden", "policyqa": "policyqa-nl", "checkthat": "checkthat2020-en"}


def test_the_bundled_default_re_ranker_was_fitted_on_exactly_the_sets_the_command_fits_on() -> None:
    [onnx] = [p for p in CALIBRATION.glob("*.rerank.json") if "onnx" in p.name]  # the default encoder's
    fitted_on = json.loads(onnx.read_text(encoding="utf-8"))["fitted_on"]
    corpora = set(re.findall(r"([\w.-]+) \d+", fitted_on.split("(", 1)[1].split(")", 1)[0]))
    assert corpora == {CORPUS_OF[s] for s in RERANK_SETS}


def test_a_set_added_to_the_ablation_is_not_fitted_on_unless_asked() -> None:
    assert "randmeer" in SETS and "randmeer" not in RERANK_SETS and "blind" not in RERANK_SETS


def test_kb_eval_rerank_refuses_to_add_a_set_it_already_fits_on() -> None:
    from click.testing import CliRunner

    from eval.cli_retrieval import rerank_cmd

    result = CliRunner().invoke(rerank_cmd, ["--also-set", "golden"])
    assert result.exit_code == 2 and "--also-set" in result.output
