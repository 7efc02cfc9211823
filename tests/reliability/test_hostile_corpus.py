"""A hostile articles folder: beyond tests/fixtures/mixed (bad YAML, unknown type, non-UTF-8, empty body, which
test_lint and test_indexer cover), files an editor's tools or an attacker could leave there. Each bad file is
reported as path:line and every good article, however it was saved, is indexed."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from indexer.run import run_index
from tests.conftest import FIXTURES

pytestmark = [pytest.mark.e2e]
GOOD = FIXTURES / "mixed" / "good-rebuttal.md"


def _article(new_id: str) -> str:
    text = GOOD.read_text(encoding="utf-8")
    return text.replace("id: good-rebuttal", f"id: {new_id}").replace("related: [good-faq]", "related: []")


def _yaml_alias_bomb() -> str:
    """Nine levels of nine aliases (9**9 strings if expanded): must be refused, not expanded."""
    levels = ["x0: &x0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    levels += [f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 9)}]" for i in range(1, 10)]
    return _article("yaml-bomb").replace("---\n", "---\n" + "\n".join(levels) + "\n", 1).replace(
        "topics: [cancer]", "topics: *x9")


@pytest.fixture()
def hostile_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "articles"
    shutil.copytree(FIXTURES / "mixed", corpus)
    (corpus / "bom.md").write_bytes(b"\xef\xbb\xbf" + _article("saved-with-bom").encode())  # Windows Notepad
    (corpus / "crlf.md").write_bytes(_article("saved-with-crlf").replace("\n", "\r\n").encode())
    (corpus / "zero-bytes.md").write_bytes(b"")
    (corpus / "binary.md").write_bytes(bytes(range(256)) * 8)  # e.g. an image saved as .md
    (corpus / "yaml-bomb.md").write_text(_yaml_alias_bomb(), encoding="utf-8")
    (corpus / "front-matter-only.md").write_text(_article("front-matter-only").split("## Answer")[0],
                                                 encoding="utf-8")
    (corpus / "nested").mkdir()
    (corpus / "nested" / "control-chars.md").write_text(
        _article("control-chars").replace("No, baking soda", "No,\x07\x1b[31m baking soda", 1), encoding="utf-8")
    return corpus


def test_hostile_files_are_reported_by_path_and_line_and_every_good_article_is_indexed(
        make_engine: Any, hostile_corpus: Path) -> None:
    engine = make_engine()
    report = run_index(engine, hostile_corpus)
    served = {a.id for a in engine.served.all_articles()}
    # mixed's four, plus the good articles saved with a BOM, with CRLF and with control characters in the text
    assert served == {"bad-related", "good-faq", "good-rebuttal", "stale-faq", "saved-with-bom", "saved-with-crlf",
                      "control-chars"}
    assert report.articles == len(served)
    messages = [str(p) for p in report.errors]
    for message in messages:
        assert re.match(rf"^{re.escape(str(hostile_corpus))}/\S+\.md:[1-9]\d*: \S", message), message
    first_line_of = {Path(m.split(":", 1)[0]).name: m for m in reversed(messages)}
    assert "zero-bytes.md:1: missing front matter" in first_line_of["zero-bytes.md"]
    assert "binary.md:2: not valid UTF-8" in first_line_of["binary.md"]  # byte 0x80 comes after byte 0x0a
    assert "front-matter-only.md" in first_line_of and "missing section" in first_line_of["front-matter-only.md"]
    bomb = [m for m in messages if "yaml-bomb.md" in m]
    assert len(bomb) == 1 and "anchors and aliases" in bomb[0]  # refused before it is composed, never expanded
    # mixed's twelve problems are all still there next to the new ones
    mixed = {p.name for p in (FIXTURES / "mixed").iterdir()}
    assert sum(Path(m.split(":", 1)[0]).name in mixed for m in messages) == 12
