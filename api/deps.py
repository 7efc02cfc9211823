"""Typed dependencies: routes ask for what they need; tests override exactly one of them.

    @router.post("/v1/suggest")
    def suggest(body: SuggestIn, engine: EngineDep, key: AgentKey) -> SuggestOut: ...
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from api.db import INSIGHTS, ApiKey, Database, needs
from api.errors import Forbidden, Unauthorized
from api.insights.context import InsightsContext
from api.jobs import JobRunner
from api.limits import check_key_rate
from api.metrics import Metrics
from api.state import AppState, state_of
from api.throttle import after_failed_key, before_key_check
from kb.config import PLACEHOLDER_KEYS, Settings
from kb.engine import Engine


def get_state(request: Request) -> AppState:
    return state_of(request.app)


def get_engine(request: Request) -> Engine:
    return get_state(request).engine


def get_settings(request: Request) -> Settings:
    return get_state(request).settings


def get_db(request: Request) -> Database:
    return get_state(request).db


def get_metrics(request: Request) -> Metrics:
    return get_state(request).metrics


def get_insights(request: Request) -> InsightsContext:
    return get_state(request).insights


def get_jobs(request: Request) -> JobRunner:
    return get_state(request).jobs


StateDep = Annotated[AppState, Depends(get_state)]
EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
DbDep = Annotated[Database, Depends(get_db)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
InsightsDep = Annotated[InsightsContext, Depends(get_insights)]
JobsDep = Annotated[JobRunner, Depends(get_jobs)]


def _authenticate(request: Request, db: DbDep, settings: SettingsDep) -> ApiKey:
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    challenge = {"WWW-Authenticate": "Bearer"}
    if scheme.lower() != "bearer" or not presented.strip():
        raise Unauthorized("send an API key as 'Authorization: Bearer <key>'", headers=challenge)
    presented = presented.strip()
    before_key_check(request, presented)  # 429 for an address (or an address on a key id) failing too often
    key = db.check_key(presented)
    if key is None:
        after_failed_key(request, presented)
        raise Unauthorized("unknown or revoked API key", headers=challenge)
    if settings.env == "production" and (key.name == "demo" or presented.split("_", 2)[-1] in PLACEHOLDER_KEYS):
        after_failed_key(request, presented)
        raise Unauthorized("demo and placeholder keys are refused in production", headers=challenge)
    request.state.key_id = key.id
    check_key_rate(request, key)  # 429 with Retry-After when the key is over its rate
    return key


def require(role: str):  # type: ignore[no-untyped-def]
    """A dependency that authenticates and checks that the key's role grants `role`."""

    def check(key: Annotated[ApiKey, Depends(_authenticate)]) -> ApiKey:
        if not key.may(role):
            raise Forbidden(f"this needs {needs(role)}; your key has role {key.role}")
        return key

    check.required_role = role  # type: ignore[attr-defined]  # read by the auth inventory test
    return check


AgentKey = Annotated[ApiKey, Depends(require("agent"))]
EditorKey = Annotated[ApiKey, Depends(require("editor"))]
QaKey = Annotated[ApiKey, Depends(require("qa"))]
InsightsKey = Annotated[ApiKey, Depends(require(INSIGHTS))]  # editors and QA leads


def required_role(route: Any) -> str | None:
    """The role a route's dependencies demand (`require` and `api.session.require_page` mark their checkers),
    or None for an open route. Read by the OpenAPI description and by the route-walking auth test."""
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        role = getattr(dependency.call, "required_role", None)
        if role is not None:
            return str(role)
        pending.extend(dependency.dependencies)
    return None
