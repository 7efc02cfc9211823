"""Keys and roles: every route but the health checks needs a key, and each role reaches only its routes.

The inventory walks every route the app serves (`app.routes`: the API, the web pages, which stay out of the
OpenAPI schema, the docs and static files), not only the schema: a route is either listed as open here or
declares its role with a dependency (`api.deps.require` or `api.session.require_page`), and the server is
checked to enforce it without credentials and for every role that may not.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts

from api.db import INSIGHTS, open_database
from api.deps import required_role
from api.pages.auth import OPEN_PAGES
from api.pages.wording import MAY as MAY_IN_DUTCH
from kb.config import Settings
from tests.api.conftest import ROLES, assert_error_shape

OPEN = {"/healthz", "/readyz"}
#: Routes anyone may open besides the health checks: API docs, static files and the login pages. The docs are
#: open in development only; with KB_ENV=production they need a key or a session (tests/security/test_edges.py).
OPEN_ROUTES = {("GET", p) for p in ("/healthz", "/readyz", "/openapi.json", "/docs", "/static/{path}")} | \
    {(m, p) for m, p in OPEN_PAGES}
#: Values for path parameters, so that a route can be called.
PATH_VALUES = {"{article_id}": "suiker-voedt-kanker", "{relative}": "golden/golden.html", "{path}": "pages.css"}
#: The role each route needs. A new route fails `test_every_route_is_in_the_role_matrix` until it is listed.
NEEDS = {
    ("POST", "/v1/suggest"): "agent",
    ("POST", "/v1/feedback"): "agent",
    ("GET", "/v1/articles"): "agent",
    ("GET", "/v1/articles/{article_id}"): "agent",
    ("POST", "/v1/index"): "editor",
    ("GET", "/metrics"): "qa",
    ("GET", "/v1/insights"): INSIGHTS,
    ("GET", "/v1/insights.csv"): INSIGHTS,
}
MAY = {"agent": {"agent"}, "editor": {"agent", "editor", INSIGHTS}, "qa": {"agent", "qa", INSIGHTS},
       "admin": {*ROLES, INSIGHTS}}
BODIES: dict[str, dict[str, Any]] = {
    "/v1/suggest": {"message": "klopt het dat suiker kanker voedt?", "channel": "facebook"},
    "/v1/feedback": {"request_id": "does-not-exist", "action": "used"},
    "/v1/index": {"full": False},
}


def _call(client: Any, method: str, path: str, headers: dict[str, str] | None = None) -> Any:
    url = path.replace("{article_id}", "suiker-voedt-kanker")
    return client.request(method, url, json=BODIES.get(path), headers=headers or {})


def test_every_route_is_in_the_role_matrix(client: Any) -> None:
    paths = client.app.openapi()["paths"]
    routes = {(method.upper(), path) for path, ops in paths.items() for method in ops}
    assert routes - {(m, p) for m, p in routes if p in OPEN} == set(NEEDS)


@pytest.mark.parametrize(("method", "path"), sorted(NEEDS))
def test_a_route_without_a_key_answers_401(client: Any, method: str, path: str) -> None:
    response = _call(client, method, path)
    assert assert_error_shape(response, 401)["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path"), sorted(NEEDS))
@pytest.mark.parametrize("presented", ["Bearer kb_nothere_x", "Bearer ", "Basic a2I6a2I=", "kb_abc_def"])
def test_a_route_with_a_bad_key_answers_401(client: Any, method: str, path: str, presented: str) -> None:
    assert_error_shape(_call(client, method, path, {"Authorization": presented}), 401)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path"), sorted(NEEDS))
def test_each_role_reaches_exactly_its_routes(client: Any, auth: dict[str, dict[str, str]], role: str,
                                              method: str, path: str) -> None:
    response = _call(client, method, path, auth[role])
    if NEEDS[(method, path)] in MAY[role]:
        assert response.status_code not in (401, 403), response.text
    else:
        error = assert_error_shape(response, 403)
        assert NEEDS[(method, path)] in error["message"]


@pytest.mark.parametrize("path", sorted(OPEN))
def test_health_checks_need_no_key(client: Any, path: str) -> None:
    assert client.get(path).status_code == 200


def test_a_revoked_key_is_refused(client: Any, api_env: Any) -> None:
    settings, _ = api_env
    db = open_database(Settings(data_dir=settings.data_dir))
    try:
        key, record = db.add_key("agent", name="leaving volunteer")
        headers = {"Authorization": f"Bearer {key}"}
        assert client.get("/v1/articles", headers=headers).status_code == 200
        assert db.revoke_key(record.id)
    finally:
        db.close()
    assert_error_shape(client.get("/v1/articles", headers=headers), 401)


def test_keys_are_stored_hashed_never_in_clear(api_env: Any, keys: dict[str, str]) -> None:
    settings, _ = api_env
    raw = (settings.data_dir / "kennisbank.sqlite").read_bytes()
    con = sqlite3.connect(settings.data_dir / "kennisbank.sqlite")
    try:
        stored = " ".join(str(v) for row in con.execute("SELECT * FROM api_keys") for v in row)
    finally:
        con.close()
    for key in keys.values():
        secret = key.split("_", 2)[2]
        assert secret not in stored and secret.encode() not in raw


def test_a_key_with_a_wrong_secret_for_a_real_id_is_refused(client: Any, keys: dict[str, str]) -> None:
    prefix, key_id, secret = keys["admin"].split("_", 2)
    forged = f"{prefix}_{key_id}_{secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}"
    assert_error_shape(client.get("/metrics", headers={"Authorization": f"Bearer {forged}"}), 401)


def test_production_refuses_the_demo_key(sample_engine: Any, tmp_path: Any) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app

    settings = sample_engine.settings.model_copy(update={"data_dir": tmp_path, "env": "production"})
    db = open_database(Settings(data_dir=tmp_path))
    try:
        demo, _ = db.add_key("admin", name="demo")
        real, _ = db.add_key("agent", name="Anna")
    finally:
        db.close()
    with TestClient(create_app(settings, sample_engine)) as client:
        error = assert_error_shape(client.get("/v1/articles", headers={"Authorization": f"Bearer {demo}"}), 401)
        assert "production" in error["message"]
        assert client.get("/v1/articles", headers={"Authorization": f"Bearer {real}"}).status_code == 200


# --- the inventory: every route the app serves ------------------------------------------------------------


def _inventory() -> dict[tuple[str, str], tuple[str | None, bool]]:
    """(method, path) -> (the role it needs or None, whether it is a web page), for every route of the app."""
    from api.app import create_app

    found: dict[tuple[str, str], tuple[str | None, bool]] = {}
    for route in iter_route_contexts(create_app(Settings()).routes):  # built, not started: no model needed
        original = route.original_route
        path = getattr(original, "path_format", None) or getattr(original, "path", "")
        methods = getattr(route, "methods", None) or getattr(original, "methods", None) or {"GET"}
        dependant = getattr(route, "dependant", None)
        guard = _guard(dependant)
        for method in sorted(set(methods) - {"HEAD"}):
            found[(method, path)] = (getattr(guard, "required_role", None), bool(getattr(guard, "page", False)))
    return found


def _guard(dependant: Any) -> Any:
    pending = list(dependant.dependencies) if dependant is not None else []
    while pending:
        dependency = pending.pop()
        if getattr(dependency.call, "required_role", None) is not None:
            return dependency.call
        pending.extend(dependency.dependencies)
    return None


INVENTORY = _inventory()
GUARDED = sorted(route for route, (role, _) in INVENTORY.items() if role is not None)


def _url(path: str) -> str:
    for placeholder, value in PATH_VALUES.items():
        path = path.replace(placeholder, value)
    return path


def test_every_route_the_app_serves_is_open_on_purpose_or_needs_a_role() -> None:
    unguarded = {route for route, (role, _) in INVENTORY.items() if role is None}
    assert unguarded == OPEN_ROUTES, "a route without a role dependency must be listed in OPEN_ROUTES"
    api_routes = {route: role for route, (role, page) in INVENTORY.items() if role is not None and not page}
    assert api_routes == NEEDS  # the API's roles are pinned: changing one is a decision, not an accident
    pages = {route for route, (role, page) in INVENTORY.items() if page}
    assert pages and all(path.startswith(("/agent", "/editor", "/qa", "/insights", "/logout")) for _, path in pages)
    for route, (role, _) in INVENTORY.items():
        assert role is None or role in ROLES or role == INSIGHTS, (route, role)


def test_the_openapi_role_reader_agrees_with_the_inventory(client: Any) -> None:
    for route in iter_route_contexts(client.app.routes):
        if getattr(route, "dependant", None) is not None:
            for method in route.methods - {"HEAD"}:
                assert required_role(route) == INVENTORY[(method, route.path_format)][0]


def _csrf(html: str) -> str:
    found = re.search(r'name="(?:csrf|csrf-token)" (?:value|content)="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


@pytest.fixture(scope="module")
def page_sessions(client: Any, keys: dict[str, str]) -> dict[str, tuple[Any, str]]:
    """A logged-in page client per role, with its session's CSRF token."""
    from fastapi.testclient import TestClient

    sessions = {}
    for role in ROLES:
        browser = TestClient(client.app, follow_redirects=False, raise_server_exceptions=False)
        token = _csrf(browser.get("/login").text)
        assert browser.post("/login", data={"csrf": token, "key": keys[role]}).status_code == 303
        sessions[role] = (browser, _csrf(browser.get("/agent").text))
    return sessions


