"""The ablation's candidate fixes (issue 24): each is one change on top of the pipeline, and the workbench reads and
indexes what the variant says, so a row measures that change and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.ablation import FIXES, STEPS, fixes_on, steps_with
from eval.workbench import Ask, Corpus, Variant, VectorTable, Workbench, dataset_corpus
from kb.article import Language
from kb.embedding import CachedEmbedder, EmbeddingCache, HashEmbedder
from tests.unit.test_dataset_subset import tiny_set  # noqa: F401  (a fixture)

pytestmark = pytest.mark.unit

TWEET = "@kwf Zei @jansmit dit echt? #nepnieuws — Jan Smit (@jansmit) May 3, 2020"


def _bench(corpus: Corpus, tmp_path: Path) -> Workbench:
    raw = HashEmbedder()
    table = VectorTable(CachedEmbedder(raw, EmbeddingCache(tmp_path / "cache.sqlite")), log=lambda _: None)
    return Workbench(corpus, table, raw, axis=None)


def test_each_fix_changes_only_what_it_names_on_top_of_the_pipeline() -> None:
    pipeline = steps_with(None)[len(STEPS) - 1]
    fixes = fixes_on(pipeline)
    assert len(fixes) == len(FIXES) and steps_with(None)[len(STEPS):] == fixes
    for fix in fixes:
        assert (fix.unit, fix.query_kinds, fix.kinds, fix.axis, fix.windows) == (
            pipeline.unit, pipeline.query_kinds, pipeline.kinds, pipeline.axis, pipeline.windows)
    assert not any(step.keep_names for step in STEPS)  # the steps before the fix read names dropped
    adopted = [f for f in fixes if "the pipeline now" in f.name]
    assert len(adopted) == 1 and adopted[0].keep_names and not adopted[0].plain_chunk
    assert adopted[0].retriever == pipeline.retriever
    assert Variant("the service").keep_names  # what kb eval rerank fits on is what the service runs


def test_a_variant_reads_the_message_as_the_service_did_before_or_does_now(tiny_set: Path,  # noqa: F811
                                                                           tmp_path: Path) -> None:
    corpus = dataset_corpus(tiny_set)
    corpus.queries.append(Ask("tweet", TWEET, frozenset(), Language.NL, "dev"))
    bench = _bench(corpus, tmp_path)
    ask = corpus.queries[-1]
    now = "Zei jansmit dit echt? nepnieuws — Jan Smit (jansmit) May 3, 2020"
    assert bench.message(Variant("now"), ask).query == now
    assert bench.message(Variant("before", keep_names=False), ask).query == "Zei dit echt? nepnieuws"
    assert bench.message(Variant("plain", normalise=False), ask).query == TWEET


def test_the_plain_passage_fix_indexes_one_more_point_per_article(tiny_set: Path, tmp_path: Path) -> None:  # noqa: F811
    bench = _bench(dataset_corpus(tiny_set), tmp_path)
    chunks = sum(len(c) for c in bench.chunks.values())
    without = bench.store(Variant("now"))[0].mirror
    with_plain = bench.store(Variant("b", plain_chunk=True))[0].mirror
    assert len(with_plain) - len(without) == len(bench.corpus.articles) and len(without) == chunks
    assert [m.article_id for m in bench.rank(Variant("b", plain_chunk=True), bench.corpus.queries[0])][:1]
