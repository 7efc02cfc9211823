"""`kb eval answerable`: fit the answerability gate (kb.answerable, eval.answerable) on blind dev messages and the
real dev tweets, and write it (registered on `kb eval` by eval.cli)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import click

from eval.cli_common import ARTICLES_OPTION, GOLDEN_OPTION, checked_golden_dir, eval_engine, with_progress
from eval.golden import DATA, GoldenMessage, load_golden, load_tweets
from kb.cli import EXIT_OK


@click.command("answerable")
@click.option("--precision", default=0.90, show_default=True,
              help="No-match precision the line must keep on the blind dev messages (out of fold).")
@click.option("--write", "write", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the gate here (the bundled file is kb/calibration/<model>.answerable.json; "
                   "KB_ANSWERABLE_GATE points at another).")
@click.option("--in-sample-kinds", is_flag=True,
              help="Read the shipped kind model's own probabilities on its dev messages (sharper than on new ones) "
                   "instead of out-of-fold ones.")
@click.option("--no-kinds", is_flag=True, help="Fit on the ranking alone, even where message kinds are on.")
@GOLDEN_OPTION
@ARTICLES_OPTION
def answerable_cmd(precision: float, write: Path | None, in_sample_kinds: bool, no_kinds: bool,
                   golden_dir: Path | None, articles_dir: Path | None) -> int:
    """Fit the gate that decides whether the knowledge base answers a message at all, on messages written without
    seeing the claims (the blind dev half and, for the sample KB, the real dev tweets; never a test split), and
    choose its no-match line out of fold. Fit it after `kb eval calibrate` and `kb eval rerank`: it reads their
    probabilities.

        kb eval answerable --no-kinds --write kb/calibration/MODEL.answerable.json   # as shipped
        kb eval answerable --articles my-kb/articles --golden my-kb --write my-kb-gate.json   # another KB
    """
    from eval.answerable import (
        KIND_FEATURES,
        RANKING_FEATURES,
        choose_line,
        collect,
        figures,
        fit_gate,
        out_of_fold,
        out_of_fold_kinds,
    )

    folder = checked_golden_dir(golden_dir)
    if articles_dir is not None and folder is None:
        raise click.UsageError("--articles needs --golden: the bundled messages belong to the sample articles")
    blind = load_golden(sorted((folder or DATA).glob("golden_dev_*blind*.jsonl")))
    if not blind:
        raise click.UsageError("no blind dev messages (golden_dev_*blind*.jsonl): the gate is fitted on those")
    tweets = [] if folder else load_tweets(split="dev")
    with eval_engine(articles_dir) as engine:
        model_id = engine.embedder.model_id
        kinds = None
        if engine.suggester.kinds is not None and not no_kinds and not in_sample_kinds:
            held_out = out_of_fold_kinds(engine.embedder)
            click.echo(f"kind probabilities out of fold for {len(held_out)} kinds dev messages", err=True)

            def kinds(m: GoldenMessage) -> Mapping[str, float] | None:
                return held_out.get(m.id) or engine.suggester.kind_probabilities(m.text)
        elif engine.suggester.kinds is not None and not no_kinds:
            def kinds(m: GoldenMessage) -> Mapping[str, float] | None:
                return engine.suggester.kind_probabilities(m.text)
        features = RANKING_FEATURES + (KIND_FEATURES if kinds is not None else ())
        rows = with_progress("blind dev", blind,
                             lambda m, progress: collect(engine, m, source="blind", kinds=kinds, progress=progress))
        rows += with_progress("tweets dev", tweets,
                              lambda m, progress: collect(engine, m, source="tweets", kinds=kinds,
                                                          progress=progress))
    oof = out_of_fold(rows, features)
    line = choose_line(rows, oof, precision)
    kept = (f"line {line} keeps the blind dev half's no-match precision >= {precision} out of fold" if line > 0 else
            f"no line keeps the blind dev half's no-match precision >= {precision} out of fold: line 0, every "
            f"message passes")
    fitted_on = f"{len(blind)} blind dev messages and {len(tweets)} dev tweets; {kept}"
    gate = fit_gate(rows, features, model_id, line=line, fitted_on=fitted_on)
    click.echo(f"gate for {model_id}: {fitted_on}")
    click.echo("weights: " + ", ".join(f"{f} {w:+.3f}" for f, w in zip(("intercept", *features), gate.weights,
                                                                       strict=True)))
    for source in ("blind", "tweets"):
        part = [(p, r) for p, r in zip(oof, rows, strict=True) if r.source == source]
        if part:
            click.echo(f"{source} dev, out of fold: "
                       f"{json.dumps(figures([r for _, r in part], [p for p, _ in part], line))}")
    if write:
        write.parent.mkdir(parents=True, exist_ok=True)
        write.write_text(gate.to_json(), encoding="utf-8")
        click.echo(f"gate: {write}", err=True)
    return EXIT_OK
