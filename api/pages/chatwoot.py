"""The sidebar Chatwoot shows beside a conversation (a "dashboard app", registered by `kb chatwoot connect`): for
the customer's latest message, or one the agent picks, the ranked drafts with sources, tiers and warnings, a copy
button and the feedback buttons (one choice per suggestion, clicked again to take it back, and learned from as on
the agent page), and when none fits, a search of the knowledge base to choose the right article.

    GET  /integrations/chatwoot/sidebar?account=1     the page (open: it signs the agent in itself)
    POST /integrations/chatwoot/sidebar/session       {"key"} -> a session token (JSON only)
    POST /integrations/chatwoot/sidebar/suggest       which message -> the drafts (a fragment)
    POST /integrations/chatwoot/sidebar/feedback      {request_id, article_id, action, final_text} -> 201; with
                                                      "undo": true the choice that stood is taken back -> 200
    POST /integrations/chatwoot/sidebar/choose        {request_id, q} -> served articles for the agent's search (a
                                                      fragment), each a button recording feedback `chosen`
    POST /integrations/chatwoot/sidebar/logout        the session ends, here and on every process

**Inside Chatwoot's frame.** Only the origins of the Chatwoot connections for that account may frame the page
(CSP frame-ancestors; every other page keeps `'none'`). Chatwoot is usually another site than Kennisbank, and a
browser does not send the pages' SameSite=Strict cookie into a third-party frame; so the agent signs in inside the
sidebar with their key, once per tab: the key is exchanged for the same signed, revocable session token the pages
use (never the key itself), which the page keeps in sessionStorage and sends as `X-KB-Session` with its CSRF token.
Over HTTPS the same token is also set as a `SameSite=None; Secure; Partitioned` cookie, so a reload in that frame
stays signed in; where Kennisbank and Chatwoot share a site, the pages' own session works as it is.

**Not trusting the context.** Chatwoot posts the conversation to the frame unsigned, to any origin. The page reads
it only from the connected Chatwoot origin, and only to know which conversation and message to look at. The text it
suggests for comes from the delivery Chatwoot signed (the webhook's record), else from Chatwoot's API with the
connection's token; only when neither has it is the context's text used, and the page says so ("uit de
gesprekscontext, niet gecontroleerd"). Names from the context only fill the greeting and sign-off.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from api import service
from api.deps import ConnectorDep, DbDep, EngineDep, LearningDep, MetricsDep, SettingsDep
from api.errors import PAGE_TAG, CsrfRefused, Forbidden, InboxUnavailable, Unauthorized
from api.inbox import store
from api.inbox.connections import Connection
from api.pages.agent_errors import in_dutch
from api.pages.labels import LABELS
from api.pages.render import framed_by, json_ok, render
from api.schemas import FeedbackAction, FeedbackIn, SuggestIn, SuggestOut
from api.session import (
    SESSION_COOKIE,
    SESSION_SECONDS,
    PageSession,
    key_allowed,
    same,
    session_of,
    session_token,
)
from kb.channels import Channel
from kb.config import MAX_MESSAGE_CHARS_CEILING
from kb.errors import KbError, NotFound

router = APIRouter(include_in_schema=False, tags=[PAGE_TAG])  # errors here are pages (api.errors), JSON to fetch

BASE = "/integrations/chatwoot/sidebar"
SIDEBAR_COOKIE = "kb_sidebar"
TOKEN_HEADER = "x-kb-session"
CSRF_HEADER = "x-csrf-token"
_DIGITS = r"^\d{1,15}$"


def sidebar_session(request: Request, db: DbDep, settings: SettingsDep) -> PageSession | None:
    """The agent's session from the sidebar's header, its cookie, or the pages' own cookie (same site)."""
    for token in (request.headers.get(TOKEN_HEADER), request.cookies.get(SIDEBAR_COOKIE),
                  request.cookies.get(SESSION_COOKIE)):
        session = session_of(request, token, db, settings)
        if session is not None:
            return session
    return None


