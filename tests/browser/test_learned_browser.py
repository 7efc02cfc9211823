"""Choosing an article the suggestions missed, and the editor's page of learned phrasings, in headless Chromium
against a real `kb serve`."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import PageService, browser_missing, shoot

_missing = browser_missing()
if _missing:  # loud: the reason is in the -ra summary of every run
    pytest.skip(_missing, allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402  # only once we know playwright is there

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

COFFEE = "koffie via je achterwerk tegen kanker... mn collega zweert erbij. iemand ervaring mee of is het kwakzalverij?"
GERSON = "gerson-therapy-coffee-enemas"


def test_an_agent_searches_and_chooses_the_article_then_an_editor_approves_it(open_as: Any,
                                                                               service: PageService) -> None:
    page = open_as("agent")
    page.fill("#message", COFFEE)
    page.press("#message", "Control+Enter")
    page.wait_for_selector(".results-head")
    assert GERSON not in [page.locator(".suggestion").nth(i).get_attribute("data-article-id")
                          for i in range(page.locator(".suggestion").count())]
    request_id = page.locator(".results-head").get_attribute("data-request-id")
    page.fill(".choose-search input[name=q]", "koffie klysma")
    page.press(".choose-search input[name=q]", "Enter")
    pick = page.locator(f".choose-pick:has(input[value='{GERSON}'])")
    expect(pick).to_be_visible()
    button = pick.locator("button[value=chosen]")

    def stored() -> list[tuple[str, str]]:
        return [(r["action"], r["article_id"]) for r in service.feedback_rows() if r["request_id"] == request_id]

    button.click()  # one choice, shown pressed, like a suggestion's
    expect(pick.locator(".done")).to_contain_text("opgeslagen")
    expect(button).to_have_attribute("aria-pressed", "true")
    assert stored() == [("chosen", GERSON)]
    button.click()  # clicked again: taken back
    expect(pick.locator(".done")).to_contain_text("ingetrokken")
    expect(button).to_have_attribute("aria-pressed", "false")
    assert stored() == []
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    assert stored() == [("chosen", GERSON)]
    shoot(page, "agent-choose")
    assert page.errors == []

    editor = open_as("editor")
    editor.goto("/editor/learned")
    card = editor.locator(f".learned-article:has(a[href='/editor/articles/{GERSON}'])")
    expect(card).to_contain_text("koffie via je achterwerk")
    expect(card.locator(".badge")).to_contain_text("voorgesteld")
    shoot(editor, "editor-learned")
    card.locator("button[value=approve]").click()
    expect(editor.locator(".alert.ok")).to_contain_text("Goedgekeurd")
    expect(editor.locator(f".learned-article:has(a[href='/editor/articles/{GERSON}']) .badge")).to_contain_text(
        "goedgekeurd")
    assert editor.errors == []
