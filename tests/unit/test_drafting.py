"""Drafts: templates per channel and language, length rules, and only approved words."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from kb.article import Article
from kb.channels import Channel
from kb.drafting import Drafter, clean_name, initials
from kb.errors import InvalidInput, TemplateError
from kb.parsing import parse_bytes

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "articles" / "_templates"
MIXED = ROOT / "tests" / "fixtures" / "mixed"

pytestmark = pytest.mark.unit


def article(name: str = "good-rebuttal.md", **replace: str) -> Article:
    text = (MIXED / name).read_text()
    for old, new in replace.items():
        text = text.replace(old, new)
    parsed = parse_bytes(text.encode(), name)
    assert parsed.article is not None, parsed.problems
    return parsed.article


@pytest.fixture(scope="module")
def drafter() -> Drafter:
    return Drafter(TEMPLATES)


def test_draft_has_greeting_answer_source_and_signature(drafter: Drafter) -> None:
    draft = drafter.draft(article(), Channel.FACEBOOK, customer_name="Sam", signature="Anna de Vries")
    assert draft.text.startswith("Hi Sam,")
    assert "No, baking soda does not cure cancer." in draft.text
    assert "https://www.cancer.gov/about-cancer/treatment/cam" in draft.text
    assert draft.text.endswith("Best wishes, Anna de Vries")
    assert draft.warnings == ()


def test_dutch_article_gets_the_dutch_template(drafter: Drafter) -> None:
    draft = drafter.draft(article("good-faq.md"), Channel.WHATSAPP)
    assert draft.text.startswith("Hoi!")
    assert "Groetjes, Team Hoop & Gezondheid" in draft.text


def test_x_draft_counts_every_url_as_23(drafter: Drafter) -> None:
    draft = drafter.draft(article(), Channel.X, signature="^AV")
    assert draft.text.endswith(" ^AV")
    assert draft.length == len(draft.text) - len("https://www.cancer.gov/about-cancer/treatment/cam") + 23


def test_long_answer_on_x_falls_back_to_the_short_answer(drafter: Drafter) -> None:
    long_answer = "No, baking soda does not cure cancer. " + "It is a myth that keeps coming back. " * 10
    a = article(**{"## Answer\n\nNo, baking soda does not cure cancer.": f"## Answer\n\n{long_answer}"})
    draft = drafter.draft(a, Channel.X)
    assert draft.used_short_answer
    assert draft.length <= 280
    assert "keeps coming back" not in draft.text
    assert drafter.draft(a, Channel.FACEBOOK).used_short_answer is False


def test_nothing_fits_gives_too_long_instead_of_a_cut(drafter: Drafter) -> None:
    long = "This sentence is long enough to matter. " * 10
    a = article(**{"## Short answer\n\nNo, baking soda does not cure cancer.": f"## Short answer\n\n{long}",
                   "## Answer\n\nNo, baking soda does not cure cancer.": f"## Answer\n\n{long}{long}"})
    draft = drafter.draft(a, Channel.X)
    assert draft.warnings == ("too_long",)
    assert draft.length > 280
    assert long.strip() in draft.text  # whole sentences, never cut


def test_customer_name_with_a_link_or_markup_is_left_out(drafter: Drafter) -> None:
    draft = drafter.draft(article(), Channel.FACEBOOK, customer_name="<script>x</script>")
    assert draft.text.startswith("Hi,")
    assert clean_name("Visit www.spam.example") is None
    assert clean_name("  Anna   de Vries ") == "Anna de Vries"


def test_initials_skip_dutch_particles() -> None:
    assert initials("Anna van der Berg") == "AB"
    assert initials(None) == "HG"


@pytest.mark.parametrize("sign_off", ["^SA", "SA", "Sanne", "Sanne de Boer", "^SA (webcare)"])
@pytest.mark.parametrize("channel", list(Channel))
def test_an_agents_sign_off_comes_out_exactly_as_given(drafter: Drafter, sign_off: str, channel: Channel) -> None:
    for name in ("good-rebuttal.md", "good-faq.md"):  # an English and a Dutch article
        text = drafter.draft(article(name), channel, signature=sign_off).text
        signed = [line for line in text.splitlines()[-2:] if line == sign_off or line.endswith(f" {sign_off}")]
        assert signed and f"^{sign_off}" not in text, (channel, text[-60:])  # e-mail: above the charity's name


def test_without_a_sign_off_x_signs_with_the_teams_and_the_rest_with_the_team_name(drafter: Drafter) -> None:
    assert drafter.draft(article(), Channel.X).text.endswith(" ^HG")
    assert drafter.draft(article("good-faq.md"), Channel.WHATSAPP).text.endswith("Groetjes, Team Hoop & Gezondheid")


def test_an_older_template_that_signs_with_initials_keeps_a_given_sign_off(tmp_path: Path) -> None:
    for t in TEMPLATES.glob("*.j2"):
        (tmp_path / t.name).write_text(t.read_text())
    (tmp_path / "x.en.j2").write_text("{{ answer }} ^{{ initials }}\n")  # as the sample templates were
    old = Drafter(tmp_path)
    for given, signed in (("^SA", "^SA"), ("SA", "^SA"), ("Anna de Vries", "^AV"), (None, "^HG")):
        assert old.draft(article(), Channel.X, signature=given).text.endswith(f" {signed}"), given


def test_draft_contains_only_article_and_template_words(drafter: Drafter) -> None:
    a = article()
    source = (TEMPLATES / "default.en.j2").read_text()
    literal = " ".join(value for _, kind, value in jinja2.Environment().lex(source) if kind == "data")
    allowed = set(f"{literal} {a.sections.answer}".replace(",", " ").split()) | {s.href for s in a.meta.sources}
    allowed |= {"Sam", "Team", "Hoop", "&", "Gezondheid"}  # the name given and the default signature
    words = drafter.draft(a, Channel.FACEBOOK, customer_name="Sam").text.replace(",", " ").split()
    assert [w for w in words if w not in allowed] == []


def test_unknown_channel_names_the_valid_ones() -> None:
    with pytest.raises(InvalidInput, match="use one of: x, facebook, instagram, whatsapp, email"):
        Channel.parse("fax")
    assert Channel.parse("Twitter") is Channel.X


def test_broken_template_stops_the_drafter_with_its_line(tmp_path: Path) -> None:
    for t in TEMPLATES.glob("*.j2"):
        (tmp_path / t.name).write_text(t.read_text())
    (tmp_path / "email.en.j2").write_text("Dear {{ customer_name }},\n\n{{ answer }}\n{{ no_such_variable }}\n")
    with pytest.raises(TemplateError) as e:
        Drafter(tmp_path)
    assert str(e.value).startswith(f"{tmp_path}/email.en.j2:4: template error:")


def test_templates_run_sandboxed(tmp_path: Path) -> None:
    for t in TEMPLATES.glob("*.j2"):
        (tmp_path / t.name).write_text(t.read_text())
    (tmp_path / "x.en.j2").write_text("{{ answer.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(TemplateError, match=r"x\.en\.j2"):
        Drafter(tmp_path)
