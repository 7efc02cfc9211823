"""The insights as they go over the wire (`GET /v1/insights`), and the bounded query that asks for them.

    >>> InsightsQuery(period="day", periods=14).history_periods
    14
    >>> InsightsQuery().periods, InsightsQuery().history_periods
    (8, 6)
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.insights.periods import PeriodKind
from kb.article import Language
from kb.channels import Channel

#: Trailing periods a subject is compared with, unless asked otherwise: two weeks of days, six weeks.
DEFAULT_HISTORY = {"day": 14, "week": 6}


class InsightsQuery(BaseModel):
    """Parameters of GET /v1/insights (and the page, and `kb insights`); an unknown one is refused."""

    model_config = ConfigDict(extra="forbid")

    period: PeriodKind = Field(default="week", description="day (UTC) or week (ISO, Monday to Sunday).")
    periods: int = Field(default=8, ge=1, le=60,
                         description="How many periods to show, the last one containing `until`.")
    until: dt.date | None = Field(default=None, description="A day in the last period shown; today (UTC) when left "
                                  "out. Days before 2000 or after 2999 are read as the nearest of those ends.")
    channel: Channel | None = Field(default=None, description="Only messages from this channel.")
    language: Language | None = Field(default=None, description="Only messages in this language.")
    top: int = Field(default=10, ge=1, le=50, description="Articles and topics listed (rising ones always are).")
    history: int | None = Field(default=None, ge=2, le=26, description="Trailing periods each period is compared "
                                "with to find rising subjects (default 14 days or 6 weeks).")
    groups: bool = Field(default=True,
                         description="Group the unanswered messages by meaning (embeds a sample of them).")

    @field_validator("until", mode="before")
    @classmethod
    def _iso_day(cls, value: object) -> object:
        # pydantic reads "0" as a Unix timestamp; the document promises an ISO day (YYYY-MM-DD) and nothing else
        if isinstance(value, str) and not (len(value) == 10 and value[4] == value[7] == "-"):
            raise ValueError("until: a day as YYYY-MM-DD")
        return value

    @field_validator("until")
    @classmethod
    def _within_reach(cls, value: dt.date | None) -> dt.date | None:
        # OpenAPI cannot state a date's minimum, so a refused 1541 would be a documented request answered 422; no
        # request log reaches that far, and clamping keeps the period arithmetic far from date's own limits.
        if value is None:
            return None
        return min(max(value, dt.date(2000, 1, 1)), dt.date(2999, 12, 31))

    @property
    def history_periods(self) -> int:
        return self.history or DEFAULT_HISTORY[self.period]


class PeriodOut(BaseModel):
    label: str = Field(description="2026-12-01 for a day, 2026-W49 for a week.")
    start: dt.date
    end: dt.date = Field(description="The day after the period (exclusive).")
    volume: int = Field(description="Messages answered in the period.")
    no_match: int = Field(description="Messages that got no suggestion.")
    no_match_share: float
    tiers: dict[str, int] = Field(description="Messages by the top suggestion's confidence: high, medium, low, "
                                  "no_match (unknown for requests recorded before the insights).")
    kinds: dict[str, int] = Field(default_factory=dict, description="Messages by kind: question, complaint, thanks, "
                                  "story, abuse, spam, offtopic (unknown for requests recorded before kinds).")


class SeriesOut(BaseModel):
    """An article or a topic over the periods shown."""

    kind: Literal["article", "topic"]
    id: str
    title: str
    counts: list[int] = Field(description="Messages per period, as `periods`.")
    rising: list[bool] = Field(description="Per period: rising against its own history.")
    total: int


class RisingOut(BaseModel):
    """A subject whose count in one period is unusually high against its trailing history."""

    period: str
    start: dt.date
    kind: Literal["article", "topic", "group", "kind"] = Field(description="What rises: an article, a topic, a "
                                                               "group of unanswered messages, or a message kind "
                                                               "(complaints, abuse, spam surging).")
    id: str
    title: str
    count: int
    history: int = Field(description="Its messages in the history periods.")
    expected: float = Field(description="What its usual share of this period's volume would have been.")
    ratio: float | None = Field(description="count / expected; null when it had no messages before.")
    p_value: float = Field(description="One-sided, against 'at most min_ratio times its usual rate', Holm-adjusted.")


class FeedbackMix(BaseModel):
    """What agents did with an article's suggestions, for the messages of the periods shown."""

    article_id: str
    title: str
    used: int
    edited: int
    rejected: int
    no_good_answer: int
    total: int
    needs_work: float = Field(description="Share of rejected and no good answer.")


class GroupOut(BaseModel):
    label: str = Field(description="The words most of its messages share.")
    counts: list[int] = Field(description="Sampled messages per period of `unanswered.periods`.")
    rising: bool
    ratio: float | None
    examples: list[str] = Field(description="A few of its messages, masked; the first shares most of the "
                                "group's words (the one to recognise it by).")
    offered: list[str] = Field(description="Articles offered for them and judged not good enough.")


class UnansweredOut(BaseModel):
    periods: list[str] = Field(description="The last period and the history periods before it, oldest first.")
    sampled: list[int] = Field(description="Unanswered messages read per period (a uniform sample beyond a bound).")
    groups: list[GroupOut]


class RuleOut(BaseModel):
    min_count: int
    min_ratio: float
    alpha: float
    history: int


class InsightsOut(BaseModel):
    period: PeriodKind
    channel: str | None
    language: str | None
    periods: list[PeriodOut]
    articles: list[SeriesOut] = Field(description="Most asked first; rising ones are always listed.")
    topics: list[SeriesOut]
    rising: list[RisingOut] = Field(description="Every rising subject in the periods shown, newest period first.")
    feedback: list[FeedbackMix] = Field(description="Per article, most feedback first.")
    unanswered: UnansweredOut | None = Field(description="Null when `groups=false`.")
    rule: RuleOut
    generated: str
    since: dt.date | None = Field(default=None, description="The first day (UTC) a message was recorded at all, "
                                  "whatever the filters; null before the first. Periods before it hold no data.")
