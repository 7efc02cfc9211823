"""`kb eval …`: answer-consistency evaluations for QA leads (registered through the `kb.commands` entry points).

    $ kb eval golden --out reports/golden
    $ kb eval calibrate
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from eval import gate
from eval.agent_sources import Reply, load_replies, sent_replies
from eval.agents import PERIODS
from eval.charts import bars_svg
from eval.cli_answerable import answerable_cmd
from eval.cli_common import ARTICLES_OPTION, GOLDEN_OPTION, checked_golden_dir, eval_engine, with_progress
from eval.cli_retrieval import ablation_cmd, rerank_cmd
from eval.golden import (
    DATA,
    NOT_SLICES,
    GoldenItem,
    golden_gate_figures,
    golden_headline,
    golden_sections,
    load_golden,
    load_tweets,
    run_golden,
    summarise,
    tier_cuts,
)
from eval.kinds_cli import kinds as kinds_command
from eval.markdown import DEFAULT_MAX_CHARS, diff_markdown
from eval.report import Section, write_report
from kb.cli import EXIT_ERRORS, EXIT_OK, settings_from
from kb.config import Settings
from kb.engine import Engine


@click.group("eval")
def eval_group() -> None:
    """Evaluate answers against the golden set, paraphrases, agent logs and other KB versions."""


eval_group.add_command(ablation_cmd)
eval_group.add_command(rerank_cmd)
eval_group.add_command(answerable_cmd)
eval_group.add_command(kinds_command)


def _run_golden_with_progress(engine: Engine, folder: Path | None = None) -> list[GoldenItem]:
    """Both golden splits and, where the shared data is beside the checkout, the labelled tweets (those are
    labelled against the sample articles: left out when the messages come from another `folder`)."""
    messages = load_golden(folder=folder) + ([] if folder else load_tweets())
    return with_progress("golden", messages, lambda m, progress: run_golden(engine, m, progress=progress))


@eval_group.command("golden")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Write golden.json and golden.html here.")
@click.option("--thresholds", "thresholds", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="Minimum figures (default eval/thresholds.toml); exit 1 when one is not met.")
@GOLDEN_OPTION
@ARTICLES_OPTION
def golden(out_dir: Path | None, thresholds: Path | None, golden_dir: Path | None, articles_dir: Path | None) -> int:
    """Run the golden messages, dev and test split apart: hit@1, hit@3, MRR, no-match precision/recall, how often
    each tier is right, every miss; and how many real off-topic tweets still get a suggestion.

        kb eval golden --out reports/golden
        kb eval golden --golden golden/ --out reports/golden   # an articles repository's own golden messages
        kb eval golden --articles eval/kbs/randmeer/articles --golden eval/kbs/randmeer   # another KB
    """
    folder = checked_golden_dir(golden_dir)
    if articles_dir is not None and folder is None:
        raise click.UsageError("--articles needs --golden: the bundled messages belong to the sample articles")
    with eval_engine(articles_dir) as engine:
        summary = summarise(_run_golden_with_progress(engine, folder))
    for name, f in summary.items():
        if name in NOT_SLICES or (" " in name and " file:" not in name):
            continue
        tiers = " ".join(f"{t}:{v['n']}@{_num(v['correct'], 2)}" for t, v in f["tiers"].items())
        label = f"  {name.split(' file:')[1]}" if " file:" in name else f"{name:5}"  # a split's draws, indented
        ci = f" [95% {f['hit@1_95'][0]:.2f}-{f['hit@1_95'][1]:.2f}]" if f.get("hit@1_95") else ""
        click.echo(f"{label} n={f['n']:4} hit@1={_num(f['hit@1'])}{ci} hit@3={_num(f['hit@3'])} mrr={_num(f['mrr'])} "
                   f"no-match P={_num(f['no_match_precision'], 2)} R={_num(f['no_match_recall'], 2)}  tiers {tiers}")
    for split, t in summary["tweets"].items():
        click.echo(f"tweets {split}: {t['without_article']} without an article; {t['suggested_n']} got a suggestion "
                   f"({_num(t['suggested'], 1, '%')}), {t['high_n']} a high one ({_num(t['high'], 1, '%')})")
    click.echo(f"{len(summary['misses'])} misses")
    if out_dir:
        path = write_report(out_dir, "golden", "Golden messages", headline=golden_headline(summary), data=summary,
                            sections=golden_sections(summary, tier_cuts(engine)))
        click.echo(f"report: {path}", err=True)
    return _gate("golden", golden_gate_figures(summary), thresholds)


def _num(value: float | None, digits: int = 3, kind: str = "f") -> str:
    """A figure for the terminal; `–` where there was nothing to measure."""
    return "–" if value is None else format(value, f".{digits}{kind}")


def _gate(section: str, figures: dict[str, float | None], thresholds: Path | None) -> int:
    problems = gate.failures(figures, gate.load(thresholds, section))
    for line in problems:
        click.echo(f"below threshold: {line}", err=True)
    return EXIT_ERRORS if problems else EXIT_OK


@eval_group.command("calibrate")
@click.option("--high", "high_precision", default=0.95, show_default=True, help="Precision `high` must reach.")
@click.option("--medium", "medium_precision", default=0.80, show_default=True,
              help="Precision the medium tier itself (suggestions between medium and high) must reach.")
@click.option("--write", "write", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the fitted calibration here (then set KB_CALIBRATION to it).")
@click.option("--line-dataset", "line_dataset", type=click.Path(path_type=Path, exists=True, file_okay=False),
              help="A public set whose dev questions also set the no-match line (e.g. ../shared/data/policyqa-nl).")
@GOLDEN_OPTION
@ARTICLES_OPTION
def calibrate_cmd(high_precision: float, medium_precision: float, write: Path | None, line_dataset: Path | None,
                  golden_dir: Path | None, articles_dir: Path | None) -> int:
    """Fit the confidence calibration for the configured model on the dev messages (golden dev split and dev
    tweets; never the test split) and propose KB_THRESHOLD_LOW/MEDIUM/HIGH from out-of-fold probabilities.

        kb eval calibrate --write calibration.json   # then KB_CALIBRATION=calibration.json and the printed values
        kb eval calibrate --articles my-kb/articles --golden my-kb --write my-kb/calibration.json   # another KB

    The no-match line (KB_THRESHOLD_LOW) is set on the blind dev messages (`golden_dev_*blind*.jsonl`, written
    without seeing the claims) and the `--line-dataset` dev questions only.
    """
    from eval.calibrate import LINE_SHOWN, collect, dataset_line_rows, fit_calibration, out_of_fold, propose

    folder = checked_golden_dir(golden_dir)
    if articles_dir is not None and folder is None:
        raise click.UsageError("--articles needs --golden: the bundled messages belong to the sample articles")
    golden_dev = load_golden(split="dev", folder=folder)
    line = {m.id for m in load_golden(sorted((folder or DATA).glob("golden_dev_*blind*.jsonl")))}
    tweets_dev = [] if folder else load_tweets(split="dev")
    with eval_engine(articles_dir) as engine:
        model_id = engine.embedder.model_id
        rows = with_progress("golden dev", golden_dev,
                              lambda m, progress: collect(engine, m, line=line, progress=progress))
        rows += with_progress("tweets dev", tweets_dev,
                               lambda m, progress: collect(engine, m, source="tweets", progress=progress))
        if line_dataset is not None:
            rows += dataset_line_rows(engine, line_dataset)
    fitted_on = (f"{len(golden_dev)} golden dev messages and {len(tweets_dev)} dev tweets, top "
                 f"{max(r.rank for r in rows) + 1} candidates each")
    fit_rows = [r for r in rows if r.source != "dataset"]  # the public set only sets the line
    calibration = fit_calibration(fit_rows, model_id, f"{fitted_on} ({len(fit_rows)} rows)")
    t = propose(rows, [*out_of_fold(fit_rows, model_id),
                       *(calibration.probability(r.x) for r in rows if r.source == "dataset")],
                high=high_precision, medium=medium_precision)
    click.echo(f"calibration for {model_id}: {fitted_on}")
    click.echo(f"KB_THRESHOLD_LOW={t.low}      # the no-match line: {LINE_SHOWN:.0%} of blind dev (and --line-dataset) "
               f"messages whose right article ranks first stay above it; golden dev decided right: "
               f"{t.low_accuracy:.1%}")
    click.echo(f"KB_THRESHOLD_MEDIUM={t.medium}   # medium suggestions right {t.medium_precision:.1%} of the time, "
               f"low ones {t.low_precision:.1%}")
    click.echo(f"KB_THRESHOLD_HIGH={t.high}     # top suggestion right {t.high_precision:.1%}; "
               f"{t.high_coverage:.1%} of answerable messages reach it")
    if t.tiers is not None:
        click.echo(f"# shown suggestions per tier on dev: {t.tiers['high']} high, {t.tiers['medium']} medium, "
                   f"{t.tiers['low']} low")
    if t.tweets_shown is not None:
        click.echo(f"# dev tweets without an article: {t.tweets_shown:.1%} get a suggestion, {t.tweets_high:.1%} high")
    if write:
        write.parent.mkdir(parents=True, exist_ok=True)
        write.write_text(calibration.to_json(), encoding="utf-8")
        click.echo(f"calibration: {write}", err=True)
    return EXIT_OK


@eval_group.command("dataset")
@click.option("--targets", "targets", type=click.Path(path_type=Path, exists=True, dir_okay=False), required=True,
              help="JSONL of {id, title, text, url?}: each becomes a temporary article.")
@click.option("--queries", "queries", type=click.Path(path_type=Path, exists=True, dir_okay=False), required=True,
              help="JSONL of {id, text, relevant_ids}: scored.")
@click.option("--tune", "tune", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="Separate queries to tune the hybrid weight on (e.g. a dev split).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Write dataset.json/.html here.")
def dataset(targets: Path, queries: Path, tune: Path | None, out_dir: Path | None) -> int:
    """Retrieval benchmark on an external dataset: MAP@5, MRR@10, Recall@1/5/10 for dense, lexical, hybrid.

        D=../shared/data/checkthat2020-en
        kb eval dataset --targets $D/targets.jsonl --queries $D/queries.jsonl --tune $D/queries_dev.jsonl
    """
    from eval.datasets import run_dataset

    settings = settings_from()
    # Its own Qdrant folder and embedding cache: runs beside a serving `kb serve`, re-runs embed nothing.
    settings = settings.model_copy(update={"data_dir": settings.data_dir / "eval"})
    report = run_dataset(targets, queries, settings, tune=tune, log=lambda line: click.echo(line, err=True))
    click.echo(f"{'mode':14} {'MAP@5':>7} {'MRR@10':>7} {'R@1':>6} {'R@5':>6} {'R@10':>6}   ({queries.name}, "
               f"{report['test']['dense']['n']} queries; lexical weight tuned on dev: "
               f"{report['tuned_lexical_weight']})")
    for mode, f in report["test"].items():
        click.echo(f"{mode:14} {f['map@5']:7.3f} {f['mrr@10']:7.3f} {f['recall@1']:6.3f} {f['recall@5']:6.3f} "
                   f"{f['recall@10']:6.3f}")
    if out_dir:
        rows = [{"split": split, "mode": mode, **f} for split in ("dev", "test") for mode, f in report[split].items()]
        path = write_report(out_dir, "dataset", f"Retrieval on {targets.parent.name}", data=report,
                            headline={"targets": report["targets"], "hybrid MAP@5": report["test"]["hybrid"]["map@5"],
                                      "dense MAP@5": report["test"]["dense"]["map@5"],
                                      "lexical MAP@5": report["test"]["lexical"]["map@5"]},
                            sections=[Section("Figures per split and mode", rows, note="Bars: MAP@5.",
                                              svg=bars_svg({f"{r['split']} · {r['mode']}": r["map@5"]
                                                            for r in rows}))])
        click.echo(f"report: {path}", err=True)
    return EXIT_OK


@eval_group.command("paraphrase")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Write paraphrase.json/.html here.")
@click.option("--sick", "sick_path", type=click.Path(path_type=Path),
              default=Path("../shared/data/sick-nl/pairs.jsonl"), show_default=True,
              help="SICK-NL pairs; skipped when the file is not there.")
@click.option("--thresholds", "thresholds", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="Minimum figures (default eval/thresholds.toml); exit 1 when one is not met.")
def paraphrase(out_dir: Path | None, sick_path: Path, thresholds: Path | None) -> int:
    """Paraphrase groups (same article, tier, draft?), golden perturbations, and SICK-NL pairs.

        kb eval paraphrase --out reports/paraphrase
    """
    from eval.paraphrase import (
        load_groups,
        paraphrase_headline,
        paraphrase_sections,
        run_groups,
        run_perturbations,
        run_sick,
    )

    with Engine.open(settings_from()) as engine:
        engine.ready()
        groups = run_groups(engine, load_groups())
        perturbed = run_perturbations(engine, [m for m in load_golden() if m.expected is not None])
        sick = run_sick(engine, sick_path) if sick_path.exists() else None
    headline = paraphrase_headline(groups, perturbed, sick)
    for name, value in headline.items():
        click.echo(f"{name:26} {value:.3f}" if isinstance(value, float) else f"{name:26} {value}")
    if out_dir:
        path = write_report(out_dir, "paraphrase", "Paraphrase invariance", headline=headline,
                            data={"groups": groups, "perturbations": perturbed, "sick": sick},
                            sections=paraphrase_sections(groups, perturbed, sick, tier_cuts(engine)))
        click.echo(f"report: {path}", err=True)
    return _gate("paraphrase", {"perturbations_unchanged": perturbed["unchanged"],
                                "texts_expected": groups["texts_expected"],
                                "same_article_and_tier": groups["same_article_and_tier"],
                                "same_draft": groups["same_draft"]}, thresholds)


@eval_group.command("agents")
@click.argument("log", required=False, type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--sent-from", "sent_from", type=click.DateTime(["%Y-%m-%d"]),
              help="Instead of LOG: the replies agents sent through the service (feedback used/edited/ignored) from "
                   "this day.")
@click.option("--sent-to", "sent_to", type=click.DateTime(["%Y-%m-%d"]),
              help="With --sent-from: up to and including this day (default today, UTC).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Write agents.json/.html here.")
@click.option("--period", type=click.Choice(PERIODS), help="Also give the figures per week or month of the replies.")
@click.option("--thresholds", "thresholds", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="Minimum figures (default eval/thresholds.toml); exit 1 when one is not met.")
def agents(log: Path | None, sent_from: dt.datetime | None, sent_to: dt.datetime | None, out_dir: Path | None,
           period: str | None, thresholds: Path | None) -> int:
    """Agent replies against the knowledge base and each other: agreement per topic and agent, alpha, outliers.

        kb eval agents eval/data/agents_sample.jsonl --out reports/agents
        kb eval agents export.csv --period week      # a webcare tool's CSV export (agent, message, reply, time)
        kb eval agents --sent-from 2026-11-01 --sent-to 2026-11-30 --period week   # what agents sent via kb
    """
    from eval.agents import run_agents
    from eval.agents_report import agents_headline, agents_sections
    from kb.corpus import build_corpus, iter_article_files

    if (log is None) == (sent_from is None):
        raise click.UsageError("give LOG (a JSONL log or CSV export) or --sent-from DAY, one of the two")
    if sent_to is not None and sent_from is None:
        raise click.UsageError("--sent-to goes with --sent-from")
    settings = settings_from()
    if log is not None:
        replies, source = load_replies(log), log.name
    else:
        assert sent_from is not None  # checked above
        start, end = sent_from.date(), (sent_to or dt.datetime.now(dt.UTC)).date()
        if end < start:
            raise click.UsageError(f"--sent-to {end} is before --sent-from {start}")
        replies, source = _sent(settings, start, end), f"replies sent {start} – {end}"
    corpus = build_corpus(iter_article_files(settings.articles_dir))
    with Engine.open(settings) as engine:
        engine.ready()
        report = run_agents(engine, replies, corpus, period=period)
    a = report["alpha"]
    ci = f" (95% CI [{a['ci'][0]:.3f}, {a['ci'][1]:.3f}])" if a["ci"] else ""
    shown = f"{a['value']:.3f}{ci}" if a["value"] is not None else f"not shown: {a['reason']}"
    click.echo(f"{report['replies']} replies, {report['agents']} agents, {report['topics']} topics; "
               f"Krippendorff's alpha {shown}")
    click.echo(f"{'agent':12} {'replies':>7} {'content':>7} {'sources':>7} {'contra':>6} {'flagged':>7}")
    for agent, f in report["per_agent"].items():
        click.echo(f"{agent:12} {f['replies']:7} {f['content_agreement']:7.3f} {f['cites_source']:7.2f} "
                   f"{f['contradictions']:6} {f['flagged']:7}")
    for p in report.get("per_period", []):
        alpha = f"{p['alpha']:.3f}" if p["alpha"] is not None else p["alpha_note"]
        click.echo(f"{p['period']:10} {p['replies']:5} replies  alpha {alpha}  {p['flagged']} flagged")
    tone = report.get("tone") or {}
    if tone.get("replies"):
        t = tone["alpha"]
        shown = t["value"] if t["value"] is not None else t["reason"]
        click.echo(f"replies to complaints: {tone['replies']} on {tone['subjects']} subjects; tone (apology, next "
                   f"step) agreement {tone['percent_agreement']}, alpha {shown}")
    click.echo(f"{len(report['outliers'])} outlier replies")
    if out_dir:
        path = write_report(out_dir, "agents", f"Agent consistency: {source}", headline=agents_headline(report),
                            data=report, sections=agents_sections(report))
        click.echo(f"report: {path}", err=True)
    return _gate("agents", {"alpha": a["value"]} if a["value"] is not None else {}, thresholds)


def _sent(settings: Settings, start: dt.date, end: dt.date) -> list[Reply]:
    """The replies agents sent through the service (its database, as `kb serve` uses it) in a period.

    The service's package registers how its database is opened (entry point `kb.sent_replies`): eval sits below
    api, as kb sits below the packages that add `kb` commands."""
    from importlib.metadata import entry_points

    found = entry_points(group="kb.sent_replies", name="service")
    if not found:
        raise click.ClickException("--sent-from needs the service's database, and the installed Kennisbank has no "
                                   "`kb.sent_replies` entry point: reinstall it (`make setup`)")
    db = next(iter(found)).load()(settings)
    try:
        return sent_replies(db, start, end)
    finally:
        db.close()


@eval_group.command("diff")
@click.argument("rev_a")
@click.argument("rev_b")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Write diff.json/.html (and diff.md) here.")
@click.option("--format", "output", type=click.Choice(["text", "markdown"]), default="text", show_default=True,
              help="markdown: a short summary for a pull-request comment on stdout (and diff.md with --out).")
@click.option("--max-chars", type=click.IntRange(1000, 1_000_000), default=DEFAULT_MAX_CHARS, show_default=True,
              help="Longest Markdown summary; lists are shortened to fit.")
@GOLDEN_OPTION
def diff(rev_a: str, rev_b: str, out_dir: Path | None, output: str, max_chars: int, golden_dir: Path | None) -> int:
    """Index articles/ at two git revisions (temporary collections) and list every golden or paraphrase
    message whose top article, tier or draft changed.

        kb eval diff main HEAD --out reports/diff
        kb eval diff "$BASE_SHA" "$HEAD_SHA" --format markdown > comment.md   # the pull-request check
    """
    from eval.diff import diff_sections, run_diff

    report = run_diff(settings_from(), rev_a, rev_b, log=lambda line: click.echo(line, err=True),
                      golden_dir=checked_golden_dir(golden_dir))
    markdown = diff_markdown(report, max_chars=max_chars)
    if output == "markdown":
        click.echo(markdown, nl=False)
    else:
        click.echo(f"{report['messages']} messages: {len(report['changed'])} changed "
                   f"(article {report['changed_article']}, tier {report['changed_tier']}, "
                   f"draft {report['changed_draft']}); better {report['better']}, worse {report['worse']}; "
                   f"top right {report['top_right_a']:.3f} -> {report['top_right_b']:.3f}")
        for c in report["changed"]:
            if "article" in c["changed"] or "tier" in c["changed"]:
                click.echo(f"  {c['id']:12} {c['article_a']} ({c['tier_a']}) -> {c['article_b']} ({c['tier_b']})"
                           f"  expected {c['expected']}")
    if out_dir:
        headline = {k: report[k] for k in ("messages", "changed_article", "changed_tier", "changed_draft", "better",
                                           "worse", "top_right_a", "top_right_b")}
        headline |= {f"{label} hit@1": report[f"golden_{side}"].get("hit@1") for side, label in
                     (("a", "before"), ("b", "after")) if report[f"golden_{side}"]}
        path = write_report(out_dir, "diff", f"KB diff {rev_a} → {rev_b}", headline=headline, data=report,
                            sections=diff_sections(report))
        (out_dir / "diff.md").write_text(markdown, encoding="utf-8")
        click.echo(f"report: {path}", err=True)
    return EXIT_OK


# The learned phrasings' commands live in their own module (near-repeat fit, prequential evaluation).
from eval.learning_cli import COMMANDS as _LEARNING_COMMANDS  # noqa: E402

for _command in _LEARNING_COMMANDS:
    eval_group.add_command(_command)
