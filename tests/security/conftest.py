"""Hostile articles repositories, built in a temporary folder as an editor with push rights could commit them
(issue 15): links out of the folder, odd entries, YAML bombs, and templates that read secrets or never finish.

    repo = build_repository(tmp_path, secret_file=data / "session-secret")   # a git work tree, committed
    HOSTILE_ARTICLES["nl/passwd.md"]                                          # how each entry is answered
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ARTICLES, FIXTURES

GOOD = FIXTURES / "mixed" / "good-rebuttal.md"
#: A sentence only the article outside the folder has: it must never be indexed, served or shown.
OUTSIDE_SENTENCE = "Deze zin staat in een bestand buiten de artikelenmap."

#: Every hostile entry below the articles folder, and the words its one problem must contain.
HOSTILE_ARTICLES = {
    "nl/buiten.md": "symbolic link",         # -> an article outside the folder
    "nl/passwd.md": "symbolic link",         # -> /etc/passwd
    "nl/dangling.md": "symbolic link",       # -> nothing
    "nl/map.md": "folder",                   # a directory with an article's name
    "nl/fifo.md": "not a regular file",      # a named pipe: reading would hang
    "nl/binary.md": "binary",                # NUL bytes, valid UTF-8
    "nl/latin1.md": "not valid UTF-8",
    "nl/yaml-bomb.md": "anchors and aliases",
    "nl/yaml-deep.md": "nested more than",   # 100,000 '[': libyaml's composer would crash the process
    "en/huge.md": "over the limit",          # 2 MiB
    "extern": "symbolic link",               # a link to a folder outside
}


def article(new_id: str, extra: str = "") -> str:
    """A valid English rebuttal with its own id (and optionally a sentence in its answer)."""
    text = GOOD.read_text(encoding="utf-8").replace("id: good-rebuttal", f"id: {new_id}")
    text = text.replace("related: [good-faq]", "related: []")
    return text.replace("No, baking soda does not cure cancer.", f"No, baking soda does not cure cancer. {extra}", 1)


def alias_bomb() -> str:
    """The issue's 522-byte bomb: nine levels of nine aliases, `type: *a6`."""
    levels = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    levels += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    return "---\n" + "\n".join(levels) + "\ntype: *a6\n---\n\n## Antwoord\n\nx\n\n## Achtergrond\n\ny\n"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"})


def build_repository(base: Path, *, hostile_templates: bool = False, secret_file: Path | None = None) -> Path:
    """The sample articles as a committed git work tree under `base`, plus every entry of HOSTILE_ARTICLES;
    with `hostile_templates`, templates that include secrets through links and do unbounded work."""
    repo = base / "repo"
    articles = repo / "articles"
    shutil.copytree(ARTICLES, articles)
    outside = base / "outside"
    outside.mkdir()
    (outside / "buiten.md").write_text(article("buiten-geheim", OUTSIDE_SENTENCE), encoding="utf-8")
    nl, en = articles / "nl", articles / "en"
    (nl / "buiten.md").symlink_to(outside / "buiten.md")
    (nl / "passwd.md").symlink_to("/etc/passwd")
    (nl / "dangling.md").symlink_to(base / "does-not-exist.md")
    (nl / "map.md").mkdir()
    (nl / "map.md" / "notes.txt").write_text("a folder with an article's name\n")
    (nl / "binary.md").write_bytes(b"---\nid: binary\x00\x00\x00\n---\n")
    (nl / "latin1.md").write_bytes(article("latin1").replace("baking soda", "bakingsoda café").encode("latin-1"))
    (nl / "yaml-bomb.md").write_text(alias_bomb(), encoding="utf-8")
    (nl / "yaml-deep.md").write_text("---\ntopics: " + "[" * 100_000 + "]" * 100_000 + "\n---\n\n## Antwoord\n\nx\n\n"
                                     "## Achtergrond\n\ny\n", encoding="utf-8")
    (en / "huge.md").write_text(article("huge", "Big. " * 420_000), encoding="utf-8")
    (articles / "extern").symlink_to(outside, target_is_directory=True)
    if hostile_templates:
        templates = articles / "_templates"
        (templates / "env.txt").symlink_to("/proc/self/environ")
        (templates / "sig.txt").symlink_to(secret_file or base / "session-secret")
        email = templates / "email.nl.j2"
        email.write_text(email.read_text(encoding="utf-8") + "\n{% include 'sig.txt' %}\n{% include 'env.txt' %}\n",
                         encoding="utf-8")
        (templates / "x.en.j2").write_text(
            "{% for i in range(2000) %}{% for j in range(2000) %}{% endfor %}{% endfor %}{{ answer }}\n")
        (templates / "whatsapp.en.j2").write_text("{{ answer }}{{ 'x' * 50000000 }}\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "hostile push")
    os.mkfifo(nl / "fifo.md")  # git cannot commit a pipe; a checkout hook or a person can leave one
    return articles


@pytest.fixture()
def templates(tmp_path: Path) -> Path:
    """A copy of the shipped reply templates to make hostile."""
    folder = tmp_path / "_templates"
    shutil.copytree(ARTICLES / "_templates", folder)
    return folder
