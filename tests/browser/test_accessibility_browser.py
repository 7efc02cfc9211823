"""Accessibility of every page in headless Chromium against a real `kb serve`: axe-core (from npm, pinned) injected
into each page at 1366×900 and 390×844 finds no serious or critical violation; the focus ring and the edges of
inputs have at least 3:1 contrast; on a phone every navigation link is in view without scrolling sideways. Every
page is screenshot at both widths into test-artifacts/screenshots/a11y-<page>-{laptop,phone}.png."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.browser.a11y import axe_path, describe, serious_violations
from tests.browser.conftest import SCREENSHOTS, PageService, browser_missing

_missing = browser_missing()
if _missing:  # loud: the reason is in the -ra summary of every run
    pytest.skip(_missing, allow_module_level=True)
if isinstance(axe_path(), str):
    pytest.skip(str(axe_path()), allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
SUGAR = "klopt het dat suiker kanker voedt? mn schoonmoeder zegt dat ik moet stoppen met fruit"


def _ask(page: Any) -> None:
    page.fill("#message", SUGAR)
    page.press("#message", "Control+Enter")
    page.wait_for_selector(".suggestion")


#: Every page: (name, role or None for no session, path, what to do on it first).
PAGES: list[tuple[str, str | None, str, Callable[[Any], None] | None]] = [
    ("login", None, "/login", None),
    ("agent", "agent", "/agent", None),
    ("agent-results", "agent", "/agent", _ask),
    ("editor-list", "editor", "/editor", None),
    ("editor-article", "editor", "/editor/articles/suiker-voedt-kanker", None),
    ("editor-index", "editor", "/editor/index", None),
    ("editor-gaps", "editor", "/editor/gaps", None),
    ("qa", "qa", "/qa", None),
    ("qa-report", "qa", "/qa/reports/golden/golden.html", None),
    ("insights", "editor", "/insights?period=day&periods=14", None),
    ("api-docs", "admin", "/docs", None),
    ("forbidden", "agent", "/qa", None),
    ("not-found", "editor", "/editor/articles/bestaat-niet", None),
]


@pytest.fixture(scope="module")
def flagged(service: PageService) -> None:
    """A few messages marked 'no good answer', so the gaps page has groups (and their buttons) to check."""
    with httpx.Client(base_url=service.url, headers=service.headers("agent"), timeout=30) as api:
        for message in ("mag mijn hond mee naar de lotgenotenbijeenkomst", "lol", "mag ik mijn hond meenemen naar "
                        "jullie bijeenkomst voor lotgenoten?"):
            rid = api.post("/v1/suggest", json={"message": message}).json()["request_id"]
            assert api.post("/v1/feedback", json={"request_id": rid, "action": "no_good_answer"}).status_code == 201


#: Reports are served with a CSP that sandboxes them without scripts, where nothing, axe included, can run; they
#: hold no script of their own, so checking them with that header ignored checks exactly what a reader sees.
NO_SCRIPTS_ALLOWED = ("/qa/reports/",)


@pytest.fixture()
def visit(browser: Any, service: PageService) -> Any:
    contexts: list[Any] = []

    def open_page(role: str | None, path: str) -> Any:
        context = browser.new_context(viewport=LAPTOP, base_url=service.url, locale="nl-NL",
                                      bypass_csp=path.startswith(NO_SCRIPTS_ALLOWED))
        contexts.append(context)
        page = context.new_page()
        if role is not None:
            page.goto("/login")
            page.fill("#key", service.keys[role])
            page.press("#key", "Enter")
            page.wait_for_url(lambda url: "/login" not in url)
        page.goto(path)
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.mark.parametrize(("name", "role", "path", "prepare"), PAGES, ids=[p[0] for p in PAGES])
def test_no_page_has_a_serious_accessibility_violation_at_laptop_or_phone_width(
        visit: Any, flagged: None, name: str, role: str | None, path: str,
        prepare: Callable[[Any], None] | None) -> None:
    page = visit(role, path)
    if prepare is not None:
        prepare(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    found, wide = {}, {}
    for width, size in (("laptop", LAPTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(SCREENSHOTS / f"a11y-{name}-{width}.png"), full_page=True)
        scroll = page.evaluate("document.documentElement.scrollWidth")
        if scroll > size["width"]:
            wide[width] = scroll
        found[width] = serious_violations(page)
    assert found == {"laptop": [], "phone": []}, "\n".join(f"{w}:\n{describe(v)}" for w, v in found.items() if v)
    assert wide == {}, f"{name} is wider than the screen, so it scrolls sideways: {wide}"


def _rgb(css: str) -> tuple[float, float, float]:
    r, g, b = (float(x) for x in re.findall(r"[\d.]+", css)[:3])
    return r, g, b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two CSS rgb() colours."""
    def lum(c: str) -> float:
        def ch(v: float) -> float:
            v /= 255
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        r, g, b = _rgb(c)
        return 0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b)
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_the_focus_ring_and_input_edges_stand_out_at_least_three_to_one(visit: Any) -> None:
    page = visit("editor", "/editor")
    page.keyboard.press("Tab")  # the skip link, then on through the page by keyboard, as a keyboard user does
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "f-q":
            break
    ring = page.evaluate("""() => { const e = document.activeElement, s = getComputedStyle(e);
        const behind = getComputedStyle(e.closest('.card') || document.body).backgroundColor;
        return {id: e.id, style: s.outlineStyle, width: parseFloat(s.outlineWidth), color: s.outlineColor,
                border: s.borderTopColor, background: behind}; }""")
    assert ring["id"] == "f-q" and ring["style"] == "solid" and ring["width"] >= 2, ring
    assert contrast(ring["color"], ring["background"]) >= 3, ring
    assert contrast(ring["border"], ring["background"]) >= 3, ring
    # on the dark top bar the ring is drawn in white
    page.focus(".bar nav a")
    on_bar = page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
        return {color: s.outlineColor, bar: getComputedStyle(document.querySelector('.bar')).backgroundColor}; }""")
    assert contrast(on_bar["color"], on_bar["bar"]) >= 3, on_bar


def test_on_a_phone_every_navigation_link_is_in_view(browser: Any, service: PageService) -> None:
    context = browser.new_context(viewport=PHONE, base_url=service.url, locale="nl-NL")
    try:
        page = context.new_page()
        page.goto("/login")
        page.fill("#key", service.keys["admin"])  # the admin sees every link: the longest navigation
        page.press("#key", "Enter")
        page.wait_for_url(lambda url: "/login" not in url)
        nav = page.evaluate("""() => { const n = document.querySelector('.bar nav');
            return {scroll: n.scrollWidth, client: n.clientWidth,
                    links: [...n.querySelectorAll('a')].map(a => { const r = a.getBoundingClientRect();
                        return {text: a.textContent.trim(), left: r.left, right: r.right}; })}; }""")
        assert {link["text"] for link in nav["links"]} >= {"Agent", "Artikelen", "QA", "Inzichten"}
        assert nav["scroll"] <= nav["client"], nav
        hidden = [link["text"] for link in nav["links"] if link["left"] < 0 or link["right"] > PHONE["width"]]
        assert hidden == [], nav
    finally:
        context.close()

