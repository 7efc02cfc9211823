"""schemathesis (4.x) over the OpenAPI schema, with an admin key: every operation, no 5xx, and every answer
conforms to the schema (status documented, body and headers as documented). Not skippable: a test checks that
every operation of the app is in the run.

The pages are not in the schema: hypothesis sends every page route (logged in as admin) random queries, forms,
bytes, uploads (CSV and JSON lines, deeply nested too) and chunked bodies over the limit, with and without a
valid CSRF token: never a 5xx, and every 4xx a fetch asks for as JSON has the one error body (issue 25).

The app serves a small copy of the articles (re-indexing them is part of the run and must stay cheap)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.db import open_database
from api.pages import page_routes
from kb.config import Settings
from tests.conftest import ARTICLES

pytestmark = [pytest.mark.e2e]
FEW = ("nl/suiker-voedt-kanker.md", "nl/alkalisch-dieet-kanker.md", "en/fluoride-cancer.md")


@pytest.fixture(scope="module")
def fuzz_parts(tmp_path_factory: pytest.TempPathFactory, real_embedder: Any) -> Iterator[tuple[Settings, Any, str]]:
    """Settings, an engine over a few indexed articles, and an admin key."""
    from indexer.run import run_index
    from kb.engine import Engine

    base = tmp_path_factory.mktemp("fuzz")
    articles = base / "articles"
    shutil.copytree(ARTICLES / "_templates", articles / "_templates")
    for name in FEW:
        (articles / name).parent.mkdir(parents=True, exist_ok=True)
        text = (ARTICLES / name).read_text(encoding="utf-8")  # links to articles left out would be errors
        text = re.sub(r"(?m)^translations: .*\n", "", text)
        (articles / name).write_text(re.sub(r"(?m)^related: .*$", "related: []", text), encoding="utf-8")
    # key_rate 0: the fuzzer is one fast client, and 429s would only hide the operations from it.
    settings = Settings(data_dir=base / "data", articles_dir=articles, key_rate=0, reports_dir=base / "reports")
    engine = Engine.open(settings, embedder=real_embedder)
    report = run_index(engine, articles)
    assert not report.errors, report.errors
    db = open_database(Settings(data_dir=settings.data_dir))
    admin = db.add_key("admin", name="fuzzer")[0]
    db.close()
    yield settings, engine, admin
    engine.close()


@pytest.fixture(scope="module")
def fuzz_app(fuzz_parts: tuple[Settings, Any, str]) -> tuple[Any, str]:
    from api.app import create_app

    settings, engine, admin = fuzz_parts
    return create_app(settings, engine), admin


@pytest.fixture(scope="module")
def page_client(fuzz_parts: tuple[Settings, Any, str]) -> Iterator[tuple[TestClient, str]]:
    """A logged-in admin on a started app of its own, and the session's CSRF token."""
    from api.app import create_app

    settings, engine, admin = fuzz_parts
    with TestClient(create_app(settings, engine), raise_server_exceptions=False, follow_redirects=False) as client:
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
        assert token
        assert client.post("/login", data={"csrf": token.group(1), "key": admin}).status_code == 303
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/qa").text)
        assert csrf
        yield client, csrf.group(1)


def _openapi() -> dict[str, Any]:
    """The document, from an app that is built but not started (no model, no store, no key needed)."""
    from api.app import create_app

    return dict(create_app(Settings()).openapi())


# Built at import (schemathesis' lazy fixture loader does not work with pytest 9); requests go to the
# module's running app, attached to the schema in the test.
schema = schemathesis.openapi.from_dict(_openapi())


