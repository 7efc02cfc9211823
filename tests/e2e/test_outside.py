"""The outside list (kb.outside) on the real model and the sample KB: the service embeds the editors'
`articles/_outside.md` at start-up, a message about a listed subject that the ranking alone would answer gets no
match because of it, and the questions the KB does answer, close to the list as they are, keep their article.
None of the messages here is in a golden split or in the list."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kb.engine import Engine
from kb.outside import parse_outside
from kb.suggest import SuggestQuery
from tests.conftest import ARTICLES, ROOT
from tests.e2e.test_answerable import gate_signal_of

pytestmark = pytest.mark.e2e

EPILEPSY = "Is epilepsie erfelijk? Mijn broer heeft het."
ANSWERED = {"Is kanker erfelijk? Mijn moeder en tante hadden het allebei borstkanker.": "kanker-erfelijk-altijd",
            "Hoe stop ik mijn maandelijkse donatie aan jullie?": "donatie-stopzetten",
            "Helpt kurkuma tegen kanker?": "superfoods-voorkomen-kanker"}


def _gate(engine: Any, text: str) -> tuple[float, float]:
    """P(answerable) as the service reads the message, and as it would without the outside list."""
    signal, _ = gate_signal_of(engine, text)
    without = {k: v for k, v in signal.items() if k != "outside_cosine"}
    return engine.suggester.gate.probability(signal), engine.suggester.gate.probability(without)


def test_the_service_reads_the_editors_outside_list(sample_engine: Any) -> None:
    outside = sample_engine.suggester.outside
    listed, _ = parse_outside((ARTICLES / "_outside.md").read_text(encoding="utf-8"), "_outside.md")
    assert sample_engine.suggester.gate.reads_outside and outside is not None
    assert [e.text for e in outside.examples] == [e.text for e in listed] and len(listed) >= 20
    cosine, example = outside.nearest(EPILEPSY)
    assert example.subject.startswith("Andere ziekten") and cosine > 0.85


def test_a_message_about_a_listed_subject_gets_no_match_because_of_the_list(sample_engine: Any) -> None:
    result = sample_engine.suggester.suggest(SuggestQuery(message=EPILEPSY))
    assert result.no_match and result.suggestions == ()
    with_list, without_list = _gate(sample_engine, EPILEPSY)
    line = sample_engine.suggester.gate.line
    assert with_list < line <= without_list  # the ranking alone would have shown "Is kanker altijd erfelijk?"


def test_no_match_names_the_outside_subject_only_when_the_message_is_nearer_to_it_than_to_an_article(
        sample_engine: Any) -> None:
    result = sample_engine.suggester.suggest(SuggestQuery(message=EPILEPSY))
    assert result.no_match and result.outside_subject == "Andere ziekten dan kanker / Other conditions"
    football = sample_engine.suggester.suggest(SuggestQuery(message="Wie wint er zaterdag, Ajax of PSV?"))
    assert football.no_match and football.outside_subject is None  # off-topic, but no listed subject is nearer
    answered = sample_engine.suggester.suggest(SuggestQuery(message=next(iter(ANSWERED))))
    assert not answered.no_match and answered.outside_subject is None


def test_questions_the_kb_answers_keep_their_article_next_to_the_list(sample_engine: Any) -> None:
    for text, article in ANSWERED.items():
        result = sample_engine.suggester.suggest(SuggestQuery(message=text))
        assert not result.no_match and result.suggestions[0].article_id == article, text
        assert _gate(sample_engine, text)[0] >= sample_engine.suggester.gate.line, text


@pytest.fixture(scope="module")
def ungated_engine(sample_engine: Any, memo_embedder: Any) -> Iterator[Engine]:
    """The session's index and model, opened with KB_GATE=false (the store is the session's: not closed here)."""
    engine = Engine.open(sample_engine.settings.model_copy(update={"gate": False}), embedder=memo_embedder,
                         store=sample_engine.store)
    yield engine
    engine.drafter.close()


def test_with_the_gate_switched_off_the_ranking_alone_decides_and_the_list_is_not_read(
        sample_engine: Any, ungated_engine: Engine) -> None:
    assert sample_engine.suggester.gate is not None  # on by default
    assert ungated_engine.suggester.gate is None and ungated_engine.suggester.outside is None
    result = ungated_engine.suggester.suggest(SuggestQuery(message=EPILEPSY))
    assert not result.no_match and result.suggestions  # what the gate turns away, the low line lets through
    off_topic = ungated_engine.suggester.suggest(SuggestQuery(message="Wie wint er zaterdag, Ajax of PSV?"))
    assert off_topic.no_match  # far from every article: KB_THRESHOLD_LOW still says no match
    for text, article in ANSWERED.items():
        assert ungated_engine.suggester.suggest(SuggestQuery(message=text)).suggestions[0].article_id == article


def test_kb_bench_times_the_suggestion_with_and_without_the_gate(tmp_path: Path) -> None:
    env = {**os.environ, "KB_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "-m", "kb.cli", "bench", "--quick", "--only-gate", "--out",
                           str(tmp_path / "out")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    gate = json.loads((tmp_path / "out" / "bench.json").read_text(encoding="utf-8"))["gate"]
    assert "outside_cosine" in gate["gate_features"] and gate["outside_examples"] >= 20
    assert gate["with_gate"]["n"] == gate["without_gate"]["n"] == gate["messages"] > 0
    assert gate["ratio_p50"] > 0 and f"ratio {gate['ratio_p50']}" in done.stdout