@pytest.mark.parametrize(("method", "path"), GUARDED)
def test_every_guarded_route_refuses_a_caller_without_credentials(client: Any, method: str, path: str) -> None:
    from fastapi.testclient import TestClient

    anonymous = TestClient(client.app, follow_redirects=False, raise_server_exceptions=False)
    response = anonymous.request(method, _url(path), json=BODIES.get(path))
    if INVENTORY[(method, path)][1] and method == "GET":  # a page: off to the login page, and back after
        assert response.status_code == 303, response.text[:300]
        assert response.headers["location"].startswith("/login?next=")
    else:
        assert response.status_code == 401, response.text[:300]
    # A key is no way into the pages, nor a page session into the API.
    if INVENTORY[(method, path)][1]:
        with_key = anonymous.request(method, _url(path), headers={"Authorization": "Bearer x"})
        assert with_key.status_code in (303, 401)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path"), GUARDED)
def test_every_guarded_route_refuses_each_role_that_may_not(client: Any, auth: dict[str, dict[str, str]],
                                                             page_sessions: dict[str, tuple[Any, str]],
                                                             role: str, method: str, path: str) -> None:
    needs, page = INVENTORY[(method, path)]
    allowed = needs in MAY[role]
    if page:
        browser, token = page_sessions[role]
        if allowed and method != "GET":
            return  # an allowed page action would act (log out, re-index); its refusals are what is checked here
        response = browser.request(method, _url(path), data={"csrf": token}, headers={"X-CSRF-Token": token})
    else:
        response = client.request(method, _url(path), json=BODIES.get(path), headers=auth[role])
    if allowed:
        assert response.status_code not in (401, 403), response.text[:300]
        assert not response.headers.get("location", "").startswith("/login")
    else:
        assert response.status_code == 403, (role, method, path, response.text[:300])
        # The API names the role in its JSON; a page says in Dutch who may ("alleen voor redacteuren").
        assert (f"alleen voor {MAY_IN_DUTCH[needs]}" if page else needs) in response.text
