"""The insights page: what the public asks and what rises, for editors and QA leads, as charts first and the
numbers behind them second. Server-rendered SVG (eval/charts.py), no script: the page works under the strict CSP.

    GET /insights?period=week&periods=8&channel=x&language=nl&until=2026-11-29   the page
    GET /insights.csv?…                                                           the same insights as CSV
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup
from pydantic import ValidationError

from api.deps import DbDep, InsightsDep
from api.errors import PAGE_TAG
from api.insights.export import csv_response
from api.insights.models import InsightsOut, InsightsQuery, SeriesOut
from api.insights.report import build
from api.pages.agent import CHANNELS
from api.pages.render import render
from api.session import InsightsPage
from eval.charts import ALERT, columns_svg, lines_svg, stacked_bars_svg

router = APIRouter(include_in_schema=False, tags=[PAGE_TAG])  # errors here are pages (api.errors)

#: Lines in one chart: more is a tangle; rising subjects are added to these.
LINES = 6
FEEDBACK_PARTS = (("used", "gebruikt", "#2f7d32"), ("edited", "aangepast", "#1f5fa8"),
                  ("rejected", "afgewezen", "#ad5700"), ("no_good_answer", "geen goed antwoord", ALERT),
                  ("ignored", "genegeerd", "#6b4fa0"))
KIND_TEXT = {"article": "artikel", "topic": "onderwerp", "group": "onbeantwoord"}
_PARAMS = ("period", "periods", "until", "channel", "language")


def _query(request: Request) -> tuple[InsightsQuery, str]:
    """The query from the form; a value that does not validate is named and left at its default."""
    given = {k: v.strip() for k, v in request.query_params.items() if k in _PARAMS and v.strip()}
    try:
        return InsightsQuery.model_validate(given), ""
    except ValidationError as e:
        bad = {str(err["loc"][0]) for err in e.errors() if err["loc"]}
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors())
        return InsightsQuery.model_validate({k: v for k, v in given.items() if k not in bad}), problems


def _lines(series: list[SeriesOut], labels: list[str], title: str) -> Markup:
    shown = series[:LINES] + [s for s in series[LINES:] if any(s.rising)]
    titles = [s.title for s in shown]
    names = {s.id: s.title if titles.count(s.title) == 1 else f"{s.title} ({s.id})" for s in shown}
    return Markup(lines_svg(labels, {names[s.id]: s.counts for s in shown},  # escaped in eval.charts
                            marked={names[s.id]: s.rising for s in shown}, title=title))


def charts(out: InsightsOut) -> dict[str, Markup]:
    """The page's SVG charts; eval.charts escapes every label, so they go into the page as markup."""
    labels = [p.label for p in out.periods]
    unit = "dag" if out.period == "day" else "week"
    return {
        "volume": Markup(columns_svg(labels, {
            "met suggestie": [p.volume - p.no_match for p in out.periods],
            "geen suggestie": [p.no_match for p in out.periods]}, colours=("#1f5fa8", ALERT),
            title=f"Berichten per {unit}")),
        "articles": _lines(out.articles, labels, f"Meest gevraagde artikelen per {unit}"),
        "topics": _lines(out.topics, labels, f"Onderwerpen per {unit}"),
        "feedback": Markup(stacked_bars_svg(
            {f.title: {k: getattr(f, k) for k, _, _ in FEEDBACK_PARTS} for f in out.feedback}, FEEDBACK_PARTS,
            title="Wat agents met de suggesties deden")) if out.feedback else Markup(""),
    }


def _build(db: DbDep, context: InsightsDep, query: InsightsQuery) -> InsightsOut:
    return build(db, context.catalog(), query, embedder=context.vectors)


@router.get("/insights")
def insights_page(request: Request, db: DbDep, insights: InsightsDep, session: InsightsPage) -> Response:
    query, error = _query(request)
    out = _build(db, insights, query)
    last = out.periods[-1]
    before = out.periods[-2] if len(out.periods) > 1 else None
    change = (last.volume - before.volume) / before.volume if before and before.volume else None
    context: dict[str, Any] = {"out": out, "query": query, "error": error, "charts": charts(out), "last": last,
                               "change": change, "channels": CHANNELS, "kind_text": KIND_TEXT,
                               "csv_query": request.url.query}
    return render(request, "insights.html", status=422 if error else 200, **context)


@router.get("/insights.csv")
def insights_csv_page(request: Request, db: DbDep, context: InsightsDep, session: InsightsPage) -> Response:
    query, _ = _query(request)
    return csv_response(_build(db, context, query))
