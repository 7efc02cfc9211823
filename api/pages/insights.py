"""The insights page: what the public asks and what rises, for editors and QA leads, as charts first and the
numbers behind them second. Server-rendered SVG (eval/charts.py), no script: the page works under the strict CSP.

    GET /insights?period=week&periods=8&channel=x&language=nl&until=2026-11-29   the page
    GET /insights.csv?…                                                           the same insights as CSV
    GET /insights.csv?…&format=excel                                              for a Dutch Excel (`;`, BOM)

Charts are drawn twice, for a laptop and for a phone (narrower, so their text stays readable when scaled to a
phone's width), and CSS shows the one that fits. Axis labels are short Dutch dates (`1 dec`, `wk 49`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup
from pydantic import ValidationError

from api.deps import DbDep, InsightsDep
from api.errors import PAGE_TAG
from api.insights.export import Dialect, csv_response
from api.insights.models import InsightsOut, InsightsQuery, PeriodOut, SeriesOut
from api.insights.report import build
from api.pages.labels import label
from api.pages.render import render
from api.pages.wording import SHORT_MONTHS, validation_problem
from api.session import InsightsPage
from eval.charts import ALERT, columns_svg, lines_svg, stacked_bars_svg
from kb.channels import Channel

router = APIRouter(include_in_schema=False, tags=[PAGE_TAG])  # errors here are pages (api.errors)

#: Lines in one chart: more is a tangle; rising subjects are added to these.
LINES = 6
FEEDBACK_PARTS = tuple((action, label(action, "action"), colour) for action, colour in
                       (("used", "#2f7d32"), ("edited", "#1f5fa8"), ("rejected", "#ad5700"),
                        ("no_good_answer", ALERT)))
CHANNELS = [(c.value, label(c.value, "channel")) for c in Channel]
_PARAMS = ("period", "periods", "until", "channel", "language")
#: Chart widths in SVG units: a laptop's card, and a phone's (the same text size then reads the same).
WIDE, PHONE = 720, 360


def _query(request: Request) -> tuple[InsightsQuery, str]:
    """The query from the form; a value that does not validate is named and left at its default."""
    given = {k: v.strip() for k, v in request.query_params.items() if k in _PARAMS and v.strip()}
    try:
        return InsightsQuery.model_validate(given), ""
    except ValidationError as e:
        bad = {str(err["loc"][0]) for err in e.errors() if err["loc"]}
        problems = "; ".join(validation_problem(err) for err in e.errors())
        return InsightsQuery.model_validate({k: v for k, v in given.items() if k not in bad}), problems


def short_label(period: PeriodOut, kind: str) -> str:
    """A period as an axis names it: `1 dec` for a day, `wk 49` for a week (the full dates are in the table).

        >>> import datetime as dt
        >>> day = PeriodOut(label="2026-12-01", start=dt.date(2026, 12, 1), end=dt.date(2026, 12, 2), volume=0,
        ...                 no_match=0, no_match_share=0.0, tiers={})
        >>> short_label(day, "day"), short_label(day, "week")
        ('1 dec', 'wk 49')
    """
    if kind == "day":
        return f"{period.start.day} {SHORT_MONTHS[period.start.month - 1].rstrip('.')}"
    return f"wk {period.start.isocalendar()[1]}"


def _both(draw: Callable[..., str], *args: Any, **kwargs: Any) -> Markup:
    """The chart for a laptop and the one for a phone; CSS shows one (insights.css)."""
    return Markup(draw(*args, width=WIDE, **kwargs) + draw(*args, width=PHONE, css_class="chart-phone",
                                                              **kwargs))  # escaped in eval.charts


def _lines(series: list[SeriesOut], labels: list[str], tips: list[str], title: str) -> Markup:
    shown = series[:LINES] + [s for s in series[LINES:] if any(s.rising)]
    titles = [s.title for s in shown]
    names = {s.id: s.title if titles.count(s.title) == 1 else f"{s.title} ({s.id})" for s in shown}
    return _both(lines_svg, labels, {names[s.id]: s.counts for s in shown},
                 marked={names[s.id]: s.rising for s in shown}, title=title, integer=True, tips=tips)


def charts(out: InsightsOut) -> dict[str, Markup]:
    """The page's SVG charts; eval.charts escapes every label, so they go into the page as markup."""
    labels = [short_label(p, out.period) for p in out.periods]
    tips = [p.label for p in out.periods]
    unit = "dag" if out.period == "day" else "week"
    feedback = {f.title: {k: getattr(f, k) for k, _, _ in FEEDBACK_PARTS} for f in out.feedback}
    return {
        "volume": _both(columns_svg, labels, {
            "met suggestie": [p.volume - p.no_match for p in out.periods],
            "geen suggestie": [p.no_match for p in out.periods]}, colours=("#1f5fa8", ALERT),
            title=f"Berichten per {unit}", integer=True, tips=tips),
        "articles": _lines(out.articles, labels, tips, f"Meest gevraagde artikelen per {unit}"),
        "topics": _lines(out.topics, labels, tips, f"Onderwerpen per {unit}"),
        "feedback": Markup(
            stacked_bars_svg(feedback, FEEDBACK_PARTS, title="Wat agents met de suggesties deden", width=WIDE)
            + stacked_bars_svg(feedback, FEEDBACK_PARTS, title="Wat agents met de suggesties deden", width=PHONE,
                               label_width=130, css_class="chart-phone")) if out.feedback else Markup(""),
    }


