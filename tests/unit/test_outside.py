"""The outside list (kb.outside): parsed with line numbers, checked by `kb lint`, read by the gate as one feature,
and a broken list stops start-up with the file and line named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eval.answerable import GateRow, fit_gate
from kb.cli import main
from kb.embedding import HashEmbedder
from kb.errors import ConfigError
from kb.outside import OUTSIDE_FILE, load_outside, outside_problems, parse_outside

GOOD = """# Buiten ons terrein

Uitleg voor editors: geen voorbeeld.

## Andere ziekten
- Hebben jullie informatie over ALS?
- Is dementie   erfelijk?

## Dieren
- Kan mijn hond kanker krijgen?
"""


def test_examples_are_read_under_their_subject_with_their_line() -> None:
    examples, problems = parse_outside(GOOD, "_outside.md")
    assert problems == []
    assert [(e.subject, e.text, e.line) for e in examples] == [
        ("Andere ziekten", "Hebben jullie informatie over ALS?", 6),
        ("Andere ziekten", "Is dementie erfelijk?", 7),  # whitespace as a message is read
        ("Dieren", "Kan mijn hond kanker krijgen?", 10)]


def test_a_bullet_without_a_subject_an_overlong_one_and_a_repeat_are_named_by_line() -> None:
    text = "- zonder kopje\n\n## Dieren\n- Kan mijn kat kanker krijgen?\n- kan mijn KAT kanker krijgen?\n- " + \
        "x" * 401 + "\n"
    _, problems = parse_outside(text, "a/_outside.md")
    found = sorted((p.line, p.is_error, p.message.split(":")[0][:20]) for p in problems)
    assert [(line, error) for line, error, _ in found] == [(1, True), (5, False), (6, True)]
    assert all(p.path == "a/_outside.md" for p in problems)


def test_a_list_without_examples_is_an_error() -> None:
    _, problems = parse_outside("# Buiten ons terrein\n\nNog niets.\n", "_outside.md")
    assert len(problems) == 1 and problems[0].is_error and "no examples" in problems[0].message


def test_lint_reports_the_outside_list_and_start_up_refuses_a_broken_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / OUTSIDE_FILE).write_text("- zonder kopje\n", encoding="utf-8")
    assert [p.line for p in outside_problems(tmp_path)] == [1]
    assert main(["lint", str(tmp_path)]) == 1
    assert f"{tmp_path / OUTSIDE_FILE}:1:" in capsys.readouterr().out
    with pytest.raises(ConfigError, match=r"_outside\.md:1"):
        load_outside(tmp_path, HashEmbedder(16))


def test_no_list_means_no_remit_and_no_problem(tmp_path: Path) -> None:
    assert load_outside(tmp_path, HashEmbedder(16)) is None and outside_problems(tmp_path) == []


def test_a_message_is_as_close_as_its_nearest_example(tmp_path: Path) -> None:
    (tmp_path / OUTSIDE_FILE).write_text(GOOD, encoding="utf-8")
    remit = load_outside(tmp_path, HashEmbedder(64))
    assert remit is not None and len(remit.examples) == 3
    cosine, example = remit.nearest("Kan mijn hond kanker krijgen?")
    assert cosine == pytest.approx(1.0, abs=1e-5) and example.subject == "Dieren"
    assert remit.cosine("Waar gaat mijn geld naartoe?") < 0.9


def test_a_gate_fitted_where_one_kb_has_no_list_reads_that_kb_as_average() -> None:
    rows = [GateRow(f"m{i}", "blind", {"top_cosine": 0.8 + i / 100, **({"outside_cosine": 0.7 + i / 50}
                                                                        if i % 2 else {})}, i >= 5, i >= 5)
            for i in range(10)]
    gate = fit_gate(rows, ("top_cosine", "outside_cosine"), "m")
    listed = [r.signal["outside_cosine"] for r in rows if "outside_cosine" in r.signal]
    assert gate.mean[1] == pytest.approx(float(np.mean(listed)), abs=1e-5)
