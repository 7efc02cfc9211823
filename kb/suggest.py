"""Suggestions: retrieval + confidence tiers + drafts, the one path used by `kb suggest` and the API.

    >>> suggester = Suggester(settings, retriever, drafter, articles)  # doctest: +SKIP
    >>> result = suggester.suggest(SuggestQuery(message="baking soda tegen kanker?", channel=Channel.X))
    >>> result.suggestions[0].article_id, result.suggestions[0].confidence  # doctest: +SKIP
    ('zuiveringszout-geneest-kanker', <Confidence.MEDIUM: 'medium'>)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel

from kb.article import Article, Language
from kb.channels import Channel
from kb.config import Settings
from kb.drafting import Drafter
from kb.errors import InvalidInput
from kb.language import detect_language
from kb.normalize import normalize
from kb.retrieval import Match, Retriever

#: Candidates fetched before the language preference and the limit are applied.
_POOL = 12
#: Score bonus for an article in the message's language: an other-language article must beat it clearly.
SAME_LANGUAGE_BONUS = 0.05


class Confidence(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class SuggestionWarning(StrEnum):
    STALE = "stale"
    TOO_LONG = "too_long"
    LANGUAGE_FALLBACK = "language_fallback"
    SHORT_MESSAGE = "short_message"


class SourceOut(BaseModel):
    title: str
    url: str


class Suggestion(BaseModel):
    article_id: str
    title: str
    type: str
    verdict: str | None
    language: str
    score: float
    confidence: Confidence
    matched_text: str
    draft: str
    draft_length: int
    sources: list[SourceOut]
    warnings: list[str]


class SuggestResult(BaseModel):
    language: Language
    language_detected: bool
    channel: Channel
    suggestions: list[Suggestion]
    no_match: bool


@dataclass(frozen=True)
class SuggestQuery:
    message: str
    channel: Channel = Channel.FACEBOOK
    language: Language | None = None
    customer_name: str | None = None
    agent_signature: str | None = None
    limit: int | None = None


class ArticleSource(Protocol):
    """Where approved article text comes from (the served index, or a corpus in tests)."""

    def get_articles(self, ids: list[str]) -> dict[str, Article]: ...


class Suggester:
    def __init__(self, settings: Settings, retriever: Retriever, drafter: Drafter, articles: ArticleSource,
                 clock: Callable[[], dt.date] = dt.date.today) -> None:
        self.settings = settings
        self.retriever = retriever
        self.drafter = drafter
        self.articles = articles
        self.clock = clock

    def suggest(self, query: SuggestQuery, *, ranked: list[Match] | None = None) -> SuggestResult:
        """Validate, detect the language, rank, apply the tiers and draft. `ranked` reuses a ranking."""
        message = query.message.strip()
        if not message:
            raise InvalidInput("message: is empty; paste the incoming message", field="message")
        if len(message) > self.settings.max_message_chars:
            raise InvalidInput(f"message: {len(message)} characters, at most {self.settings.max_message_chars}",
                               field="message")
        limit = query.limit or self.settings.default_limit
        if not 1 <= limit <= 10:
            raise InvalidInput("limit: must be between 1 and 10", field="limit")
        language, detected = query.language, False
        if language is None:
            language, detected = detect_language(message).language, True

        ranked = self.rank(message, language) if ranked is None else ranked
        shown = [m for m in ranked if m.score >= self.settings.threshold_low][:limit]
        articles = self.articles.get_articles([m.article_id for m in shown])
        words = len(normalize(message).split())
        suggestions = [self._suggestion(m, articles[m.article_id], query, language, words)
                       for m in shown if m.article_id in articles and articles[m.article_id].is_served]
        return SuggestResult(language=language, language_detected=detected, channel=query.channel,
                             suggestions=suggestions, no_match=not suggestions)

    def rank(self, message: str, language: Language) -> list[Match]:
        """Candidate articles, best first, before thresholds: an article in the message's language gets a
        small bonus, so an other-language article is offered only when it is clearly the better answer."""
        matches = self.retriever.search(message, language, limit=_POOL)
        return sorted(matches, key=lambda m: (-(m.score + (SAME_LANGUAGE_BONUS if m.language == language else 0)),
                                              m.article_id))

    def tier(self, score: float, *, words: int, stale: bool) -> Confidence:
        s = self.settings
        if score >= s.threshold_high and words > s.short_message_words and not stale:
            return Confidence.HIGH
        return Confidence.MEDIUM if score >= s.threshold_medium else Confidence.LOW

    def _suggestion(self, match: Match, article: Article, query: SuggestQuery, language: Language,
                    words: int) -> Suggestion:
        stale = article.is_stale(self.clock())
        draft = self.drafter.draft(article, query.channel, customer_name=query.customer_name,
                                   signature=query.agent_signature)
        warnings = list(draft.warnings)
        if stale:
            warnings.append(SuggestionWarning.STALE)
        if article.meta.language != language:
            warnings.append(SuggestionWarning.LANGUAGE_FALLBACK)
        if words <= self.settings.short_message_words and match.score >= self.settings.threshold_high:
            warnings.append(SuggestionWarning.SHORT_MESSAGE)
        meta = article.meta
        return Suggestion(
            article_id=meta.id, title=meta.title, type=str(meta.type),
            verdict=str(meta.verdict) if meta.verdict else None, language=str(meta.language),
            score=round(match.score, 4), confidence=self.tier(match.score, words=words, stale=stale),
            matched_text=match.matched_text, draft=draft.text, draft_length=draft.length,
            sources=[SourceOut(title=s.title, url=s.href) for s in meta.sources],
            warnings=[str(w) for w in warnings],
        )
