"""One error body for every 4xx and 5xx, and one handler that answers it: JSON for the API, a page for the pages.

    {"error": {"code": "invalid_input", "message": "channel: …", "request_id": "…", "details": {}}}

Everything refused on purpose is a `kb.errors.KbError`; the refusals only a request can meet (no key, wrong role,
CSRF, over the key's rate) are the `Refused` branch below, which carries its own status and headers. `describe`
turns any exception (those, FastAPI's validation errors, Starlette's 404/405, anything unexpected) into one
`ErrorBody`; `install` registers one handler that writes it:

- a request from a page route (tagged `PAGE_TAG`, see `api.pages.install`) that does not ask for JSON gets the
  HTML error page (a GET without a session: off to /login and back), drawn by the renderer the pages give;
- everything else gets the JSON body. The two middlewares that answer before the app does (`api.app.BodyLimit`,
  `api.limits.ConcurrencyLimit`) write the same body with `json_response`.

No stack trace ever reaches a client; unexpected errors are logged with their request id.

    >>> describe(Forbidden("this needs the editor role; your key has role agent")).status
    403
    >>> describe(InvalidInput("message: 5001 characters, at most 5000", field="message")).details
    {'field': 'message'}
"""

from __future__ import annotations

import dataclasses
import logging
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
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

#: The tag `api.pages.install` gives every page route (and api/docs.py its /docs page): errors there are pages.
PAGE_TAG = "page"


class Refused(KbError):
    """A request refused before it reaches the service; `status` and `headers` go into the answer as they are."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None, **details: object) -> None:
        super().__init__(message, **details)
        self.headers = headers or {}


class Unauthorized(Refused):
    """No key or session, or one that is not valid (any more). On a page, a GET goes to /login instead."""

    status, code = 401, "unauthorized"


class Forbidden(Refused):
    status, code = 403, "forbidden"


class CsrfRefused(Forbidden):
    code = "csrf_refused"


class TooManyRequests(Refused):
    status, code = 429, "too_many_requests"


_STATUS: dict[type[KbError], int] = {
    InvalidInput: 422, NotFound: 404, IndexNotReady: 503, StoreUnavailable: 503, TemplateError: 500, ConfigError: 500,
    StoreReadOnly: 409,  # retrying will not help: the service's Qdrant key cannot write (see POST /v1/index)
    ReindexRunning: 409,  # answered at once while a re-index runs, never queued behind it
}
_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type",
               422: "invalid_input", 429: "too_many_requests", 503: "unavailable"}


@dataclass(frozen=True)
class ErrorBody:
    """What an error answer says, whichever way it is written."""

    status: int
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def json(self, request_id: str) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "request_id": request_id,
                          "details": self.details}}


def describe(exc: Exception) -> ErrorBody:
    """The one error body for `exc`; anything not raised on purpose is a 500 that says nothing more."""
    if isinstance(exc, Refused):
        return ErrorBody(exc.status, exc.code, exc.message, {k: str(v) for k, v in exc.details.items()},
                         dict(exc.headers))
    if isinstance(exc, KbError):
        status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), 500)
        headers = {"Retry-After": "5"} if status == 503 else {}
        return ErrorBody(status, exc.code, exc.message, {k: str(v) for k, v in exc.details.items()}, headers)
    if isinstance(exc, RequestValidationError):
        problems = [{"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "message": e.get("msg", "")}
                    for e in exc.errors()]
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        return ErrorBody(422, "invalid_input", summary or "invalid request", {"problems": problems})
    if isinstance(exc, StarletteHTTPException):
        return ErrorBody(exc.status_code, _HTTP_CODES.get(exc.status_code, "error"), str(exc.detail),
                         headers=dict(exc.headers or {}))
    return ErrorBody(500, "internal_error", "something went wrong on our side; it has been logged")


#: An absolute path in a message (not the `//host` of a URL, not a URL's own path after `host:port`).
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~-])/[^\s'\"`,;:()]+")
SERVER_PATH = "<server path>"


def without_server_paths(message: str, folders: Iterable[Path] = ()) -> str:
    """`message` with the server's `folders` (as configured and resolved: a data dir with a space in its name, a
    relative `.kb/qdrant`) and every other absolute path replaced by `<server path>`; URLs are left as they are.

        >>> without_server_paths("no index in /srv/my kb/.kb/qdrant: run `kb index`", [Path("/srv/my kb/.kb")])
        'no index in <server path>: run `kb index`'
        >>> without_server_paths("Qdrant local store at .kb/qdrant is locked", [Path(".kb")])
        'Qdrant local store at <server path> is locked'
    """
    forms = {form for folder in folders for form in (str(folder), str(folder.resolve())) if len(form) > 1}
    for form in sorted(forms, key=len, reverse=True):
        whole = form.startswith((".", "/")) or "/" in form  # a bare relative name ("reports") only with a / after
        tail = r"(?:/[^\s'\"`,;:()]*)?" if whole else r"/[^\s'\"`,;:()]*"
        message = re.sub(rf"(?<![\w.-]){re.escape(form)}{tail}", SERVER_PATH, message)
    return _ABSOLUTE_PATH.sub(SERVER_PATH, message)


def server_folders(request: Request) -> list[Path]:
    """The folders the service keeps its own files in (not the articles: their paths are the editors' words)."""
    settings = getattr(getattr(request.app.state, "kb", None), "settings", None)
    return [settings.data_dir, settings.reports_dir] if settings is not None else []


def request_id(request: Request) -> str:
    rid = getattr(request.state, "request_id", None)
    if rid is None:
        rid = request.state.request_id = uuid.uuid4().hex
    return str(rid)


def json_response(error: ErrorBody, request_id: str) -> JSONResponse:
    return JSONResponse(error.json(request_id), status_code=error.status, headers=error.headers or None)


def wants_json(request: Request) -> bool:
    """Fetch calls from pages.js ask for JSON; a plain form post (no JavaScript) gets a page."""
    return "application/json" in request.headers.get("accept", "")


def from_page(request: Request) -> bool:
    """The request reached a page route (not the API), so a person in a browser reads the error."""
    return PAGE_TAG in (getattr(request.scope.get("route"), "tags", None) or ())


#: Draws an error as an HTML page; `api.pages.install` gives the one that uses the pages' templates.
PageRenderer = Callable[[Request, ErrorBody], Response]


def install(app: FastAPI, *, page: PageRenderer | None = None) -> None:
    """Answer every error with `describe`'s body: as a page through `page` for page requests, JSON otherwise."""

    async def handle(request: Request, exc: Exception) -> Response:
        error = describe(exc)
        if error.status >= 500 and not isinstance(exc, KbError):
            log.error("unexpected error in request %s", request_id(request), exc_info=exc)
        if error.status == 503:  # the store, the index or the database away: where they live is for the log
            public = without_server_paths(error.message, server_folders(request))
            if public != error.message:
                log.warning("request %s: %s", request_id(request), error.message)
                error = dataclasses.replace(error, message=public)
        if page is not None and from_page(request) and not wants_json(request):
            return page(request, error)
        return json_response(error, request_id(request))

    for kind in (KbError, RequestValidationError, StarletteHTTPException, Exception):
        app.add_exception_handler(kind, handle)
