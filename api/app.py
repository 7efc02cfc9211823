"""The FastAPI application: built by a factory, never at import time.

    >>> app = create_app(Settings())          # opens the model and store at start-up  # doctest: +SKIP
    >>> app = create_app(settings, engine)    # tests pass an engine they already have  # doctest: +SKIP
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import docs, errors, openapi, pages
from api.db import open_database
from api.errors import ErrorBody, json_response
from api.grouping import VectorMemo
from api.inbox.chatwoot import ChatwootApi, ChatwootInbox
from api.inbox.connections import Connection, ConnectionFile
from api.inbox.connector import Connector
from api.insights.background import Housekeeping
from api.insights.context import InsightsContext
from api.learned.service import Learning
from api.limits import ConcurrencyLimit
from api.routes import admin, articles, chatwoot, health, insights, suggest
from api.session import load_secret
from api.state import AppState, Opened
from kb import language, process
from kb.config import Settings
from kb.engine import Engine

MAX_BODY = 64 * 1024


class BodyLimit:
    """Refuse bodies over `limit` bytes with 413: at once from Content-Length, or as soon as the stream
    passes the limit, without reading the rest."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY, larger: dict[str, int] | None = None) -> None:
        self.app, self.default, self.larger = app, limit, larger or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]  # a few routes take more: an upload (pages.LARGER_BODIES), an inbox webhook (a prefix)
        limit = self.larger.get(path) or next((n for p, n in self.larger.items() if p.endswith("/") and
                                               path.startswith(p)), self.default)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        seen, over, started = 0, False, False

        async def limited() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    raise _TooLarge
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if over:  # whatever the app made of the aborted body (FastAPI says 400), the answer is 413
                return
            started = True
            await send(message)

        try:
            await self.app(scope, limited, guarded)
        except* _TooLarge:  # raised from inside the app's body read: answered below. except*, because on a page
            pass            # route it comes back wrapped in an ExceptionGroup (the middleware's task group)
        if over and not started:
            await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        error = ErrorBody(413, "payload_too_large", f"request body is over {limit} bytes",
                          {"limit": limit}, {"Connection": "close"})  # the rest of the body is never read
        await json_response(error, uuid.uuid4().hex)(scope, receive, send)


class _TooLarge(Exception):
    pass


def _chatwoot(connection: Connection) -> ChatwootInbox:
    return ChatwootInbox(ChatwootApi.of(connection))


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    """The app and its typed state (`api.state.AppState`, at `app.state.kb`); the model, store, database and
    session secret are opened by its lifespan, at start-up, and closed when it ends."""
    process.prepare()  # start-up: the process-wide defaults (kb.process), before the lifespan opens the model
    state = AppState.build(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A broken template stops start-up here. The service reads with the read-only Qdrant key where one is set.
        served = engine or Engine.open(settings, read_only=True)
        language.warm()  # before requests come: its first load would hold every request (and webhook) up ~3 s
        try:
            db = open_database(settings)  # SQLite in the data dir, or PostgreSQL when set
        except BaseException:
            if engine is None:
                served.close()
            raise
        context = InsightsContext(served)
        learning = Learning(db, served, settings)
        learning.refresh(articles_changed=True)  # the learned phrasings in force from the first request
        # retention, alerts and the learned phrasings other processes changed, in a thread of its own
        housekeeping = Housekeeping(db, settings, context, learning=learning)
        connector = Connector(db=db, engine=served, settings=settings, metrics=state.metrics,
                              connections=ConnectionFile(settings.chatwoot_path), inbox_for=_chatwoot,
                              learning=learning)
        state.open(Opened(engine=served, db=db, session_secret=load_secret(settings),
                          gap_vectors=VectorMemo(served.embedder), insights=context, housekeeping=housekeeping,
                          learning=learning, connector=connector))
        housekeeping.start()
        connector.start()
        try:
            yield
        finally:
            state.jobs.stop()  # a running evaluation uses the engine and the database: it stops first
            connector.stop()
            housekeeping.stop()
            db.close()
            if engine is None:
                served.close()
            else:  # an engine lent by the caller (tests) goes back without this app's learned phrasings
                served.learned.replace([])

    # FastAPI's own docs pages load their assets from a CDN and are open: api/docs.py serves ours instead.
    app = FastAPI(title="Kennisbank", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None, description="Sourced, channel-fitted reply suggestions for webcare teams.")
    app.state.kb = state  # the one thing on app.state: read through api.deps (or api.state.state_of)
    errors.install(app, page=pages.error_page)  # one handler: JSON for the API, pages for the pages
    for module in (health, suggest, articles, admin, insights, chatwoot):
        app.include_router(module.router)
    chatwoot.redact_access_log()
    app.include_router(docs.router)  # /openapi.json and /docs: open in development, behind keys in production
    pages.install(app)  # the web pages, their static files and their error pages (not in the OpenAPI schema)
    openapi.install(app, settings)  # errors, keys and the settings' bounds documented on every operation

    @app.middleware("http")
    async def observe(request: Any, call_next: Any) -> Any:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        state.metrics.observe_request(path, request.method, response.status_code, time.perf_counter() - started)
        return response

    app.add_middleware(ConcurrencyLimit, gate=state.gate)  # inside BodyLimit: oversized bodies cost no slot
    app.add_middleware(BodyLimit, larger={**pages.LARGER_BODIES, chatwoot.WEBHOOK_PREFIX: chatwoot.MAX_BODY})
    return app
