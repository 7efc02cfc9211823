"""Report charts, quality gates and the per-revision templates of `kb eval diff`: cheap checks without a model."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from eval.charts import bars_svg, confusion_svg, histogram_svg
from eval.golden import GoldenItem, figures, load_golden, summarise

pytestmark = pytest.mark.unit


def test_bars_draw_one_bar_per_label_and_mark_those_below_the_line_red() -> None:
    svg = bars_svg({"anna": 0.9, "bram": 0.2, "<img src=x onerror=alert(1)>": 0.5}, mark=0.6)
    assert svg.count("<rect") == 3
    assert svg.count('fill="#c62828"') == 2  # bram and the hostile label fall below 0.6
    assert "<img" not in svg and "&lt;img" in svg


def test_confusion_counts_each_pair_and_escapes_labels() -> None:
    pairs = Counter({("suiker", "5g"): 3, ("suiker", "no match"): 1, ("<script>", "5g"): 2})
    svg = confusion_svg(pairs)
    assert "suiker → 5g: 3" in svg and "&lt;script&gt; → 5g: 2" in svg and "<script>" not in svg
    assert confusion_svg({}) == ""


def test_confusion_keeps_only_the_most_frequent_labels() -> None:
    pairs = Counter({(f"a{i}", f"b{i}"): i + 1 for i in range(30)})
    svg = confusion_svg(pairs, top=5)
    assert "a29 → b29: 30" in svg and "a0 → b0" not in svg


def test_histogram_puts_every_value_in_a_bin_including_out_of_range() -> None:
    svg = histogram_svg({"right": [0.1, 0.5, 0.99, 1.5]}, lo=0.3, hi=1.0, bins=7)
    counts = [int(t.rsplit(": ", 1)[1].split("<")[0]) for t in svg.split("<title>")[1:]]
    assert sum(counts) == 4


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t", *args], check=True,
                   capture_output=True)


def test_diff_runs_each_revision_with_its_own_templates_and_outside_list(tmp_path: Path) -> None:
    from eval.diff import editor_files_at
    from kb.config import Settings

    repo = tmp_path / "repo"
    (repo / "articles" / "_templates").mkdir(parents=True)
    template, outside = repo / "articles" / "_templates" / "default.nl.j2", repo / "articles" / "_outside.md"
    template.write_text("oud {{ answer }}")
    outside.write_text("## Dieren\n- Kan mijn hond kanker krijgen?\n")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "a")
    template.write_text("nieuw {{ answer }}")
    outside.write_text("## Dieren\n- Kan mijn kat kanker krijgen?\n")
    _git(repo, "commit", "-qam", "b")
    template.write_text("werkboom {{ answer }}")  # uncommitted: neither revision has it
    outside.unlink()

    settings = Settings(data_dir=tmp_path / "data", articles_dir=repo / "articles")
    old = editor_files_at(settings, "HEAD~1", tmp_path / "a")
    new = editor_files_at(settings, "HEAD", tmp_path / "b")
    assert (old / "_templates" / "default.nl.j2").read_text() == "oud {{ answer }}"
    assert (new / "_templates" / "default.nl.j2").read_text() == "nieuw {{ answer }}"
    assert "hond" in (old / "_outside.md").read_text() and "kat" in (new / "_outside.md").read_text()


def test_a_figure_below_its_threshold_makes_the_command_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                               ) -> None:
    from eval.cli import _gate

    strict = tmp_path / "strict.toml"
    strict.write_text('[golden]\n"hit@1" = 0.95\nmrr = 0.5\n')
    assert _gate("golden", {"hit@1": 0.9, "mrr": 0.9}, strict) == 1
    assert "hit@1 0.900 is below 0.950" in capsys.readouterr().err
    assert _gate("golden", {"hit@1": 0.96, "mrr": 0.9}, strict) == 0
    assert _gate("golden", {"mrr": 0.9}, strict) == 1  # a gated figure that was not measured fails too


def _judged(expected: str | None, no_match: bool, tier: str | None = None) -> GoldenItem:
    return GoldenItem("g", "tekst", "nl", "", "test", "golden", expected, "faq" if expected else None, ["a"], 0.5,
                      [] if no_match else ["a"], None if no_match else (tier or "medium"), no_match, 0.5)


def test_a_golden_figure_over_nothing_is_unknown_not_zero() -> None:
    # an article type's slice: every message has an article, and nobody got `high` or `low`
    faq = figures([_judged("a", no_match=True), _judged("a", no_match=False)])
    assert faq["no_match_precision"] is None and faq["no_match_recall"] is None
    assert faq["tiers"]["high"] == {"n": 0, "correct": None} and faq["tiers"]["medium"]["correct"] == 1.0
    mixed = figures([_judged(None, no_match=True), _judged("a", no_match=True), _judged("a", no_match=False)])
    assert mixed["no_match_precision"] == 0.5 and mixed["no_match_recall"] == 1.0
    nothing_given = figures([_judged(None, no_match=False)])
    assert nothing_given["no_match_precision"] is None and nothing_given["no_match_recall"] == 0.0


def test_a_split_of_several_draws_reports_each_draw_beside_the_pooled_figure(tmp_path: Path) -> None:
    rows = {"golden_test_blind": [("t1", "a"), ("t2", "a")], "golden_test_blind2": [("u1", "a")],
            "golden_dev_blind": [("d1", "a")]}
    for stem, messages in rows.items():
        (tmp_path / f"{stem}.jsonl").write_text("".join(
            json.dumps({"id": i, "text": i, "language": "nl", "expected": e}) + "\n" for i, e in messages))
    loaded = load_golden(folder=tmp_path)
    assert {m.id: m.file for m in loaded} == {"t1": "golden_test_blind", "t2": "golden_test_blind",
                                             "u1": "golden_test_blind2", "d1": "golden_dev_blind"}
    right = {"t1": True, "t2": False, "u1": True, "d1": True}
    items = [replace(_judged(m.expected, no_match=not right[m.id]), id=m.id, split=m.split, file=m.file)
             for m in loaded]
    summary = summarise(items)
    assert summary["test"]["hit@1"] == 2 / 3
    low, high = summary["test"]["hit@1_95"]  # three messages say little: the interval is wide
    assert low < 0.25 and high > 0.9
    assert summary["test file:golden_test_blind"]["hit@1"] == 0.5
    assert summary["test file:golden_test_blind2"]["hit@1"] == 1.0
    assert not [name for name in summary if name.startswith("dev file:")]  # one file: the split is the draw


def test_whole_labels_fit_the_confusion_chart_and_the_tier_cuts_are_drawn() -> None:
    long = "bevolkingsonderzoek-baarmoederhalskanker-met-een-nog-langere-naam"
    svg = confusion_svg({(long, "kort"): 3})
    assert f">{long}<" in svg and "…" not in svg
    chart = histogram_svg({"juist": [0.9]}, lo=0.0, hi=1.0, bins=20, marks={"high": 0.84, "low": 0.14})
    assert chart.count("stroke-dasharray") == 2 and "high 0.84" in chart
