"""Web pages for agents, editors and QA leads, served by the API app (`install(app)` in `api.app.create_app`).

Pages are not in the OpenAPI schema. Each page route declares its role with a dependency from
`api.session.require_page(role)`, which carries `required_role` (and `page = True`) like `api.deps.require`;
the few open ones are listed in `api.pages.auth.OPEN_PAGES`. `page_routes()` lists them all:

    >>> page_routes()[("GET", "/editor")]
    'editor'

Without a session a GET page answers 303 to /login and other methods 401; a role that may not: 403;
a missing or wrong CSRF token: 403. Fetch calls (Accept: application/json) get the API's JSON error shape.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from api.deps import required_role
from api.pages import agent, auth, editor, gaps, insights, qa, qa_jobs
from api.pages.qa_jobs import LARGER_BODIES, stop_jobs
from api.pages.render import STATIC_DIR, json_error, render, wants_json
from api.session import LoginRequired, PageError

__all__ = ["LARGER_BODIES", "ROUTERS", "install", "page_routes", "stop_jobs"]

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
    """Add the page routes, the static files and the handler that turns page errors into pages."""
    for router in ROUTERS:
        app.include_router(router)
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC_DIR), name="static")

    @app.exception_handler(PageError)
    async def page_error(request: Request, exc: PageError) -> Response:
        if wants_json(request):
            return json_error(request, exc.status, exc.code, exc.message)
        if isinstance(exc, LoginRequired) and request.method == "GET":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)
        return render(request, "error.html", status=exc.status, status_code=exc.status, message=exc.message,
                      login=isinstance(exc, LoginRequired))
