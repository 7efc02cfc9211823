"""Issue 24, point 1 on the real model: the service's retrieval is not below the plain encoder (one vector per
article, the message as written) on CheckThat 2020 dev tweets, and reading the names inside a tweet is what keeps
it there (docs/benchmarks.md, "Winning back the CheckThat loss")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SHARED, load_jsonl

pytestmark = pytest.mark.slow
CHECKTHAT = SHARED / "data" / "checkthat2020-en"


@pytest.mark.skipif(not CHECKTHAT.exists(), reason="../shared data missing")
def test_on_checkthat_dev_tweets_the_pipeline_is_not_below_the_plain_encoder(tmp_path: Path) -> None:
    from eval.ablation import STEPS, scores, steps_with
    from eval.workbench import Workbench, dataset_corpus
    from kb.config import Settings

    # 80 dev tweets over their targets and every 40th other target: a slice, embedded from scratch in about a minute
    dev = load_jsonl(CHECKTHAT / "queries_dev.jsonl")[:80]
    wanted = {i for q in dev for i in q["relevant_ids"]}
    targets = [t for t in load_jsonl(CHECKTHAT / "targets.jsonl") if t["id"] in wanted or int(t["id"]) % 40 == 0]
    root = tmp_path / "ct"
    root.mkdir()
    for name, rows in (("targets", targets), ("queries_dev", dev), ("queries", [])):
        (root / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    bench = Workbench.load(dataset_corpus(root), Settings(data_dir=tmp_path / "data"), tmp_path / "cache.sqlite",
                           log=lambda _: None)
    steps = steps_with(None)
    plain, before = steps[0], steps[len(STEPS) - 1]  # before: the pipeline as it was ahead of the fix rows
    now = next(v for v in steps if "the pipeline now" in v.name)
    asks = bench.corpus.split("dev")
    figures = {v.name: scores(bench, v, asks)["map@5"] for v in (plain, before, now)}
    # measured: plain 0.973, before the fix 0.948, now 0.975 (MAP@5, first stage without the re-ranker)
    assert figures[now.name] >= figures[plain.name], figures
    assert figures[now.name] > figures[before.name], figures  # the names inside the tweets are what it reads


def test_on_the_second_kbs_blind_dev_half_the_pipeline_is_above_the_plain_encoder(tmp_path: Path) -> None:
    """Randmeer's articles were written without seeing a message, so its figures are not flattered by claims
    written from them; it ships with the repository, so this runs where ../shared is missing too."""
    from eval.ablation import corpus_for, scores, steps_with
    from eval.workbench import Workbench
    from kb.config import Settings
    from kb.language_axis import AxisProjected
    from kb.rerank import load_reranker
    from tests.conftest import ARTICLES

    bench = Workbench.load(corpus_for("randmeer", articles=ARTICLES), Settings(data_dir=tmp_path / "data"),
                           tmp_path / "cache.sqlite", log=lambda _: None)
    assert bench.axis is not None
    steps = steps_with(load_reranker(AxisProjected(bench.raw, bench.axis).model_id))
    plain, now = steps[0], next(v for v in steps if "the pipeline now" in v.name)
    asks = bench.corpus.split("dev")
    figures = {v.name: scores(bench, v, asks)["hit@1"] for v in (plain, now)}
    # measured: plain 0.728, the pipeline (with the shipped re-ranker) 0.807, on 114 answerable dev messages
    assert figures[now.name] >= figures[plain.name] + 0.03, figures
