"""Web pages for agents, editors and QA leads, served by the API app (`install(app)` in `api.app.create_app`).

Pages are not in the OpenAPI schema. Each page route declares its role with a dependency from
`api.session.require_page(role)`, which carries `required_role` (and `page = True`) like `api.deps.require`;
the few open ones are listed in `api.pages.auth.OPEN_PAGES`. `page_routes()` lists them all:

    >>> page_routes()[("GET", "/editor")]
    'editor'

Without a session a GET page answers 303 to /login and other methods 401; a role that may not: 403;
a missing or wrong CSRF token: 403. Errors on pages are drawn by `error_page`, through the app's one error handler
(`api.errors`, which knows page routes by their `PAGE_TAG`); fetch calls (Accept: application/json) get the
API's JSON error body from the same handler.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from api.deps import required_role
from api.errors import ErrorBody
from api.pages import agent, auth, editor, gaps, insights, qa, qa_jobs
from api.pages.qa_jobs import LARGER_BODIES
from api.pages.render import STATIC_DIR, render
from api.pages.wording import error_text

__all__ = ["LARGER_BODIES", "ROUTERS", "error_page", "install", "page_routes"]

ROUTERS = (auth.router, agent.router, editor.router, gaps.router, qa.router, qa_jobs.router, insights.router)
STATIC_PATH = "/static"


def page_routes() -> dict[tuple[str, str], str | None]:
    """(method, path) -> the role each page route needs; None for the open ones in `auth.OPEN_PAGES`."""
    out: dict[tuple[str, str], str | None] = {}
    for router in ROUTERS:
        for route in router.routes:
            if isinstance(route, APIRoute):
                for method in route.methods or ():
                    out[(method, route.path)] = required_role(route)
    return out


def install(app: FastAPI) -> None:
    """Add the page routes (their routers tag them `PAGE_TAG`, so their errors are pages) and the static files."""
    for router in ROUTERS:
        app.include_router(router)
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC_DIR), name="static")


def error_page(request: Request, error: ErrorBody) -> Response:
    """An error on a page, for a person: a GET without a session goes to /login and back, anything else is the
    error page with the error's status, message and headers (Retry-After)."""
    if error.status == 401 and request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)
    page = render(request, "error.html", status=error.status, status_code=error.status, code=error.code,
                  message=error_text(error.code, error.details, error.message), login=error.status == 401)
    page.headers.update({k: v for k, v in error.headers.items() if k.lower() != "www-authenticate"})
    return page
