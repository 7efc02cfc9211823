"""Log in with an API key (once per shift), log out, and the start page that sends each role to its work.

    GET  /login      the form (sets a pre-session cookie for its CSRF token)
    POST /login      key + csrf -> session cookie, 303 to `next` or the role's start page
    POST /logout     csrf -> cookie cleared, 303 to /login (needs a session: role `agent`, which every role has)
    GET  /           303 to the role's start page (or /login)
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import DbDep, SettingsDep
from api.errors import PAGE_TAG
from api.pages.render import render
from api.session import (
    LOGIN_COOKIE,
    LOGIN_SECONDS,
    SESSION_COOKIE,
    SESSION_SECONDS,
    AgentPage,
    CheckedForm,
    PageSession,
    check_login_csrf,
    clear_cookie,
    current_session,
    key_allowed,
    login_csrf,
    read_form,
    session_token,
    set_cookie,
)
from api.throttle import after_failed_key, before_key_check

router = APIRouter(include_in_schema=False, tags=[PAGE_TAG])  # errors here are pages (api.errors)

#: Routes anyone may open (no session needed); every other page route carries `required_role`.
OPEN_PAGES = frozenset({("GET", "/login"), ("POST", "/login"), ("GET", "/")})
HOME = {"agent": "/agent", "editor": "/editor", "qa": "/qa", "admin": "/agent"}
_KEY_MAX = 200


def safe_next(target: str | None, fallback: str) -> str:
    """Only a path on this site: never `//host`, a scheme, or a backslash trick (no open redirect).

        >>> safe_next("//evil.example/x", "/agent"), safe_next("/editor?type=faq", "/agent")
        ('/agent', '/editor?type=faq')
    """
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or "\\" in target:
        return fallback
    if any(ord(c) < 32 for c in target):
        return fallback
    return target


def _login_page(request: Request, *, error: str = "", next_path: str = "", status: int = 200) -> Response:
    nonce, token = login_csrf(request)
    response = render(request, "login.html", status=status, csrf=token, error=error, next_path=next_path)
    set_cookie(response, request, LOGIN_COOKIE, nonce, max_age=LOGIN_SECONDS, path="/login")
    return response


@router.get("/login")
def login_form(request: Request, next: str = "") -> Response:  # `next`: the query parameter's name
    return _login_page(request, next_path=safe_next(next, ""))


@router.post("/login")
async def login(request: Request, db: DbDep, settings: SettingsDep) -> Response:
    form = await read_form(request)
    check_login_csrf(request, form.get("csrf", ""))
    presented = form.get("key", "").strip()[:_KEY_MAX]
    before_key_check(request, presented)  # 429 (the error page) for an address failing too often
    key = db.check_key(presented) if presented else None
    if key is None or not key_allowed(key, settings, presented):
        after_failed_key(request, presented)
        return _login_page(request, error="Deze sleutel kennen we niet, of hij is ingetrokken. Plak de hele "
                           "sleutel (hij begint met kb_), of vraag een beheerder om een nieuwe.",
                           next_path=safe_next(form.get("next"), ""), status=401)
    target = safe_next(form.get("next"), HOME.get(key.role, "/agent"))
    response = RedirectResponse(target, status_code=303)
    set_cookie(response, request, SESSION_COOKIE, session_token(request, key), max_age=SESSION_SECONDS, path="/")
    clear_cookie(response, request, LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, session: AgentPage, form: CheckedForm, db: DbDep) -> Response:
    """Any logged-in role (every role grants `agent`); CSRF-checked so another site cannot log you out.
    The session ends on the server too, so a copied cookie stops working."""
    db.end_session(session.nonce, session.expires)
    response = RedirectResponse("/login", status_code=303)
    clear_cookie(response, request, SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home(session: Annotated[PageSession | None, Depends(current_session)]) -> Response:
    if session is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(HOME.get(session.key.role, "/agent"), status_code=303)
