"""The agent page: paste a message, get ranked, sourced drafts, copy one, say what you did with it.

Suggestions and feedback go through `api.service`, the functions behind `POST /v1/suggest` and
`POST /v1/feedback`, so the page records requests, counts metrics and validates feedback exactly as the API
does; the mistakes an agent can make come back in Dutch (api/pages/agent_errors.py). pages.js and agent.js
submit with fetch and ask for JSON or a fragment; without JavaScript the forms post and a whole page comes back.

    GET  /agent              the page
    POST /agent/suggest      message, channel, customer_name, agent_signature, csrf -> results (fragment or page)
    POST /agent/feedback     request_id, article_id, action, final_text, csrf -> 201 {feedback_id, action} or a
                             page; with undo=1 the choice that stood is taken back -> 200 {withdrawn}
    GET  /agent/choose       request_id, q -> served articles for the agent's search (fragment or page), each with
                             a button that records feedback `chosen` for it: when the suggestions missed

One choice per suggestion: a second click replaces the first (api.db.Database.record_feedback), and clicking
the active choice again (undo) takes it back.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from api import service
from api.deps import DbDep, EngineDep, LearningDep, MetricsDep, SettingsDep
from api.errors import PAGE_TAG, wants_json
from api.pages.agent_errors import from_validation, in_dutch, thousands
from api.pages.labels import LABELS, label
from api.pages.render import json_ok, render
from api.schemas import FeedbackAction, FeedbackIn, SuggestIn, SuggestOut
from api.session import AgentPage, CheckedForm
from kb.channels import Channel
from kb.config import Settings
from kb.errors import KbError, NotFound

router = APIRouter(include_in_schema=False, tags=[PAGE_TAG])  # errors here are pages (api.errors)

M = TypeVar("M", bound=BaseModel)

#: Warning code -> what the agent should read (one table with the Chatwoot note and sidebar: api/pages/labels.py).
WARNINGS = LABELS["warning"]
#: A message longer than this is shown as its start, with the whole of it one click away.
ECHO_CHARS = 160
#: Each channel's longest draft, for the counters (agent.js updates them when the channel changes).
CHANNEL_LIMITS = {c.value: c.max_length for c in Channel}
#: (code, label) of every channel, for a page's channel filter (the insights page uses it too).
CHANNELS = [(c.value, label(c, "channel")) for c in Channel]
#: Feedback that stores the reply: what was sent ("used" as offered, "edited" as changed).
SENT = (FeedbackAction.USED, FeedbackAction.EDITED)


def parse(model: type[M], data: dict[str, Any]) -> M:
    """Validate form fields with the API's own request model; errors in Dutch, naming the field."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise from_validation(e.errors()) from None


