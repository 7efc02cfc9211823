"""One error body and one handler: every error, raised anywhere, is answered as the same JSON body on the API and
as a page on the pages, with the real limits in the message; the API raises only the one exception tree."""

from __future__ import annotations

import ast
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.testclient import TestClient
from starlette.requests import Request

from api import errors
from api.app import BodyLimit
from api.errors import PAGE_TAG, ErrorBody, Forbidden, TooManyRequests, Unauthorized
from kb.errors import InvalidInput, KbError, NotFound

ROOT = Path(__file__).resolve().parents[2]


def _app() -> FastAPI:
    app = FastAPI()

    def page(request: Request, error: ErrorBody) -> Response:
        return HTMLResponse(f"<h1>{error.status}</h1><p>{error.message}</p>", status_code=error.status,
                            headers=error.headers)

    errors.install(app, page=page)
    api, pages = APIRouter(), APIRouter(tags=[PAGE_TAG])  # the tag on the router, as api/pages/*.py do
    for router in (api, pages):
        @router.get("/forbidden")
        def forbidden() -> None:
            raise Forbidden("this needs the editor role; your key has role agent")

        @router.get("/missing")
        def missing() -> None:
            raise NotFound("no article 'x'", field="article_id")

        @router.get("/busy")
        def busy() -> None:
            raise TooManyRequests("over 5 requests per second; retry in 2 s", headers={"Retry-After": "2"})

        @router.get("/broken")
        def broken() -> None:
            raise RuntimeError("/srv/secret/path went wrong")

        @router.get("/bounded")
        def bounded(n: int) -> int:
            return n

    app.include_router(api, prefix="/v1")
    app.include_router(pages, prefix="/page")
    return app


def _body(response: Response) -> dict:  # type: ignore[type-arg]
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "request_id", "details"}
    return dict(body["error"])


def test_the_api_answers_every_kind_of_error_with_the_one_json_body() -> None:
    client = TestClient(_app(), raise_server_exceptions=False)
    assert _body(client.get("/v1/forbidden"))["code"] == "forbidden"
    missing = client.get("/v1/missing")
    assert missing.status_code == 404 and _body(missing)["details"] == {"field": "article_id"}
    busy = client.get("/v1/busy")
    assert busy.status_code == 429 and busy.headers["retry-after"] == "2" and _body(busy)["code"] == "too_many_requests"
    broken = client.get("/v1/broken")
    assert broken.status_code == 500 and "/srv/secret" not in broken.text and _body(broken)["code"] == "internal_error"
    invalid = client.get("/v1/bounded", params={"n": "many"})
    assert invalid.status_code == 422 and _body(invalid)["message"].startswith("query.n:")
    assert _body(client.get("/v1/nowhere"))["code"] == "not_found"


def test_pages_get_the_same_error_as_a_page_and_fetch_calls_as_json() -> None:
    client = TestClient(_app(), raise_server_exceptions=False)
    page = client.get("/page/forbidden")
    assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
    assert "this needs the editor role" in page.text
    busy = client.get("/page/busy")
    assert busy.status_code == 429 and busy.headers["retry-after"] == "2" and "retry in 2 s" in busy.text
    assert client.get("/page/broken").status_code == 500
    fetched = client.get("/page/missing", headers={"Accept": "application/json"})
    assert fetched.status_code == 404 and _body(fetched)["code"] == "not_found"


def test_an_oversized_body_is_refused_with_the_limit_that_applies_in_the_one_body() -> None:
    app = FastAPI()
    errors.install(app)

    @app.post("/echo")
    async def echo(request: Request) -> int:
        return len(await request.body())

    client = TestClient(BodyLimit(app, limit=1000))  # type: ignore[arg-type]
    assert client.post("/echo", content=b"x" * 1000).json() == 1000
    refused = client.post("/echo", content=b"x" * 1001)
    error = _body(refused)
    assert refused.status_code == 413 and error["code"] == "payload_too_large"
    assert error["message"] == "request body is over 1000 bytes" and error["request_id"]


def test_the_api_raises_only_the_one_exception_tree() -> None:
    for cls in (Unauthorized, Forbidden, TooManyRequests, InvalidInput):
        assert issubclass(cls, KbError)
    own = []
    for path in sorted((ROOT / "api").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and "HTTPException" in ast.unparse(node):
                own.append(f"{path.relative_to(ROOT)}:{node.lineno}: raises HTTPException")
            if isinstance(node, ast.ClassDef) and any(ast.unparse(b) == "Exception" for b in node.bases) \
                    and not node.name.startswith("_"):  # a private signal inside one module is not an error
                own.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.name} outside the KbError tree")
    assert not own, own


def test_every_page_route_is_tagged_as_a_page_and_no_api_route_is() -> None:
    from fastapi.routing import APIRoute

    from api.pages import ROUTERS

    untagged = [route.path for router in ROUTERS for route in router.routes
                if isinstance(route, APIRoute) and PAGE_TAG not in route.tags]
    assert not untagged, untagged
    from api.routes import admin, articles, health, suggest
    tagged = [route.path for module in (admin, articles, health, suggest) for route in module.router.routes
              if isinstance(route, APIRoute) and PAGE_TAG in route.tags]
    assert not tagged, tagged
