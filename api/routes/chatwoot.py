"""Chatwoot's account webhook: prove the delivery, record it once, answer at once; the note is made in the
background (api/inbox/connector.py).

    POST /v1/integrations/chatwoot/webhook/{token}     (the URL `kb chatwoot connect` registers)

202 accepted (a customer's message or an agent's reply to work on); 200 `duplicate` or `ignored`; 401 an unknown
URL token, a bad or missing signature, a timestamp outside KB_CHATWOOT_SKEW; 403 another account; 409 a replayed
delivery; 413 a body over 2 MiB; 429 over KB_CHATWOOT_RATE. Refused and replayed deliveries post nothing.

The route never takes one of the request slots suggestions are served from (api/limits.py `EXEMPT`): Chatwoot
waits 5 s for an answer, and a queue behind slow suggestions would lose its deliveries. It has its own rate limit
per connection and body bound instead, and its URL token is kept out of the access log (`redact_access_log`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import ConnectorDep, SettingsDep, StateDep
from api.errors import BadSignature, Refused, Replayed, TooManyRequests
from api.inbox import chatwoot
from api.inbox.events import Ignored

router = APIRouter(prefix="/v1/integrations/chatwoot", tags=["integrations"])

WEBHOOK_PREFIX = "/v1/integrations/chatwoot/webhook/"
MAX_BODY = 2 * 1024 * 1024  # Chatwoot allows 150,000 characters of content, sent twice (message, conversation)
_TOKEN_IN_PATH = re.compile(r"(/v1/integrations/[a-z]+/webhook/)[^\s/?\"]+")


@router.post("/webhook/{token}", status_code=202, responses={
    200: {"description": "A delivery seen before (`duplicate`) or one with nothing to do (`ignored`)."},
    202: {"description": "Accepted: the note (or the feedback) is made in the background."}})
async def webhook(token: str, request: Request, state: StateDep, connector: ConnectorDep,
                  settings: SettingsDep) -> JSONResponse:
    """A Chatwoot account webhook delivery (`message_created`); registered by `kb chatwoot connect`. Authenticated
    by the secret token in its URL and, when Chatwoot signs, by `X-Chatwoot-Signature`; no API key."""
    connection = connector.connections.by_token(token)
    if connection is None:
        raise BadSignature("unknown webhook URL: run `kb chatwoot connect` and use the URL it registers")
    wait = state.inbox_limits.take(connection.key)
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        await run_in_threadpool(connector.refused, connection, "over KB_CHATWOOT_RATE")
        raise TooManyRequests(f"over {settings.chatwoot_rate:g} deliveries per second for this connection; "
                              f"retry in {seconds} s", headers={"Retry-After": str(seconds)})
    body = await request.body()
    try:
        delivery = chatwoot.delivery(connection, request.headers, body, settings, now=time.time())
    except Refused as e:
        await run_in_threadpool(connector.refused, connection, e.message)
        raise
    outcome = await asyncio.wrap_future(connector.accept(connection, delivery))  # committed: no thread held waiting
    if outcome == "replayed":
        raise Replayed("this signature was delivered before: a replay; nothing was done")
    reason = delivery.event.reason if outcome == "ignored" and isinstance(delivery.event, Ignored) else None
    return JSONResponse({"status": outcome, **({"reason": reason} if reason else {})},
                        status_code=202 if outcome == "accepted" else 200)


class _RedactToken(logging.Filter):
    """Uvicorn's access log prints request paths; a webhook path carries its connection's secret token."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_TOKEN_IN_PATH.sub(r"\1…", a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = _TOKEN_IN_PATH.sub(r"\1…", record.msg)
        return True


def redact_access_log() -> None:
    """Keep webhook URL tokens out of uvicorn's access log (once per process)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _RedactToken) for f in access.filters):
        access.addFilter(_RedactToken())
