"""`kb bench`'s answerability-gate figure: a suggestion without the gate against the same suggestion with the shipped
gate, which reads the message kinds' probabilities and the outside list (kb.answerable, kb.outside), interleaved
message by message in one process.

Both sides run the whole suggestion (embedding, hybrid retrieval, tiers, drafts, the kinds shaping the result) on
the same index, each over its own memo of the bare model, so neither reads a vector the other just made; on the
gated side the kind classifier and the outside list reuse the vector its retriever made, as in the service.

    >>> bench_gate(settings, embedder, messages)["ratio_p50"]  # doctest: +SKIP
    1.02
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bench.stats import paired
from kb.channels import Channel
from kb.config import Settings
from kb.embedding import Embedder, RecentQueries
from kb.engine import Engine
from kb.kind_replies import KindReplies
from kb.kinds import KindClassifier, load_kind_model
from kb.outside import load_outside
from kb.retrieval import Retriever
from kb.suggest import Suggester, SuggestQuery

Log = Callable[[str], None]


def bench_gate(settings: Settings, embedder: Embedder, messages: Sequence[str], *, log: Log = print
               ) -> dict[str, Any]:
    """Suggestion p50/p95 without the gate and with the shipped one, and their ratio (see above)."""
    from indexer.run import run_index

    with Engine.open(settings, embedder=embedder) as engine:
        run_index(engine, settings.articles_dir)
        raw = embedder.inner if isinstance(embedder, RecentQueries) else embedder
        gate = engine.suggester.gate
        shaping = engine.suggester.kinds

        def side(gated: bool) -> Suggester:
            memo = RecentQueries(raw)
            retriever = Retriever(engine.store, memo, engine.sparse, alias=settings.collection,
                                  mode=settings.search_mode, fusion=settings.fusion,
                                  reranker=engine.retriever.reranker)
            kinds = None
            if isinstance(shaping, KindReplies):
                kinds = KindReplies(KindClassifier(memo, load_kind_model(raw.model_id, settings.kinds_model)),
                                    shaping.templates, engine.drafter, moderation_drafts=settings.moderation_drafts)
            outside = load_outside(settings.articles_dir, memo) if gated and gate and gate.reads_outside else None
            return Suggester(settings, retriever, engine.drafter, engine.served,
                             calibration=engine.suggester.calibration, kinds=kinds,
                             gate=gate if gated else None, outside=outside)

        without, with_gate = side(False), side(True)
        times = paired({"without": lambda m: without.suggest(SuggestQuery(m, Channel.X, limit=3)),
                        "with": lambda m: with_gate.suggest(SuggestQuery(m, Channel.X, limit=3))}, messages)
        no_match = sum(with_gate.suggest(SuggestQuery(m, Channel.X)).no_match for m in messages)
    out = {"messages": len(messages), "gate_features": list(gate.features) if gate else [],
           "outside_examples": len(with_gate.outside.examples) if with_gate.outside else 0,
           "without_gate": times["without"], "with_gate": times["with"],
           "ratio_p50": round(times["with"]["p50_ms"] / times["without"]["p50_ms"], 3),
           "ratio_p95": round(times["with"]["p95_ms"] / times["without"]["p95_ms"], 3),
           "no_match_with_gate": no_match}
    log(f"gate: {out}")
    return out
