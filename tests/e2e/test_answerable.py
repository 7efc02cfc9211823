"""The answerability gate on the real model and the sample KB: the bundled gate is the one the service uses, it
turns away messages the KB does not answer even where a candidate clears the per-candidate line, and it keeps
the questions the KB does answer. The messages here are in no golden split. And `kb eval answerable --also-kb`
fits one gate on two KBs' blind dev messages, each ranked against its own articles."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from eval.golden import load_golden
from kb.answerable import load_gate
from kb.language import detect
from kb.normalize import Message
from kb.suggest import SuggestQuery
from tests.conftest import ARTICLES, ROOT
from tests.infra.warm import warm_data_dir

pytestmark = pytest.mark.e2e

OFF_TOPIC = ["Wie wint er zaterdag, Ajax of PSV?", "Mijn fiets is gestolen bij het station, wat moet ik nu doen?",
             "Can you recommend a good pizza place in Utrecht?", "Hoe laat vertrekt de laatste trein naar Zwolle?",
             "Welke tandpasta is het beste tegen gevoelige tanden?", "Is paracetamol veilig tijdens de zwangerschap?"]
ANSWERED = ["is suiker slecht als je kanker hebt", "does the hpv jab make you infertile",
            "krijg je kanker van een magnetron?"]


def gate_signal_of(engine: Any, text: str) -> tuple[dict[str, float], list[float]]:
    """What the service's gate reads of a message, and its candidates' calibrated probabilities."""
    message = Message.of(text)
    language = detect(message).language
    ranked = engine.suggester.rank(message, language)
    confidence = engine.suggester.confidences(ranked, words=message.words, language=language)
    return engine.suggester.gate_signal(ranked, confidence, words=message.words, message=message), confidence


def _gate_and_best(engine: Any, text: str) -> tuple[float, float]:
    signal, confidence = gate_signal_of(engine, text)
    return engine.suggester.gate.probability(signal), confidence[0]


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
        if p_best >= sample_engine.settings.threshold_low:  # a candidate clears the low line: the gate turns it away
            assert p_gate < sample_engine.suggester.gate.line, text
            passed_the_low_line += 1
    # without the gate at least one of them would have been shown as `low`: the gate is what turned it away
    assert passed_the_low_line >= 1


def test_questions_the_kb_answers_pass_the_gate(sample_engine) -> None:  # type: ignore[no-untyped-def]
    for text in ANSWERED:
        result = sample_engine.suggester.suggest(SuggestQuery(message=text))
        assert not result.no_match and result.suggestions, text
        assert _gate_and_best(sample_engine, text)[0] >= sample_engine.suggester.gate.line


def test_a_gate_fitted_on_two_kbs_pools_their_blind_dev_messages_each_ranked_by_its_own_kb(
        sample_engine: Any, tmp_path: Path) -> None:
    randmeer = ROOT / "eval" / "kbs" / "randmeer"
    env = {**os.environ, "KB_DATA_DIR": str(warm_data_dir(tmp_path / "data", sample_engine.settings.cache_path)),
           "KB_ARTICLES_DIR": str(ARTICLES)}

    def kb(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "kb.cli", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=900)

    assert kb("index").returncode == 0
    done = kb("eval", "answerable", "--no-kinds", "--no-tweets", "--precision", "0.75",
              "--also-kb", str(randmeer / "articles"), str(randmeer), "--write", str(tmp_path / "gate.json"))
    assert done.returncode == 0, done.stdout + done.stderr
    parts = {line.split(" dev, out of fold: ")[0]: json.loads(line.split(" dev, out of fold: ")[1])
             for line in done.stdout.splitlines() if " dev, out of fold: " in line}
    assert list(parts) == ["blind", "randmeer blind", "blind, pooled"]
    assert parts["blind, pooled"]["messages"] == parts["blind"]["messages"] + parts["randmeer blind"]["messages"]
    dev_half = load_golden(sorted(randmeer.glob("golden_dev_*blind*.jsonl")))
    assert parts["randmeer blind"]["messages"] == len(dev_half) >= 100  # its own blind dev half, not its test half
    gate = load_gate(sample_engine.embedder.model_id, tmp_path / "gate.json")
    assert gate is not None and "blind dev messages of randmeer" in gate.fitted_on
    if gate.line > 0:  # the line keeps the asked precision on both KBs' blind messages pooled
        assert parts["blind, pooled"]["precision"] >= 0.75
