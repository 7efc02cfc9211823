"""The Chatwoot sidebar in Chromium, inside a page that plays Chatwoot's side (tests/chatwoot/fake.py `dashboard`:
a conversation and the dashboard app in a 400 px frame, sent `appContext` exactly as Chatwoot's Frame.vue does).
Chatwoot and Kennisbank are different sites here (127.0.0.1 and localhost), so the frame is a third-party one: the
pages' SameSite=Strict cookie is not sent into it, and the sidebar signs in by itself."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from api.sql.schema import feedback, inbox_messages
from tests.browser.a11y import axe_path, describe, serious_violations
from tests.browser.conftest import SCREENSHOTS
from tests.chatwoot.fake import FakeChatwoot
from tests.chatwoot.serving import KbServer, serve_kb, wait_for

SUGAR = "klopt het dat suiker kanker voedt?? mn schoonmoeder zegt dat ik moet stoppen met fruit"
FIVE_G = "Is die 5G mast naast de school gevaarlijk voor mijn kinderen? Ik lees overal dat het kanker geeft"
FRAME = "#dashboard-app--frame-0-0"
LAPTOP = {"width": 1366, "height": 860}


@pytest.fixture()
def chatwoot(sample_engine: Any, tmp_path: Path) -> Iterator[tuple[FakeChatwoot, KbServer]]:
    fake = FakeChatwoot().start()
    kb = serve_kb(sample_engine, tmp_path / "data", host="localhost")  # another site than Chatwoot's 127.0.0.1
    try:
        kb.connect(fake)
        yield fake, kb
    finally:
        kb.stop()
        fake.stop()
    assert fake.violations == []


def _sidebar(page: Any) -> Any:
    return wait_for(lambda: page.frame(url=re.compile(r"/integrations/chatwoot/sidebar")), 15)


def test_the_sidebar_works_inside_chatwoots_frame(browser: Any, chatwoot: tuple[FakeChatwoot, KbServer]) -> None:
    fake, kb = chatwoot
    fake.incoming(4700, FIVE_G)  # an earlier message Chatwoot has, whose delivery never reached Kennisbank
    fake.deliver(fake.webhook_url, fake.incoming(4711, SUGAR), secret=fake.secret)
    wait_for(lambda: fake.notes)
    noted = kb.db.read(select(inbox_messages.c.request_id).where(inbox_messages.c.message_id == "4711"))[0]
    key = kb.db.add_key("agent", name="Anna de Vries")[0]

    context = browser.new_context(viewport=LAPTOP, locale="nl-NL")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=fake.url)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "status of 40" not in m.text
            else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{fake.url}/app/accounts/1/conversations/17")
    frame = page.frame_locator(FRAME)

    # Signing in inside the frame: no cookie of Kennisbank's reaches a third-party frame.
    frame.locator("#sign-in").wait_for()
    assert not frame.locator("#sign-out").is_visible() and not frame.locator("#work").is_visible()
    page.locator(FRAME).screenshot(path=str(_shot("chatwoot-sidebar-sign-in")))
    frame.locator("#key").fill(key)
    frame.locator("#sign-in button[type=submit]").click()
    frame.locator(".suggestion").first.wait_for(timeout=30_000)

    # The latest customer's message, read from what Chatwoot signed: the note's own request, shown again.
    assert frame.locator("#message-pick").input_value() == "4711"
    assert frame.locator(".source").inner_text() == "Bericht zoals Chatwoot het stuurde"
    first = frame.locator(".suggestion").first
    assert first.get_attribute("data-article-id") == "suiker-voedt-kanker"
    assert frame.locator(".results-head").get_attribute("data-request-id") == noted["request_id"]
    assert "Hoi Ria" in first.locator("textarea.draft").input_value()
    sidebar = _sidebar(page)
    assert sidebar.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # fits ~400 px
    assert sidebar.evaluate("window.innerWidth") <= 400
    page.screenshot(path=str(_shot("chatwoot-sidebar")))
    page.locator(FRAME).screenshot(path=str(_shot("chatwoot-sidebar-drafts")))

    # Copy (Chatwoot's frame grants no clipboard permission: the fallback copies), then say it was used.
    first.locator("button.copy").click()
    wait_for(lambda: "Gekopieerd" in first.locator(".done").inner_text(), 5)
    assert page.evaluate("navigator.clipboard.readText()") == first.locator("textarea.draft").input_value()
    first.locator('button[data-action="used"]').click()
    wait_for(lambda: "opgeslagen" in first.locator(".done").inner_text(), 5)
    rows = kb.db.read(select(feedback.c.request_id, feedback.c.action, feedback.c.article_id))
    assert rows == [{"request_id": noted["request_id"], "action": "used", "article_id": "suiker-voedt-kanker"}]

    # The agent picks the earlier message: Chatwoot's own API has it.
    frame.locator("#message-pick").select_option("4700")
    wait_for(lambda: frame.locator(".source").inner_text() == "Bericht opgehaald uit Chatwoot", 30)
    assert "5g" in frame.locator(".suggestion").first.get_attribute("data-article-id")

    # A context that does not come from the connected Chatwoot is not read.
    sidebar.evaluate("""window.postMessage(JSON.stringify({event: "appContext", data: {conversation: {id: 99,
        messages: [{id: 1, message_type: 0, private: false, content: "iets anders"}]}}}), "*")""")
    page.wait_for_timeout(500)
    assert frame.locator("#message-pick option").evaluate_all("os => os.map(o => o.value)") == ["4700", "4711"]

    # Another conversation in Chatwoot: the sidebar follows it.
    fake.incoming(4750, "Mag ik met kanker nog naar de zonnebank?", conversation_id=18)
    page.evaluate(f"window.switchTo({__import__('json').dumps(fake.app_context(18))})")
    wait_for(lambda: frame.locator("#message-pick").input_value() == "4750", 15)

    # This incognito context blocks a third-party frame's storage (as Chromium does): a reload asks to sign in
    # again; where the browser partitions storage instead (Chrome's default), the tab stays signed in.
    stored = sidebar.evaluate("(() => { try { return !!sessionStorage; } catch (e) { return false; } })()")
    page.reload()
    if stored:
        frame.locator(".suggestion").first.wait_for(timeout=30_000)
    else:
        frame.locator("#sign-in").wait_for()
        frame.locator("#key").fill(key)
        frame.locator("#sign-in button[type=submit]").click()
        frame.locator(".suggestion").first.wait_for(timeout=30_000)
    token = _sidebar(page).evaluate("document.getElementById('who').textContent")
    assert token == "Anna de Vries"
    frame.locator("#sign-out").click()
    frame.locator("#sign-in").wait_for()
    assert errors == []
    context.close()


def test_the_agent_searches_in_the_sidebar_and_chooses_the_article_the_suggestions_missed(
        browser: Any, chatwoot: tuple[FakeChatwoot, KbServer]) -> None:
    fake, kb = chatwoot
    fake.incoming(4711, SUGAR)
    key = kb.db.add_key("agent", name="Anna de Vries")[0]
    context = browser.new_context(viewport=LAPTOP, locale="nl-NL")
    page = context.new_page()
    page.goto(f"{fake.url}/app/accounts/1/conversations/17")
    frame = page.frame_locator(FRAME)
    frame.locator("#key").fill(key)
    frame.locator("#sign-in button[type=submit]").click()
    frame.locator(".suggestion").first.wait_for(timeout=30_000)
    assert not re.search(r"\d[.,]\d", frame.locator(".suggestion .badge").first.inner_text())  # a tier, no score
    request_id = frame.locator(".results-head").get_attribute("data-request-id")

    search = frame.locator(".choose-search input[name=q]")
    search.fill("5G")
    search.press("Enter")
    pick = frame.locator('.choose-pick[data-article-id="5g-kanker"]')
    button = pick.locator('button[data-action="chosen"]')
    button.wait_for(timeout=15_000)
    button.click()
    wait_for(lambda: "Gekozen opgeslagen" in pick.locator(".done").inner_text(), 5)
    assert button.get_attribute("aria-pressed") == "true"
    rows = kb.db.read(select(feedback.c.action, feedback.c.article_id, feedback.c.source)
                      .where(feedback.c.request_id == request_id))
    assert rows == [{"action": "chosen", "article_id": "5g-kanker", "source": "chatwoot"}]
    page.locator(FRAME).screenshot(path=str(_shot("chatwoot-sidebar-choose")))
    if isinstance(axe_path(), Path):  # the sidebar with its drafts and search results, as axe-core sees it
        problems = serious_violations(_sidebar(page))
        assert problems == [], describe(problems)
    context.close()


def test_no_other_site_can_frame_the_sidebar(browser: Any, chatwoot: tuple[FakeChatwoot, KbServer]) -> None:
    fake, _ = chatwoot
    other = FakeChatwoot().start()  # another origin, framing the same app URL
    other.dashboard_apps = fake.dashboard_apps
    try:
        context = browser.new_context(viewport=LAPTOP)
        page = context.new_page()
        page.goto(f"{other.url}/app/accounts/1/conversations/17")
        page.wait_for_timeout(1500)
        framed = [f for f in page.frames if f != page.main_frame]
        assert framed and all("/integrations/chatwoot/sidebar" not in f.url or
                              not f.evaluate("!!document.getElementById('sign-in')") for f in framed)
        context.close()
    finally:
        other.stop()


def _shot(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"
