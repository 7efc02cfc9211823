"""The web pages through the real app (ASGI, lifespan included) on the sample index: login and session cookie,
roles per page, CSRF refusals that change nothing, escaping of messages and articles, and safe report serving."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import numpy as np
import pytest

from api.db import INSIGHTS
from api.pages import page_routes
from api.pages.auth import OPEN_PAGES, safe_next
from api.pages.gaps import group_vectors
from api.pages.render import article_html
from api.pages.wording import MAY as MAY_TEXT
from api.session import SESSION_COOKIE
from api.state import state_of
from tests.api.conftest import ROLES, assert_error_shape, make_keys
from tests.browser.site import BROKEN_FILE, HOSTILE_ID, Site, make_site
from tests.conftest import HIT1_MINIMUM

SUGAR = "klopt het dat suiker kanker voedt? mn schoonmoeder eet geen fruit meer"
PAGES = {"/agent": "agent", "/editor": "editor", "/editor/index": "editor", "/editor/gaps": "editor",
         "/editor/learned": "editor",
         f"/editor/articles/{HOSTILE_ID}": "editor", "/qa": "qa", "/qa/reports/golden/golden.html": "qa",
         "/insights": INSIGHTS}
MAY = {"agent": {"agent"}, "editor": {"agent", "editor", INSIGHTS}, "qa": {"agent", "qa", INSIGHTS},
       "admin": {"agent", "editor", "qa", INSIGHTS}}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return make_site(tmp_path_factory.mktemp("pages"))


@pytest.fixture(scope="module")
def pages_app(site: Site, sample_engine: Any) -> Iterator[tuple[Any, dict[str, str]]]:
    """The app on the shared sample index with the test site's articles and reports (never re-indexed here:
    the sample index is shared read-only; the browser tests re-index their own service)."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    settings = sample_engine.settings.model_copy(update={"data_dir": site.data, "articles_dir": site.articles,
                                                         "reports_dir": site.reports})
    keys = make_keys(site.data)
    app = create_app(settings, sample_engine)
    with TestClient(app):  # runs the lifespan once; the clients below share app.state
        yield app, keys


def anonymous(app: Any) -> Any:
    from fastapi.testclient import TestClient

    return TestClient(app, follow_redirects=False, raise_server_exceptions=False)


def csrf_of(html: str) -> str:
    found = re.search(r'name="(?:csrf|csrf-token)" (?:value|content)="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def login(app: Any, key: str) -> Any:
    client = anonymous(app)
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"csrf": token, "key": key})
    assert response.status_code == 303, response.text
    return client


@pytest.fixture(scope="module")
def sessions(pages_app: tuple[Any, dict[str, str]]) -> dict[str, Any]:
    app, keys = pages_app
    return {role: login(app, keys[role]) for role in ROLES}


def suggest(client: Any, message: str = SUGAR, **extra: str) -> Any:
    token = csrf_of(client.get("/agent").text)
    return client.post("/agent/suggest", data={"csrf": token, "message": message, "channel": "x", **extra},
                       headers={"X-Fragment": "1", "Accept": "text/html, application/json"})


def suggested(client: Any) -> dict[str, str]:
    """Ask for suggestions on the page; the fields a feedback form on them posts (csrf, request_id)."""
    html = suggest(client).text
    return {"csrf": csrf_of(html), "request_id": html.split('data-request-id="')[1].split('"')[0]}


