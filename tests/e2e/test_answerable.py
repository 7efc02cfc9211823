"""The answerability gate on the real model and the sample KB: the bundled gate is the one the service uses, it
turns away messages the KB does not answer even where a candidate clears the per-candidate line, and it keeps
the questions the KB does answer. The messages here are in no golden split."""

from __future__ import annotations

from typing import Any

import pytest

from kb.answerable import signals
from kb.language import detect
from kb.normalize import Message
from kb.suggest import SuggestQuery

pytestmark = pytest.mark.e2e

OFF_TOPIC = ["Wie wint er zaterdag, Ajax of PSV?", "Mijn fiets is gestolen bij het station, wat moet ik nu doen?",
             "Can you recommend a good pizza place in Utrecht?", "Hoe laat vertrekt de laatste trein naar Zwolle?",
             "Welke tandpasta is het beste tegen gevoelige tanden?", "Is paracetamol veilig tijdens de zwangerschap?"]
ANSWERED = ["is suiker slecht als je kanker hebt", "does the hpv jab make you infertile",
            "krijg je kanker van een magnetron?"]


def _gate_and_best(engine: Any, text: str) -> tuple[float, float]:
    message = Message.of(text)
    language = detect(message).language
    ranked = engine.suggester.rank(message, language)
    confidence = engine.suggester.confidences(ranked, words=message.words, language=language)
    return engine.suggester.gate.probability(signals(ranked, confidence, words=message.words)), confidence[0]


def test_the_service_uses_the_bundled_gate_for_its_model(sample_engine) -> None:  # type: ignore[no-untyped-def]
    gate = sample_engine.suggester.gate
    assert gate is not None and gate.model_id == sample_engine.embedder.model_id
    assert 0 < gate.line < 1 and "blind dev" in gate.fitted_on


def test_messages_the_kb_does_not_answer_get_no_match(sample_engine) -> None:  # type: ignore[no-untyped-def]
    passed_the_low_line = 0
    for text in OFF_TOPIC:
        result = sample_engine.suggester.suggest(SuggestQuery(message=text))
        assert result.no_match and result.suggestions == (), text
        p_gate, p_best = _gate_and_best(sample_engine, text)
        assert p_gate < sample_engine.suggester.gate.line, text
        passed_the_low_line += p_best >= sample_engine.settings.threshold_low
    # without the gate at least one of them would have been shown as `low`: the gate is what turned it away
    assert passed_the_low_line >= 1


def test_questions_the_kb_answers_pass_the_gate(sample_engine) -> None:  # type: ignore[no-untyped-def]
    for text in ANSWERED:
        result = sample_engine.suggester.suggest(SuggestQuery(message=text))
        assert not result.no_match and result.suggestions, text
        assert _gate_and_best(sample_engine, text)[0] >= sample_engine.suggester.gate.line
