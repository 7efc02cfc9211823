"""Suggestions: retrieval + confidence tiers + drafts, the one path used by `kb suggest` and the API.

Ranking prefers the message's own language only where the knowledge base has the same article in both (its
`translations`): the twin in the message's language takes the better of the two places. An article that exists
in one language only is offered to a message in the other on its merits, with the `language_fallback` warning.
Each suggestion's `score` is the calibrated probability that it is the right article (kb.confidence), and the
tiers cut that probability (`tier`, the whole table in its docstring). Two things keep a suggestion out of
`high` whatever its probability, and the suggestion says which (`tier_capped_by`), so a tier never seems to
contradict its number: a message of only a few words, and an article past its review date. Before any of that,
the answerability gate (kb.answerable), where one is fitted for the model, decides whether the knowledge base
answers the message at all (reading, among the rest, how close it comes to the subjects the editors list as outside
our remit, kb.outside); when it says no, the answer is no match.

    >>> suggester = Suggester(settings, retriever, drafter, articles)  # doctest: +SKIP
    >>> result = suggester.suggest(SuggestQuery("baking soda tegen kanker?", Channel.X))  # doctest: +SKIP
    >>> result.suggestions[0].article_id, result.suggestions[0].confidence  # doctest: +SKIP
    ('zuiveringszout-geneest-kanker', <Confidence.MEDIUM: 'medium'>)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from kb.answerable import AnswerGate, signals
from kb.article import Article, ArticleType, Language, Source, Verdict
from kb.channels import Channel
from kb.confidence import UNCALIBRATED, Calibration, probabilities
from kb.config import Settings
from kb.drafting import Drafter
from kb.errors import InvalidInput
from kb.kinds import KindDecision, KindResult
from kb.language import detect
from kb.learned import Evidence, NoEvidence, learned_of, learned_probabilities
from kb.normalize import Message
from kb.outside import OutsideRemit
from kb.retrieval import Match, Retriever

#: Candidates fetched before translations are merged and the limit is applied.
_POOL = 12


class Confidence(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class TierCap(StrEnum):
    """Why a suggestion whose probability reaches `high` is shown as `medium`."""

    STALE = "stale"  # the article is past its review date: check that it still holds
    SHORT_MESSAGE = "short_message"  # a few words can mean several things: read along


class SuggestionWarning(StrEnum):
    STALE = "stale"
    TOO_LONG = "too_long"
    LANGUAGE_FALLBACK = "language_fallback"
    SHORT_MESSAGE = "short_message"


@dataclass(frozen=True)
class Suggestion:
    """One article offered for a message: what it is, how likely it is the right one (`score`, the calibrated
    probability) and its tier, the chunk that matched, and the draft in the message's channel. The HTTP API
    turns it into its own wire model (api.schemas); the core never shapes JSON."""

    article_id: str
    title: str
    type: ArticleType
    verdict: Verdict | None
    language: Language
    score: float
    confidence: Confidence
    tier_capped_by: TierCap | None
    matched_text: str
    draft: str
    draft_length: int
    sources: tuple[Source, ...]
    warnings: tuple[str, ...]
    #: The message is a near-repeat of a phrasing agents confirmed for this article (kb.learned).
    learned: bool = False


@dataclass(frozen=True)
class SuggestResult:
    language: Language
    language_detected: bool
    channel: Channel
    suggestions: tuple[Suggestion, ...]
    no_match: bool
    kind: KindResult | None = None  # the message's kind and its reply (kb.kind_replies); None without kinds
    #: With no match: the subject outside our remit (kb.outside) the message is nearer to than to any article.
    outside_subject: str | None = None


@dataclass(frozen=True)
class SuggestQuery:
    """What an agent asks: the message (as received, or a `Message` already read) and how to answer it."""

    message: str | Message
    channel: Channel = Channel.FACEBOOK
    language: Language | None = None
    customer_name: str | None = None
    agent_signature: str | None = None
    limit: int | None = None


class ArticleSource(Protocol):
    """Where approved article text comes from (the served index, or a corpus in tests)."""

    def get_articles(self, ids: list[str]) -> dict[str, Article]: ...


class ReplyShaper(Protocol):
    """What shapes a result by the message's kind (kb.kind_replies.KindReplies): `apply` is called once per
    message; `classify` tells a message's kind alone (evaluation)."""

    def apply(self, result: SuggestResult, message: Message, query: SuggestQuery,
              articles: Mapping[str, Article]) -> SuggestResult: ...

    def classify(self, message: str | Message) -> KindDecision: ...


