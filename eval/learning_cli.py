"""`kb eval near-repeat` and `kb eval learning`: the learned phrasings' measure and their prequential proof
(added to the `kb eval` group by eval/cli.py).

    $ kb eval near-repeat --write kb/calibration/<model>.near_repeat.json
    $ kb eval learning --stream eval/data/golden_test_blind.jsonl --out reports/learning
"""

from __future__ import annotations

from pathlib import Path

import click

from eval.golden import load_golden
from kb.cli import EXIT_ERRORS, EXIT_OK, settings_from


@click.command("near-repeat")
@click.option("--write", "write", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the fitted measure here (the bundled one: kb/calibration/<model>.near_repeat.json).")
@click.option("--seed", default=7, show_default=True, help="Seed of the edited copies.")
def near_repeat(write: Path | None, seed: int) -> int:
    """Fit the near-repeat measure learned phrasings count by (centred cosine and character trigrams) on the golden
    dev messages and edited copies of them, and show how it separates copies from other messages on dev and, with
    the same cut, on the test split (never fitted on).

        kb eval near-repeat
        kb eval near-repeat --write kb/calibration/MODEL.near_repeat.json   # MODEL: the file name of the calibration
    """
    from eval.near_repeat import fit_near_repeat, pair_set, separation
    from kb.embedding import load_embedder

    settings = settings_from()
    embedder = load_embedder(settings)
    measure, dev = fit_near_repeat(embedder, load_golden(split="dev"), seed=seed,
                                   short_words=settings.short_message_words)
    test = separation(pair_set(embedder, load_golden(split="test"), seed=seed + 1,
                               short_words=settings.short_message_words), measure.mean, measure.cut)
    click.echo(f"near-repeat measure for {embedder.model_id}: cut {measure.cut} (fitted on {measure.fitted_on})")
    click.echo(f"{'figure':34} {'dev':>10} {'test':>10}")
    for key, value in dev.items():
        click.echo(f"{key:34} {value:>10} {test.get(key, ''):>10}")
    if write:
        write.parent.mkdir(parents=True, exist_ok=True)
        write.write_text(measure.to_json(), encoding="utf-8")
        click.echo(f"near-repeat: {write}", err=True)
    return EXIT_OK


@click.command("learning")
@click.option("--stream", "stream_path", type=click.Path(path_type=Path, exists=True, dir_okay=False), required=True,
              help="JSONL of {id, text, expected, language?, channel?}: the labelled messages, in arrival order.")
@click.option("--orders", type=click.IntRange(1, 20), default=3, show_default=True,
              help="Orders to replay the stream in: as written, then shuffled with seeds 1, 2, …")
@click.option("--surge", "per_message", type=click.IntRange(0, 20), default=4, show_default=True,
              help="Edited copies per message in the surge stream built from it (0: no surge runs).")
@click.option("--agents", type=click.IntRange(2, 50), default=5, show_default=True, help="Simulated agents.")
@click.option("--block", type=click.IntRange(10, 10_000), default=40, show_default=True,
              help="Messages per block of the per-block figures.")
@click.option("--tweets/--no-tweets", default=True, show_default=True,
              help="The no-label run: the labelled off-topic Dutch tweets (dev and test halves, texts read from the "
              "shared data) after the surge run; nothing may be learned from them.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Write learning.json and learning.html here.")
def learning(stream_path: Path, orders: int, per_message: int, agents: int, block: int, tweets: bool,
             out_dir: Path | None) -> int:
    """Prequential evaluation of learned phrasings: replay a labelled stream against nothing learned, each message
    scored before its label is fed back as one simulated agent's choice; with learning and without, in several
    orders; on a surge of edited copies; with one agent always choosing a wrong article; and on off-topic tweets.
    Exits 1 when learning lowers hit@1 in any order, adds a wrong `high` under poisoning, or learns from tweets.

        kb eval learning --stream eval/data/golden_dev_blind.jsonl           # tune on dev
        kb eval learning --stream eval/data/golden_test_blind.jsonl --out reports/learning   # the figures
    """
    from eval.learning import load_stream
    from eval.learning_runs import learning_report, learning_sections, print_report
    from eval.report import write_report
    from kb.engine import Engine

    stream = load_stream(stream_path)
    with Engine.open(settings_from()) as engine:
        engine.ready()
        report = learning_report(engine, stream, orders=orders, per_message=per_message, agents=agents, block=block,
                                 tweets=tweets, log=lambda line: click.echo(line, err=True))
    report["stream"] = stream_path.name
    for line in print_report(report):
        click.echo(line)
    if out_dir:
        path = write_report(out_dir, "learning", f"Learned phrasings on {stream_path.name}", data=report,
                            headline=report["headline"], sections=learning_sections(report))
        click.echo(f"report: {path}", err=True)
    for failure in report["failures"]:
        click.echo(f"failed: {failure}", err=True)
    return EXIT_ERRORS if report["failures"] else EXIT_OK


COMMANDS = (near_repeat, learning)
