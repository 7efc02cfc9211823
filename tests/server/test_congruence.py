"""Suggestions end to end on the sample KB: local mode and a real Qdrant server give the same answers to every
golden message (eval/data/golden_*.jsonl), in every retrieval mode.

Local mode answers from an in-memory mirror of the collection (kb.mirror: numpy cosines, and BM25 with the IDF
formula of Qdrant's `Modifier.IDF` in kb.lexical_index); the server from its own index. Any drift between the two
(IDF counted over other points, another tie order, float precision) shows up here as a different ranking.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from eval.golden import GoldenMessage, load_golden
from kb.channels import Channel
from kb.config import Settings
from kb.engine import Engine
from kb.language import detect_language
from kb.lexical import SparseEncoder
from kb.retrieval import Fusion, Mode, Retriever
from kb.suggest import SuggestQuery
from tests.conftest import ARTICLES
from tests.infra.qdrant import QdrantNode
from tests.infra.ranking import same_ranking
from tests.infra.warm import warm_data_dir

pytestmark = pytest.mark.e2e

#: Scores are rounded to 6 decimals by retrieval; both sides compute them in float32 from the same vectors.
SCORE_TOLERANCE = 1e-4
#: A suggestion's score is a probability from a logistic model whose slope multiplies a cosine's float32 noise
#: (about 1e-7) some hundredfold, and it is shown rounded to 4 places: a difference in the last place is noise.
PROBABILITY_TOLERANCE = 2e-4


@pytest.fixture(scope="module")
def messages() -> list[GoldenMessage]:
    return load_golden()


@pytest.fixture(scope="module")
def local_engine(sample_engine: Any, memo_embedder: Any) -> Engine:
    """The session's local index, read through the same memoising embedder as the server engine."""
    return Engine.open(sample_engine.settings, embedder=memo_embedder, store=sample_engine.store)


def _suggest(engine: Engine, message: GoldenMessage) -> Any:
    query = SuggestQuery(message=message.text, channel=Channel.parse(message.channel),
                         language=detect_language(message.text).language, limit=3)
    return engine.suggester.suggest(query)


def test_every_golden_message_gets_the_same_suggestions_from_local_mode_and_the_server(
        local_engine: Engine, server_engine: Engine, messages: list[GoldenMessage]) -> None:
    assert len(messages) >= 300
    differences = []
    for message in messages:
        local, server = _suggest(local_engine, message), _suggest(server_engine, message)
        ids = ([s.article_id for s in local.suggestions], [s.article_id for s in server.suggestions])
        tiers = ([s.confidence for s in local.suggestions], [s.confidence for s in server.suggestions])
        scores_match = all(abs(a.score - b.score) <= PROBABILITY_TOLERANCE
                           for a, b in zip(local.suggestions, server.suggestions, strict=False))
        drafts = ([s.draft for s in local.suggestions], [s.draft for s in server.suggestions])
        if ids[0] != ids[1] or tiers[0] != tiers[1] or not scores_match or drafts[0] != drafts[1] \
                or local.no_match != server.no_match:
            differences.append((message.id, ids, tiers, [s.score for s in local.suggestions],
                                [s.score for s in server.suggestions]))
    print(f"\ncongruence: {len(messages)} golden messages, {len(differences)} differ between local and server")
    assert differences == []


@pytest.mark.parametrize(("mode", "fusion"), [("hybrid", "rrf"), ("dense", "weighted"), ("lexical", "weighted")])
def test_every_retrieval_mode_ranks_the_golden_messages_the_same_on_both(
        local_engine: Engine, server_engine: Engine, messages: list[GoldenMessage], mode: Mode,
        fusion: Fusion) -> None:
    """The default (hybrid, weighted) is covered above through whole suggestions; here the other modes, ranked
    articles before thresholds, top 5."""
    retrievers = [Retriever(e.store, e.embedder, SparseEncoder(), alias=e.settings.collection, mode=mode,
                            fusion=fusion) for e in (local_engine, server_engine)]
    differences = []
    for message in messages:
        language = detect_language(message.text).language
        local, server = (r.search(message.text, language, limit=6) for r in retrievers)
        if not same_ranking(local, server, limit=5, tolerance=SCORE_TOLERANCE):
            differences.append((message.id, [(m.article_id, m.score) for m in local],
                                [(m.article_id, m.score) for m in server]))
    print(f"\ncongruence ({mode}, {fusion}): {len(differences)} of {len(messages)} golden messages differ")
    assert differences == []


def test_after_an_edit_indexed_in_place_both_still_rank_every_golden_message_alike(
        tmp_path: Path, qdrant_server: QdrantNode, sample_engine: Any, memo_embedder: Any,
        messages: list[GoldenMessage]) -> None:
    """An incremental index deletes an article's old chunks in place; the server's IDF must forget them too."""
    from indexer.run import run_index

    articles = tmp_path / "articles"
    shutil.copytree(ARTICLES, articles)
    cache = sample_engine.settings.cache_path
    engines = [Engine.open(Settings(data_dir=warm_data_dir(tmp_path / name, cache), articles_dir=articles,
                                    collection="kb_edit", **extra), embedder=memo_embedder)
               for name, extra in (("local", {}), ("server", {"qdrant_url": qdrant_server.url}))]
    try:
        for engine in engines:
            run_index(engine, articles)
        path = articles / "nl" / "suiker-voedt-kanker.md"
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("## Achtergrond\n", "## Achtergrond\n\nSuiker, fruit en kanker: een nieuwe alinea "
                                     "over suikerklontjes en tumoren.\n\n", 1), encoding="utf-8")
        reports = [run_index(engine, articles) for engine in engines]
        assert all(not r.full and r.deleted >= 1 for r in reports)
        retrievers = [Retriever(e.store, e.embedder, SparseEncoder(), alias="kb_edit") for e in engines]
        languages = [detect_language(m.text).language for m in messages]
        started = time.monotonic()
        while True:  # the server vacuums the deleted chunks within moments; until then IDF still counts them
            differences = [m.id for m, lang in zip(messages, languages, strict=True)
                           if not same_ranking(*(r.search(m.text, lang, limit=6) for r in retrievers), limit=5,
                                               tolerance=SCORE_TOLERANCE)]
            if not differences or time.monotonic() - started > 20:
                break
            time.sleep(0.5)
        print(f"\nafter an in-place edit: {len(differences)} of {len(messages)} differ "
              f"({time.monotonic() - started:.1f} s after the update)")
        assert differences == []
    finally:
        for engine in engines:
            engine.close()
