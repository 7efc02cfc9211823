"""Suggestions and the feedback agents give on them."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from api.deps import AgentKey, DbDep, EngineDep
from api.schemas import FeedbackIn, FeedbackOut, SuggestIn, SuggestOut
from kb.errors import InvalidInput, NotFound
from kb.suggest import SuggestQuery

router = APIRouter(prefix="/v1", tags=["suggestions"])


@router.post("/suggest")
def suggest(body: SuggestIn, request: Request, engine: EngineDep, db: DbDep, key: AgentKey) -> SuggestOut:
    """Ranked, sourced reply drafts for an incoming message. Same input and index: same output but request_id."""
    engine.ready()
    result = engine.suggester.suggest(SuggestQuery(
        message=body.message, channel=body.channel, language=body.language, customer_name=body.customer_name,
        agent_signature=body.agent_signature, limit=body.limit))
    rid = request.state.request_id = uuid.uuid4().hex
    tier = result.suggestions[0].confidence if result.suggestions else None
    db.record_request(rid, key.id, body.message, str(body.channel), [s.article_id for s in result.suggestions],
                      language=str(result.language), tier=tier)
    request.app.state.metrics.observe_suggestion(result)
    return SuggestOut(request_id=rid, language=result.language, suggestions=result.suggestions,
                      no_match=result.no_match)


@router.post("/feedback", status_code=201)
def feedback(body: FeedbackIn, db: DbDep, key: AgentKey) -> FeedbackOut:
    """Store what the agent did with a suggestion; acknowledged only once it is on disk."""
    offered = db.request_articles(body.request_id)
    if offered is None:
        raise NotFound(f"request_id: no suggestion request '{body.request_id}'", field="request_id")
    if body.article_id is not None and body.article_id not in offered:
        raise InvalidInput(f"article_id: '{body.article_id}' was not suggested for request '{body.request_id}'; "
                           f"suggested: {', '.join(offered) or 'none'}", field="article_id")
    feedback_id = db.add_feedback(body.request_id, body.article_id, str(body.action), body.final_text, key.id)
    return FeedbackOut(feedback_id=feedback_id, request_id=body.request_id)
