"""Issue 26, point 6, in headless Chromium against a real `kb serve`: QA figures a lead can act on. Reports are
written by the real writers (eval.golden, eval.paraphrase, eval.agents + eval.agents_report) from outcomes made
here, so each situation is certain: a tier nobody got, an ungated figure of 0.203, a reply flagged for low agreement,
long article ids in the confusion matrix. The page shows each minimum beside its figure, explains alpha and
agreement, says "–" and why where nothing was measured, never wears a green "ok" over an ungated bad figure, words
flags in Dutch with their threshold, labels per-week cells on a phone, shows whole dates in its date inputs at
1366 px; the paraphrase report charts the probability the tiers cut, with every confusion label whole."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest

from eval.agents import LOW_AGREEMENT, Checked, consistency, per_period
from eval.agents_report import agents_headline, agents_sections
from eval.golden import GoldenItem, golden_headline, golden_sections, summarise
from eval.paraphrase import paraphrase_headline, paraphrase_sections
from eval.report import write_report
from tests.browser.conftest import PageService, browser_missing, shoot
from tests.conftest import HIT1_MINIMUM

_missing = browser_missing()
if _missing:  # loud: the reason is in the -ra summary of every run
    pytest.skip(_missing, allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402  # only once we know playwright is there

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

LONG_A, LONG_B = "bevolkingsonderzoek-baarmoederhalskanker", "chemotherapie-doet-meer-kwaad-dan-goed-lange-id"
CUTS = {"high": 0.84, "medium": 0.14, "low (below: no match)": 0.14}


def _item(n: int, split: str, expected: str | None, shown: str | None, tier: str | None, p: float) -> GoldenItem:
    return GoldenItem(f"g-{n}", f"bericht {n}", "nl", "", split, "golden", expected, "fact-check" if expected else None,
                      [shown or "x"], 0.9, [shown] if shown else [], tier, shown is None, p)


def _golden(out: Any) -> None:
    """The test split: nothing got `high` (so 'high right' has nothing to measure), one no-match message."""
    items = [_item(i, "test", "suiker-voedt-kanker", "suiker-voedt-kanker", "medium", 0.6) for i in range(6)]
    items += [_item(10, "test", None, None, None, 0.05), _item(11, "test", LONG_A, LONG_B, "low", 0.2)]
    items += [_item(20 + i, "dev", "suiker-voedt-kanker", "suiker-voedt-kanker", "high", 0.9) for i in range(3)]
    summary = summarise(items)
    write_report(out / "golden", "golden", "Golden messages (kunstmatig)", headline=golden_headline(summary),
                 data=summary, sections=golden_sections(summary, CUTS))


def _outcome(text: str, article: str | None, tier: str | None, p: float, score: float) -> dict[str, Any]:
    return {"text": text, "article": article, "tier": tier, "draft": None, "ranked_top": article or "x",
            "score": score, "probability": p}


def _paraphrase(out: Any) -> None:
    """Same article and tier in 1 of 5 groups (0.2, no minimum), texts and perturbations above their minimums."""
    rows = []
    for g in range(5):
        tiers = ["medium"] * 3 if g == 0 else ["medium", "medium", "low"]
        outcomes = [_outcome(f"tekst {g}-{i}", LONG_A, t, 0.5, 1.05) for i, t in enumerate(tiers)]
        if g == 4:
            outcomes.append(_outcome("een lange parafrase", LONG_B, "low", 0.2, 1.056))
        rows.append({"group": f"groep-{g}", "expected": LONG_A, "language": "nl", "same_article": g != 4,
                     "same_article_and_tier": g == 0, "same_draft": g == 0, "all_expected": g != 4,
                     "consistency": 1.0 if g != 4 else 0.75, "outcomes": outcomes})
    groups = {"n": 5, "same_article": 0.8, "same_article_and_tier": 0.2, "same_draft": 0.2, "all_expected": 0.8,
              "texts_expected": 15 / 16, "inconsistent": [r for r in rows if not r["same_article_and_tier"]],
              "groups": rows}
    perturbed = {"n": 10, "unchanged": 0.95, "by_kind": {"typo": {"n": 10, "unchanged": 0.95}}, "changed": []}
    write_report(out / "paraphrase", "paraphrase", "Paraphrase invariance (kunstmatig)",
                 headline=paraphrase_headline(groups, perturbed, None),
                 data={"groups": groups, "perturbations": perturbed, "sick": None},
                 sections=paraphrase_sections(groups, perturbed, None, CUTS))


def _agents(out: Any) -> None:
    """Four agents on two topics in this week; Dirk's reply says something else (agreement 0.81 < 0.87)."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    checked = []
    for n, (agent, topic) in enumerate([("Anna", "suiker"), ("Bram", "suiker"), ("Cem", "anbi"), ("Anna", "anbi")]):
        checked.append(Checked(f"r-{n}", agent, topic, topic, "consistent", 0.93, True, [], message="vraag",
                               reply="antwoord", time=now))
    dirk = Checked("r-9", "Dirk", "suiker", "suiker", "consistent", 0.81, True, [], message="vraag",
                   reply="Iets heel anders.", time=now)
    dirk.flag("low_agreement", f"content agreement 0.81 with the approved answer, threshold {LOW_AGREEMENT:.2f}",
              value=0.81, threshold=LOW_AGREEMENT)
    checked.append(dirk)
    report = consistency(checked) | {"period": "week", "per_period": per_period(checked, "week")}
    write_report(out / "agents", "agents", "Agent consistency (kunstmatig)", headline=agents_headline(report),
                 data=report, sections=agents_sections(report))


