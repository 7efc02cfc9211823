"""The agent page through a real shift (issue 26, points 1-4), in headless Chromium against a real `kb serve`, at
laptop (1366x900) and phone (390x844) width: the agent's own sign-off, tiers that tell one story, drafts in view,
feedback that does not mislead the figures, Dutch for the agent's own mistakes, and context for screen readers."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import SCREENSHOTS, PageService, browser_missing, shoot

_missing = browser_missing()
if _missing:  # loud: the reason is in the -ra summary of every run
    pytest.skip(_missing, allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402  # only once we know playwright is there

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
SUGAR = "klopt het dat suiker kanker voedt? mn schoonmoeder zegt dat ik moet stoppen met fruit"
CALLS = ("Jullie blijven me maar bellen voor een donatie, ik word er gek van. Hoe zorg ik dat jullie me niet meer "
         "bellen?")  # telefonische-werving: past its review date in the test site
FOOTBALL = "Wie wint er zondag, Ajax of Feyenoord? ⚽⚽"
#: A long personal story with the question in the middle, the way people write on Facebook (about 2,900 chars).
STORY = ("Ik wil even mijn verhaal kwijt, want ik weet het niet meer. Mijn schoonmoeder is vorig jaar ziek geworden "
         "en sindsdien leest de hele familie alles wat los en vast zit op internet. " * 12
         + SUGAR + ". " + "Ze eet al maanden geen fruit meer en valt steeds verder af; wij maken ons zorgen. " * 10)


def ask(page: Any, message: str, *, channel: str = "x", signature: str = "") -> Any:
    """Send a message as an agent does (Ctrl+Enter) and wait for the new answer; the first suggestion."""
    before = page.locator(".results-head").get_attribute("data-request-id") if page.locator(
        ".results-head").count() else None
    page.fill("#message", message)
    page.select_option("#channel", channel)
    page.fill("#agent_signature", signature)
    page.press("#message", "Control+Enter")
    page.wait_for_function("(before) => { const h = document.querySelector('.results-head'); return h && "
                           "h.dataset.requestId !== before && !document.querySelector('#results.loading'); }",
                           arg=before)
    return page.locator(".suggestion").first


def request_id(page: Any) -> str:
    return str(page.locator(".results-head").get_attribute("data-request-id"))


def in_view(page: Any, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    size = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + min(box["height"], 120) <= size["height"]


# --- 1. the sign-off ---------------------------------------------------------------------------------------


def test_1_the_agents_sign_off_comes_out_exactly_as_given(open_as: Any) -> None:
    page = open_as("agent")
    for sign_off in ("^SA", "SA"):
        ask(page, SUGAR, channel="x", signature=sign_off)
        drafts = page.locator("textarea.draft").evaluate_all("areas => areas.map(a => a.value)")
        assert drafts and all(d.endswith(f" {sign_off}") and "^HG" not in d for d in drafts), drafts
    field = page.locator("#agent_signature")
    assert "^SA" in (field.get_attribute("placeholder") or "")  # the field says what it expects
    ask(page, SUGAR, channel="facebook", signature="^SA")
    assert page.locator("textarea.draft").first.input_value().endswith(", ^SA")
    shoot(page, "agent-sign-off")
    assert page.errors == []


# --- 2. tiers and numbers tell one story ---------------------------------------------------------------------


def test_2_a_capped_tier_says_why_and_no_raw_number_contradicts_it(open_as: Any) -> None:
    page = open_as("agent")
    first = ask(page, "suiker voedt kanker")  # three words: never high, whatever the score
    badge = first.locator(".badge")
    expect(badge).to_contain_text("middel — kort bericht, lees mee")
    first = ask(page, CALLS, channel="facebook")
    assert first.get_attribute("data-article-id") == "telefonische-werving"
    expect(first.locator(".badge")).to_contain_text("middel — review verlopen")
    badges = page.locator(".suggestion .badge").all_inner_texts()
    assert any(b.startswith("laag") for b in badges), badges  # a low tier exists
    shoot(page, "agent-tiers")
    for text in [*badges, ask(page, SUGAR).locator(".badge").inner_text()]:
        assert not re.search(r"\d[.,]\d", text), text  # the tier in words, no 0.00-1.00 beside it
    expect(page.locator(".suggestion .badge").first).to_have_text(re.compile(r"^hoog"))
    assert page.errors == []


# --- 3. drafts in view ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_3_after_a_long_message_the_first_draft_is_in_view_and_focused(open_as: Any, size: dict[str, int]) -> None:
    page = open_as("agent")
    page.set_viewport_size(size)
    first = ask(page, STORY, channel="facebook")
    assert first.get_attribute("data-article-id") == "suiker-voedt-kanker"
    echo = page.locator(".results-head .message-echo")
    assert len(echo.inner_text()) < 200 and echo.inner_text().endswith("…")  # the start, not all 2,900 characters
    assert not page.locator("details.echo").evaluate("d => d.open")
    assert in_view(page, ".suggestion textarea.draft"), "the first draft is below the fold"
    assert page.evaluate("document.activeElement.id") == "s1-title"  # a screen reader starts at the first one
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)  # what the agent sees right after asking
    page.screenshot(path=str(SCREENSHOTS / f"agent-long-message-{'phone' if size == PHONE else 'laptop'}-view.png"))
    page.locator("details.echo summary").click()  # the whole message is one click away
    expect(page.locator(".message-full")).to_have_text(STORY.strip())
    assert page.errors == []


def test_3_a_paste_over_the_limit_is_never_cut_and_says_so_in_dutch(open_as: Any) -> None:
    page = open_as("agent")
    page.set_viewport_size(PHONE)
    pasted = ("Dit is een heel lang bericht over suiker en kanker. " * 110)[:5199] + "?"
    page.evaluate("text => navigator.clipboard.writeText(text)", pasted)
    page.click("#message")
    page.keyboard.press("Control+V")
    assert len(page.locator("#message").input_value()) == 5200  # nothing cut off
    expect(page.locator("#message-count")).to_contain_text("5.200 / 5.000 tekens")
    over = page.locator("#message-over")
    expect(over).to_be_visible()
    expect(over).to_contain_text("Het bericht is 5.200 tekens; er passen er 5.000 in.")
    page.click("#suggest-button")
    expect(page.locator("#message")).to_be_focused()
    assert page.locator(".results-head").count() == 0 and page.locator("#status").inner_text() == ""  # not sent
    shoot(page, "agent-too-long")
    page.fill("#message", pasted[:4000])
    expect(over).to_be_hidden()
    expect(page.locator("#message-count")).to_contain_text("4.000 / 5.000 tekens")
    assert page.errors == []


# --- 4. feedback that does not mislead ----------------------------------------------------------------------------


def test_4_the_last_choice_wins_in_one_row_shows_as_pressed_and_can_be_taken_back(
        open_as: Any, service: PageService) -> None:
    page = open_as("agent")
    first = ask(page, SUGAR, channel="facebook")
    rid, article = request_id(page), first.get_attribute("data-article-id")
    buttons = {a: first.locator(f"button[value={a}]") for a in ("used", "edited", "rejected")}

    def stored() -> list[tuple[str, str | None, str | None]]:
        return [(r["action"], r["final_text"], r.get("source")) for r in service.feedback_rows()
                if r["request_id"] == rid and r["article_id"] == article]

    buttons["used"].click()
    expect(first.locator(".done")).to_contain_text("Gebruikt opgeslagen")
    buttons["rejected"].click()
    expect(first.locator(".done")).to_contain_text("Afgewezen opgeslagen")
    assert stored() == [("rejected", None, "page")]
    expect(buttons["rejected"]).to_have_attribute("aria-pressed", "true")
    expect(buttons["used"]).to_have_attribute("aria-pressed", "false")

    buttons["edited"].click()  # the draft as offered was not what was sent: the agent pastes what was
    sent = first.locator("textarea.sent")
    expect(sent).to_be_visible()
    expect(sent).to_be_focused()
    reply = "Hoi! Nee hoor, suiker voedt kanker niet. Fruit mag gewoon. ^SA"
    sent.fill(reply)
    first.locator("button.save-edited").click()
    expect(first.locator(".done")).to_contain_text("Aangepast opgeslagen")
    assert stored() == [("edited", reply, "page")]
    assert [b.get_attribute("aria-pressed") for b in buttons.values()] == ["false", "true", "false"]
    shoot(page, "agent-feedback")

    buttons["edited"].click()  # the active choice again: taken back
    expect(first.locator(".done")).to_contain_text("Keuze ingetrokken")
    assert stored() == []
    assert [b.get_attribute("aria-pressed") for b in buttons.values()] == ["false", "false", "false"]

    draft = first.locator("textarea.draft")  # edited in place, then "Aangepast": the edited text is stored
    draft.fill(draft.input_value().replace("Hoi", "Hallo"))
    buttons["edited"].click()
    expect(first.locator(".done")).to_contain_text("Aangepast opgeslagen")
    assert stored() == [("edited", draft.input_value(), "page")] and draft.input_value().startswith("Hallo")
    assert page.errors == []


def test_4_an_edited_x_draft_over_280_is_flagged_and_the_limit_follows_the_channel(open_as: Any,
                                                                                   service: PageService) -> None:
    page = open_as("agent")
    first = ask(page, SUGAR, channel="x")
    draft, count = first.locator("textarea.draft"), first.locator("#draft-1-count")
    long = draft.input_value() + " Meer uitleg over suiker, fruit en kanker voor wie het wil weten." * 3
    draft.fill(long)
    expect(count).to_contain_text("/ 280 tekens — te lang voor X (Twitter)")
    first.locator("button[value=edited]").click()
    expect(first.locator(".done")).to_contain_text("Aangepast opgeslagen. Let op:")
    expect(first.locator(".done")).to_contain_text("langer dan X (Twitter) toestaat (280)")
    assert [r["final_text"] for r in service.feedback_rows() if r["request_id"] == request_id(page)] == [long]
    shoot(page, "agent-over-limit")

    page.select_option("#channel", "facebook")  # after the results: the limit shown follows
    expect(count).to_contain_text("/ 1500 tekens")
    expect(count.locator(".over-note")).to_be_hidden()
    expect(page.locator(".channel-changed")).to_be_visible()
    expect(page.locator(".channel-changed")).to_contain_text("voor X (Twitter) geschreven")
    page.select_option("#channel", "x")
    expect(count).to_contain_text("/ 280 tekens — te lang voor X (Twitter)")
    expect(page.locator(".channel-changed")).to_be_hidden()
    assert page.errors == []


def test_4_without_suggestions_only_the_no_match_prompt_asks_for_a_report(open_as: Any,
                                                                         service: PageService) -> None:
    page = open_as("agent")
    ask(page, FOOTBALL)
    assert page.locator(".suggestion").count() == 0
    assert "Past geen van deze" not in page.locator("#results").inner_text()
    prompt = page.locator(".no-match")
    expect(prompt).to_contain_text("Geen passend artikel gevonden")
    expect(prompt.locator(".choose-search input[name=q]")).to_be_visible()  # first: search the right article
    prompt.locator("button[value=no_good_answer]").click()
    expect(prompt.locator(".done")).to_contain_text("opgeslagen")
    assert [r["action"] for r in service.feedback_rows() if r["request_id"] == request_id(page)] == ["no_good_answer"]
    shoot(page, "agent-no-match")
    assert page.locator(".outside-subject").count() == 0  # football is off-topic, but no listed subject is nearer
    ask(page, "Is epilepsie erfelijk? Mijn broer heeft het.")  # articles/_outside.md: other conditions
    expect(page.locator(".no-match .outside-subject")).to_contain_text("Dit valt buiten ons terrein: Andere ziekten")
    ask(page, SUGAR)
    # with suggestions it is under them: the search for the right article, then the report
    expect(page.locator(".choose")).to_contain_text("Past geen van deze?")
    expect(page.locator(".choose .choose-search")).to_be_visible()
    expect(page.locator(".choose form.nga button[value=no_good_answer]")).to_be_visible()
    assert page.errors == []


# --- Dutch and accessibility on the agent page --------------------------------------------------------------------


def test_the_agent_page_speaks_dutch_and_gives_screen_readers_context(open_as: Any) -> None:
    page = open_as("agent")
    assert "WhatsApp" in page.locator("#channel option[value=whatsapp]").inner_text()
    page.fill("#message", "   ")  # not empty to the browser, empty to us
    page.press("#message", "Control+Enter")
    expect(page.locator("#error")).to_have_text("Het bericht is leeg: plak het bericht van de klant.")
    page.errors[:] = [e for e in page.errors if "status of 422" not in e]  # the refusal itself, in the console
    first = ask(page, "does sugar feed cancer? my aunt says I should stop eating fruit", channel="whatsapp")
    assert first.get_attribute("data-article-id") == "sugar-feeds-cancer-en"
    assert first.locator("textarea.draft").get_attribute("lang") == "en"
    title = first.locator("h3 span").inner_text()
    for action, word in (("used", "Gebruikt"), ("edited", "Aangepast"), ("rejected", "Afgewezen")):
        assert first.locator(f"button[value={action}]").get_attribute("aria-label") == f"{word}: {title}"
    assert "WhatsApp" in page.locator(".results-head").inner_text()
    meta = first.locator(".meta").inner_text()
    assert "bewering: misleidend" in meta or "bewering: onjuist" in meta, meta  # the claim is judged, in Dutch
    assert page.errors == []
