"""A question about one detail of a long answer, on the real model, the real indexer and local Qdrant: the
windows of the answer are indexed, and the one holding the detail is what the suggestion matched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from indexer.run import run_index
from kb.suggest import SuggestQuery
from tests.unit.test_answer_windows import DETAIL, _long


def test_a_detail_deep_in_a_long_answer_is_found_through_its_window(make_engine: Any, tmp_path: Path) -> None:
    engine = make_engine(copy_articles=True, warm=True)
    articles = engine.settings.articles_dir
    (articles / "nl" / "suiker-voedt-kanker.md").write_text(_long(tmp_path).read_text(encoding="utf-8"),
                                                             encoding="utf-8")
    report = run_index(engine, articles)
    assert not report.errors
    result = engine.suggester.suggest(SuggestQuery(
        message="Zijn honing en agavesiroop beter dan gewone suiker als je kanker hebt?"))
    top = result.suggestions[0]
    assert top.article_id == "suiker-voedt-kanker"
    assert DETAIL in top.matched_text and "Alinea 1" not in top.matched_text  # the window, not the whole answer
    assert "Alinea" not in top.draft  # the draft is the article's own short answer, never a window of the long one
