"""The pages in headless Chromium against a real `kb serve`: log in, get a Dutch suggestion, copy it (clipboard
checked), send feedback (checked on disk), render a hostile article inert, show HTML in a message as text,
re-index from the index page, and screenshot every page at laptop and phone width."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.browser.conftest import PageService, browser_missing, shoot
from tests.browser.site import BROKEN_FILE, HOSTILE_ID

_missing = browser_missing()
if _missing:  # loud: the reason is in the -ra summary of every run
    pytest.skip(_missing, allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402  # only once we know playwright is there

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

SUGAR = "klopt het dat suiker kanker voedt? mn schoonmoeder zegt dat ik moet stoppen met fruit"
HOSTILE_MESSAGE = "<img src=x onerror=\"window.__xss='msg'\"><b>vet</b> is zonnebankken goed voor vitamine D?"


def _draft(page: Any, n: int) -> str:
    return str(page.locator("textarea.draft").nth(n).input_value())


def test_an_agent_gets_copies_and_rates_a_dutch_suggestion(open_as: Any, service: PageService) -> None:
    page = open_as("agent")
    assert page.url.endswith("/agent")
    page.fill("#message", SUGAR)
    page.select_option("#channel", "x")
    page.fill("#customer_name", "Ria")
    page.press("#message", "Control+Enter")  # the documented key, no click
    page.wait_for_selector(".suggestion")
    first = page.locator(".suggestion").first
    assert first.get_attribute("data-article-id") == "suiker-voedt-kanker"
    assert first.locator(".badge").inner_text().startswith(("hoog", "middel"))
    assert first.locator(".sources a").count() >= 1
    top = _draft(page, 0)
    assert top.startswith("Hoi Ria") or "Ria" in top

    page.keyboard.press("Alt+c")  # copy the top draft from anywhere on the page
    expect(first.locator(".done")).to_contain_text("Gekopieerd")
    assert page.evaluate("navigator.clipboard.readText()") == top
    if page.locator(".suggestion").count() > 1:
        page.locator(".suggestion").nth(1).locator("button.copy").click()
        expect(page.locator(".suggestion").nth(1).locator(".done")).to_contain_text("Gekopieerd")
        assert page.evaluate("navigator.clipboard.readText()") == _draft(page, 1)

    request_id = page.locator(".results-head").get_attribute("data-request-id")
    first.locator("button[value=used]").click()
    expect(first.locator(".done")).to_contain_text("opgeslagen")
    stored = [r for r in service.feedback_rows() if r["request_id"] == request_id]
    assert [(r["action"], r["article_id"], r["final_text"]) for r in stored] == [("used", "suiker-voedt-kanker", top)]
    assert first.locator("button[value=used]").get_attribute("aria-pressed") == "true"
    shoot(page, "agent")
    assert page.errors == []


def test_the_last_answer_stays_on_screen_while_the_next_one_loads(open_as: Any) -> None:
    page = open_as("agent")
    page.fill("#message", SUGAR)
    page.press("#message", "Control+Enter")
    page.wait_for_selector(".suggestion")
    old_request = page.locator(".results-head").get_attribute("data-request-id")
    # Hold the next answer back for a moment, inside the page, to look at the screen while it loads.
    page.evaluate("""() => { const real = window.fetch;
        window.fetch = (...args) => new Promise(ok => setTimeout(ok, 1500)).then(() => real(...args)); }""")
    page.fill("#message", "hoe stop ik mijn maandelijkse donatie")
    page.press("#message", "Control+Enter")
    page.wait_for_selector("#results.loading")
    assert page.locator(".results-head").get_attribute("data-request-id") == old_request
    assert page.locator(".suggestion").count() >= 1 and "ophalen" in page.locator("#status").inner_text()
    expect(page.locator(".results-head")).not_to_have_attribute("data-request-id", old_request or "")
    assert page.locator("#results.loading").count() == 0
    assert page.errors == []


def test_html_in_a_message_is_shown_as_text_and_no_good_answer_is_stored(open_as: Any, service: PageService) -> None:
    page = open_as("agent")
    page.fill("#message", HOSTILE_MESSAGE)
    page.keyboard.press("Control+Enter")
    page.wait_for_selector(".results-head")
    echo = page.locator(".message-echo")
    assert echo.inner_text() == HOSTILE_MESSAGE
    assert echo.locator("img, b").count() == 0
    assert page.evaluate("window.__xss === undefined")
    request_id = page.locator(".results-head").get_attribute("data-request-id")
    page.click("form.nga button")
    expect(page.locator("form.nga .done")).to_contain_text("opgeslagen")
    assert [r["action"] for r in service.feedback_rows() if r["request_id"] == request_id] == ["no_good_answer"]
    assert page.errors == []


def test_the_hostile_article_renders_inert(open_as: Any) -> None:
    page = open_as("editor")
    page.goto("/editor")
    page.select_option("#f-type", "faq")
    page.click(".filters button[type=submit]")
    page.wait_for_url(re.compile(r"type=faq"))
    page.click(f"a[href='/editor/articles/{HOSTILE_ID}']")
    page.wait_for_selector("#article-body")
    page.hover("#article-body")
    for text in ("klik hier", "rauwe link"):  # link syntax that must not have become a link
        page.get_by_text(text, exact=False).first.click()
    page.mouse.move(200, 400)
    dom = page.evaluate("""() => ({
        scripts: [...document.scripts].map(s => s.getAttribute('src')),
        onAttrs: [...document.querySelectorAll('*')].flatMap(e => [...e.attributes].map(a => a.name))
                   .filter(n => n.toLowerCase().startsWith('on')),
        badLinks: [...document.querySelectorAll('[href],[src],[action]')]
                   .map(e => e.getAttribute('href') || e.getAttribute('src') || e.getAttribute('action'))
                   .filter(u => /^\\s*(javascript|data|vbscript):/i.test(u)),
        embedded: document.querySelectorAll('#article-body img, #article-body iframe, #article-body svg').length,
        links: [...document.querySelectorAll('#article-body a')].map(a => a.href),
        xss: window.__xss,
        url: location.pathname,
    })""")
    assert dom["scripts"] == ["/static/pages.js"]
    assert dom["onAttrs"] == [] and dom["badLinks"] == [] and dom["embedded"] == 0
    assert dom["links"] == ["https://example.org/veilig"]
    assert dom["xss"] is None and dom["url"] == f"/editor/articles/{HOSTILE_ID}"
    assert "<script>" in page.locator("h1").inner_text()  # the title shows its markup as text
    shoot(page, "editor-article")
    page.goto("/editor")
    shoot(page, "editor-list")
    assert page.errors == []


def test_an_editor_sees_changes_since_the_index_and_reindexes(open_as: Any, service: PageService) -> None:
    edited = service.site.articles / "nl" / "suiker-voedt-kanker.md"
    text = edited.read_text(encoding="utf-8")
    edited.write_text(text.replace("## Tips voor de medewerker", "Een nieuwe zin van de redactie.\n\n"
                                   "## Tips voor de medewerker"), encoding="utf-8")  # in the background: embedded
    page = open_as("editor")
    page.goto("/editor/index")
    assert "nl/suiker-voedt-kanker.md" in page.locator(".changed").inner_text()
    shoot(page, "editor-index")
    page.click("form.reindex button")
    page.wait_for_selector(".alert.ok")
    outcome = page.locator(".alert.ok").inner_text()
    assert "Opnieuw geïndexeerd" in outcome
    errors = page.locator(".alert.warn li.error").all_inner_texts()
    assert errors and all(e.startswith(f"nl/{BROKEN_FILE}:") for e in errors)  # only the broken article is left out
    assert re.search(r"\b[1-9]\d* nieuw berekend", outcome), outcome
    assert "niet-gecommitte wijzigingen" in page.locator("dl.kv").inner_text()
    shoot(page, "editor-index-after")
    assert page.errors == []


def test_flagged_messages_are_listed_as_articles_to_write(open_as: Any, service: PageService) -> None:
    html_message = "<i>waar</i> kan ik een <script>window.__xss='gap'</script> collectebus ophalen"
    with httpx.Client(base_url=service.url, headers=service.headers("agent"), timeout=30) as api:
        for message in ("mag mijn hond mee naar de lotgenotenbijeenkomst", "mag ik mijn hond meenemen naar jullie "
                        "bijeenkomst voor lotgenoten?", html_message):
            rid = api.post("/v1/suggest", json={"message": message}).json()["request_id"]
            assert api.post("/v1/feedback", json={"request_id": rid, "action": "no_good_answer"}).status_code == 201
    page = open_as("editor")
    page.goto("/editor/gaps")
    first = page.locator(".gap").first
    assert "hond" in first.inner_text() and "2×" in first.locator(".count-badge").inner_text()
    assert html_message in page.locator(".gaps").inner_text()  # shown as text
    assert page.locator(".gaps i, .gaps script").count() == 0 and page.evaluate("window.__xss === undefined")
    shoot(page, "editor-gaps")
    assert page.errors == []


def test_a_qa_lead_reads_the_latest_report_and_an_agent_may_not(open_as: Any) -> None:
    page = open_as("qa")
    assert page.url.endswith("/qa")
    assert page.locator(".report").count() == 2  # the latest golden and paraphrase runs; the older in the table
    report = page.locator(".report").filter(has_text="Golden")
    assert "Golden messages <b>proef</b>" in report.locator("h2").inner_text()
    assert report.locator(".figure.below").get_attribute("data-figure") == "hit@1"
    assert report.locator(".figure.below").inner_text().startswith("juist artikel bovenaan")
    assert page.locator("table.list tbody tr").count() == 3
    shoot(page, "qa")
    report.locator("text=Open rapport").click()
    page.wait_for_url(re.compile(r"/qa/reports/golden/golden\.html$"))
    assert "<script>alert(1)</script>" in page.locator("table").inner_text()
    assert page.evaluate("document.scripts.length") == 0
    shoot(page, "qa-report")
    agent = open_as("agent")
    agent.goto("/qa")
    assert "Geen toegang" in agent.locator("h1").inner_text()
    shoot(agent, "forbidden")
    agent.goto("/login")
    shoot(agent, "login")
    assert page.errors == []
