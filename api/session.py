"""Page sessions: an API key entered once on the login page becomes a signed HttpOnly, SameSite=Strict cookie
(Secure over HTTPS and always in production; every cookie's attributes come from `cookie_attributes`).

The cookie never holds the key. It holds `v1.<key id>.<nonce>.<expires>.<mac>`, signed with the server's session
secret (`KB_SESSION_SECRET`, or a random one made once under the data directory). Every page request looks the key
up by id, so revoking a key ends its sessions at once.

Logging out records the session's nonce as ended (in the shared database, so every API process refuses it),
until the moment the cookie would have expired anyway.

CSRF: every page form or fetch that changes something must send a token (form field `csrf` or header
`X-CSRF-Token`) equal to HMAC(secret, session nonce): a signed token bound to the session, which another site can
neither read nor forge. The login form itself is protected the same way with a short-lived pre-session cookie.

How page routes declare access (read by route-walking tests, like `api.deps.require`):

    @router.get("/agent")
    def agent(session: AgentPage) -> HTMLResponse: ...     # AgentPage = Depends(require_page("agent"))

    require_page("editor").required_role == "editor"   # the role a page route needs
    require_page("editor").page is True                 # page semantics: GET without a session -> 303 /login,
                                                        # other methods -> 401; wrong role -> 403; bad CSRF -> 403
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Depends, Request
from fastapi.responses import Response

from api.db import INSIGHTS, ApiKey, needs
from api.deps import DbDep, SettingsDep
from api.errors import CsrfRefused, Forbidden, Refused, Unauthorized
from api.limits import check_key_rate
from api.state import state_of
from kb.config import PLACEHOLDER_KEYS, Settings
from kb.errors import ConfigError
from kb.secret_strength import GENERATE, weakness

SESSION_COOKIE = "kb_session"
LOGIN_COOKIE = "kb_login"
CSRF_HEADER = "x-csrf-token"
#: A working day and a bit: the key is typed once per shift.
SESSION_SECONDS = 12 * 3600
LOGIN_SECONDS = 3600
SECRET_FILE = "session-secret"
_MAX_FIELDS = 20


@dataclass(frozen=True)
class PageSession:
    """Who is logged in, and the CSRF token their forms must send back."""

    key: ApiKey
    nonce: str
    expires: int
    csrf: str


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _mac(secret: bytes, *parts: str) -> str:
    return _b64(hmac.new(secret, "|".join(parts).encode(), hashlib.sha256).digest())


def load_secret(settings: Settings) -> bytes:
    """The signing secret: `KB_SESSION_SECRET`, else a random one made once in the data dir (mode 0600).

        >>> len(load_secret(Settings(data_dir="/tmp/kb-demo"))) >= 32  # doctest: +SKIP
        True
    """
    if settings.session_secret is not None:  # checked for production by the Settings validator
        return settings.session_secret.get_secret_value().encode()
    path: Path = settings.data_dir / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # O_EXCL: two processes starting together agree on the first one written
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        existing = path.read_bytes().strip()
        _check_secret_file(existing, settings)
        return existing
    with os.fdopen(fd, "wb") as out:
        out.write(secrets.token_urlsafe(48).encode())
    return path.read_bytes().strip()


def _check_secret_file(secret: bytes, settings: Settings) -> None:
    """A secret file written by hand meets the same production rule as `KB_SESSION_SECRET`."""
    reason = weakness(secret.decode("utf-8", "replace"), min_length=32)
    if settings.env == "production" and reason is not None:
        raise ConfigError(f"the session secret file in KB_DATA_DIR is too weak for production: {reason}; "
                          f"delete it (a random one is made) or {GENERATE}")


def _secret(request: Request) -> bytes:
    """The secret read at start-up (`api.app.create_app`'s lifespan)."""
    return state_of(request.app).session_secret


def issue(secret: bytes, key: ApiKey, *, now: float | None = None) -> str:
    """A session token for `key` (no part of the key's secret is in it)."""
    nonce, expires = secrets.token_urlsafe(16), str(int((now or time.time()) + SESSION_SECONDS))
    return ".".join(["v1", key.id, nonce, expires, _mac(secret, "session", key.id, nonce, expires)])


def read_token(secret: bytes, token: str, *, now: float | None = None) -> tuple[str, str, int] | None:
    """(key id, nonce, expires) of a well-signed, unexpired token; None otherwise."""
    parts = token.split(".")
    if len(parts) != 5 or parts[0] != "v1" or not parts[3].isdigit():
        return None
    _, key_id, nonce, expires, mac = parts
    if not hmac.compare_digest(mac, _mac(secret, "session", key_id, nonce, expires)):
        return None
    if int(expires) < (now or time.time()):
        return None
    return key_id, nonce, int(expires)


def csrf_for(secret: bytes, nonce: str, purpose: str = "session") -> str:
    return _mac(secret, "csrf", purpose, nonce)


def key_allowed(key: ApiKey | None, settings: Settings, presented: str | None = None) -> bool:
    """The same refusal as the Bearer path: revoked keys, and demo or placeholder keys in production."""
    if key is None or key.revoked is not None:
        return False
    if settings.env == "production":
        placeholder = presented is not None and presented.split("_", 2)[-1] in PLACEHOLDER_KEYS
        return key.name != "demo" and not placeholder
    return True


def current_session(request: Request, db: DbDep, settings: SettingsDep) -> PageSession | None:
    """The logged-in session from the cookie, or None (bad signature, expired, unknown or revoked key)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    secret = _secret(request)
    parsed = read_token(secret, token)
    if parsed is None:
        return None
    key_id, nonce, expires = parsed
    if db.session_ended(nonce):  # logged out: a copy of the cookie must not work either
        return None
    key = db.get_key(key_id)
    if key is None or not key_allowed(key, settings):
        return None
    request.state.key_id = key.id
    check_key_rate(request, key)  # the same per-key rate as the Bearer path: a session is not a way around it
    session = PageSession(key, nonce, expires, csrf_for(secret, nonce))
    request.state.page_session = session  # templates show who is logged in and put the CSRF token in forms
    return session


def require_page(role: str):  # type: ignore[no-untyped-def]
    """A page dependency: a valid session cookie whose key's role grants `role` (see the module docstring)."""

    def check(session: Annotated[PageSession | None, Depends(current_session)]) -> PageSession:
        if session is None:
            raise Unauthorized("log in with your API key to open this page")
        if not session.key.may(role):
            raise Forbidden(f"this page needs {needs(role)}; you are logged in with role {session.key.role}",
                            needs=role, role=session.key.role)
        return session

    check.required_role = role  # type: ignore[attr-defined]  # same attribute as api.deps.require
    check.page = True  # type: ignore[attr-defined]
    return check


async def read_form(request: Request) -> dict[str, str]:
    """The urlencoded body as a dict (last value wins); the body size is already bounded by BodyLimit."""
    body = await request.body()
    if not body:
        return {}
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise Refused("send the form as application/x-www-form-urlencoded")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                          max_num_fields=_MAX_FIELDS, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as e:
        raise Refused(f"form: unreadable body ({e})") from e
    return dict(pairs)


async def checked_form(request: Request,
                       session: Annotated[PageSession | None, Depends(current_session)]) -> dict[str, str]:
    """The submitted form, only after its CSRF token matched the session's (header or `csrf` field)."""
    if session is None:
        raise Unauthorized("your session has ended: log in again")
    form = await read_form(request)
    presented = request.headers.get(CSRF_HEADER) or form.get("csrf", "")
    if not presented or not hmac.compare_digest(presented, session.csrf):
        raise CsrfRefused("the form's security token is missing or does not match your session: reload the page")
    return form


def login_csrf(request: Request) -> tuple[str, str]:
    """(pre-session nonce for the login cookie, token for the login form): reuses a nonce still in the cookie."""
    nonce = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(16)
    return nonce, csrf_for(_secret(request), nonce, "login")


def check_login_csrf(request: Request, presented: str) -> None:
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    if not nonce or not presented or not hmac.compare_digest(presented, csrf_for(_secret(request), nonce, "login")):
        expired = "the login form expired or came from elsewhere: reload the login page and try again"
        if not nonce and state_of(request.app).settings.env == "production":  # a Secure cookie never came back
            raise CsrfRefused(expired + " (in production the login cookie travels over HTTPS only: open this page "
                              "through https://)", https_only=True)  # the Dutch page says so too (wording.py)
        raise CsrfRefused(expired)


def session_token(request: Request, key: ApiKey) -> str:
    return issue(_secret(request), key)


def cookie_attributes(request: Request) -> dict[str, Any]:
    """The attributes of every cookie the pages set or clear, in one place: HttpOnly, SameSite=Strict, and Secure
    over HTTPS and always in production (behind a proxy that terminates TLS the app may see plain HTTP while the
    browser speaks HTTPS; a production cookie must never travel without TLS)."""
    secure = request.url.scheme == "https" or state_of(request.app).settings.env == "production"
    return {"httponly": True, "samesite": "strict", "secure": secure}


def set_cookie(response: Response, request: Request, name: str, value: str, *, max_age: int, path: str) -> None:
    response.set_cookie(name, value, max_age=max_age, path=path, **cookie_attributes(request))


def clear_cookie(response: Response, request: Request, name: str, *, path: str) -> None:
    response.delete_cookie(name, path=path, **cookie_attributes(request))


AgentPage = Annotated[PageSession, Depends(require_page("agent"))]
EditorPage = Annotated[PageSession, Depends(require_page("editor"))]
QaPage = Annotated[PageSession, Depends(require_page("qa"))]
InsightsPage = Annotated[PageSession, Depends(require_page(INSIGHTS))]  # editors and QA leads
CheckedForm = Annotated[dict[str, str], Depends(checked_form)]
