"""A subset of a public set's questions for ablations: drawn the same every run, with only their answers as the
knowledge base (what `kb eval ablation --set policyqa --questions N` measures on)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.workbench import dataset_corpus

pytestmark = pytest.mark.unit


def _write(path: Path, rows: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture
def tiny_set(tmp_path: Path) -> Path:
    _write(tmp_path / "targets.jsonl", [{"id": f"t{i}", "title": f"Vraag {i} over de huurtoeslag",
                                         "text": f"Antwoord {i}: de huurtoeslag hangt af van uw inkomen.",
                                         "language": "nl"} for i in range(12)])
    for file, ids in (("queries_dev.jsonl", range(8)), ("queries.jsonl", range(8, 12))):
        _write(tmp_path / file, [{"id": f"q{i}", "text": f"hoe zit het met vraag {i}?", "relevant_ids": [f"t{i}"],
                                  "language": "nl"} for i in ids])
    return tmp_path


def test_a_question_subset_keeps_only_the_drawn_questions_and_their_answers(tiny_set: Path) -> None:
    corpus = dataset_corpus(tiny_set, questions=3, sample=0)
    assert len(corpus.split("dev")) == 3 and len(corpus.split("test")) == 3
    assert len(corpus.articles) == 6  # only the six drawn questions' answers
    assert all(q.relevant for q in corpus.queries)
    again = dataset_corpus(tiny_set, questions=3, sample=0)
    assert [q.id for q in again.queries] == [q.id for q in corpus.queries]


def test_without_a_subset_every_question_and_answer_is_kept(tiny_set: Path) -> None:
    corpus = dataset_corpus(tiny_set)
    assert len(corpus.queries) == 12 and len(corpus.articles) == 12
