"""Reading the articles folder (kb/files.py, kb/corpus.py, kb/parsing.py): the defences one by one, including
those an end-to-end run as root cannot show (permission denied, a link swapped in after the walk)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from kb.corpus import build_corpus, iter_article_files, load_corpus
from kb.errors import MAX_PROBLEM_CHARS, Problem
from kb.files import read_inside
from kb.parsing import MAX_YAML_DEPTH, parse_bytes
from tests.security.conftest import alias_bomb, article

pytestmark = pytest.mark.unit


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "articles"
    root.mkdir()
    (root / "good.md").write_text(article("good"), encoding="utf-8")
    return root


def test_a_permission_denied_file_is_one_problem_and_the_others_still_parse(
        folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (folder / "locked.md").write_text(article("locked"), encoding="utf-8")
    real_open = os.open

    def deny(path: object, flags: int, *args: object) -> int:
        if str(path).endswith("locked.md"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", deny)
    corpus = load_corpus(folder)
    assert set(corpus.articles) == {"good"}
    assert [str(p) for p in corpus.problems] == [f"{folder}/locked.md:1: cannot read: Permission denied"]


def test_a_link_swapped_in_after_the_check_is_still_not_followed(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """O_NOFOLLOW is the last line: even when the link check is raced, the open refuses the link."""
    (folder / "swapped.md").symlink_to(folder / "good.md")
    monkeypatch.setattr(Path, "is_symlink", lambda self: False)
    refused = read_inside(folder / "swapped.md", folder)
    assert isinstance(refused, Problem) and "symbolic link" in refused.message


def test_a_link_inside_the_folder_is_refused_as_well(folder: Path) -> None:
    """Even to a good article in the same folder: a link is never read, wherever it points."""
    (folder / "alias.md").symlink_to("good.md")
    corpus = load_corpus(folder)
    assert set(corpus.articles) == {"good"}
    assert [p.message.split(":")[0] for p in corpus.problems] == ["is a symbolic link"]


def test_a_single_file_given_to_kb_lint_is_not_read_through_a_link(tmp_path: Path) -> None:
    (tmp_path / "passwd.md").symlink_to("/etc/passwd")
    [(_, refused)] = list(iter_article_files(tmp_path / "passwd.md"))
    assert isinstance(refused, Problem) and "symbolic link" in refused.message


def test_a_parser_crash_on_one_file_is_that_files_problem(folder: Path) -> None:
    def explode(raw: bytes, path: str) -> object:
        if path.endswith("bad.md"):
            raise RecursionError("maximum recursion depth exceeded")
        return parse_bytes(raw, path)

    corpus = build_corpus([("a/good.md", article("good").encode()), ("a/bad.md", b"---\n")],
                          parse=explode)  # type: ignore[arg-type]
    assert set(corpus.articles) == {"good"}
    assert [str(p) for p in corpus.problems] == ["a/bad.md:1: cannot parse this file (RecursionError)"]


def test_the_alias_bomb_is_refused_before_it_is_expanded_with_one_short_problem() -> None:
    result = parse_bytes(alias_bomb().encode(), "nl/bomb.md")
    assert result.article is None
    assert [str(p) for p in result.problems] == [
        "nl/bomb.md:2: YAML anchors and aliases (&name, *name) are not allowed in front matter: write the value out"]


def test_an_anchor_alone_is_refused_and_an_ampersand_in_a_value_is_not() -> None:
    anchored = article("anchored").replace("title:", "title: &t", 1)
    assert "anchors" in parse_bytes(anchored.encode(), "a.md").problems[0].message
    quoted = article("quoted").replace("related: []", 'related: []\ntopics: ["Q&A", "*stars*"]', 1)
    quoted = quoted.replace("topics: [cancer]\n", "", 1)
    result = parse_bytes(quoted.encode(), "q.md")
    assert result.article is not None, result.problems


def test_deep_nesting_is_refused_without_composing_it() -> None:
    deep = "---\ntopics: " + "[" * (MAX_YAML_DEPTH + 5) + "]" * (MAX_YAML_DEPTH + 5) + "\n---\n"
    assert "nested more than" in parse_bytes(deep.encode(), "d.md").problems[0].message
    crash = "---\ntopics: " + "[" * 100_000 + "]" * 100_000 + "\n---\n"  # segfaulted libyaml's composer
    assert "nested more than" in parse_bytes(crash.encode(), "c.md").problems[0].message


def test_every_problem_message_is_bounded_however_long_its_input() -> None:
    huge = Problem("x.md", 1, "type: unknown value " + repr(["lol"] * 100_000))
    assert len(huge.message) <= MAX_PROBLEM_CHARS and huge.message.endswith("chars in all)")
    value = "x" * 200_000
    result = parse_bytes(article("long").replace("type: rebuttal", f"type: {value}").encode(), "l.md")
    assert result.problems and all(len(str(p)) < 400 for p in result.problems)


def test_a_binary_file_is_one_problem_at_its_first_nul_byte() -> None:
    result = parse_bytes(b"---\nid: x\n\x00\x00---\n", "b.md")
    assert [str(p) for p in result.problems] == ["b.md:3: a binary file (NUL bytes), not a Markdown article"]
