"""The pull-request comment of `kb eval diff --format markdown`: bounded, inert, and saying what changed."""

from __future__ import annotations

from typing import Any

import pytest

from eval.markdown import MARKER, diff_markdown

pytestmark = pytest.mark.unit


def _change(n: int, *, text: str = "klopt het dat suiker kanker voedt", right_a: bool = True,
            right_b: bool = False, article_b: str | None = None) -> dict[str, Any]:
    return {"id": f"m-{n}", "text": text, "expected": "suiker-voedt-kanker", "changed": ["article", "tier", "draft"],
            "article_a": "suiker-voedt-kanker", "article_b": article_b, "tier_a": "high",
            "tier_b": "medium" if article_b else None, "right_a": right_a, "right_b": right_b,
            "draft_a": "a", "draft_b": "b"}


def _report(changed: list[dict[str, Any]]) -> dict[str, Any]:
    return {"a": {"rev": "main", "commit": "1a2b3c4d5e6f", "articles": 69, "errors": []},
            "b": {"rev": "HEAD", "commit": "9f8e7d6c5b4a", "articles": 68, "errors": []},
            "messages": 1000, "changed": changed,
            "changed_article": sum("article" in c["changed"] for c in changed),
            "changed_tier": sum("tier" in c["changed"] for c in changed),
            "changed_draft": sum("draft" in c["changed"] for c in changed),
            "better": sum(c["right_b"] and not c["right_a"] for c in changed),
            "worse": sum(c["right_a"] and not c["right_b"] for c in changed),
            "golden_a": {"split": "test", "hit@1": 0.70, "hit@3": 0.75, "mrr": 0.72, "high_correct": 0.94,
                         "no_match_precision": 0.69, "no_match_recall": 0.78},
            "golden_b": {"split": "test", "hit@1": 0.69, "hit@3": 0.75, "mrr": 0.71, "high_correct": 0.94,
                         "no_match_precision": 0.66, "no_match_recall": 0.78},
            "tier_moves": [{"from": "high", "to": "no match", "messages": len(changed)}],
            "new_no_match": [c["id"] for c in changed if not c["article_b"]]}


def test_the_comment_names_figures_before_and_after_and_each_changed_answer() -> None:
    text = diff_markdown(_report([_change(1), _change(2, article_b="aspartaam-kanker")]))
    assert text.startswith(MARKER)
    assert "`main` (`1a2b3c4d`) (69 articles) → `HEAD` (`9f8e7d6c`) (68 articles)" in text
    assert "| hit@1 | 0.700 | 0.690 | -0.010 |" in text and "| hit@3 | 0.750 | 0.750 |  |" in text
    assert "**2 answers change**" in text and "0 better, 2 worse" in text and "1 new no-match." in text
    assert "| `m-2` klopt het dat suiker kanker voedt | `suiker-voedt-kanker` (high) | `aspartaam-kanker` (medium) |" \
        in text
    assert "- `m-1` klopt het dat suiker kanker voedt (was `suiker-voedt-kanker` (high))" in text
    assert "more" not in text  # nothing was cut


def test_a_huge_change_is_cut_to_fit_a_comment_and_says_how_much_was_left_out() -> None:
    changed = [_change(n, text="lang bericht " * 40) for n in range(5000)]
    text = diff_markdown(_report(changed), max_chars=4000)
    assert len(text) <= 4000
    assert "more changed answers: see the full report" in text
    assert text.count("| `m-") < 5000


def test_message_text_cannot_format_mention_link_or_inject_html() -> None:
    hostile = "@everyone #1 <script>x</script> **vet** [klik](https://x.example) | kolom\n`code`"
    text = diff_markdown(_report([_change(1, text=hostile)]))
    row = next(line for line in text.splitlines() if line.startswith("| `m-1`"))
    assert "<script>" not in text and "&lt;script&gt;" in row
    assert "@everyone" not in text and "#1 " not in row  # a word joiner after @ and #
    assert "\\*\\*vet\\*\\*" in row and "\\[klik\\]" in row and "\\| kolom" in row and "\\`code\\`" in row
    assert row.count(" | ") == 3  # the message did not add a column


def test_no_change_says_so() -> None:
    text = diff_markdown(_report([]))
    assert "**No answer changes**" in text and "Answers that change" not in text
