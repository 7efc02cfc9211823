"""The message-kind classifier without a model: its rules, its model file, and how it decides (kb.kinds)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eval.kinds_fit import fit_kind_model
from kb.embedding import HashEmbedder, RecentQueries
from kb.errors import ConfigError
from kb.kinds import (
    FEATURE_VERSION,
    SURFACE,
    Kind,
    KindClassifier,
    KindModel,
    advert,
    insult,
    kind_model_file,
    load_kind_model,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("text", ["Stelletje oplichters, kankerlijers.", "Krijg allemaal de tering met jullie brieven",
                                  "Hou je bek, idioten", "Ik weet waar jullie kantoor is. Pas maar op.",
                                  "You are all a bunch of scammers and idiots.", "go to hell with your fake charity"])
def test_insults_curses_and_threats_are_abuse_whatever_else_the_message_says(text: str) -> None:
    assert insult(text)


@pytest.mark.parametrize("text", ["Mijn moeder heeft kanker en ik ben bang", "ik vind het idioot dat de winkels dicht "
                                  "zijn", "kut corona, blijf nou thuis mensen", "een hamsterplaats vol eikels en noten",
                                  "Is kanker besmettelijk?"])
def test_the_disease_word_and_swearing_at_nobody_are_not_abuse(text: str) -> None:
    assert not insult(text)


@pytest.mark.parametrize("text", ["🔥 Verdien €300 per dag vanuit huis! Klik op de link in mijn bio 🔥",
                                  "Goedkope Ray-Bans, 70% korting alleen vandaag: bit.ly/zonnebril-deal",
                                  "Deel dit bericht met 10 mensen en er gebeurt iets moois", "Follow for follow? 🙏",
                                  "Crypto giveaway!! Send 0.1 ETH and get 1 back, DM me"])
def test_selling_with_a_link_or_call_to_act_and_chain_messages_are_spam(text: str) -> None:
    assert advert(text)


@pytest.mark.parametrize("text", ["Zorgpersoneel mag gratis parkeren in Rotterdam https://t.co/oyZABDTS50",
                                  "Hoe stop ik mijn maandelijkse donatie?", "Win je bij de loterij echt iets?",
                                  "Ik wil graag gratis informatie over het bevolkingsonderzoek"])
def test_news_with_a_link_and_questions_about_free_things_are_not_spam(text: str) -> None:
    assert not advert(text)


def _toy_model(model_id: str, dim: int = 8) -> KindModel:
    kinds = tuple(k.value for k in Kind)
    width = dim + len(SURFACE)
    return KindModel(model_id=model_id, kinds=kinds, mean=(0.0,) * width, scale=(1.0,) * width,
                     weights=tuple((0.0,) * (width + 1) for _ in kinds), rule_precision={"insult": 0.9},
                     fitted_on="toy")


def test_kinds_model_round_trips_through_its_file(tmp_path: Path) -> None:
    model = _toy_model("test/hash-8")
    path = tmp_path / "kinds.json"
    path.write_text(model.to_json(), encoding="utf-8")
    assert load_kind_model("test/hash-8", path) == model


def test_a_kinds_model_fitted_for_another_encoder_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "kinds.json"
    path.write_text(_toy_model("other/encoder").to_json(), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"fitted for other/encoder.*kb eval kinds --train"):
        load_kind_model("test/hash-8", path)


def test_a_kinds_model_on_other_features_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "kinds.json"
    path.write_text(_toy_model("test/hash-8").to_json().replace(f'"feature_version": {FEATURE_VERSION}',
                                                                 '"feature_version": 0'), encoding="utf-8")
    with pytest.raises(ConfigError, match="kb eval kinds --train --write"):
        load_kind_model("test/hash-8", path)


def test_the_shipped_kinds_model_belongs_to_the_default_encoder() -> None:
    from kb.models import resolve_model

    shipped = list(kind_model_file("x").parent.glob("*.json"))
    assert shipped, "no kinds model in kb/kinds/"
    default = resolve_model("multilingual-e5-small").model_id
    assert any(KindModel.from_json(p.read_text(encoding="utf-8"), str(p)).model_id.startswith(default)
               for p in shipped)


def test_without_a_model_the_rules_decide_and_everything_else_takes_the_question_path() -> None:
    classifier = KindClassifier(HashEmbedder(8), None)
    assert load_kind_model("test/hash-8") is None  # nothing shipped for it: a warning, not an error
    assert classifier.classify("Stelletje klootzakken").kind is Kind.ABUSE
    assert classifier.classify("Verdien €500 per dag, link in bio").kind is Kind.SPAM
    decision = classifier.classify("Wat een mooie campagne, dank jullie wel")
    assert (decision.kind, decision.decided_by) == (Kind.QUESTION, "default")


def test_a_rule_reports_its_dev_precision_as_the_probability() -> None:
    decision = KindClassifier(HashEmbedder(8), _toy_model("test/hash-8")).classify("hou je bek, sukkels")
    assert (decision.kind, decision.probability, decision.decided_by) == (Kind.ABUSE, 0.9, "rule:insult")


def test_the_model_is_asked_only_when_no_rule_decides() -> None:
    embedder = RecentQueries(HashEmbedder(8))
    classifier = KindClassifier(embedder, _toy_model("test/hash-8"))
    classifier.classify("Krijg de tering")
    assert embedder._recent == {}  # a rule decided: nothing was embedded
    decision = classifier.classify("bedankt voor de hulp")
    assert decision.decided_by == "model" and len(decision.probabilities) == len(Kind)
    assert sum(p for _, p in decision.probabilities) == pytest.approx(1.0, abs=1e-3)


def test_a_model_fitted_on_separable_kinds_tells_them_apart() -> None:
    """The fitter on a toy set: each kind's messages share words, so hashed vectors separate them."""
    embedder = HashEmbedder(32)
    words = {"question": "klopt het dat", "complaint": "belachelijk slechte service", "thanks": "dank jullie wel top",
             "story": "mijn moeder vandaag overleden", "abuse": "stelletje oplichters leugenaars",
             "spam": "korting webshop aanbieding", "offtopic": "voetbal wedstrijd weer"}
    texts, labels = [], []
    for kind, phrase in words.items():
        for i in range(12):
            texts.append(f"{phrase} {['a', 'b', 'c', 'd'][i % 4]}{i}")
            labels.append(kind)
    vectors = embedder.embed(texts, kind="query")
    from kb.kinds import features

    x = np.stack([features(v, t) for v, t in zip(vectors, texts, strict=True)])
    fitted = fit_kind_model(x, labels, [f"m{i}" for i in range(len(texts))], texts, model_id=embedder.model_id,
                            fitted_on="toy")
    assert fitted.cv_macro_f1 > 0.9
    classifier = KindClassifier(embedder, fitted.model)
    assert classifier.classify("dank jullie wel top x").kind is Kind.THANKS
    assert classifier.classify("belachelijk slechte service y").kind is Kind.COMPLAINT


class Counting(HashEmbedder):
    def __init__(self) -> None:
        super().__init__(8)
        self.texts: list[str] = []

    def embed(self, texts, *, kind="passage"):  # type: ignore[no-untyped-def]
        self.texts.extend(texts)
        return super().embed(texts, kind=kind)


def test_the_classifier_and_the_retriever_embed_a_message_once() -> None:
    from kb.normalize import Message

    inner = Counting()
    shared = RecentQueries(inner)
    message = Message.of("Bedankt voor jullie uitleg, maar klopt het dat suiker kanker voedt?")
    KindClassifier(shared, _toy_model("test/hash-8")).classify(message)
    shared.embed([message.text, "klopt het dat suiker kanker voedt?"], kind="query")  # as the retriever asks
    assert inner.texts == [message.text, "klopt het dat suiker kanker voedt?"]
    assert shared.embed(["passage"], kind="passage").shape == (1, 8) and inner.texts[-1] == "passage"
