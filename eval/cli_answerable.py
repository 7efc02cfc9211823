"""`kb eval answerable`: fit the answerability gate (kb.answerable, eval.answerable) on blind dev messages and the
real dev tweets, optionally pooled with other knowledge bases' blind dev messages, and write it (registered on
`kb eval` by eval.cli)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from eval.cli_common import ARTICLES_OPTION, GOLDEN_OPTION, checked_golden_dir, eval_engine, with_progress
from eval.golden import DATA, GoldenMessage, load_golden, load_tweets
from kb.cli import EXIT_OK
from kb.outside import load_outside

if TYPE_CHECKING:
    from eval.answerable import GateRow

KB_DIR = click.Path(path_type=Path, exists=True, file_okay=False)


def blind_dev(folder: Path | None) -> list[GoldenMessage]:
    """The blind dev half of `folder` (default: the bundled set, with the editor rounds' blind draws, both halves:
    `eval/data/round*/`); never a test split."""
    paths = sorted((folder or DATA).glob("golden_dev_*blind*.jsonl"))
    if folder is None:
        paths += sorted(DATA.glob("round*/golden_dev_*.jsonl"))
    blind = load_golden(paths)
    if not blind:
        raise click.UsageError(f"no blind dev messages (golden_dev_*blind*.jsonl) in {folder or DATA}: the gate is "
                               f"fitted on those")
    return blind


def other_kb_rows(articles_dir: Path, golden_dir: Path, model_id: str, with_kinds: bool) -> list[GateRow]:
    """Another KB's blind dev messages, each ranked by that KB's own engine (its own index, same model): rows named
    after its golden folder."""
    from eval.answerable import collect

    name = golden_dir.resolve().name
    blind = blind_dev(checked_golden_dir(golden_dir))
    with eval_engine(articles_dir) as engine:
        if engine.embedder.model_id != model_id:
            raise click.UsageError(f"--also-kb {articles_dir}: its engine runs {engine.embedder.model_id}, the gate "
                                   f"is for {model_id}")
        if with_kinds and engine.suggester.kinds is None:
            raise click.UsageError(f"--also-kb {articles_dir}: it classifies no message kinds (no kind templates); "
                                   f"fit with --no-kinds")
        kinds: Callable[[GoldenMessage], Mapping[str, float] | None] | None = (
            (lambda m: engine.suggester.kind_probabilities(m.text)) if with_kinds else None)
        return with_progress(f"{name} blind dev", blind,
                             lambda m, progress: collect(engine, m, source="blind", kinds=kinds, progress=progress,
                                                         kb=name))


@click.command("answerable")
@click.option("--precision", default=0.90, show_default=True,
              help="No-match precision the line must keep on the blind dev messages (out of fold).")
@click.option("--recall", type=click.FloatRange(0, 1),
              help="Put the line as low as it can go while the blind dev messages' no-match recall (out of fold) "
                   "stays at least this: fewer right answers hidden, fewer messages without an article turned away. "
                   "Unset: as high as --precision allows.")
@click.option("--write", "write", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the gate here (the bundled file is kb/calibration/<model>.answerable.json; "
                   "KB_ANSWERABLE_GATE points at another).")
@click.option("--in-sample-kinds", is_flag=True,
              help="Read the shipped kind model's own probabilities on its dev messages (sharper than on new ones) "
                   "instead of out-of-fold ones.")
@click.option("--no-kinds", is_flag=True, help="Fit on the ranking alone, even where message kinds are on.")
@click.option("--also-kb", "also_kb", type=(KB_DIR, KB_DIR), multiple=True, metavar="ARTICLES GOLDEN",
              help="Pool another KB's blind dev messages (GOLDEN/golden_dev_*blind*.jsonl), ranked by its own index "
                   "of ARTICLES, into the fit and the choice of the line; repeatable.")
@click.option("--no-tweets", is_flag=True, help="Leave the real dev tweets out.")
@click.option("--no-outside", is_flag=True,
              help="Fit without the outside list (ARTICLES/_outside.md, kb.outside), even where there is one.")
@GOLDEN_OPTION
@ARTICLES_OPTION
def answerable_cmd(precision: float, recall: float | None, write: Path | None, in_sample_kinds: bool, no_kinds: bool,
                   also_kb: Sequence[tuple[Path, Path]], no_tweets: bool, no_outside: bool,
                   golden_dir: Path | None, articles_dir: Path | None) -> int:
    """Fit the gate that decides whether the knowledge base answers a message at all, on messages written without
    seeing the claims (the blind dev half and, for the sample KB, the editor rounds' blind draws and the real dev
    tweets; never a test split), and choose its no-match line out of fold. Where the articles folder has an outside
    list (`_outside.md`, kb.outside) the gate reads each message's cosine to it too. Fit it after `kb eval
    calibrate` and `kb eval rerank`: it reads their probabilities. With --also-kb, other KBs' blind dev messages,
    each ranked against its own articles, are pooled in, so the gate cannot learn one KB's cosine scale; the line
    keeps --precision on all blind messages pooled.

        kb eval answerable --write kb/calibration/MODEL.answerable.json   # as shipped (kinds, outside list)
        kb eval answerable --articles my-kb/articles --golden my-kb --write my-kb-gate.json   # another KB
        kb eval answerable --no-kinds --also-kb eval/kbs/randmeer/articles eval/kbs/randmeer --write gate.json
        kb eval answerable --recall 0.80 --write gate.json   # hide fewer right answers, turn away fewer messages
    """
    from eval.answerable import (
        KIND_FEATURES,
        OUTSIDE_FEATURES,
        RANKING_FEATURES,
        choose_line,
        collect,
        figures_by_part,
        fit_gate,
        out_of_fold,
        out_of_fold_kinds,
    )

    folder = checked_golden_dir(golden_dir)
    if articles_dir is not None and folder is None:
        raise click.UsageError("--articles needs --golden: the bundled messages belong to the sample articles")
    blind = blind_dev(folder)
    tweets = [] if folder or no_tweets else load_tweets(split="dev")
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
        outside = None if no_outside else load_outside(engine.settings.articles_dir, engine.embedder)
        features = (RANKING_FEATURES + (KIND_FEATURES if kinds is not None else ())
                    + (OUTSIDE_FEATURES if outside is not None else ()))
        rows = with_progress("blind dev", blind,
                             lambda m, progress: collect(engine, m, source="blind", kinds=kinds, progress=progress,
                                                         outside=outside))
        rows += with_progress("tweets dev", tweets,
                              lambda m, progress: collect(engine, m, source="tweets", kinds=kinds,
                                                          progress=progress, outside=outside))
    for other_articles, other_golden in also_kb:
        rows += other_kb_rows(other_articles, other_golden, model_id, with_kinds=kinds is not None)
    oof = out_of_fold(rows, features)
    line = choose_line(rows, oof, precision, recall)
    pooled = len(rows) - len(blind) - len(tweets)
    half = "the blind dev messages'" + (" (pooled)" if pooled else "")
    floor = f" and recall >= {recall} (the lowest such line)" if recall is not None else ""
    kept = (f"line {line} keeps {half} no-match precision >= {precision}{floor} out of fold" if line > 0 else
            f"no line keeps {half} no-match precision >= {precision}{floor} out of fold: line 0, every message "
            f"passes")
    names = " and ".join(g.resolve().name for _, g in also_kb)
    also = f", {pooled} blind dev messages of {names}" if also_kb else ""
    listed = f", reading the {len(outside.examples)} examples of the outside list" if outside is not None else ""
    fitted_on = f"{len(blind)} blind dev messages{also} and {len(tweets)} dev tweets{listed}; {kept}"
    gate = fit_gate(rows, features, model_id, line=line, fitted_on=fitted_on)
    click.echo(f"gate for {model_id}: {fitted_on}")
    click.echo("weights: " + ", ".join(f"{f} {w:+.3f}" for f, w in zip(("intercept", *features), gate.weights,
                                                                       strict=True)))
    for part, numbers in figures_by_part(rows, oof, line).items():
        click.echo(f"{part} dev, out of fold: {json.dumps(numbers)}")
    if write:
        write.parent.mkdir(parents=True, exist_ok=True)
        write.write_text(gate.to_json(), encoding="utf-8")
        click.echo(f"gate: {write}", err=True)
    return EXIT_OK
