"""Request and response models of the HTTP API. Requests are bounded in every string and list.

    >>> SuggestIn(message="klopt het dat suiker kanker voedt", channel="x").limit is None
    True
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from kb.article import Language
from kb.channels import Channel
from kb.suggest import SourceOut, Suggestion


class SuggestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(min_length=1, max_length=5000, description="The incoming message, as received.")
    channel: Channel = Field(Channel.FACEBOOK, description="Where the reply goes: x, facebook, instagram, "
                             "whatsapp or email.")
    language: Language | None = Field(None, description="nl or en; detected when left out.")
    customer_name: str | None = Field(None, max_length=80)
    agent_signature: str | None = Field(None, max_length=80)
    limit: int | None = Field(None, ge=1, le=10)


class SuggestOut(BaseModel):
    request_id: str
    language: Language
    suggestions: list[Suggestion]
    no_match: bool


class FeedbackAction(StrEnum):
    USED = "used"
    EDITED = "edited"
    REJECTED = "rejected"
    NO_GOOD_ANSWER = "no_good_answer"


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: str = Field(min_length=1, max_length=64)
    article_id: str | None = Field(None, max_length=120)
    action: FeedbackAction
    final_text: str | None = Field(None, max_length=5000)


class FeedbackOut(BaseModel):
    feedback_id: int
    request_id: str


class IndexIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full: bool = False


class ArticleOut(BaseModel):
    id: str
    type: str
    language: str
    title: str
    status: str
    verdict: str | None
    claims: list[str]
    topics: list[str]
    sources: list[SourceOut]
    review_by: str
    answer: str
    short_answer: str | None


class ArticleSummary(BaseModel):
    id: str
    type: str
    language: str
    title: str
    verdict: str | None
    review_by: str


class ArticlePage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[ArticleSummary]
