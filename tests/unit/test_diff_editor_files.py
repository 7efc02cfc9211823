"""`kb eval diff` runs each revision with that revision's own editor files beside the articles: the reply
templates and the outside list (kb.outside), so an edit to either is a change the diff shows."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from eval.diff import editor_files_at
from kb.config import Settings

pytestmark = pytest.mark.unit


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t", *args], check=True,
                   capture_output=True)


def test_each_revision_gets_its_own_templates_and_outside_list(tmp_path: Path) -> None:
    articles = tmp_path / "repo" / "articles"
    (articles / "_templates").mkdir(parents=True)
    (articles / "_templates" / "default.nl.j2").write_text("{{ answer }}", encoding="utf-8")
    (articles / "_outside.md").write_text("## Dieren\n- Kan mijn hond kanker krijgen?\n", encoding="utf-8")
    _git(articles.parent, "init", "-q")
    _git(articles.parent, "add", "-A")
    _git(articles.parent, "commit", "-qm", "a")
    (articles / "_outside.md").write_text("## Dieren\n- Kan mijn kat kanker krijgen?\n", encoding="utf-8")
    (articles / "_templates" / "default.nl.j2").write_text("Hoi! {{ answer }}", encoding="utf-8")
    _git(articles.parent, "commit", "-qam", "b")
    (articles / "_outside.md").unlink()  # the work tree is neither revision
    settings = Settings(articles_dir=articles, data_dir=tmp_path / "data")

    a = editor_files_at(settings, "HEAD~1", tmp_path / "a")
    b = editor_files_at(settings, "HEAD", tmp_path / "b")
    assert (a / "_outside.md").read_text(encoding="utf-8").endswith("hond kanker krijgen?\n")
    assert (b / "_outside.md").read_text(encoding="utf-8").endswith("kat kanker krijgen?\n")
    assert (a / "_templates" / "default.nl.j2").read_text(encoding="utf-8") == "{{ answer }}"
    assert (b / "_templates" / "default.nl.j2").read_text(encoding="utf-8") == "Hoi! {{ answer }}"
