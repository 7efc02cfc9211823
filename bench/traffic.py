"""A deterministic stream of several weeks of realistic webcare traffic for the insights: the golden messages
(real wording, each with the article it needs) drawn by article popularity, more on weekdays than at weekends,
over five channels, with tiers, no-match messages and agent feedback, plus three planted patterns:

- a **surge**: one myth (`5g-kanker`) gets several times its usual messages on three days of one week, the way a
  viral post brings them;
- a **drift**: another (`covid-vaccine-turbo-cancer`) grows slowly, 10% a week, which is no surge;
- a **new gap**: in the last week, many unanswered messages ask one question the knowledge base has no article for
  (tattoo ink and lymphoma), the group that grows fast.

Everything else is noise: Poisson-like counts per day and article. The same plan and seed give the same rows.

    >>> traffic = generate(TrafficPlan(end=dt.date(2026, 11, 29), weeks=6, daily=120))
    >>> len(traffic.requests) > 3000, traffic.requests[0]["created"][:10]
    (True, '2026-10-19')
    >>> traffic.surge_week.label, sum(r["top_article"] == SURGE for r in traffic.requests) > 80
    ('2026-W46', True)

    load(db, traffic)   # into a service database (SQLite or PostgreSQL), in batches
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from api.db import Database
from api.insights.periods import Period
from api.sql.schema import feedback, requests

DATA = Path(__file__).resolve().parents[1] / "eval" / "data"  # the golden messages
#: The files the traffic is drawn from, named: a new evaluation file (a second blind draw) must not reshuffle every
#: seeded draw of the planted surge, drift and gap the insights tests look for.
GOLDEN_FILES = ("golden_dev_blind.jsonl", "golden_dev_core.jsonl", "golden_dev_extra.jsonl",
                "golden_test_blind.jsonl")
SURGE = "5g-kanker"
DRIFT = "covid-vaccine-turbo-cancer"
#: A question no article answers; in the last week it comes in often.
GAP = (
    "klopt het dat tatoeages lymfeklierkanker geven?",
    "ik las dat tattoo inkt kanker in je lymfeklieren veroorzaakt, is dat waar?",
    "Zweeds onderzoek: tatoeages verhogen kans op lymfeklierkanker. Moet ik me zorgen maken met 6 tattoos?",
    "geeft tattoo-inkt echt lymfoom? mijn dochter wil er eentje",
    "tatoeage en lymfeklierkanker, wat is het verband?",
    "is het gevaarlijk om een grote tatoeage te laten zetten ivm lymfeklierkanker",
    "hoor overal dat tattoos kanker geven via de lymfeklieren. klopt dat?",
    "Lymfeklierkanker door tatoeages?? Net op het nieuws gezien",
    "krijg je van tattoo inkt lymfeklierkanker of is dat overdreven",
    "mijn tattoo artiest zegt dat het onzin is, maar geeft inkt nu wel of niet lymfeklierkanker?",
    "hebben mensen met tatoeages meer kans op lymfoom?",
    "tattoos en lymfeklierkanker, is daar bewijs voor?",
)
CHANNELS = (("x", 0.3), ("facebook", 0.35), ("instagram", 0.15), ("whatsapp", 0.1), ("email", 0.1))
TIERS = (("high", 0.35), ("medium", 0.45), ("low", 0.2))
#: What agents do with a suggestion, usually (chosen: they searched for another article and picked it); `NEEDS_WORK`
#: is an article whose answer they often reject.
FEEDBACK = (("used", 0.61), ("edited", 0.25), ("rejected", 0.08), ("no_good_answer", 0.04), ("chosen", 0.02))
NEEDS_WORK = "detox-kuur"
FEEDBACK_NEEDS_WORK = (("used", 0.25), ("edited", 0.2), ("rejected", 0.35), ("no_good_answer", 0.2))


@dataclass(frozen=True)
class TrafficPlan:
    end: dt.date  # the last day of traffic (its week is the last week)
    weeks: int = 8
    daily: float = 400.0  # messages on an ordinary weekday; weekends get `weekend` of that
    weekend: float = 0.55
    no_match: float = 0.15  # share of messages without an article
    feedback: float = 0.3  # share of messages an agent gives feedback on
    surge_week: int = -3  # the week of the surge, counted like a Python index over the weeks
    surge_days: tuple[int, ...] = (1, 2, 3)  # weekdays of the surge (Monday is 0)
    surge_factor: float = 10.0  # the surge days bring this many times the myth's usual messages
    drift_per_week: float = 0.10
    gap_per_day: float = 10.0  # new-gap messages a day in the last week (a couple in the weeks before)
    seed: int = 17

    def __post_init__(self) -> None:
        if not -self.weeks <= self.surge_week < self.weeks:
            raise ValueError(f"surge_week {self.surge_week} is outside the {self.weeks} weeks of traffic")


@dataclass
class Traffic:
    plan: TrafficPlan
    requests: list[dict[str, Any]] = field(default_factory=list)
    feedback: list[dict[str, Any]] = field(default_factory=list)

    @property
    def weeks(self) -> list[Period]:
        return Period.ending("week", self.plan.end, self.plan.weeks)

    @property
    def surge_week(self) -> Period:
        return self.weeks[self.plan.surge_week]


def _golden() -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    by_article: dict[str, list[dict[str, Any]]] = {}
    unanswered: list[dict[str, Any]] = []
    for path in (DATA / name for name in GOLDEN_FILES):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                (by_article.setdefault(row["expected"], []) if row["expected"] else unanswered).append(row)
    return by_article, unanswered


class _Choice:
    """A weighted choice with its cumulative weights made once (a million draws are made in the benchmark)."""

    def __init__(self, weighted: tuple[tuple[str, float], ...]) -> None:
        self.keys = [k for k, _ in weighted]
        self.cumulative = list(itertools.accumulate(w for _, w in weighted))

    def __call__(self, rng: random.Random) -> str:
        return rng.choices(self.keys, cum_weights=self.cumulative)[0]


_CHANNEL, _TIER = _Choice(CHANNELS), _Choice(TIERS)
_FEEDBACK, _FEEDBACK_NEEDS_WORK = _Choice(FEEDBACK), _Choice(FEEDBACK_NEEDS_WORK)


def _poisson(rng: random.Random, mean: float) -> int:
    """Poisson draws from the seeded generator (Knuth below 30, a rounded normal above)."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def generate(plan: TrafficPlan) -> Traffic:
    """The rows for the `requests` and `feedback` tables, oldest first."""
    rng = random.Random(plan.seed)
    by_article, unanswered = _golden()
    articles = sorted(by_article)
    rng.shuffle(articles)
    # Popularity: Zipf-like over a seeded order; the surge and drift myths sit mid-table, as most myths do.
    for planted in (SURGE, DRIFT):
        articles.remove(planted)
        articles.insert(len(articles) // 4, planted)
    weight = {a: 1.0 / (i + 3) for i, a in enumerate(articles)}
    scale = sum(weight.values())
    share = {a: w / scale for a, w in weight.items()}
    traffic = Traffic(plan)
    weeks = traffic.weeks
    surge = weeks[plan.surge_week]
    day = weeks[0].start
    while day <= plan.end:
        week = (day - weeks[0].start).days // 7
        volume = plan.daily * (plan.weekend if day.weekday() >= 5 else 1.0)
        means = {a: volume * (1 - plan.no_match) * share[a] for a in articles}
        means[DRIFT] *= (1 + plan.drift_per_week) ** week
        if surge.start <= day < surge.end and day.weekday() in plan.surge_days:
            means[SURGE] *= plan.surge_factor
        for article, mean in means.items():
            for _ in range(_poisson(rng, mean)):
                _request(traffic, rng, day, rng.choice(by_article[article]), article, articles)
        for _ in range(_poisson(rng, volume * plan.no_match)):
            _request(traffic, rng, day, rng.choice(unanswered), None, articles)
        gap_mean = plan.gap_per_day if week == len(weeks) - 1 else plan.gap_per_day / 25
        for _ in range(_poisson(rng, gap_mean)):
            _request(traffic, rng, day, {"text": rng.choice(GAP), "language": "nl"}, None, articles)
        day += dt.timedelta(days=1)
    traffic.requests.sort(key=lambda r: r["created"])
    traffic.feedback.sort(key=lambda r: r["created"])
    return traffic


def _stamp(day: dt.date, second: int) -> str:
    """ISO-8601 UTC as the service stores it, built as text (a million of them are made in the benchmark)."""
    if second >= 86_400:
        day, second = day + dt.timedelta(days=1), second - 86_400
    return f"{day.isoformat()}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}+00:00"


def _request(traffic: Traffic, rng: random.Random, day: dt.date, row: dict[str, Any], article: str | None,
             articles: list[str]) -> None:
    plan = traffic.plan
    second = rng.randrange(86_400)
    offered = [] if article is None else [article, *(a for a in rng.sample(articles, 3)[:rng.randrange(3)]
                                                     if a != article)]
    request_id = f"{rng.getrandbits(128):032x}"
    key_id = f"agent{rng.randrange(12)}"
    traffic.requests.append({
        "request_id": request_id, "created": _stamp(day, second), "key_id": key_id,
        "message": row["text"], "channel": _CHANNEL(rng), "article_ids": json.dumps(offered),
        "language": row.get("language", "nl"), "top_article": article,
        "tier": _TIER(rng) if article else "no_match", "no_match": article is None})
    if rng.random() >= plan.feedback * (1.4 if article is None else 1.0):
        return
    action = (_FEEDBACK_NEEDS_WORK if article == NEEDS_WORK else _FEEDBACK)(rng) if article else "no_good_answer"
    if action == "chosen":  # an article not offered; picked from the request id, so the draws stay as they were
        others = [a for a in articles if a not in offered]
        article = others[int(request_id[:8], 16) % len(others)]
    traffic.feedback.append({
        "request_id": request_id,
        "article_id": article if action in ("used", "edited", "rejected", "chosen") else None,
        "action": action, "final_text": f"Antwoord over {article}" if action in ("used", "edited") else None,
        "key_id": key_id, "created": _stamp(day, second + rng.randrange(30, 900))})


def batches(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


def load(db: Database, traffic: Traffic, batch: int = 5000) -> None:
    """Insert the traffic into a service database, `batch` rows per transaction."""
    for table, rows in ((requests, traffic.requests), (feedback, traffic.feedback)):
        for chunk in batches(rows, batch):
            with db.writing() as conn:
                conn.execute(insert(table), chunk)
