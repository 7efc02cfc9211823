"""The article model: what an editor writes, validated.

An `Article` is the parsed, validated form of one Markdown file in `articles/`. Parsing (with line numbers
for errors) lives in `kb.parsing`; this module only says what a valid article is.

    >>> from pathlib import Path
    >>> from kb.parsing import parse_article
    >>> article = parse_article(Path("articles/nl/suiker-voedt-kanker.md")).article
    >>> article.id, article.meta.language, article.is_served
    ('suiker-voedt-kanker', <Language.NL: 'nl'>, True)
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)


class ArticleType(StrEnum):
    FACT_CHECK = "fact-check"
    REBUTTAL = "rebuttal"
    POLICY = "policy"
    FAQ = "faq"


class Language(StrEnum):
    NL = "nl"
    EN = "en"

    @property
    def other(self) -> Language:
        return Language.EN if self is Language.NL else Language.NL


class Status(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class Verdict(StrEnum):
    FALSE = "false"
    MISLEADING = "misleading"
    UNPROVEN = "unproven"
    MIXED = "mixed"
    TRUE = "true"


#: Types that judge a claim, and so need a verdict and at least one source.
CLAIM_TYPES = frozenset({ArticleType.FACT_CHECK, ArticleType.REBUTTAL})

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
Slug = Annotated[str, StringConstraints(pattern=SLUG_RE.pattern, min_length=2, max_length=120)]
NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
#: What a learned phrasing must not hold: an e-mail address, or a run of nine or more digits (a phone number, an
#: IBAN's account number). Phrasings are stored masked ([e-mail], [telefoon], [iban]); one pasted by hand is
#: checked here.
_CONTACT = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+|(?:\d[ .-]?){9,}")


def _masked(text: str) -> str:
    if _CONTACT.search(text):
        raise ValueError("holds what looks like an e-mail address or a phone or account number; mask it as "
                         "[e-mail], [telefoon] or [iban]")
    return text


LearnedText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000),
                        AfterValidator(_masked)]


class Source(BaseModel):
    """A page that backs the article: shown to agents and linked in drafts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: NonEmpty
    url: AnyHttpUrl

    @property
    def href(self) -> str:
        return str(self.url)


class FrontMatter(BaseModel):
    """The YAML header of an article; field names are the YAML keys editors write."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Slug
    type: ArticleType
    language: Language
    title: NonEmpty
    status: Status
    verdict: Verdict | None = None
    claims: list[NonEmpty] = Field(min_length=1, max_length=50)
    #: Claims in the other language, as its speakers put them, for an article that exists in one language only: they
    #: are searched as that language's words (its stems, compared with that language's articles), so a Dutch
    #: message finds an English-only rebuttal by its own words without those words skewing the English ones.
    claims_other_language: list[NonEmpty] = Field(default_factory=list, max_length=50)
    topics: list[NonEmpty] = Field(min_length=1, max_length=20)
    sources: list[Source] = Field(default_factory=list, max_length=20)
    owner: NonEmpty
    reviewed: dt.date
    review_by: dt.date
    related: list[Slug] = Field(default_factory=list, max_length=30)
    #: The same article in the other language. A message is answered in its own language when both match it.
    translations: list[Slug] = Field(default_factory=list, max_length=5)
    #: Messages agents confirmed for this article and editors approved (`kb learned export` writes them here).
    #: Not claims: each counts only for incoming messages that are near-repeats of it (kb/learned.py says why).
    learned_phrasings: list[LearnedText] = Field(default_factory=list, max_length=500)

    @field_validator("learned_phrasings")
    @classmethod
    def _phrasings_are_distinct(cls, phrasings: list[str]) -> list[str]:
        seen: dict[str, int] = {}
        for i, text in enumerate(phrasings):
            key = " ".join(text.lower().split())
            if key in seen:
                raise ValueError(f"phrasing {i + 1} repeats phrasing {seen[key] + 1}")
            seen[key] = i
        return phrasings

    @model_validator(mode="after")
    def _claim_types_need_verdict_and_sources(self) -> FrontMatter:
        if self.type in CLAIM_TYPES:
            if self.verdict is None:
                raise ValueError(f"verdict: required for a {self.type}")
            if not self.sources:
                raise ValueError(f"sources: a {self.type} needs at least one source")
        if self.review_by < self.reviewed:
            raise ValueError("review_by: is before reviewed")
        return self


class Sections(BaseModel):
    """The body, split by recognised headings. Text is the plain text of each section."""

    model_config = ConfigDict(frozen=True)

    answer: str
    short_answer: str | None = None
    background: str
    guidance: str | None = None


class Article(BaseModel):
    """One validated article, with where it came from.

    `content_hash` covers the whole file, so any edit changes it; chunk ids hash their own text.
    """

    model_config = ConfigDict(frozen=True)

    meta: FrontMatter
    sections: Sections
    path: str
    content_hash: str
    #: line of each front-matter key and recognised heading, for error messages and the editor view
    lines: dict[str, int] = Field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.meta.id

    @property
    def is_served(self) -> bool:
        return self.meta.status is Status.PUBLISHED

    def is_stale(self, today: dt.date) -> bool:
        return self.meta.review_by < today
