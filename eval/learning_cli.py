"""`kb eval near-repeat` and `kb eval learning`: the learned phrasings' measure and their prequential proof
(added to the `kb eval` group by eval/cli.py).

    $ kb eval near-repeat --write kb/calibration/<model>.near_repeat.json
    $ kb eval learning --stream eval/data/golden_test_blind.jsonl --out reports/learning
"""

from __future__ import annotations

from pathlib import Path

import click

from eval.golden import load_golden
from kb.cli import EXIT_OK, settings_from


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


COMMANDS = (near_repeat,)
