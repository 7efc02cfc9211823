"""Unanswered messages grouped by meaning, with the gaps page's own grouping (`api.grouping`), and the groups
that grow fast: a group is a rising subject when its share of the unanswered messages this period is unusually
high against the periods before (the same test as for articles, `api.insights.rising`).

Embedding every unanswered message of several weeks would cost seconds per page view, so each period contributes
a uniform sample of at most `SAMPLE` messages (`queries.unanswered_sample`); the test compares shares, which a
uniform sample keeps. The vectors are memoised (`VectorMemo`), so a page view embeds only new messages.

A group is named by the words most of its messages share (never an address or a number: the texts are masked),
which is also what identifies it in an alert.

    >>> label_of(["mag ik naar de zonnebank tijdens chemo", "zonnebank en chemo samen?", "zonnebank na chemo"])
    'chemo · zonnebank'
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from api.db import Database
from api.grouping import Flagged, Group, VectorMemo, group_messages
from api.insights.periods import Period
from api.insights.queries import Filters, Unanswered, unanswered_sample
from api.insights.rising import RateTest, RisingRule, rate_tests
from kb.embedding import Embedder
from kb.stopwords import DUTCH, ENGLISH

#: Unanswered messages read per period (a uniform sample when there are more).
SAMPLE = 150
#: History periods for groups (fewer than for articles: each one is `SAMPLE` more messages to embed once).
HISTORY = 4
#: Vectors kept between page views: all samples of a default view and then some.
MEMO_SIZE = 3000
_WORD = re.compile(r"[^\W\d_]{4,}")
_SKIP = DUTCH | ENGLISH | {"telefoon", "mail", "iban", "jullie", "kanker", "cancer", "weten", "vraag", "graag",
                           "eigenlijk", "iemand", "waarom", "klopt"}


@dataclass(frozen=True)
class GroupTrend:
    """One group of unanswered messages: its messages per period (sampled), and its test in the last period."""

    label: str
    counts: list[int]  # per period, oldest first (the history periods, then the last one)
    examples: list[str]  # a few of its texts (masked): the most typical first, then the newest
    offered: list[str]  # articles offered for these messages and found wanting, most often first
    test: RateTest[str]


@dataclass(frozen=True)
class GroupReport:
    periods: list[Period]
    sampled: list[int]  # messages sampled per period
    groups: list[GroupTrend]  # rising first, then biggest this period


def label_of(texts: Sequence[str], words: int = 2) -> str:
    """The `words` words (4+ letters, no stop words) found in most of `texts`, alphabetically."""
    seen: Counter[str] = Counter()
    for text in texts:
        seen.update({w.lower() for w in _WORD.findall(text)} - _SKIP)
    top = sorted(seen.items(), key=lambda kv: (-kv[1], kv[0]))[:words]
    return " · ".join(sorted(w for w, _ in top)) or (texts[0][:40] if texts else "")


def typical_first(texts: Sequence[str], label: str) -> list[str]:
    """`texts` with the one that shares most of the group's words first (newest first among equals): the message
    a reader recognises the group by.

        >>> typical_first(["dank!", "thanks so much voor je hulp, dank", "much love"], "dank · much")[0]
        'thanks so much voor je hulp, dank'
    """
    words = set(label.split(" · "))

    def shared(text: str) -> int:
        return len(words & {w.lower() for w in _WORD.findall(text)})

    best = max(range(len(texts)), key=lambda i: (shared(texts[i]), -i), default=None)
    return list(texts) if best is None else [texts[best], *texts[:best], *texts[best + 1:]]


def trends(db: Database, last: Period, filters: Filters, embedder: Embedder | VectorMemo, *, rule: RisingRule,
           history: int = HISTORY, sample: int = SAMPLE, top: int = 10) -> GroupReport:
    """The groups of the unanswered messages of `last` and the `history` periods before it."""
    periods = [last.shift(i - history) for i in range(history + 1)]
    samples: list[list[Unanswered]] = [unanswered_sample(db, p.start, p.end, filters, sample) for p in periods]
    period_of = {u.request_id: i for i, rows in enumerate(samples) for u in rows}
    flagged = [Flagged(u.request_id, u.message, u.channel, u.created, u.offered)
               for rows in reversed(samples) for u in sorted(rows, key=lambda u: u.created, reverse=True)]
    groups: list[Group] = group_messages(flagged, embedder)
    sizes = [len(rows) for rows in samples]
    labelled: dict[str, Group] = {}
    series: dict[str, list[int]] = {}
    for g in groups:
        label = label_of([m.message for m in g.messages])
        while label in labelled:  # two groups that share their words stay apart
            label += " ·"
        labelled[label] = g
        counts = [0] * len(periods)
        for m in g.messages:
            counts[period_of[m.request_id]] += 1
        series[label] = counts
    tests = rate_tests({k: c[-1] for k, c in series.items() if c[-1]}, {k: sum(c[:-1]) for k, c in series.items()},
                       exposure=sizes[-1], history_exposure=sum(sizes[:-1]), rule=rule)
    shown = [t for t in tests if t.count > 0][:top]
    out = [GroupTrend(t.subject, series[t.subject],
                      typical_first([m.message for m in labelled[t.subject].messages[:10]], t.subject)[:3],
                      labelled[t.subject].offered[:4], t) for t in shown]
    return GroupReport(periods, sizes, out)
