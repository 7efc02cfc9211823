"""`kb insights` and `kb retention run`: registered on the `kb` command through the `kb.commands` entry points.

    $ kb insights                         # the last 7 days, per day
    $ kb insights --since 8w --channel x  # eight weeks, per week, X only
    $ kb insights --since 30d --csv insights.csv
    $ kb retention run                    # remove texts older than KB_RETENTION_DAYS now
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import click

from api.db import Database, open_database
from api.insights.export import to_csv
from api.insights.models import InsightsOut, InsightsQuery
from api.insights.periods import KINDS, PeriodKind, parse_since
from api.insights.report import build, catalog_of, today_utc
from api.insights.retention import BATCH, remove_expired_texts
from eval.report_retention import remove_expired_report_texts
from kb.article import Language
from kb.channels import Channel
from kb.cli import EXIT_OK, settings_from
from kb.corpus import load_corpus
from kb.embedding import load_embedder

KIND_NAMES = {"article": "article", "topic": "topic", "group": "unanswered", "kind": "message kind"}


def _periods(since: dt.timedelta, period: PeriodKind) -> int:
    return max(1, min(60, math.ceil(since / dt.timedelta(days=1 if period == "day" else 7))))


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def render_text(out: InsightsOut) -> str:
    """The insights as a terminal report (plain text, widths fixed)."""
    unit = "day" if out.period == "day" else "week"
    scope = f"{out.channel or 'all channels'}, {out.language or 'all languages'}"
    labels = [p.label for p in out.periods]
    width = max(len(label) for label in labels) if labels else 4
    lines = [f"Kennisbank insights per {unit}, {labels[0]} to {labels[-1]} ({scope})", ""]
    lines.append(f"{unit:<{width}}  {'messages':>8}  {'no match':>8}  {'high':>6}  {'medium':>6}  {'low':>6}  "
                 f"{'complaint':>9}  {'abuse':>6}  {'spam':>6}")
    for p in out.periods:
        lines.append(f"{p.label:<{width}}  {p.volume:>8}  {_pct(p.no_match, p.volume):>8}  {p.tiers['high']:>6}  "
                     f"{p.tiers['medium']:>6}  {p.tiers['low']:>6}  {p.kinds.get('complaint', 0):>9}  "
                     f"{p.kinds.get('abuse', 0):>6}  {p.kinds.get('spam', 0):>6}")
    for title, series in (("Most asked articles", out.articles), ("Topics", out.topics)):
        lines += ["", f"{title} (messages per {unit}, oldest first; * rising)"]
        for s in series:
            counts = " ".join(f"{c}{'*' if r else ''}" for c, r in zip(s.counts, s.rising, strict=True))
            lines.append(f"  {s.id[:36]:<36} {s.total:>6}   {counts}")
    lines += ["", "Rising subjects" if out.rising else "Rising subjects: none"]
    for r in out.rising:
        usual = f"usually about {r.expected:.0f} ({r.ratio:g}x)" if r.ratio is not None else "none before"
        lines.append(f"  ^ {r.period}  {KIND_NAMES[r.kind]} {r.id}: {r.count} messages, {usual}, p {r.p_value:.2g}")
    if out.feedback:
        lines += ["", "Feedback per article: used / edited / rejected / no good answer (needs work)"]
        for f in out.feedback:
            lines.append(f"  {f.article_id[:36]:<36} {f.used:>5} / {f.edited:>4} / {f.rejected:>4} / "
                         f"{f.no_good_answer:>4}   ({f.needs_work:.0%})")
    if out.unanswered is not None:
        u = out.unanswered
        lines += ["", f"Unanswered in {u.periods[-1]}, grouped by meaning ({u.sampled[-1]} read; before: "
                      f"{' '.join(str(n) for n in u.sampled[:-1])})"]
        for g in u.groups:
            mark = "^" if g.rising else " "
            lines.append(f"  {mark} {g.label[:40]:<40} {g.counts[-1]:>4}   before: {' '.join(map(str, g.counts[:-1]))}")
    return "\n".join(lines)


@click.command("insights")
@click.option("--since", default="7d", show_default=True, help="How far back: 36h, 7d, 8w.")
@click.option("--period", type=click.Choice(KINDS), help="Per day or week (default: day up to 31 days, else week).")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="The last day shown (default today, UTC).")
@click.option("--channel", type=click.Choice([c.value for c in Channel]), help="Only this channel.")
@click.option("--lang", "language", type=click.Choice([lang.value for lang in Language]), help="Only this language.")
@click.option("--top", type=click.IntRange(1, 50), default=10, show_default=True, help="Articles and topics listed.")
@click.option("--groups/--no-groups", default=True, show_default=True,
              help="Group unanswered messages by meaning (loads the embedding model).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write CSV here ('-': stdout).")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON of GET /v1/insights.")
def insights(since: str, period: PeriodKind | None, until: dt.datetime | None, channel: str | None,
             language: str | None, top: int, groups: bool, csv_path: Path | None, as_json: bool) -> int:
    """What the public asked: volume, most asked articles and topics, rising subjects, feedback, gaps.

        kb insights
        kb insights --since 8w --channel x --no-groups
        kb insights --since 30d --period day --csv insights.csv
    """
    try:
        span = parse_since(since)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--since") from None
    kind: PeriodKind = period or ("day" if span <= dt.timedelta(days=31) else "week")
    query = InsightsQuery(period=kind, periods=_periods(span, kind), until=until.date() if until else today_utc(),
                          channel=Channel(channel) if channel else None,
                          language=Language(language) if language else None, top=top, groups=groups)
    settings = settings_from()
    catalog = catalog_of(load_corpus(settings.articles_dir).articles.values()) if settings.articles_dir.is_dir() \
        else {}
    db = open_database(settings)
    try:
        out = build(db, catalog, query, embedder=load_embedder(settings) if groups else None)
    finally:
        db.close()
    if csv_path is not None:
        text = to_csv(out)
        if str(csv_path) == "-":
            click.echo(text, nl=False)
        else:
            csv_path.write_text(text, encoding="utf-8")
            click.echo(f"wrote {csv_path}", err=True)
    elif as_json:
        click.echo(out.model_dump_json(indent=2))
    else:
        click.echo(render_text(out))
    return EXIT_OK


@click.group("retention")
def retention() -> None:
    """Personal data kept only as long as needed (KB_RETENTION_DAYS)."""


@retention.command("run")
@click.option("--days", type=click.IntRange(0, 3650), help="Remove texts older than this (default KB_RETENTION_DAYS).")
@click.option("--batch", type=click.IntRange(1, 100_000), default=BATCH, show_default=True,
              help="Rows per transaction.")
def retention_run(days: int | None, batch: int) -> int:
    """Remove message and final reply texts older than the retention period now, in batches (the service does
    this hourly), and the texts of agent-consistency reports in KB_REPORTS_DIR written before it; counts,
    articles, tiers, channels and languages stay for the insights, flags and figures in the reports.

        kb retention run
        kb retention run --days 30
    """
    settings = settings_from()
    keep = settings.retention_days if days is None else days
    if keep == 0:
        click.echo("KB_RETENTION_DAYS is 0: texts are kept indefinitely; give --days N to remove older ones",
                   err=True)
        return EXIT_OK
    db: Database = open_database(settings)
    try:
        result = remove_expired_texts(db, keep, batch=batch)
    finally:
        db.close()
    click.echo(str(result))
    reports = remove_expired_report_texts(settings.reports_dir, keep)
    click.echo(f"removed the texts of {reports} agent-consistency reports in KB_REPORTS_DIR")
    return EXIT_OK
