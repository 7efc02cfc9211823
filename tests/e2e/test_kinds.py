"""Message kinds end to end: the real encoder with the shipped kinds model, the sample index, and `kb eval kinds`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from eval import gate
from eval.golden import load_tweets
from eval.kinds import classify_all, embed_messages, kinds_gate_figures, load_kind_messages, summarise_kinds
from eval.kinds_replies import reply_gate_figures, run_replies
from kb.channels import Channel
from kb.cli import main
from kb.kinds import Kind, KindModel, kind_model_file
from kb.suggest import SuggestQuery
from tests.conftest import ARTICLES, SHARED

pytestmark = pytest.mark.e2e

ISSUE = {
    "Belachelijk! Al drie weken geen antwoord op mijn mail over mijn donatie. Slechtste organisatie ooit, ik stop "
    "ermee.": Kind.COMPLAINT,
    "Wat een prachtige campagne, ik moest er echt van huilen ❤️ dank jullie wel": Kind.THANKS,
    "Mijn vader is vanochtend overleden. Hij heeft zo lang gevochten tegen de kanker.": Kind.STORY,
    "vandaag 5 jaar kankervrij!": Kind.STORY,
    "Stelletje oplichters, kankerlijers zijn jullie": Kind.ABUSE,
    "🔥 VERDIEN €500 PER DAG VANUIT HUIS!! klik op de link in mijn bio 🔥": Kind.SPAM,
    "klopt het dat suiker kanker voedt? mn schoonmoeder zegt dat ik moet stoppen met fruit": Kind.QUESTION,
    "wie wint er vanavond, ajax of feyenoord? ⚽": Kind.OFFTOPIC,
}


def test_the_real_encoder_gives_the_issues_messages_their_kinds(sample_engine: Any) -> None:
    kinds = sample_engine.suggester.kinds
    for message, kind in ISSUE.items():
        decision = kinds.classify(message)
        assert decision.kind is kind, (message, decision)
        assert 0.0 < decision.probability <= 1.0


def test_the_issues_complaint_gets_an_apology_and_a_private_step_before_the_donation_answer(sample_engine: Any) -> None:
    message = next(m for m, k in ISSUE.items() if k is Kind.COMPLAINT)
    result = sample_engine.suggester.suggest(SuggestQuery(message=message, channel=Channel.X, customer_name="Ria"))
    assert result.kind is not None and result.kind.kind is Kind.COMPLAINT and result.kind.reply is not None
    assert "sorry" in result.kind.reply.text and "DM" in result.kind.reply.text
    top = result.suggestions[0]
    assert top.article_id == "donatie-stopzetten"
    assert top.draft.startswith("Hoi Ria, wat vervelend, sorry!") and "DM" in top.draft and top.draft_length <= 280


def test_kind_precision_and_recall_on_the_test_split_meet_the_gate(memo_embedder: Any, record_property: Any) -> None:
    from kb.kinds import KindClassifier, load_kind_model

    test = load_kind_messages(split="test")
    classifier = KindClassifier(memo_embedder, load_kind_model(memo_embedder.model_id))
    summary = summarise_kinds(classify_all(classifier, test, embed_messages(memo_embedder, test)))
    f = summary["test"]
    for kind, v in f["kinds"].items():
        record_property(f"test {kind} P/R", f"{v['precision']}/{v['recall']} n={v['n']}")
    print(f"\nkinds test: n={f['n']} accuracy {f['accuracy']:.3f} macro-F1 {f['macro_f1']:.3f}")
    assert {m.source for m in test} >= {"golden", "written", "rounds"}
    assert not [m for m in load_kind_messages(split="dev") if m.source == "rounds"]  # never fitted on
    minimums = {k: v for k, v in gate.load(None, "kinds").items() if not k.startswith(("thanks_without",
                                                                                       "questions_keeping"))}
    assert gate.failures(kinds_gate_figures(summary), minimums) == []


@pytest.mark.skipif(not (SHARED / "data" / "dutch-tweets" / "tweets.jsonl").is_file(), reason="no ../shared data")
def test_real_tweets_are_read_from_the_shared_data_and_never_stored() -> None:
    rows = [json.loads(line) for line in (ARTICLES.parent / "eval" / "data" / "kinds_tweets.jsonl").read_text(
        encoding="utf-8").splitlines()]
    assert rows and all(set(r) == {"id", "kind", "stratum", "split"} for r in rows)
    tweets = [m for m in load_kind_messages() if m.source == "tweets"]
    assert len(tweets) == len(rows) and all(m.text for m in tweets)


def test_thanks_never_get_a_fact_article_first_and_questions_keep_theirs(sample_engine: Any) -> None:
    test = load_kind_messages(split="test")
    report = run_replies(sample_engine, sample_engine.suggester.kinds, test)
    f = report["test"]
    print(f"\nreplies test: {f}")
    assert f["thanks"] >= 20 and f["thanks_fact_first_after"] == 0
    assert f["thanks_fact_first_before"] > 0  # without kinds some did: the check can fail
    assert f["drafts_over_limit"] == 0
    assert gate.failures(reply_gate_figures({"replies": report}), {k: v for k, v in gate.load(None, "kinds").items()
                                                      if k in ("thanks_without_fact_first",
                                                               "questions_keeping_their_article")}) == []


@pytest.mark.slow
def test_kb_eval_kinds_retrains_for_the_encoder_in_one_command_and_reproduces_the_shipped_model(
        memo_embedder: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import eval.kinds_cli

    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KB_ARTICLES_DIR", str(ARTICLES))
    monkeypatch.setattr(eval.kinds_cli, "load_embedder", lambda settings: memo_embedder)
    written = tmp_path / "kinds.json"
    code = main(["eval", "kinds", "--train", "--write", str(written), "--no-replies", "--out", str(tmp_path / "r")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "dev (cross-validated)" in out and "test:" in out and "complaint" in out
    fitted = KindModel.from_json(written.read_text(encoding="utf-8"), str(written))
    shipped_path = kind_model_file(memo_embedder.model_id)
    shipped = KindModel.from_json(shipped_path.read_text(encoding="utf-8"), str(shipped_path))
    assert fitted.model_id == shipped.model_id == memo_embedder.model_id
    if load_tweets():  # the shared real tweets are there: the shipped model was fitted with them
        assert fitted.fitted_with == shipped.fitted_with
        assert np.abs(np.array(fitted.weights) - np.array(shipped.weights)).max() < 1e-3
    else:  # a checkout without ../shared (a clone elsewhere) fits on the messages in the repository alone, and says so
        assert "tweets" not in fitted.fitted_on and "tweets" in shipped.fitted_on, fitted.fitted_on
    report = json.loads((tmp_path / "r" / "kinds.json").read_text(encoding="utf-8"))
    assert report["test"]["kinds"]["thanks"]["n"] > 0 and "errors" in report
    # Set for another encoder, the file is refused at start-up rather than read with the wrong vectors.
    from kb.errors import ConfigError
    from kb.kinds import load_kind_model

    with pytest.raises(ConfigError, match=r"fitted for intfloat/multilingual-e5-small.*uses sentence-transformers"):
        load_kind_model("sentence-transformers/all-MiniLM-L6-v2", written)


def test_consistency_reads_complaint_replies_for_tone_on_the_real_engine(sample_engine: Any) -> None:
    from eval.agent_sources import Reply
    from eval.agents import run_agents
    from kb.corpus import build_corpus, iter_article_files

    complaint = next(m for m, k in ISSUE.items() if k is Kind.COMPLAINT)
    answer = ("Stoppen of aanpassen kan altijd via het formulier op onze site, telefonisch of per mail. "
              "https://www.hoopengezondheid.example/donatie-wijzigen")
    warm = f"Wat vervelend, sorry! {answer} Stuur je ons een DM? Dan zoeken we het uit."
    replies = [Reply("r1", "Sanne", "x", complaint, warm), Reply("r2", "Mehmet", "x", complaint, warm),
               Reply("r3", "Joris", "x", complaint, f"Wat vervelend! {answer}"),
               Reply("r4", "Tom", "x", complaint, f"Hoi, {answer}")]
    report = run_agents(sample_engine, replies, build_corpus(iter_article_files(ARTICLES)))
    flags = {c["id"]: c["flags"] for c in report["checked"]}
    assert all(c["kind"] == "complaint" for c in report["checked"])
    assert "no_apology" in flags["r4"] and "no_apology" not in flags["r3"]
    assert report["per_kind"]["complaint"]["apology"] == 0.75
    assert report["tone"]["replies"] == 4 and report["tone"]["percent_agreement"] < 1.0
