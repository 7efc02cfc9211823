"""The agent page: paste a message, get ranked, sourced drafts, copy one, say what you did with it.

Suggestions and feedback go through `api.service`, the functions behind `POST /v1/suggest` and
`POST /v1/feedback`, so the page records requests, counts metrics and validates feedback exactly as the API
does. pages.js submits with fetch and asks for JSON or a fragment; without JavaScript the forms post and a whole
page comes back.

    GET  /agent              the page
    POST /agent/suggest      message, channel, customer_name, agent_signature, csrf -> results (fragment or page)
    POST /agent/feedback     request_id, article_id, action, final_text, csrf -> 201 {feedback_id} or a page
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from api import service
from api.deps import DbDep, EngineDep, MetricsDep, SettingsDep
from api.errors import PAGE_TAG, wants_json
from api.pages.labels import LABELS
from api.pages.render import json_ok, render
from api.schemas import FeedbackIn, SuggestIn, SuggestOut
from api.session import AgentPage, CheckedForm
from kb.channels import Channel
from kb.errors import InvalidInput, KbError

router = APIRouter(include_in_schema=False, tags=[PAGE_TAG])  # errors here are pages (api.errors)

M = TypeVar("M", bound=BaseModel)

#: Warning code -> what the agent should read (one table with the Chatwoot note and sidebar: api/pages/labels.py).
WARNINGS = LABELS["warning"]
CONFIDENCE = {"high": "hoog", "medium": "middel", "low": "laag"}
CHANNELS = [(c.value, {"x": "X (Twitter)", "email": "E-mail"}.get(c.value, c.value.capitalize())) for c in Channel]


def parse(model: type[M], data: dict[str, Any]) -> M:
    """Validate form fields with the API's own request model; errors read `field: problem`."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'form'}: {err['msg']}" for err in e.errors())
        raise InvalidInput(problems) from None


def _blank_to_none(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def _form_values(form: dict[str, str]) -> dict[str, str]:
    return {k: form.get(k, "") for k in ("message", "channel", "customer_name", "agent_signature")}


def _results_context(out: SuggestOut, body: SuggestIn) -> dict[str, Any]:
    channel = Channel(body.channel)
    return {"out": out, "message": body.message, "channel": channel, "max_length": channel.max_length,
            "warning_text": WARNINGS, "confidence_text": CONFIDENCE}


@router.get("/agent")
def agent_page(request: Request, session: AgentPage) -> Response:
    values = {"message": "", "channel": "facebook", "customer_name": "", "agent_signature": ""}
    return render(request, "agent.html", values=values, channels=CHANNELS, result=None, error="",
                  notice="Feedback opgeslagen." if request.query_params.get("feedback") == "ok" else "")


@router.post("/agent/suggest")
def agent_suggest(request: Request, engine: EngineDep, db: DbDep, metrics: MetricsDep, settings: SettingsDep,
                  session: AgentPage, form: CheckedForm) -> Response:
    values = _form_values(form)
    try:
        body = parse(SuggestIn, {"message": values["message"], "channel": values["channel"] or "facebook",
                                 "customer_name": _blank_to_none(values["customer_name"]),
                                 "agent_signature": _blank_to_none(values["agent_signature"])})
        out = service.suggest(body, settings=settings, engine=engine, db=db, metrics=metrics, key_id=session.key.id)
        request.state.request_id = out.request_id
    except KbError as e:
        if wants_json(request) or request.headers.get("x-fragment"):
            raise  # the API's JSON error shape; pages.js shows its message and keeps the last answer on screen
        return render(request, "agent.html", status=422, values=values, channels=CHANNELS, result=None,
                      error=e.message, notice="")
    result = _results_context(out, body)
    if request.headers.get("x-fragment"):
        return render(request, "_results.html", **result)
    return render(request, "agent.html", values=values, channels=CHANNELS, result=True, error="", notice="", **result)


@router.post("/agent/feedback")
def agent_feedback(request: Request, db: DbDep, session: AgentPage, form: CheckedForm) -> Response:
    body = parse(FeedbackIn, {"request_id": form.get("request_id", ""),
                              "article_id": _blank_to_none(form.get("article_id")),
                              "action": form.get("action", ""),
                              "final_text": form.get("final_text") or None})
    out = service.feedback(body, db=db, key_id=session.key.id)
    if wants_json(request):
        return json_ok(out.model_dump(), status=201)
    return RedirectResponse("/agent?feedback=ok", status_code=303)
