"""The wire format of the HTTP API: request models, bounded in every string and list, and response models, each
made from a core type in one place (`*.of`): kb returns dataclasses and articles; only this module shapes JSON.

    >>> SuggestIn(message="klopt het dat suiker kanker voedt", channel="x").limit is None
    True
    >>> from pathlib import Path
    >>> from kb.parsing import parse_article
    >>> article = parse_article(Path("articles/nl/suiker-voedt-kanker.md")).article
    >>> ArticleSummary.of(article).model_dump()["verdict"]
    'misleading'
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from kb import suggest
from kb.article import Article, Language, Source
from kb.channels import Channel
from kb.config import MAX_MESSAGE_CHARS_CEILING
from kb.drafting import name_problem
from kb.suggest import Confidence, TierCap


def _json_integer(value: object) -> object:
    """JSON Schema's integers: 5 and 5.0 are, "5" and true are not (pydantic's lax mode would take them)."""
    if isinstance(value, str | bool):
        raise ValueError("must be a JSON integer, not a string or a boolean")
    return value


class SuggestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Bounded here by the ceiling of KB_MAX_MESSAGE_CHARS; the setting itself is applied where the message is
    # read (kb.normalize.Message.bounded) and written into the OpenAPI document (api/openapi.py).
    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS_CEILING,
                         description="The incoming message, as received (at most KB_MAX_MESSAGE_CHARS characters).")
    channel: Channel = Field(Channel.FACEBOOK, description="Where the reply goes: x, facebook, instagram, "
                             "whatsapp or email.")
    language: Language | None = Field(None, description="nl or en; detected when left out.")
    customer_name: str | None = Field(None, max_length=80, description="The customer's name for the greeting; "
                                      "left out of the drafts when it holds a link or markup characters.")
    agent_signature: str | None = Field(None, max_length=80, description="The agent's own sign-off, put in the "
                                        "drafts exactly as given (e.g. `^SA` on X); the team's when left out. "
                                        "Refused when it holds a link or markup characters.")
    # Bounds before the validator, or pydantic writes them into the schema as unknown keywords `ge`/`le`.
    limit: Annotated[int, Field(ge=1, le=10), BeforeValidator(_json_integer)] | None = None

    @field_validator("agent_signature")
    @classmethod
    def _signature_goes_in_as_given(cls, value: str | None) -> str | None:
        """A sign-off the drafts could not carry is refused, never swapped for the team's without a word."""
        problem = name_problem(value)
        if problem:
            raise PydanticCustomError("unsafe_signature", problem)
        return value


class SourceOut(BaseModel):
    title: str
    url: str

    @classmethod
    def of(cls, source: Source) -> SourceOut:
        return cls(title=source.title, url=source.href)


def _verdict(article_verdict: object) -> str | None:
    return str(article_verdict) if article_verdict else None


class Suggestion(BaseModel):
    article_id: str
    title: str
    type: str
    verdict: str | None
    language: str
    score: float = Field(description="The calibrated probability (0 to 1) that this is the right article; the "
                         "tiers cut it at KB_THRESHOLD_LOW/MEDIUM/HIGH.")
    confidence: Confidence = Field(description="The tier: high (send after a glance), medium (read it first), "
                                   "low (often not the right article: check that it fits).")
    tier_capped_by: TierCap | None = Field(None, description="Why the tier is medium although `score` reaches "
                                           "high: `stale` (the article is past its review date) or "
                                           "`short_message` (a message of a few words); null when it is not "
                                           "capped.")
    matched_text: str
    draft: str
    draft_length: int
    sources: list[SourceOut]
    warnings: list[str]
    learned: bool = Field(False, description="The message is a near-repeat of a phrasing agents confirmed for this "
                          "article (a learned phrasing): it is first because of that.")

    @classmethod
    def of(cls, s: suggest.Suggestion) -> Suggestion:
        return cls(article_id=s.article_id, title=s.title, type=str(s.type), verdict=_verdict(s.verdict),
                   language=str(s.language), score=s.score, confidence=s.confidence,
                   tier_capped_by=s.tier_capped_by, matched_text=s.matched_text,
                   draft=s.draft, draft_length=s.draft_length, sources=[SourceOut.of(x) for x in s.sources],
                   warnings=list(s.warnings), learned=s.learned)


class KindReplyOut(BaseModel):
    """The reply for the message's kind, offered before the article suggestions."""

    draft: str
    draft_length: int
    template: str = Field(description="The editor's template it came from, under _templates/.")
    warnings: list[str]


class ModerationOut(BaseModel):
    action: str = Field(description="What to do with the message: `hide` (the guideline says how, per channel).")
    reason: str = Field(description="The kind that flagged it: abuse or spam.")