class Suggester:
    """Three capabilities, one seam each: `evidence`, the learned phrasings (kb.learned), is consulted once per
    ranking, after retrieval; `gate` (kb.answerable) decides once whether the knowledge base answers the message at
    all; `kinds` (kb.kind_replies) shapes the finished result by the message's kind."""

    def __init__(self, settings: Settings, retriever: Retriever, drafter: Drafter, articles: ArticleSource,
                 clock: Callable[[], dt.date] = dt.date.today, calibration: Calibration = UNCALIBRATED,
                 kinds: ReplyShaper | None = None, evidence: Evidence | None = None,
                 gate: AnswerGate | None = None, outside: OutsideRemit | None = None) -> None:
        self.settings = settings
        self.retriever = retriever
        self.drafter = drafter
        self.articles = articles
        self.clock = clock
        self.calibration = calibration
        self.gate = gate
        self.outside = outside  # the gate reads it, and a no match names its subject (kb.outside)
        self.kinds = kinds
        self.evidence: Evidence = NoEvidence() if evidence is None else evidence  # (an empty one is falsy)

    def suggest(self, query: SuggestQuery, *, ranked: list[Match] | None = None) -> SuggestResult:
        """Read the message (once: bounded by KB_MAX_MESSAGE_CHARS, normalised), detect its language, rank,
        apply the tiers and draft; then the message's kind shapes the replies (kb.kind_replies). `ranked` reuses
        a ranking."""
        message = Message.bounded(query.message, self.settings.max_message_chars)
        limit = query.limit or self.settings.default_limit
        if not 1 <= limit <= 10:
            raise InvalidInput("limit: must be between 1 and 10", field="limit")
        language, detected = query.language, False
        if language is None:
            language, detected = detect(message).language, True

        ranked = self.rank(message, language) if ranked is None else ranked
        words = message.words
        confidence = self.confidences(ranked, words=words, language=language)
        shown = [(m, p) for m, p in zip(ranked, confidence, strict=True) if p >= self.settings.threshold_low][:limit]
        if shown and not self.answerable(ranked, confidence, words=words, message=message):
            shown = []
        articles = self.articles.get_articles([m.article_id for m, _ in shown])
        suggestions = tuple(self._suggestion(m, p, articles[m.article_id], query, language, words)
                            for m, p in shown if m.article_id in articles and articles[m.article_id].is_served)
        outside = None
        if not suggestions and self.outside is not None:
            outside = self.outside.subject_for(message, ranked[0].dense if ranked else None)
        result = SuggestResult(language=language, language_detected=detected, channel=query.channel,
                               suggestions=suggestions, no_match=not suggestions, outside_subject=outside)
        return self.kinds.apply(result, message, query, articles) if self.kinds else result

    def rank(self, message: str | Message, language: Language) -> list[Match]:
        """Candidate articles, best first, before thresholds, with translation pairs merged (see the module
        docstring), then the learned evidence (an article agents confirmed for a near-repeat goes first)."""
        read = Message.of(message)
        return self.evidence.rerank(read, prefer_language(self.retriever.search(read, language, limit=_POOL),
                                                          language))

    def confidences(self, ranked: list[Match], *, words: int, language: Language) -> list[float]:
        """The calibrated probability that each candidate is the right article (with what learned evidence in
        the ranking supports: kb.learned.learned_probabilities)."""
        return learned_probabilities(ranked, probabilities(self.calibration, ranked, words=words,
                                                           language=str(language)))

    def answerable(self, ranked: list[Match], confidence: list[float], *, words: int,
                   message: str | Message = "") -> bool:
        """Whether the knowledge base answers the message at all (kb.answerable); always, without a gate. A gate
        fitted with the message kinds' probabilities reads them (the classifier reuses the query vector). A first
        candidate that agents confirmed for a near-repeat of this message (kb.learned) is an answer whatever the
        gate reads: the gate judges the encoder's evidence, and theirs is stronger (its cosine can be low exactly
        where the message's words are in no article)."""
        if self.gate is None or (ranked and learned_of(ranked[0]) is not None):
            return True
        return self.gate.answers(self.gate_signal(ranked, confidence, words=words, message=message))

    def gate_signal(self, ranked: list[Match], confidence: list[float], *, words: int,
                    message: str | Message) -> dict[str, float]:
        """What the gate reads of the message (kb.answerable.signals), with the kinds and the outside list only
        where the gate reads them."""
        reads_kinds = self.gate is not None and self.gate.reads_kinds
        kinds = self.kind_probabilities(message) if reads_kinds else None
        outside = self.outside_cosine(message) if self.gate is not None and self.gate.reads_outside else None
        return signals(ranked, confidence, words=words, kinds=kinds, outside=outside)

    def outside_cosine(self, message: str | Message) -> float | None:
        """How close the message comes to the KB's outside list (kb.outside); None without a list."""
        if self.outside is None:
            return None
        read = Message.of(message)
        return self.outside.cosine(read) if read.query.strip() else None

    def kind_probabilities(self, message: str | Message) -> dict[str, float] | None:
        """Each message kind's probability (kb.kinds: the model's, or the deciding rule's precision for its kind);
        None where kinds are off."""
        if self.kinds is None:
            return None
        decision = self.kinds.classify(message)
        return {str(k): p for k, p in decision.probabilities} or {str(decision.kind): decision.probability}

    def rank_with_confidence(self, message: str | Message, language: Language) -> list[tuple[Match, float]]:
        """`rank` with each candidate's probability (what the tiers and the no-match line cut)."""
        read = Message.of(message)
        ranked = self.rank(read, language)
        return list(zip(ranked, self.confidences(ranked, words=read.words, language=language), strict=True))

    def tier(self, score: float, *, words: int, stale: bool) -> tuple[Confidence, TierCap | None]:
        """The tier of a suggestion with probability `score`, and what kept it from `high`, if anything.

        With the thresholds low <= medium <= high (KB_THRESHOLD_*) and S = KB_SHORT_MESSAGE_WORDS:

        ==================  =================  =====================  ====================
        score               message > S words  message <= S words     article stale
        ==================  =================  =====================  ====================
        >= high             high               medium, short_message  medium, stale
        >= medium           medium             medium                 medium
        >= low              low                low                    low
        < low               not shown          not shown              not shown
        ==================  =================  =====================  ====================

        Stale comes first when both hold (what the article says may no longer be true).

            >>> s = Suggester(Settings(threshold_low=0.1, threshold_medium=0.6, threshold_high=0.8), *[None] * 3)
            >>> s.tier(0.9, words=3, stale=False)
            (<Confidence.MEDIUM: 'medium'>, <TierCap.SHORT_MESSAGE: 'short_message'>)
            >>> s.tier(0.2, words=9, stale=False)
            (<Confidence.LOW: 'low'>, None)
        """
        s = self.settings
        if score >= s.threshold_high:
            if stale:
                return Confidence.MEDIUM, TierCap.STALE
            if words <= s.short_message_words:
                return Confidence.MEDIUM, TierCap.SHORT_MESSAGE
            return Confidence.HIGH, None
        return (Confidence.MEDIUM if score >= s.threshold_medium else Confidence.LOW), None

    def _suggestion(self, match: Match, confidence: float, article: Article, query: SuggestQuery,
                    language: Language, words: int) -> Suggestion:
        stale = article.is_stale(self.clock())
        draft = self.drafter.draft(article, query.channel, customer_name=query.customer_name,
                                   signature=query.agent_signature)
        warnings = list(draft.warnings)
        if stale:
            warnings.append(SuggestionWarning.STALE)
        if article.meta.language != language:
            warnings.append(SuggestionWarning.LANGUAGE_FALLBACK)
        if words <= self.settings.short_message_words and confidence >= self.settings.threshold_high:
            warnings.append(SuggestionWarning.SHORT_MESSAGE)
        meta = article.meta
        tier, capped_by = self.tier(confidence, words=words, stale=stale)
        return Suggestion(
            article_id=meta.id, title=meta.title, type=meta.type, verdict=meta.verdict, language=meta.language,
            score=round(confidence, 4), confidence=tier, tier_capped_by=capped_by,
            matched_text=match.matched_text, draft=draft.text, draft_length=draft.length,
            sources=tuple(meta.sources), warnings=tuple(str(w) for w in warnings),
            learned=learned_of(match) is not None,
        )


def prefer_language(ranked: list[Match], language: Language) -> list[Match]:
    """`ranked` with each translation pair merged into the article in `language`, placed where the better of the
    two stood (with the better cosine and BM25 of the two); articles without a translation keep their place.

        >>> en = Match("sugar-en", "en", 0.95, 0.95, 0.0, "t", "claim", ("suiker",))
        >>> nl = Match("suiker", "nl", 0.90, 0.90, 0.0, "t", "claim", ("sugar-en",))
        >>> [(m.article_id, m.score) for m in prefer_language([en, nl], Language.NL)]
        [('suiker', 0.95)]
    """
    by_id = {m.article_id: m for m in ranked}
    merged: list[Match] = []
    done: set[str] = set()
    for m in ranked:
        if m.article_id in done:
            continue
        twins = [by_id[t] for t in m.translations if t in by_id and t not in done]
        done.update([m.article_id, *(t.article_id for t in twins)])
        own = next((t for t in [m, *twins] if t.language == language), m)
        group = [m, *twins]
        merged.append(dataclasses.replace(own, score=max(g.score for g in group), dense=max(g.dense for g in group),
                                          lexical=max(g.lexical for g in group)))
    return merged