class Dom(HTMLParser):
    """Every start tag with its attributes, to check what a browser would build."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def assert_inert(html: str) -> None:
    """No script but our own file, no on* attribute, no link or frame to a javascript:/data: URL."""
    for tag, attrs in Dom(html).tags:
        assert tag not in ("iframe", "object", "embed", "svg"), tag
        if tag == "script":
            assert attrs in ({"src": "/static/pages.js", "defer": None},
                             {"src": "/static/agent.js", "defer": None}), attrs
        assert not [a for a in attrs if a.lower().startswith("on")], (tag, attrs)
        for name in ("href", "src", "action", "formaction"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("javascript:", "data:", "vbscript:")), (tag, attrs)


# --- routes and roles -----------------------------------------------------------------------------------


def test_pages_stay_out_of_the_openapi_schema(pages_app: tuple[Any, dict[str, str]]) -> None:
    app, _ = pages_app
    paths = set(app.openapi()["paths"])
    assert not {p for _, p in page_routes()} & paths


def test_every_page_route_declares_its_role_or_is_listed_as_open() -> None:
    routes = page_routes()
    assert {r for r, role in routes.items() if role is None} == OPEN_PAGES
    assert routes[("POST", "/editor/reindex")] == "editor" and routes[("GET", "/qa")] == "qa"


@pytest.mark.parametrize("path", sorted(PAGES))
def test_a_page_without_a_session_redirects_to_login(pages_app: tuple[Any, dict[str, str]], path: str) -> None:
    response = anonymous(pages_app[0]).get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/")


@pytest.mark.parametrize("path", ["/agent/suggest", "/agent/feedback", "/editor/reindex", "/logout"])
def test_an_action_without_a_session_answers_401(pages_app: tuple[Any, dict[str, str]], path: str) -> None:
    client = anonymous(pages_app[0])
    assert_error_shape(client.post(path, data={"message": "x"}, headers={"Accept": "application/json"}), 401)
    assert client.post(path, data={"message": "x"}).status_code == 401


@pytest.mark.parametrize("role", ROLES)
def test_each_role_opens_exactly_its_pages(sessions: dict[str, Any], role: str) -> None:
    for path, needs in PAGES.items():
        response = sessions[role].get(path)
        expected = 200 if needs in MAY[role] else 403
        assert response.status_code == expected, (role, path, response.text[:300])
        if expected == 403:
            assert "Geen toegang" in response.text and f"Dit is alleen voor {MAY_TEXT[needs]}." in response.text


# --- login, session cookie, CSRF ------------------------------------------------------------------------


def test_login_sets_an_httponly_strict_cookie_that_does_not_contain_the_key(
        pages_app: tuple[Any, dict[str, str]]) -> None:
    app, keys = pages_app
    client = anonymous(app)
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"csrf": token, "key": keys["agent"], "next": "//evil.example/x"})
    assert response.status_code == 303 and response.headers["location"] == "/agent"  # no open redirect
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    key_id, secret = keys["agent"].split("_", 2)[1:]
    value = cookie.split(";")[0].split("=", 1)[1]
    assert secret not in value and key_id in value


def test_login_with_a_wrong_or_missing_key_is_refused(pages_app: tuple[Any, dict[str, str]]) -> None:
    client = anonymous(pages_app[0])
    token = csrf_of(client.get("/login").text)
    for key in ("kb_nothere_secret", "", pages_app[1]["agent"] + "x"):
        response = client.post("/login", data={"csrf": token, "key": key})
        assert response.status_code == 401 and "Deze sleutel kennen we niet" in response.text
        assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


def test_login_without_its_csrf_token_is_refused(pages_app: tuple[Any, dict[str, str]]) -> None:
    app, keys = pages_app
    client = anonymous(app)
    client.get("/login")
    assert client.post("/login", data={"key": keys["agent"]}).status_code == 403
    assert client.post("/login", data={"key": keys["agent"], "csrf": "forged"}).status_code == 403
    assert client.post("/login", data={"key": keys["agent"], "csrf": "vervalst-é"}).status_code == 403  # not 500
    assert SESSION_COOKIE not in client.cookies


def test_actions_without_a_matching_csrf_token_are_refused_and_change_nothing(
        pages_app: tuple[Any, dict[str, str]], sessions: dict[str, Any]) -> None:
    app, keys = pages_app
    agent, other = sessions["agent"], login(app, keys["agent"])
    rid = suggest(agent).text.split('data-request-id="')[1].split('"')[0]
    before = len(state_of(app).db.feedback(1000))
    body = {"request_id": rid, "action": "used"}
    for headers, form in [({}, body), ({"X-CSRF-Token": "forged"}, body),
                          ({}, {**body, "csrf": csrf_of(other.get("/agent").text)})]:  # another session's token
        response = agent.post("/agent/feedback", data=form, headers={"Accept": "application/json", **headers})
        assert assert_error_shape(response, 403)["code"] == "csrf_refused"
    assert agent.post("/agent/suggest", data={"message": SUGAR}).status_code == 403
    assert sessions["editor"].post("/editor/reindex", data={"full": "1"}).status_code == 403
    assert len(state_of(app).db.feedback(1000)) == before


def test_an_agent_may_not_reindex_even_with_a_valid_token(sessions: dict[str, Any]) -> None:
    agent = sessions["agent"]
    response = agent.post("/editor/reindex", data={"csrf": csrf_of(agent.get("/agent").text)})
    assert response.status_code == 403 and "Dit is alleen voor redacteuren." in response.text


def test_a_tampered_cookie_or_a_revoked_key_ends_the_session(pages_app: tuple[Any, dict[str, str]]) -> None:
    app, _ = pages_app
    key, record = state_of(app).db.add_key("agent", name="soon revoked")
    client = login(app, key)
    assert client.get("/agent").status_code == 200
    good = client.cookies[SESSION_COOKIE]
    fresh = anonymous(app)
    assert fresh.get("/agent", headers={"Cookie": f"{SESSION_COOKIE}={good}"}).status_code == 200
    key_id, nonce, expires, mac = good.split(".")[1:]
    for forged in (good[:-2] + ("AA" if not good.endswith("AA") else "BB"),  # signature changed
                   f"v1.{key_id}.{nonce}.{int(expires) + 3600}.{mac}",  # lifetime stretched
                   f"v1.{pages_app[1]['agent'].split('_')[1]}.{nonce}.{expires}.{mac}"):  # another key's id
        assert fresh.get("/agent", headers={"Cookie": f"{SESSION_COOKIE}={forged}"}).status_code == 303
    non_ascii = f"v1.{key_id}.{nonce}.{expires}.{mac[:-1]}é".encode()  # a cookie may carry any byte
    assert fresh.get("/agent", headers={"Cookie": b"%s=%s" % (SESSION_COOKIE.encode(), non_ascii)}).status_code == 303
    state_of(app).db.revoke_key(record.id)
    assert client.get("/agent").status_code == 303


def test_logout_needs_the_token_and_clears_the_session(pages_app: tuple[Any, dict[str, str]]) -> None:
    app, keys = pages_app
    client = login(app, keys["qa"])
    assert client.post("/logout", data={}).status_code == 403
    token = csrf_of(client.get("/qa").text)
    copied = client.cookies[SESSION_COOKIE]
    response = client.post("/logout", data={"csrf": token})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert client.get("/qa").status_code == 303
    # A copy of the cookie taken before logging out is refused too: the session ended on the server.
    assert anonymous(app).get("/qa", headers={"Cookie": f"{SESSION_COOKIE}={copied}"}).status_code == 303


def test_next_after_login_stays_on_this_site() -> None:
    assert safe_next("/editor?type=faq", "/agent") == "/editor?type=faq"
    for bad in ("//evil.example", "https://evil.example", "/\\evil.example", "evil", "/a\nb", ""):
        assert safe_next(bad, "/agent") == "/agent"


# --- agent page -----------------------------------------------------------------------------------------


def test_the_agent_page_suggests_records_the_request_and_shows_html_as_text(
        pages_app: tuple[Any, dict[str, str]], sessions: dict[str, Any]) -> None:
    app, _ = pages_app
    message = SUGAR + ' <img src=x onerror="alert(1)"><b>vet</b>'
    response = suggest(sessions["agent"], message, customer_name="<i>Ria</i>")
    assert response.status_code == 200
    html = response.text
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;&lt;b&gt;vet&lt;/b&gt;" in html
    assert_inert(html)
    assert 'data-article-id="suiker-voedt-kanker"' in html
    rid = html.split('data-request-id="')[1].split('"')[0]
    assert "suiker-voedt-kanker" in (state_of(app).db.request_articles(rid) or [])


def test_no_match_on_the_agent_page_says_when_a_message_is_outside_our_remit(sessions: dict[str, Any]) -> None:
    html = suggest(sessions["agent"], "Is epilepsie erfelijk? Mijn broer heeft het.").text
    assert 'class="outside-subject"' in html and "Andere ziekten dan kanker" in html  # articles/_outside.md
    assert "Geen passend artikel gevonden" in html
    assert 'class="outside-subject"' not in suggest(sessions["agent"], "Wie wint er zaterdag, Ajax of PSV?").text


def test_a_bad_suggest_form_gets_the_api_error_shape_in_dutch(sessions: dict[str, Any]) -> None:
    error = assert_error_shape(suggest(sessions["agent"], "x" * 5001), 422)
    assert error["message"].startswith("Het bericht is 5.001 tekens; er passen er 5.000 in.")
    assert error["details"] == {"field": "message"}
    assert assert_error_shape(suggest(sessions["agent"], "   "), 422)["message"] == \
        "Het bericht is leeg: plak het bericht van de klant."
    signed = assert_error_shape(suggest(sessions["agent"], SUGAR, agent_signature="<b>SA</b>"), 422)
    assert signed["message"].startswith("De ondertekening kan zo niet onder een antwoord")
    token = csrf_of(sessions["agent"].get("/agent").text)  # without JavaScript: the page again, with the error
    page = sessions["agent"].post("/agent/suggest", data={"csrf": token, "message": "hoi", "channel": "fax"})
    assert page.status_code == 422 and "Dit kanaal kennen we niet" in page.text and "<textarea" in page.text
    crlf = sessions["agent"].post("/agent/suggest", data={"csrf": token, "message": "a\r\n" * 2000 + "a"})
    assert crlf.status_code == 200  # 4,001 characters as the agent sees them, though the browser sent 6,001


def test_feedback_from_the_page_is_stored_with_the_api_validation(
        pages_app: tuple[Any, dict[str, str]], sessions: dict[str, Any]) -> None:
    app, _ = pages_app
    agent = sessions["agent"]
    post, headers = suggested(agent), {"Accept": "application/json"}
    stored = agent.post("/agent/feedback", data={**post, "article_id": "suiker-voedt-kanker", "action": "edited",
                                                 "final_text": "Hoi! Aangepast."}, headers=headers)
    assert stored.status_code == 201
    row = state_of(app).db.feedback(1)[0]
    assert (row["id"], row["action"], row["final_text"]) == (stored.json()["feedback_id"], "edited", "Hoi! Aangepast.")
    wrong = agent.post("/agent/feedback", data={**post, "article_id": "vaccins-autisme", "action": "used"},
                       headers=headers)
    assert "hoorde niet bij deze suggesties" in assert_error_shape(wrong, 422)["message"]
    assert_error_shape(agent.post("/agent/feedback", data={**post, "action": "liked"}, headers=headers), 422)
    unknown = agent.post("/agent/feedback", data={**post, "request_id": "nope", "action": "used"}, headers=headers)
    assert assert_error_shape(unknown, 404)["message"].startswith("Deze suggesties kent de service niet")


def test_feedback_from_the_page_is_one_choice_per_suggestion_and_can_be_taken_back(
        pages_app: tuple[Any, dict[str, str]], sessions: dict[str, Any]) -> None:
    app, _ = pages_app
    agent = sessions["agent"]
    post, headers = suggested(agent), {"Accept": "application/json"}
    rid = post["request_id"]
    post["article_id"] = "suiker-voedt-kanker"
    ids = {agent.post("/agent/feedback", data={**post, "action": action, "final_text": text}, headers=headers)
           .json()["feedback_id"] for action, text in (("used", "Nee."), ("rejected", "Nee."), ("edited", "Nee hoor."))}
    mine = [r for r in state_of(app).db.feedback(100) if r["request_id"] == rid]
    assert len(ids) == 1 and [(r["action"], r["final_text"], r["source"]) for r in mine] == \
        [("edited", "Nee hoor.", "page")]
    agent.post("/agent/feedback", data={**post, "action": "rejected", "final_text": "Nee."}, headers=headers)
    assert [r["final_text"] for r in state_of(app).db.feedback(100) if r["request_id"] == rid] == [None]  # not sent
    undone = agent.post("/agent/feedback", data={**post, "action": "rejected", "undo": "1"}, headers=headers)
    assert undone.status_code == 200 and undone.json()["withdrawn"] is True
    assert [r for r in state_of(app).db.feedback(100) if r["request_id"] == rid] == []


# --- editor pages ---------------------------------------------------------------------------------------


def test_the_hostile_article_renders_inert(sessions: dict[str, Any]) -> None:
    response = sessions["editor"].get(f"/editor/articles/{HOSTILE_ID}")
    assert response.status_code == 200
    assert "Content-Security-Policy" in response.headers and "script-src 'self'" in response.headers[
        "content-security-policy"]
    assert_inert(response.text)
    assert "&lt;script&gt;window.__xss = 'body'&lt;/script&gt;" in response.text  # shown, as text
    assert 'href="https://example.org/veilig"' in response.text


def test_an_article_page_shows_the_claims_written_in_the_other_language_marked_as_such(
        sessions: dict[str, Any]) -> None:
    page = sessions["editor"].get("/editor/articles/hair-dye-cancer")
    assert page.status_code == 200
    assert re.search(r'Claims in het Nederlands</h2>\s*<ul class="claims" lang="nl"><li>krijg je kanker van haarverf',
                     page.text), page.text[:2000]



    html = str(article_html("[a](javascript:x) [b](JAVASCRIPT:x) [c](jav&#x61;script:x) [d](data:text/html,x) "
                            "[e](vbscript:x) [f](other.md) <javascript:x> ![g](javascript:x) [h](https://kwf.nl) "
                            "[i](mailto:info@example.org) <b onclick=x>raw</b>"))
    hrefs = re.findall(r'(?:href|src)="([^"]*)"', html)
    assert hrefs == ["https://kwf.nl", "mailto:info@example.org"]
    assert 'rel="nofollow noopener noreferrer"' in html and "&lt;b onclick=x&gt;" in html


def test_the_article_list_filters_and_shows_lint_problems(sessions: dict[str, Any]) -> None:
    editor = sessions["editor"]
    faqs = editor.get("/editor?type=faq&language=nl").text
    assert f"/editor/articles/{HOSTILE_ID}" in faqs and "/editor/articles/suiker-voedt-kanker" not in faqs
    overdue = editor.get("/editor?review=overdue").text
    assert f"/editor/articles/{HOSTILE_ID}" in overdue and "/editor/articles/suiker-voedt-kanker" not in overdue
    errors = editor.get("/editor?lint=errors").text
    assert BROKEN_FILE in errors and "missing required field: claims" in errors
    assert "/editor/articles/suiker-voedt-kanker" not in errors
    assert "/editor/articles/suiker-voedt-kanker" in editor.get("/editor?q=suiker&status=published").text
    assert editor.get("/editor?type=<script>").status_code == 200  # unknown filter values are ignored
    assert editor.get("/editor/articles/does-not-exist").status_code == 404


def test_the_index_page_shows_the_served_build(sessions: dict[str, Any]) -> None:
    html = sessions["editor"].get("/editor/index").text
    assert "Opnieuw indexeren" in html and "multilingual-e5-small" in html
    assert 'action="/editor/reindex"' in html and csrf_of(html)


def test_no_good_answers_are_grouped_by_meaning(pages_app: tuple[Any, dict[str, str]],
                                                  sessions: dict[str, Any]) -> None:
    agent = sessions["agent"]
    for message in ("mag ik onder de zonnebank tijdens mijn chemokuur",
                    "hoe kan ik mijn adres wijzigen voor de nieuwsbrief",
                    "is zonnebankken veilig als je chemotherapie krijgt?",
                    "ik wil mijn adres veranderen voor de nieuwsbrief",
                    "mag ik zonnebanken tijdens de chemo?"):
        html = suggest(agent, message).text
        rid = html.split('data-request-id="')[1].split('"')[0]
        response = agent.post("/agent/feedback", data={"csrf": csrf_of(html), "request_id": rid,
                                                       "action": "no_good_answer"},
                              headers={"Accept": "application/json"})
        assert response.status_code == 201, response.text
    html = sessions["editor"].get("/editor/gaps").text
    groups = re.findall(r'<li class="card gap">(.*?)</li>\s*(?=<li class="card gap">|</ol>)', html, re.S)
    assert len(groups) == 2, html
    assert "3×" in groups[0] and "zonnebank" in groups[0] and "adres" not in groups[0]
    assert "2×" in groups[1] and "adres" in groups[1] and "zonnebank" not in groups[1]


def test_greedy_grouping_joins_close_vectors_only() -> None:
    vectors = np.array([[1.0, 0.0, 0.0], [0.95, 0.05, 0.0], [0.0, 1.0, 0.0], [0.0, 0.9, 0.1], [0.0, 0.0, 1.0]])
    assert group_vectors(vectors, 0.8) == [[0, 1], [2, 3], [4]]
    assert group_vectors(vectors, 0.999) == [[0], [1], [2], [3], [4]]


# --- QA page --------------------------------------------------------------------------------------------


def test_the_qa_page_shows_headline_figures_and_flags_those_under_their_minimum(sessions: dict[str, Any]) -> None:
    html = sessions["qa"].get("/qa").text
    assert "Golden messages &lt;b&gt;proef&lt;/b&gt;" in html
    assert re.search(r'class="figure below" data-figure="hit@1"><span>juist artikel bovenaan</span><b>0.600</b>\s*'
                     rf'<small class="limit">minimum {HIT1_MINIMUM:.3f}</small>\s*<small class="down"[^>]*>▼ 0.100',
                     html)
    assert 'href="/qa/reports/golden/golden.html"' in html
    report = sessions["qa"].get("/qa/reports/golden/golden.html")
    assert report.status_code == 200 and "sandbox" in report.headers["content-security-policy"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report.text


def test_reports_are_served_from_the_reports_folder_only(site: Site, sessions: dict[str, Any]) -> None:
    outside = site.reports.parent / "secret.html"
    outside.write_text("secret")
    outside.with_suffix(".json").write_text("{}")
    (site.reports / "golden" / "link.html").symlink_to(outside)
    (site.reports / "golden" / "link.json").write_text('{"headline": {}}')
    qa = sessions["qa"]
    for path in ("../secret.html", "%2e%2e/secret.html", "golden/..%2f..%2fsecret.html", "golden/link.html",
                 "golden/golden.json", f"{outside}", "golden/missing.html", "golden/%00.html"):
        response = qa.get(f"/qa/reports/{path}")
        assert response.status_code == 404, (path, response.status_code)
        assert "secret" not in response.text.replace("secret.html", "")