class SuggestOut(BaseModel):
    request_id: str
    language: Language
    suggestions: list[Suggestion]
    no_match: bool
    kind: str | None = Field(None, description="What the message is: question, complaint, thanks, story, abuse, "
                             "spam or offtopic (null when KB_KINDS is off).")
    kind_probability: float | None = Field(None, description="How likely `kind` is right (the classifier's "
                                           "probability, or a rule's precision on the labelled dev messages).")
    kind_reply: KindReplyOut | None = Field(None, description="The kind's reply, to offer first (thanks, a story, a "
                                            "complaint's acknowledgement, off-topic without an article); null "
                                            "for questions and moderated messages.")
    kind_guideline: str | None = Field(None, description="What the agent should do with a message of this kind; "
                                       "for abuse and spam, the moderation guideline instead of a draft.")
    moderation: ModerationOut | None = Field(None, description="Set for abuse and spam: flag, hide, no draft.")
    outside_subject: str | None = Field(None, description="With no match: the subject the editors list as outside "
                                        "the knowledge base's remit (articles/_outside.md) that the message is "
                                        "nearer to than to any article, e.g. `Andere ziekten dan kanker`.")

    @classmethod
    def of(cls, result: suggest.SuggestResult, request_id: str) -> SuggestOut:
        k = result.kind
        reply = None
        if k is not None and k.reply is not None and k.reply_template is not None:
            reply = KindReplyOut(draft=k.reply.text, draft_length=k.reply.length, template=k.reply_template,
                                 warnings=list(k.reply.warnings))
        return cls(request_id=request_id, language=result.language, no_match=result.no_match,
                   suggestions=[Suggestion.of(s) for s in result.suggestions],
                   kind=str(k.kind) if k else None, kind_probability=k.probability if k else None,
                   kind_reply=reply, kind_guideline=k.guideline if k else None,
                   moderation=ModerationOut(action=k.moderation.action, reason=str(k.moderation.reason))
                   if k and k.moderation else None, outside_subject=result.outside_subject)


class FeedbackAction(StrEnum):
    USED = "used"
    EDITED = "edited"
    REJECTED = "rejected"
    NO_GOOD_ANSWER = "no_good_answer"
    #: The agent sent a reply unlike every draft (recorded from an inbox, api/inbox/compare.py).
    IGNORED = "ignored"
    #: The agent searched the knowledge base and picked an article that was not suggested (or not first).
    CHOSEN = "chosen"


class FeedbackIn(BaseModel):
    """What an agent did with one suggestion. Sent again for the same request and article, it replaces the choice
    before it: one choice per suggestion, the last one counts."""

    model_config = ConfigDict(extra="forbid")

    request_id: str = Field(min_length=1, max_length=64)
    article_id: str | None = Field(None, max_length=120, description="The suggestion's article; left out for "
                                   "feedback about the request as a whole (no_good_answer, ignored). For `chosen`: any "
                                   "served article, the one the agent searched for and picked (required then).")
    action: FeedbackAction = Field(description="used, edited, rejected, no_good_answer; ignored: a reply in the "
                                   "agent's own words (what the Chatwoot integration records from what was sent); "
                                   "chosen: an article the agent searched for because the suggestions missed it.")
    final_text: str | None = Field(None, max_length=5000, description="The reply as it was finally sent (for "
                                   "edited: the edited text).")


class FeedbackOut(BaseModel):
    feedback_id: int = Field(description="The suggestion's feedback row: the same id each time the choice for "
                             "the same request and article is sent again.")
    request_id: str
    article_id: str | None = None
    action: FeedbackAction | None = Field(None, description="The choice that now stands.")


class IndexIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full: bool = Field(False, strict=True)  # only true or false; not 0, "yes" or "off"


class ArticleQuery(BaseModel):
    """Filters of GET /v1/articles; an unknown parameter is refused (a typo would otherwise filter nothing)."""

    model_config = ConfigDict(extra="forbid")

    q: str | None = Field(None, max_length=200, description="Case-insensitive text in the title or a claim.")
    type: str | None = Field(None, max_length=20)
    language: str | None = Field(None, max_length=2)
    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=100_000)


class ArticleOut(BaseModel):
    id: str
    type: str
    language: str
    title: str
    status: str
    verdict: str | None
    claims: list[str]
    claims_other_language: list[str] = []  # an editor's claims in the other language (articles/README.md)
    topics: list[str]
    sources: list[SourceOut]
    review_by: str
    answer: str
    short_answer: str | None

    @classmethod
    def of(cls, a: Article) -> ArticleOut:
        m = a.meta
        return cls(id=m.id, type=str(m.type), language=str(m.language), title=m.title, status=str(m.status),
                   verdict=_verdict(m.verdict), claims=list(m.claims),
                   claims_other_language=list(m.claims_other_language), topics=list(m.topics),
                   sources=[SourceOut.of(s) for s in m.sources], review_by=str(m.review_by),
                   answer=a.sections.answer, short_answer=a.sections.short_answer)


class ArticleSummary(BaseModel):
    id: str
    type: str
    language: str
    title: str
    verdict: str | None
    review_by: str

    @classmethod
    def of(cls, a: Article) -> ArticleSummary:
        m = a.meta
        return cls(id=m.id, type=str(m.type), language=str(m.language), title=m.title, verdict=_verdict(m.verdict),
                   review_by=str(m.review_by))


class ArticlePage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[ArticleSummary]