@pytest.fixture(scope="module")
def reports(service: PageService) -> None:
    out = service.site.reports / "punt-6"
    _golden(out)
    _paraphrase(out)
    _agents(out)
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)).isoformat(timespec="seconds")
    for path in out.rglob("*.json"):  # newer than the site's own reports, written in the same second
        path.write_text(json.dumps({**json.loads(path.read_text(encoding="utf-8")), "created": later}),
                        encoding="utf-8")


def _card(page: Any, name: str) -> Any:
    return page.locator(f'section.report[data-name="{name}"]')


def test_each_figure_stands_beside_its_minimum_and_nothing_measured_reads_as_a_dash_with_its_reason(
        open_as: Any, reports: None) -> None:
    page = open_as("qa")
    golden = _card(page, "golden")
    expect(golden.locator("h2")).to_have_text("Golden messages (kunstmatig)")
    hit = golden.locator('[data-figure="hit@1"]')
    assert "juist artikel bovenaan" in hit.inner_text() and f"minimum {HIT1_MINIMUM:.3f}" in hit.inner_text()
    high = golden.locator('[data-figure="high right"]')
    assert high.locator("b").inner_text() == "–" and "geen enkel bericht kreeg ‘hoog’" in high.inner_text()
    assert "0.000" not in golden.locator(".figures").inner_text()
    # The paraphrase card: its two minimums are met, but 'same article+tier' is 0.200 with no minimum at all.
    paraphrase = _card(page, "paraphrase")
    assert paraphrase.get_attribute("data-verdict") == "partly"
    assert paraphrase.locator(".badge.conf-high").count() == 0
    assert "ok" not in paraphrase.locator(".s-head").inner_text().split()
    assert "minimum 0.700" in paraphrase.locator('[data-figure="texts expected"]').inner_text()
    paraphrase.locator("details.explain summary").click()
    assert "dezelfde zekerheid" in paraphrase.locator("details.explain").inner_text()
    shoot(page, "qa-figures")
    assert page.errors == []


