"""`kb lint` and the parser: every problem as path:line: message, one bad file never hides the others."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.cli import main
from kb.corpus import load_corpus
from kb.parsing import parse_bytes

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MIXED = FIXTURES / "mixed"

EXPECTED = """\
{d}/bad-related.md:12: related: no article with id 'bestaat-niet'
{d}/bad-type.md:3: type: unknown value 'blog'; input should be 'fact-check', 'rebuttal', 'policy' or 'faq'
{d}/bad-url.md:13: sources[0].url: URL scheme should be 'http' or 'https'
{d}/bad-yaml.md:6: invalid YAML in front matter: expected ',' or ']', but got ':'
{d}/empty-body.md:15: missing section: ## Achtergrond / ## Background
{d}/empty-body.md:15: missing section: ## Antwoord / ## Answer
{d}/good-faq.md:2: duplicate id 'good-faq' (also used by {d}/dup-id.md)
{d}/no-answer.md:15: missing section: ## Antwoord / ## Answer
{d}/no-answer.md:16: warning: unknown section heading 'Inleiding' (ignored); expected Antwoord, Kort antwoord, \
Achtergrond, Tips voor de medewerker (or Answer, Short answer, Background, Guidance)
{d}/no-sources.md:3: sources: a rebuttal needs at least one source
{d}/not-utf8.md:18: not valid UTF-8 (save the file as UTF-8)
{d}/stale-faq.md:13: warning: review_by 2026-01-01 is in the past: review this article
{d}/two-errors.md:1: missing required field: owner
{d}/two-errors.md:6: status: unknown value 'publsihed'; input should be 'draft', 'published' or 'retired'
"""

pytestmark = pytest.mark.unit


def test_lint_prints_every_problem_with_path_and_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["lint", str(MIXED)])
    out = capsys.readouterr().out
    assert out == EXPECTED.format(d=MIXED)
    assert code == 1


def test_good_articles_survive_their_broken_neighbours() -> None:
    corpus = load_corpus(MIXED)
    assert sorted(corpus.articles) == ["bad-related", "good-faq", "good-rebuttal", "stale-faq"]
    # dup-id.md sorts first, so it keeps the id and good-faq.md is reported as the duplicate
    assert corpus.articles["good-faq"].path.endswith("dup-id.md")
    assert len(corpus.errors) == 12


def test_warnings_alone_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(MIXED / "stale-faq.md")]) == 0
    assert "warning: review_by 2026-01-01 is in the past" in capsys.readouterr().out


def test_yaml_false_verdict_stays_a_verdict_not_a_boolean() -> None:
    result = parse_bytes((MIXED / "good-rebuttal.md").read_bytes(), "x.md")
    assert result.article is not None
    assert result.article.meta.verdict == "false"


def test_sections_are_found_by_dutch_or_english_headings() -> None:
    nl = parse_bytes((MIXED / "good-faq.md").read_bytes(), "nl.md").article
    en = parse_bytes((MIXED / "good-rebuttal.md").read_bytes(), "en.md").article
    assert nl is not None and en is not None
    assert nl.sections.answer.startswith("Leuk dat je wilt helpen")
    assert en.sections.short_answer == "No, baking soda does not cure cancer."
    assert en.lines["section:background"] == 28


def test_markdown_in_an_answer_becomes_plain_text() -> None:
    raw = (MIXED / "good-faq.md").read_text().replace(
        "Je meldt je aan via het formulier op onze website.",
        "Je meldt je *snel* aan via [het formulier](https://x.example/form).\n\n- collecteren\n- webcare")
    article = parse_bytes(raw.encode(), "x.md").article
    assert article is not None
    assert article.sections.answer == ("Leuk dat je wilt helpen! Je meldt je snel aan via het formulier.\n\n"
                                       "- collecteren\n- webcare")


def test_missing_front_matter_is_reported_on_line_one() -> None:
    result = parse_bytes(b"# Just a title\n\nSome text\n", "plain.md")
    assert result.article is None
    assert [str(p) for p in result.problems] == ["plain.md:1: missing front matter: start the file with a '---' line"]


def test_broken_template_is_a_lint_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    articles = tmp_path / "articles"
    (articles / "_templates").mkdir(parents=True)
    (articles / "good-faq.md").write_bytes((MIXED / "good-faq.md").read_bytes())
    templates = Path(__file__).resolve().parents[2] / "articles" / "_templates"
    for t in templates.glob("*.j2"):
        (articles / "_templates" / t.name).write_text(t.read_text())
    (articles / "_templates" / "x.nl.j2").write_text("Hoi {{ customer_name }\n{{ answer }}\n")
    assert main(["lint", str(articles)]) == 1
    out = capsys.readouterr().out
    assert f"{articles}/_templates/x.nl.j2:1: template syntax error" in out