def history_note(out: InsightsOut) -> dict[str, Any] | None:
    """For a new install: since when there is data, how much history rising subjects need and when they have it,
    and the day view to look at meanwhile. None once the periods shown all hold data and the history is full."""
    if out.since is None:
        return {"since": None}
    first = out.periods[0].start
    days = {"day": 1, "week": 7}[out.period]
    full = out.since + dt.timedelta(days=days * out.rule.history)
    if out.since <= first - dt.timedelta(days=days * out.rule.history):
        return None
    days_of_data = (out.periods[-1].end - out.since).days
    return {"since": out.since, "days": days_of_data, "full": full, "before_first": out.since > first,
            "day_view": min(60, max(7, days_of_data)) if out.period == "week" else None,
            "can_rise_from": out.since + dt.timedelta(days=days)}


def _build(db: DbDep, context: InsightsDep, query: InsightsQuery) -> InsightsOut:
    return build(db, context.catalog(), query, embedder=context.vectors)


def group_notes(out: InsightsOut) -> list[str]:
    """Per group of unanswered messages, in words, how often it came up in the periods before the last one."""
    if out.unanswered is None:
        return []
    before = out.unanswered.periods[:-1]
    unit = ("dag", "dagen") if out.period == "day" else ("week", "weken")
    span = f"de {len(before)} {unit[1] if len(before) != 1 else unit[0]} ervoor"
    notes = []
    for g in out.unanswered.groups:
        earlier = [(p, c) for p, c in zip(before, g.counts[:-1], strict=True) if c]
        if not earlier:
            notes.append(f"Nieuw: in {span} kwam dit niet voor.")
        else:
            total = sum(c for _, c in earlier)
            where = ", ".join(f"{c}× in {p}" for p, c in earlier)
            notes.append(f"In {span}: {total} {'bericht' if total == 1 else 'berichten'} ({where}).")
    return notes


@router.get("/insights")
def insights_page(request: Request, db: DbDep, insights: InsightsDep, session: InsightsPage) -> Response:
    query, error = _query(request)
    out = _build(db, insights, query)
    last = out.periods[-1]
    before = out.periods[-2] if len(out.periods) > 1 else None
    change = (last.volume - before.volume) / before.volume if before and before.volume else None
    context: dict[str, Any] = {"out": out, "query": query, "error": error, "charts": charts(out), "last": last,
                               "change": change, "channels": CHANNELS, "history": history_note(out),
                               "group_notes": group_notes(out), "first_day": out.periods[0].start,
                               "last_day": last.end - dt.timedelta(days=1),
                               "csv_query": urlencode([(k, v) for k, v in request.query_params.items()
                                                       if k in _PARAMS])}
    return render(request, "insights.html", status=422 if error else 200, **context)


@router.get("/insights.csv")
def insights_csv_page(request: Request, db: DbDep, context: InsightsDep, session: InsightsPage) -> Response:
    """The plain CSV, or with `format=excel` the one a Dutch Excel opens in columns."""
    query, _ = _query(request)
    dialect: Dialect = "excel" if request.query_params.get("format") == "excel" else "csv"
    return csv_response(_build(db, context, query), dialect)
