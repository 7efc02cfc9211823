"""One JSON error shape for every 4xx and 5xx, and the handlers that produce it.

    {"error": {"code": "invalid_input", "message": "channel: …", "request_id": "…", "details": {}}}

No stack trace ever reaches a client; unexpected errors are logged with their request id.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from kb.errors import (
    ConfigError,
    IndexNotReady,
    InvalidInput,
    KbError,
    NotFound,
    ReindexRunning,
    StoreReadOnly,
    StoreUnavailable,
    TemplateError,
)

log = logging.getLogger("kb.api")

_STATUS: dict[type[KbError], int] = {
    InvalidInput: 422, NotFound: 404, IndexNotReady: 503, StoreUnavailable: 503, TemplateError: 500, ConfigError: 500,
    StoreReadOnly: 409,  # retrying will not help: the service's Qdrant key cannot write (see POST /v1/index)
    ReindexRunning: 409,  # answered at once while a re-index runs, never queued behind it
}
_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type",
               422: "invalid_input", 429: "too_many_requests", 503: "unavailable"}


def request_id(request: Request) -> str:
    rid = getattr(request.state, "request_id", None)
    if rid is None:
        rid = request.state.request_id = uuid.uuid4().hex
    return str(rid)


def error_response(request: Request, status: int, code: str, message: str, *,
                   details: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "request_id": request_id(request), "details": details or {}}}
    return JSONResponse(body, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(KbError)
    async def kb_error(request: Request, exc: KbError) -> JSONResponse:
        status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), 500)
        headers = {"Retry-After": "5"} if status == 503 else None
        details = {k: str(v) for k, v in exc.details.items()}
        return error_response(request, status, exc.code, exc.message, details=details, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "message": e.get("msg", "")}
                    for e in exc.errors()]
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        return error_response(request, 422, "invalid_input", summary or "invalid request",
                              details={"problems": problems})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        return error_response(request, exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error in request %s", request_id(request))
        return error_response(request, 500, "internal_error", "something went wrong on our side; it has been logged")