def _blank_to_none(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def _form_values(form: dict[str, str]) -> dict[str, str]:
    values = {k: form.get(k, "") for k in ("message", "channel", "customer_name", "agent_signature")}
    values["message"] = values["message"].replace("\r\n", "\n")  # a browser sends a textarea's line breaks as CRLF
    return values


def excerpt(message: str, limit: int = ECHO_CHARS) -> str | None:
    """The start of a long message, cut at a word; None when the message is short enough to show whole.

        >>> excerpt("kort"), excerpt("een twee drie vier", limit=10)
        (None, 'een twee…')
    """
    text = " ".join(message.split())
    if len(text) <= limit and message.count("\n") < 3:
        return None
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip(" ,.;:") + "…"


def _page_context(settings: Settings) -> dict[str, Any]:
    return {"channels": list(Channel), "channel_limits": CHANNEL_LIMITS,
            "max_message_chars": settings.max_message_chars, "thousands": thousands}


def _results_context(out: SuggestOut, body: SuggestIn) -> dict[str, Any]:
    channel = Channel(body.channel)
    return {"out": out, "message": body.message, "echo_excerpt": excerpt(body.message), "channel": channel,
            "max_length": channel.max_length, "warning_text": WARNINGS, "thousands": thousands}


@router.get("/agent")
def agent_page(request: Request, session: AgentPage, settings: SettingsDep) -> Response:
    values = {"message": "", "channel": "facebook", "customer_name": "", "agent_signature": ""}
    return render(request, "agent.html", values=values, result=None, error="",
                  notice="Feedback opgeslagen." if request.query_params.get("feedback") == "ok" else "",
                  **_page_context(settings))


@router.post("/agent/suggest")
def agent_suggest(request: Request, engine: EngineDep, db: DbDep, metrics: MetricsDep, settings: SettingsDep,
                  session: AgentPage, form: CheckedForm) -> Response:
    values = _form_values(form)
    try:
        try:
            body = parse(SuggestIn, {"message": values["message"], "channel": values["channel"] or "facebook",
                                     "customer_name": _blank_to_none(values["customer_name"]),
                                     "agent_signature": _blank_to_none(values["agent_signature"])})
            out = service.suggest(body, settings=settings, engine=engine, db=db, metrics=metrics,
                                  key_id=session.key.id)
        except KbError as e:
            raise in_dutch(e, message=values["message"], max_chars=settings.max_message_chars) from None
        request.state.request_id = out.request_id
    except KbError as e:
        if wants_json(request) or request.headers.get("x-fragment"):
            raise  # the API's JSON error shape; pages.js shows its message and keeps the last answer on screen
        return render(request, "agent.html", status=422, values=values, result=None, error=e.message, notice="",
                      **_page_context(settings))
    result = _results_context(out, body)
    if request.headers.get("x-fragment"):
        return render(request, "_results.html", **result)
    return render(request, "agent.html", values=values, result=True, error="", notice="",
                  **{**_page_context(settings), **result})


@router.post("/agent/feedback")
def agent_feedback(request: Request, db: DbDep, engine: EngineDep, learning: LearningDep, session: AgentPage,
                   form: CheckedForm) -> Response:
    article_id = _blank_to_none(form.get("article_id"))
    try:
        if form.get("undo") == "1":  # the active choice clicked again: take it back
            chosen = form.get("action") == FeedbackAction.CHOSEN  # a chosen article need not have been offered
            withdrawn = service.withdraw_feedback(form.get("request_id", ""), article_id, db=db, engine=engine,
                                                  action=FeedbackAction.CHOSEN if chosen else None,
                                                  learning=learning)
            return json_ok({"withdrawn": withdrawn, "request_id": form.get("request_id", ""),
                            "article_id": article_id})
        body = parse(FeedbackIn, {"request_id": form.get("request_id", ""), "article_id": article_id,
                                  "action": form.get("action", ""),
                                  "final_text": (form.get("final_text") or "").replace("\r\n", "\n") or None})
        if body.action not in SENT:  # a rejected draft, or none at all, was not sent: its text is not kept
            body = body.model_copy(update={"final_text": None})
        out = service.feedback(body, db=db, key_id=session.key.id, source="page", learning=learning,
                               engine=engine)
    except KbError as e:
        raise in_dutch(e, action=form.get("action", "")) from None
    if wants_json(request):
        return json_ok(out.model_dump(mode="json"), status=201)
    return RedirectResponse("/agent?feedback=ok", status_code=303)


@router.get("/agent/choose")
def agent_choose(request: Request, engine: EngineDep, db: DbDep, session: AgentPage) -> Response:
    """Search the served articles when the suggestions missed; picking one records feedback `chosen` (agent.js
    asks for the fragment and puts it under the search; without JavaScript a page of its own comes back)."""
    request_id = request.query_params.get("request_id", "")[:64]
    q = request.query_params.get("q", "")[:service.MAX_SEARCH]
    offered = db.request_articles(request_id)
    if offered is None:
        raise in_dutch(NotFound(f"request_id: no suggestion request '{request_id}'", field="request_id"))
    found = service.search_articles(q, engine) if q.strip() else []
    context: dict[str, Any] = {"request_id": request_id, "q": q, "found": found, "offered": offered}
    if request.headers.get("x-fragment"):
        return render(request, "_choose.html", **context)
    return render(request, "agent_choose.html", **context)
