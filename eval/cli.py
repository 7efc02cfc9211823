"""`kb eval …`: answer-consistency evaluations for QA leads (registered through the `kb.commands` entry points).

    $ kb eval golden --out reports/golden
    $ kb eval calibrate
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from eval.calibrate import Scored, calibrate
from eval.golden import GoldenItem, load_golden, run_golden, summarise
from kb.cli import EXIT_OK, settings_from
from kb.engine import Engine


@click.group("eval")
def eval_group() -> None:
    """Evaluate answers against the golden set, paraphrases, agent logs and other KB versions."""


def _run_golden_with_progress(engine: Engine) -> list[GoldenItem]:
    messages = load_golden()
    with Progress(TextColumn("golden"), BarColumn(), MofNCompleteColumn(), console=Console(stderr=True),
                  transient=True) as bar:
        task = bar.add_task("golden", total=len(messages))
        return run_golden(engine, messages, progress=lambda done, _total: bar.update(task, completed=done))


@eval_group.command("golden")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Write golden.json here.")
def golden(out_dir: Path | None) -> int:
    """Run the golden messages: hit@1, hit@3, MRR, no-match precision/recall, tier calibration, every miss.

        kb eval golden --out reports/golden
    """
    with Engine.open(settings_from()) as engine:
        engine.ready()
        summary = summarise(_run_golden_with_progress(engine))
    for name, f in summary.items():
        if name == "misses":
            continue
        tiers = " ".join(f"{t}:{v['n']}@{v['correct']:.2f}" for t, v in f["tiers"].items())
        click.echo(f"{name:14} n={f['n']:4} hit@1={f['hit@1']:.3f} hit@3={f['hit@3']:.3f} mrr={f['mrr']:.3f} "
                   f"no-match P={f['no_match_precision']:.2f} R={f['no_match_recall']:.2f}  tiers {tiers}")
    click.echo(f"{len(summary['misses'])} misses")
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "golden.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    return EXIT_OK


@eval_group.command("calibrate")
@click.option("--high", "high_precision", default=0.95, show_default=True, help="Precision `high` must reach.")
@click.option("--medium", "medium_precision", default=0.80, show_default=True,
              help="Precision `medium` must reach.")
def calibrate_cmd(high_precision: float, medium_precision: float) -> int:
    """Recommend KB_THRESHOLD_LOW/MEDIUM/HIGH from the golden messages.

        kb eval calibrate            # then set the printed values (or change the defaults in kb/config.py)
    """
    with Engine.open(settings_from()) as engine:
        engine.ready()
        items = _run_golden_with_progress(engine)
    scored = [Scored(score=i.top_score, top_correct=bool(i.ranked) and i.ranked[0] == i.expected,
                     answerable=i.expected is not None, in_top3=i.expected in i.ranked[:3]) for i in items]
    t = calibrate(scored, high=high_precision, medium=medium_precision, min_support=10)
    click.echo(f"KB_THRESHOLD_LOW={t.low}      # right no-match/answer decision for {t.low_accuracy:.1%}")
    click.echo(f"KB_THRESHOLD_MEDIUM={t.medium}   # top suggestion right {t.medium_precision:.1%} of the time")
    click.echo(f"KB_THRESHOLD_HIGH={t.high}     # top suggestion right {t.high_precision:.1%}; "
               f"{t.high_coverage:.1%} of answerable messages reach it")
    return EXIT_OK
