"""Suggestions and the feedback agents give on them: HTTP in and out of `api.service`, nothing else."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api import service
from api.deps import AgentKey, DbDep, EngineDep, MetricsDep, SettingsDep
from api.schemas import FeedbackIn, FeedbackOut, SuggestIn, SuggestOut

router = APIRouter(prefix="/v1", tags=["suggestions"])


@router.post("/suggest")
def suggest(body: SuggestIn, request: Request, engine: EngineDep, db: DbDep, metrics: MetricsDep,
            settings: SettingsDep, key: AgentKey) -> SuggestOut:
    """Ranked, sourced reply drafts for an incoming message. Same input and index: same output but request_id."""
    out = service.suggest(body, settings=settings, engine=engine, db=db, metrics=metrics, key_id=key.id)
    request.state.request_id = out.request_id  # the access log and any later error name the same request
    return out


@router.post("/feedback", status_code=201)
def feedback(body: FeedbackIn, db: DbDep, key: AgentKey) -> FeedbackOut:
    """Store what the agent did with a suggestion; acknowledged only once it is on disk. One choice per request
    and article: sending another replaces the one before (the same `feedback_id` comes back)."""
    return service.feedback(body, db=db, key_id=key.id, source="api")