@schema.parametrize()
@settings(max_examples=80, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_every_operation_answers_as_documented_and_never_5xx(case: Any, fuzz_app: tuple[Any, str]) -> None:
    app, admin = fuzz_app
    case.operation.app = case.operation.schema.app = app  # as from_asgi would; the checks' probes go there too
    response = case.call_and_validate(headers={"Authorization": f"Bearer {admin}"})
    assert response.status_code < 500, response.text


def test_the_fuzz_run_covers_every_operation_of_the_app(fuzz_app: tuple[Any, str]) -> None:
    fuzzed = {(op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations()}
    documented = {(m.upper(), p) for p, ops in fuzz_app[0].openapi()["paths"].items() for m in ops}
    assert fuzzed == documented and len(fuzzed) >= 8



#: Page routes that start work with a valid CSRF token (a re-index, an evaluation run, the end of the session):
#: fuzzed with a wrong token only. Every other route gets the session's token half of the time.
NOT_WITH_A_VALID_TOKEN = {("POST", "/editor/reindex"), ("POST", "/qa/jobs"), ("POST", "/logout")}
PAGE_ROUTES = sorted(page_routes())
#: Bodies a page route may meet: a form, bytes, JSON, an export as CSV or JSON lines (deeply nested too), and a
#: chunked body over the limit (no Content-Length: the limit is met while reading).
_text = st.text(max_size=60)
BODIES = st.one_of(
    st.dictionaries(st.sampled_from(["csrf", "key", "message", "channel", "name", "request_id", "article_id",
                                     "action", "final_text", "kind", "scope", "period", "next", "start", "end"]),
                    _text, max_size=6).map(lambda form: ("form", urlencode(form).encode())),
    st.binary(max_size=300).map(lambda raw: ("bytes", raw)),
    st.recursive(st.none() | st.booleans() | st.integers() | _text, lambda kids: st.lists(kids, max_size=3) |
                 st.dictionaries(_text, kids, max_size=3), max_leaves=8).map(
        lambda value: ("json", json.dumps(value).encode())),
    st.lists(st.lists(_text, min_size=1, max_size=6), min_size=1, max_size=5).map(
        lambda rows: ("csv", ("agent,message,reply,time\n" + "\n".join(",".join(r) for r in rows)).encode())),
    st.integers(1, 100_000).map(lambda depth: ("jsonl", b'{"agent": ' + b"[" * depth + b"]" * depth + b"}\n")),
    st.just(("chunked", b"")),
)


def _path(template: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", quote(value, safe="") or "x", template)


@given(route=st.sampled_from(PAGE_ROUTES), body=BODIES, token=st.booleans(), as_json=st.booleans(),
       value=st.text(max_size=40), query=st.dictionaries(_text, _text, max_size=3),
       name=st.sampled_from(["export.csv", "log.jsonl", "x.json", "../../etc/passwd", ""]))
@settings(max_examples=250, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_every_page_route_answers_any_body_without_a_5xx(page_client: tuple[TestClient, str], route: tuple[str, str],
                                                         body: tuple[str, bytes], token: bool, as_json: bool,
                                                         value: str, query: dict[str, str], name: str) -> None:
    client, csrf = page_client
    method, template = route
    kind, content = body
    valid = token and route not in NOT_WITH_A_VALID_TOKEN
    headers = {"x-csrf-token": csrf if valid else "not-the-token", "x-filename": name,
               "accept": "application/json" if as_json else "text/html",
               "content-type": {"form": "application/x-www-form-urlencoded", "json": "application/json"}.get(
                   kind, "text/csv")}
    if kind == "form" and valid:
        content += b"&csrf=" + csrf.encode()
    payload: Any = content
    if kind == "chunked":
        payload = (b"x" * 65_536 for _ in range(70))  # 4.4 MB in chunks: over every route's limit
    url = _path(template, value) + ("?" + urlencode(query) if query else "")
    answer = client.request(method, url, content=payload if method == "POST" else None, headers=headers)
    assert answer.status_code < 500, (method, url, kind, answer.status_code, answer.text[:500])
    if kind == "chunked" and method == "POST":  # 413, unless refused before the body was read
        assert answer.status_code in (413, 401, 403), (url, answer.status_code)
    if 400 <= answer.status_code < 500 and (as_json or answer.status_code == 413):
        assert answer.headers.get("content-type", "").startswith("application/json"), (
            method, url, kind, answer.status_code, answer.text[:300])
        error = answer.json()["error"]
        assert set(error) == {"code", "message", "request_id", "details"}, error


def test_the_page_fuzz_covers_every_page_route() -> None:
    assert set(PAGE_ROUTES) == set(page_routes()) and len(PAGE_ROUTES) >= 15
