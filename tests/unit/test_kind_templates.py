"""The kind templates are editor content, checked like the article templates (kb.kind_templates, `kb lint`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kb.cli import main
from kb.errors import TemplateError
from kb.kind_templates import KindTemplates, kind_template_problems
from tests.conftest import ARTICLES

pytestmark = pytest.mark.unit


@pytest.fixture()
def templates(tmp_path: Path) -> Path:
    folder = tmp_path / "articles" / "_templates"
    shutil.copytree(ARTICLES / "_templates", folder)
    return folder


def messages(folder: Path) -> list[str]:
    return [f"{Path(p.path).name}:{p.line}: {p.message}" for p in kind_template_problems(folder)]


def test_the_shipped_kind_templates_have_no_problems() -> None:
    assert kind_template_problems(ARTICLES / "_templates") == []


def test_a_missing_required_reply_is_named_with_the_file_to_add(templates: Path) -> None:
    for name in ("thanks.default.en.j2", "thanks.x.en.j2"):
        (templates / "kinds" / name).unlink()
    assert any("no reply for thanks/en: add thanks.default.en.j2" in m for m in messages(templates))


def test_a_missing_moderation_guideline_is_an_error(templates: Path) -> None:
    (templates / "kinds" / "spam.guideline.nl.j2").unlink()
    assert any("no moderation guideline for spam/nl" in m for m in messages(templates))


def test_an_acknowledgement_too_long_for_x_is_reported_since_it_is_never_cut(templates: Path) -> None:
    (templates / "kinds" / "thanks.x.nl.j2").write_text("Dank je wel! " * 30, encoding="utf-8")
    assert any(m.startswith("thanks.x.nl.j2:1: the thanks reply without an answer is") and "over its 280" in m
               for m in messages(templates))


def test_a_syntax_error_is_reported_with_its_line(templates: Path) -> None:
    (templates / "kinds" / "story.default.nl.j2").write_text("Hoi\n{% if customer_name %}\nnooit gesloten\n",
                                                              encoding="utf-8")
    assert any(m.startswith("story.default.nl.j2:") and "template syntax error" in m for m in messages(templates))


def test_an_undefined_variable_is_an_error_not_an_empty_string(templates: Path) -> None:
    (templates / "kinds" / "thanks.default.nl.j2").write_text("Dank je wel {{ klant }}!", encoding="utf-8")
    assert any("thanks.default.nl.j2:1: template error" in m and "klant" in m for m in messages(templates))


def test_a_sandbox_escape_is_refused(templates: Path) -> None:
    (templates / "kinds" / "thanks.default.nl.j2").write_text("{{ ''.__class__.__mro__ }}", encoding="utf-8")
    assert any("thanks.default.nl.j2" in m and "template error" in m for m in messages(templates))


def test_unknown_names_and_symbolic_links_are_refused(templates: Path, tmp_path: Path) -> None:
    (templates / "kinds" / "gratitude.default.nl.j2").write_text("Dank!", encoding="utf-8")
    (templates / "kinds" / "notes.txt").write_text("x", encoding="utf-8")
    secret = tmp_path / "secret.txt"
    secret.write_text("geheim", encoding="utf-8")
    (templates / "kinds" / "complaint.x.en.j2").unlink()
    (templates / "kinds" / "complaint.x.en.j2").symlink_to(secret)
    found = messages(templates)
    assert any("gratitude.default.nl.j2:1: unknown kind 'gratitude'" in m for m in found)
    assert any("notes.txt:1: not a kind template name" in m for m in found)
    assert any("complaint.x.en.j2:1: is a symbolic link: refused" in m for m in found)


def test_a_broken_kind_template_stops_start_up(templates: Path) -> None:
    (templates / "kinds" / "thanks.default.nl.j2").write_text("{{ klant }}", encoding="utf-8")
    with pytest.raises(TemplateError):
        KindTemplates(templates)


def test_kb_lint_reports_kind_template_problems_and_fails(templates: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (templates / "kinds" / "thanks.default.nl.j2").write_text("{{ klant }}", encoding="utf-8")
    assert main(["lint", "--templates", str(templates)]) == 1
    assert "kinds/thanks.default.nl.j2:1: template error" in capsys.readouterr().out