def require_sidebar(role: str):  # type: ignore[no-untyped-def]
    """A signed-in agent whose request carries the session's CSRF token (every sidebar route posts)."""

    def check(request: Request, session: Annotated[PageSession | None, Depends(sidebar_session)]) -> PageSession:
        if session is None:
            raise Unauthorized("sign in with your Kennisbank key in the sidebar")
        if not session.key.may(role):
            raise Forbidden(f"the sidebar needs the {role} role; you are signed in with role {session.key.role}")
        if not same(request.headers.get(CSRF_HEADER, ""), session.csrf):
            raise CsrfRefused("the sidebar's security token is missing or does not match: reload the sidebar")
        return session

    check.required_role = role  # type: ignore[attr-defined]  # read by the route inventory (tests/api/test_auth.py)
    check.page = True  # type: ignore[attr-defined]
    return check


SidebarAgent = Annotated[PageSession, Depends(require_sidebar("agent"))]


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=200)


class SidebarSuggestIn(BaseModel):
    """Which message the sidebar asks about, as Chatwoot's context names it; the text is looked up, not taken."""

    model_config = ConfigDict(extra="forbid")

    account: int = Field(ge=1, le=10**12)
    conversation_id: str = Field(pattern=_DIGITS)
    message_id: str | None = Field(None, pattern=_DIGITS)
    context_text: str | None = Field(None, max_length=MAX_MESSAGE_CHARS_CEILING)
    channel: str | None = Field(None, max_length=60, description="The conversation's inbox type in the context")
    customer_name: str | None = Field(None, max_length=80)
    agent_name: str | None = Field(None, max_length=80)


class SidebarFeedbackIn(FeedbackIn):
    """The API's feedback, and `undo`: the agent clicked the choice that stands again, so it is taken back."""

    undo: bool = Field(False, strict=True)


class ChooseIn(BaseModel):
    """The agent's search for the article the suggestions missed, for a request the sidebar showed."""

    model_config = ConfigDict(extra="forbid")

    request_id: str = Field(min_length=1, max_length=64)
    q: str = Field(max_length=service.MAX_SEARCH)


def _connections(connector: Any, account: int | None) -> list[Connection]:
    return [c for c in connector.connections.all() if c.kind == "chatwoot" and c.account_id == account]


@router.get(BASE)
def sidebar(request: Request, db: DbDep, settings: SettingsDep, connector: ConnectorDep,
            account: int | None = None) -> Response:
    connections = _connections(connector, account)
    origins = sorted({c.origin for c in connections})
    sidebar_session(request, db, settings)  # a session already there (cookie): the page opens signed in
    return render(request, "chatwoot_sidebar.html", headers=framed_by(origins), account=account,
                  origins=origins, connected=bool(connections))


@router.post(f"{BASE}/session")
def sign_in(request: Request, body: KeyIn, db: DbDep, settings: SettingsDep) -> Response:
    """The key typed in the sidebar, exchanged for a session token (JSON only: another site cannot post it)."""
    presented = body.key.strip()
    key = db.check_key(presented)
    if key is None or not key_allowed(key, settings, presented):
        raise Unauthorized("onbekende of ingetrokken sleutel")
    if not key.may("agent"):
        raise Forbidden(f"the sidebar needs the agent role; this key has role {key.role}")
    token = session_token(request, key)
    session = session_of(request, token, db, settings)
    assert session is not None
    response = json_ok({"token": token, "csrf": session.csrf, "name": key.name, "role": key.role,
                        "expires": session.expires})
    if request.url.scheme == "https":  # SameSite=None needs Secure; over http the header alone carries it
        # Partitioned (CHIPS): kept per top-level site, which is what browsers that block third-party cookies
        # still allow in a frame. Written by hand: Starlette writes the attribute only on Python 3.14.
        cookie = (f"{SIDEBAR_COOKIE}={token}; Max-Age={SESSION_SECONDS}; Path={BASE}; Secure; HttpOnly; "
                  "SameSite=None; Partitioned")
        response.raw_headers.append((b"set-cookie", cookie.encode("latin-1")))
    return response


