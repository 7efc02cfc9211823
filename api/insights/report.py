"""All the insights of one question (`InsightsQuery`) as one answer (`InsightsOut`): volume, no-match share and
tiers per period; the articles and topics asked about most; every rising subject; the feedback mix per article;
and the unanswered messages grouped by meaning. Used by `GET /v1/insights`, the insights page, its CSV export,
`kb insights` and the alerts.

Topics come from the articles' front matter (`topics`): a message counts for each topic of the article offered
first. A topic of an English article that names the same subject as a Dutch one (learnt from the translated
pairs, `api.insights.topics`) counts as that Dutch topic, so `cancer` and `kanker` are one subject. Articles the
catalogue does not know (deleted since) keep their id as title and have no topics.

    >>> catalog = catalog_of(engine.served.all_articles())  # doctest: +SKIP
    >>> out = build(db, catalog, InsightsQuery(period="day", periods=7))  # doctest: +SKIP
    >>> [(r.period, r.kind, r.id) for r in out.rising]  # doctest: +SKIP
    [('2026-11-26', 'article', '5g-kanker')]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from api.db import Database
from api.grouping import VectorMemo
from api.insights import groups as unanswered
from api.insights.models import (
    FeedbackMix,
    GroupOut,
    InsightsOut,
    InsightsQuery,
    PeriodOut,
    RisingOut,
    RuleOut,
    SeriesOut,
    UnansweredOut,
)
from api.insights.periods import Period
from api.insights.queries import ACTIONS, Filters, day_counts, feedback_mix, first_day
from api.insights.rising import RateTest, RisingRule, rate_tests_by_period
from api.insights.topics import subject_names, topic_aliases, translated_pairs
from kb.article import Article
from kb.embedding import Embedder

TIERS = ("high", "medium", "low", "no_match")
KINDS: tuple[Literal["article"], Literal["topic"]] = ("article", "topic")
#: Message kinds (kb.kinds) whose surge is a rising subject: a wave of complaints, abuse or spam needs a lead's eyes.
SURGING = {"complaint": "Klachten", "abuse": "Scheldpartijen en beledigingen", "spam": "Spam en reclame"}


@dataclass(frozen=True)
class ArticleInfo:
    title: str
    topics: tuple[str, ...]


class Catalog(dict[str, ArticleInfo]):
    """Titles and topics by article id, and how each topic subject is named (`kanker / cancer`)."""

    def __init__(self, items: Mapping[str, ArticleInfo] | None = None,
                 topic_names: Mapping[str, str] | None = None) -> None:
        super().__init__(items or {})
        self.topic_names: dict[str, str] = dict(topic_names or {})


def catalog_of(articles: Iterable[Article]) -> Catalog:
    """Titles and topics by article id (from the served index, or the articles folder for the CLI); topics in
    another language that name a Dutch topic's subject count as that topic."""
    listed = list(articles)
    aliases = topic_aliases(translated_pairs(listed))

    def subjects(article: Article) -> tuple[str, ...]:
        return tuple(dict.fromkeys(aliases.get(t.lower(), t) for t in article.meta.topics))

    return Catalog({a.id: ArticleInfo(a.meta.title, subjects(a)) for a in listed}, subject_names(aliases))


