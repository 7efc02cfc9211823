"""Request and response models of the HTTP API. Requests are bounded in every string and list.

    >>> SuggestIn(message="klopt het dat suiker kanker voedt", channel="x").limit is None
    True
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from kb.article import Language
from kb.channels import Channel
from kb.suggest import SourceOut, Suggestion


def _json_integer(value: object) -> object:
    """JSON Schema's integers: 5 and 5.0 are, "5" and true are not (pydantic's lax mode would take them)."""
    if isinstance(value, str | bool):
        raise ValueError("must be a JSON integer, not a string or a boolean")
    return value


class SuggestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(min_length=1, max_length=5000, description="The incoming message, as received.")
    channel: Channel = Field(Channel.FACEBOOK, description="Where the reply goes: x, facebook, instagram, "
                             "whatsapp or email.")
    language: Language | None = Field(None, description="nl or en; detected when left out.")
    customer_name: str | None = Field(None, max_length=80)
    agent_signature: str | None = Field(None, max_length=80)
    # Bounds before the validator, or pydantic writes them into the schema as unknown keywords `ge`/`le`.
    limit: Annotated[int, Field(ge=1, le=10), BeforeValidator(_json_integer)] | None = None


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