def test_alpha_and_agreement_are_explained_and_a_flag_shows_its_threshold(open_as: Any, reports: None) -> None:
    page = open_as("qa")
    section = page.locator("#consistentie")
    lines = section.locator("dl.explain-lines").inner_text()
    assert "gecorrigeerd voor toeval" in lines and "vanaf 0.80 betrouwbaar" in lines
    assert "0.90 of meer is goed" in lines
    assert "minimum 0.700" in section.locator('[data-figure="alpha"]').inner_text()
    week = section.locator("tr[data-period]").first
    week.locator("summary").click()
    flagged = week.locator(".flagged > li")
    expect(flagged).to_have_count(1)
    assert flagged.locator('[data-flag="low_agreement"]').inner_text() == "wijkt af"
    assert "overeenstemming met het goedgekeurde antwoord 0.81, grens 0.87" in flagged.inner_text()
    # On a phone each cell of a week's row says which column it is.
    page.set_viewport_size({"width": 390, "height": 844})
    labels = page.evaluate("""() => [...document.querySelectorAll('#consistentie tr[data-period] > td')]
        .map(td => getComputedStyle(td, '::before').content)""")
    assert labels[:5] == ['"Week: "', '"Antwoorden: "', '"Alpha: "', '"Overeenstemming: "', '"Gemarkeerd: "']
    shoot(page, "qa-consistency-explained")
    assert page.errors == []


def test_the_date_inputs_show_a_whole_date_at_laptop_width(open_as: Any) -> None:
    page = open_as("qa")
    page.set_viewport_size({"width": 1366, "height": 900})
    for selector in ("#agents-start", "#agents-end"):
        room = page.evaluate("""(sel) => { const input = document.querySelector(sel), s = getComputedStyle(input);
            const probe = document.createElement('span');
            probe.style.font = s.font; probe.style.position = 'absolute'; probe.textContent = '30-12-2026';
            document.body.appendChild(probe);
            const text = probe.getBoundingClientRect().width; probe.remove();
            const inner = input.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
            return {inner, text}; }""", selector)
        # the date, plus the calendar button Chromium draws at the right (about 20 px)
        assert room["inner"] >= room["text"] + 20, (selector, room)


def test_the_paraphrase_report_charts_the_probability_the_tiers_cut_with_whole_confusion_labels(
        open_as: Any, reports: None) -> None:
    page = open_as("qa")
    _card(page, "paraphrase").locator("a.button").click()
    page.wait_for_url(re.compile(r"/qa/reports/punt-6/paraphrase/paraphrase\.html$"))
    chart = page.locator("h2:has-text('Confidence distribution') + p + figure svg")
    expect(chart).to_have_count(1)
    cuts = chart.locator("line[stroke-dasharray]")
    assert cuts.count() == 2  # high, and medium = low (the shipped thresholds share 0.14)
    marks = " ".join(chart.locator("text").all_text_contents())
    assert "high 0.84" in marks and "medium = low (below: no match) 0.14" in marks
    axis = [float(t) for t in chart.locator("text").all_text_contents() if re.fullmatch(r"[01]\.\d\d", t)]
    assert max(axis) == 1.0 and min(axis) == 0.0  # the probability's own range, not the raw score's 0.30-1.06
    confusion = page.locator("h2:has-text('Which articles paraphrases get mixed up') ~ figure svg").first
    texts = confusion.locator("text").all_text_contents()
    assert LONG_A in texts and LONG_B in texts and not any(t.endswith("…") for t in texts)
    inside = page.evaluate("""(svg) => { const box = svg.getBoundingClientRect();
        return [...svg.querySelectorAll('text')].every(t => { const r = t.getBoundingClientRect();
            return r.left >= box.left - 1 && r.right <= box.right + 1 && r.top >= box.top - 1
                   && r.bottom <= box.bottom + 1; }); }""", confusion.element_handle())
    assert inside, "a confusion-matrix label reaches outside the chart (clipped)"
    shoot(page, "qa-paraphrase-report")