def today_utc() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def build(db: Database, catalog: Mapping[str, ArticleInfo], query: InsightsQuery, *,
          embedder: Embedder | VectorMemo | None = None, rule: RisingRule | None = None,
          today: dt.date | None = None) -> InsightsOut:
    """The insights for `query`. Groups of unanswered messages only with an `embedder` and `query.groups`."""
    rule = rule or RisingRule()
    filters = Filters(query.channel, query.language)
    history = query.history_periods
    shown = Period.ending(query.period, query.until or today or today_utc(), query.periods)
    periods = [shown[0].shift(i - history) for i in range(history + len(shown))]
    slot = {p.start: i for i, p in enumerate(periods)}
    n = len(periods)
    volume, tiers = [0] * n, [dict.fromkeys(TIERS, 0) for _ in range(n)]
    kinds: list[dict[str, int]] = [{} for _ in range(n)]
    articles: dict[str, list[int]] = {}
    topics: dict[str, list[int]] = {}
    day_slot: dict[dt.date, int] = {}  # a period per day, worked out once (rows are per day, article and tier)
    for row in day_counts(db, periods[0].start, periods[-1].end, filters):
        i = day_slot.get(row.day)
        if i is None:
            i = day_slot[row.day] = slot[Period.of(query.period, row.day).start]
        volume[i] += row.count
        if row.tier in tiers[i]:
            tiers[i][row.tier] += row.count
        if row.kind is not None:
            kinds[i][row.kind] = kinds[i].get(row.kind, 0) + row.count
        if row.article is None:
            continue
        articles.setdefault(row.article, [0] * n)[i] += row.count
        for topic in catalog[row.article].topics if row.article in catalog else ():
            topics.setdefault(topic, [0] * n)[i] += row.count
    tested = {kind: rate_tests_by_period(series, volume, first=history, history=history, rule=rule)
              for kind, series in zip(KINDS, (articles, topics), strict=True)}

    topic_names = getattr(catalog, "topic_names", {})

    def title(kind: str, subject: str) -> str:
        if kind == "topic":
            return str(topic_names.get(subject, subject))
        return catalog[subject].title if subject in catalog else subject

    surging = rate_tests_by_period({k: [c.get(k, 0) for c in kinds] for k in SURGING}, volume, first=history,
                                   history=history, rule=rule)
    rising = [_rising(shown[j], kind, t, title(kind, t.subject))
              for j in reversed(range(len(shown))) for kind in KINDS for t in tested[kind][j] if t.rising]
    rising += [_rising(shown[j], "kind", t, SURGING[t.subject])
               for j in reversed(range(len(shown))) for t in surging[j] if t.rising]
    groups = None
    if query.groups and embedder is not None:
        report = unanswered.trends(db, shown[-1], filters, embedder, rule=rule, history=min(unanswered.HISTORY,
                                                                                          history))
        groups = UnansweredOut(periods=[p.label for p in report.periods], sampled=report.sampled, groups=[
            GroupOut(label=g.label, counts=g.counts, rising=g.test.rising, ratio=_ratio(g.test), examples=g.examples,
                     offered=g.offered) for g in report.groups])
        rising[0:0] = [_rising(shown[-1], "group", g.test, g.label) for g in report.groups if g.test.rising]
    return InsightsOut(
        period=query.period, channel=query.channel, language=query.language,
        periods=[PeriodOut(label=p.label, start=p.start, end=p.end, volume=volume[i], no_match=tiers[i]["no_match"],
                           no_match_share=round(tiers[i]["no_match"] / volume[i], 4) if volume[i] else 0.0,
                           tiers=tiers[i], kinds=kinds[i]) for i, p in enumerate(periods) if i >= history],
        articles=_series("article", articles, tested["article"], history, query.top, title),
        topics=_series("topic", topics, tested["topic"], history, query.top, title),
        rising=rising,
        feedback=_feedback(feedback_mix(db, shown[0].start, shown[-1].end, filters), catalog, query.top),
        unanswered=groups,
        rule=RuleOut(min_count=rule.min_count, min_ratio=rule.min_ratio, alpha=rule.alpha, history=history),
        generated=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), since=first_day(db))


def _ratio(test: RateTest[str]) -> float | None:
    return round(test.ratio, 2) if test.expected > 0 else None


def _rising(period: Period, kind: Literal["article", "topic", "group", "kind"], test: RateTest[str],
            title: str) -> RisingOut:
    return RisingOut(period=period.label, start=period.start, kind=kind, id=test.subject,
                     title=title, count=test.count, history=test.history, expected=test.expected,
                     ratio=_ratio(test), p_value=float(f"{test.p_adjusted:.3g}"))


def _series(kind: Literal["article", "topic"], series: dict[str, list[int]], tested: list[list[RateTest[str]]],
            history: int, top: int, title: Callable[[str, str], str]) -> list[SeriesOut]:
    rising = {(j, t.subject) for j, tests in enumerate(tested) for t in tests if t.rising}
    totals = {s: sum(c[history:]) for s, c in series.items()}
    ranked = sorted((s for s in series if totals[s]), key=lambda s: (-totals[s], s))
    keep = ranked[:top] + [s for s in ranked[top:] if any((j, s) in rising for j in range(len(tested)))]
    return [SeriesOut(kind=kind, id=s, title=title(kind, s), counts=series[s][history:],
                      rising=[(j, s) in rising for j in range(len(tested))], total=totals[s]) for s in keep]


def _feedback(mix: dict[str, dict[str, int]], catalog: Mapping[str, ArticleInfo], top: int) -> list[FeedbackMix]:
    rows = []
    for article, actions in mix.items():
        counts = {a: actions.get(a, 0) for a in ACTIONS}
        total = sum(counts.values())
        needs_work = round((counts["rejected"] + counts["no_good_answer"]) / total, 3)
        rows.append(FeedbackMix(article_id=article, title=catalog[article].title if article in catalog else article,
                                total=total, needs_work=needs_work, **counts))
    rows.sort(key=lambda r: (-r.total, r.article_id))
    return rows[:top]
