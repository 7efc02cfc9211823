"""Browsing the served articles (what agents can be offered), bounded in page size."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import AgentKey, EngineDep
from api.schemas import ArticleOut, ArticlePage, ArticleQuery, ArticleSummary
from kb.errors import NotFound

router = APIRouter(prefix="/v1/articles", tags=["articles"])


@router.get("/{article_id}")
def get_article(article_id: str, engine: EngineDep, key: AgentKey) -> ArticleOut:
    found = engine.served.get_articles([article_id])
    if article_id not in found:
        raise NotFound(f"no served article '{article_id}'")
    return ArticleOut.of(found[article_id])


@router.get("")
def list_articles(engine: EngineDep, key: AgentKey, query: Annotated[ArticleQuery, Query()]) -> ArticlePage:
    """Served articles, filtered by type, language and a case-insensitive text match on title and claims."""
    q, type, language, limit, offset = query.q, query.type, query.language, query.limit, query.offset
    items = sorted(engine.served.all_articles(), key=lambda a: a.id)
    if type:
        items = [a for a in items if a.meta.type == type]
    if language:
        items = [a for a in items if a.meta.language == language]
    if q:
        needle = q.lower()
        items = [a for a in items if needle in a.meta.title.lower() or any(needle in c.lower() for c in a.meta.claims)]
    page = items[offset:offset + limit]
    return ArticlePage(total=len(items), offset=offset, limit=limit, items=[ArticleSummary.of(a) for a in page])
