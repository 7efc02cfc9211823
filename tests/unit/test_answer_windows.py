"""Long answers are also indexed as windows of whole sentences (kb.chunking): which articles get them, what a
window holds, and that their ids are content ids like every chunk's."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.chunking import ANSWER_WINDOW, MAX_WINDOWS, ChunkKind, answer_windows, chunk_article
from kb.corpus import load_corpus
from kb.parsing import parse_article

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SUGAR = ROOT / "articles" / "nl" / "suiker-voedt-kanker.md"
DETAIL = "Honing, agavesiroop en kokosbloesemsuiker zijn voor je lichaam gewoon suiker."


def _long(tmp_path: Path) -> Path:
    """The sugar article with an answer of about 2,000 characters: five paragraphs, the detail in the last."""
    text = SUGAR.read_text(encoding="utf-8")
    paragraphs = [f"Alinea {i}: " + "Dit is een zin over voeding en gezondheid die het antwoord langer maakt. " * 5
                  for i in range(1, 5)] + [DETAIL + " Ze voeden een tumor dus net zo min als witte suiker."]
    path = tmp_path / "suiker-voedt-kanker.md"
    path.write_text(text.replace("## Kort antwoord", "\n\n".join(paragraphs) + "\n\n## Kort antwoord", 1),
                    encoding="utf-8")
    return path


def test_no_article_of_the_sample_kbs_is_long_enough_to_get_windows() -> None:
    for root in (ROOT / "articles", ROOT / "eval" / "kbs" / "randmeer" / "articles"):
        chunks = [c for a in load_corpus(root).articles.values() for c in chunk_article(a)]
        assert chunks and not any(c.is_window for c in chunks)


def test_a_long_answer_is_also_indexed_as_windows_of_whole_sentences_beside_the_answer(tmp_path: Path) -> None:
    article = parse_article(_long(tmp_path)).article
    assert article is not None and len(article.sections.answer) > 2 * ANSWER_WINDOW
    chunks = chunk_article(article)
    answer = [c for c in chunks if c.kind == ChunkKind.ANSWER and not c.is_window]
    windows = [c for c in chunks if c.is_window]
    assert len(answer) == 1 and article.sections.answer in answer[0].text  # the whole answer stays one chunk
    assert len(windows) >= 3
    for w in windows:
        assert w.text.startswith(article.meta.title + "\n\n")  # each window after the title, as the answer chunk
        assert len(w.text) - len(article.meta.title) - 2 <= ANSWER_WINDOW
        assert w.kind.embed_as == "passage"
    assert [w.heading_path[-1] for w in windows] == [f"part {i}" for i in range(1, len(windows) + 1)]
    assert sum(DETAIL in w.text for w in windows) == 1
    # every sentence of the answer is in a window, none cut in two
    assert " ".join(w.text.split("\n\n", 1)[1] for w in windows).split() == article.sections.answer.split()
    assert len({c.id for c in chunks}) == len(chunks)
    assert [c.id for c in chunk_article(parse_article(_long(tmp_path)).article)] == [c.id for c in chunks]


def test_an_answer_of_one_long_sentence_gets_no_windows_of_its_own() -> None:
    assert answer_windows("x" * (3 * ANSWER_WINDOW)) == []  # one sentence: the answer chunk is all there is
    assert answer_windows("Kort.") == []


def test_an_answer_as_long_as_an_article_may_be_gets_a_bounded_number_of_windows() -> None:
    huge = "Dit is een zin van een heel lang antwoord. " * 25_000  # about 1 MiB, the most an article file may be
    windows = answer_windows(huge)
    assert len(windows) == MAX_WINDOWS and all(len(w) <= ANSWER_WINDOW for w in windows)