def _message(body: SidebarSuggestIn, connection: Connection, connector: Any, db: Any) -> dict[str, Any]:
    """The text to suggest for and where it came from: the signed delivery, Chatwoot's API, or the context."""
    row = store.message_row(db, connection.key, body.message_id) if body.message_id else None
    if row is not None and row["kind"] == "incoming" and row["conversation_id"] == body.conversation_id and \
            row["content"]:
        details = json.loads(row["details"] or "{}")
        return {"text": row["content"], "source": "webhook", "channel": Channel(details.get("channel", "facebook")),
                "again": row["request_id"], "customer_name": details.get("customer_name")}
    inbox = connector.inbox(connection)
    channel = inbox.context_channel({"channel": body.channel or ""})
    unreachable = ""
    if body.message_id:
        try:
            text = inbox.message_text(body.conversation_id, body.message_id)
        except InboxUnavailable as e:
            text, unreachable = None, e.message
        if text:
            return {"text": text, "source": "chatwoot", "channel": channel, "again": None}
    if body.context_text and body.context_text.strip():
        return {"text": body.context_text, "source": "context", "channel": channel, "again": None,
                "why": unreachable}
    raise NotFound("dit bericht staat niet in dit gesprek (of Chatwoot is niet bereikbaar): kies een ander bericht")


@router.post(f"{BASE}/suggest")
def sidebar_suggest(request: Request, body: SidebarSuggestIn, session: SidebarAgent, connector: ConnectorDep,
                    engine: EngineDep, db: DbDep, metrics: MetricsDep, settings: SettingsDep) -> Response:
    connections = _connections(connector, body.account)
    if not connections:
        raise NotFound(f"Chatwoot-account {body.account} is niet gekoppeld: `kb chatwoot connect`")
    found = _message(body, connections[0], connector, db)
    channel: Channel = found["channel"]
    text = found["text"][:settings.max_message_chars]
    suggestion = SuggestIn(message=text, channel=channel, language=None, limit=None,
                           customer_name=found.get("customer_name") or body.customer_name,
                           agent_signature=body.agent_name)
    out: SuggestOut = service.suggest(suggestion, settings=settings, engine=engine, db=db, metrics=metrics,
                                      key_id=session.key.id, again=found["again"])
    request.state.request_id = out.request_id
    return render(request, "_sidebar_results.html", out=out, message=text, source=found["source"],
                  why=found.get("why", ""), channel=channel, max_length=channel.max_length,
                  warning_text=LABELS["warning"])


@router.post(f"{BASE}/feedback")
def sidebar_feedback(body: SidebarFeedbackIn, session: SidebarAgent, db: DbDep, engine: EngineDep,
                     learning: LearningDep) -> Response:
    """As the agent page's feedback (api/pages/agent.py): `chosen` may name any served article, and the choice
    that stands is learned from (api/learned/); the agent's mistakes come back in Dutch."""
    try:
        if body.undo:
            chosen = body.action is FeedbackAction.CHOSEN  # a chosen article need not have been offered
            withdrawn = service.withdraw_feedback(body.request_id, body.article_id, db=db, engine=engine,
                                                  action=body.action if chosen else None, learning=learning)
            return json_ok({"withdrawn": withdrawn, "request_id": body.request_id, "article_id": body.article_id})
        choice = FeedbackIn.model_validate(body.model_dump(exclude={"undo"}))
        out = service.feedback(choice, db=db, key_id=session.key.id, source="chatwoot", learning=learning,
                               engine=engine)
    except KbError as e:
        raise in_dutch(e, action=str(body.action)) from None
    return json_ok(out.model_dump(mode="json"), status=201)


@router.post(f"{BASE}/choose")
def sidebar_choose(request: Request, body: ChooseIn, session: SidebarAgent, engine: EngineDep,
                   db: DbDep) -> Response:
    """Search the served articles when the suggestions missed (as the agent page's /agent/choose); chatwoot.js
    puts the fragment under the search, and a pick records feedback `chosen` through /feedback."""
    offered = db.request_articles(body.request_id)
    if offered is None:
        raise in_dutch(NotFound(f"request_id: no suggestion request '{body.request_id}'", field="request_id"))
    found = service.search_articles(body.q, engine) if body.q.strip() else []
    return render(request, "_sidebar_choose.html", request_id=body.request_id, q=body.q, found=found,
                  offered=offered)


@router.post(f"{BASE}/logout")
def sidebar_logout(session: SidebarAgent, db: DbDep) -> Response:
    db.end_session(session.nonce, session.expires)
    response = JSONResponse({"signed_out": True}, headers={"Cache-Control": "no-store"})
    response.delete_cookie(SIDEBAR_COOKIE, path=BASE, secure=True, httponly=True, samesite="none")
    return response

