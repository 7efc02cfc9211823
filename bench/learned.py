"""`kb bench`'s learned-phrasings figure: a suggestion today against the same suggestion with `phrasings` (10,000)
learned phrasings in force, interleaved message by message in one process.

Both sides run the whole suggestion (embedding, hybrid retrieval, tiers, drafts) on the same index, each with its
own retriever over the bare model, so neither reads a vector the other just made. The phrasings are made from
half of the golden messages: each phrasing's text is a message with a few words dropped or repeated, its vector
the message's own vector moved a little at random (so they spread around real messages as a surge's copies do,
without embedding 10,000 texts), each under a served article. The timed messages are the other half of the golden
messages (the common case: a message agents have not answered before; how many of them still find a near-repeat
is counted) and copies of phrasings (near-repeats: the learned path in full), each group also timed on its own.
(Phrasings made from every golden message made 399 of 400 timed messages near-repeats: no common case at all.)

    >>> bench_learned(settings, embedder, messages, phrasings=10_000)["ratio_p50"]  # doctest: +SKIP
    1.02
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from bench.stats import paired
from kb.channels import Channel
from kb.config import Settings
from kb.embedding import Embedder, RecentQueries
from kb.engine import Engine
from kb.learned import EvidencePhrasing, LearnedEvidence
from kb.near_repeat import load_near_repeat
from kb.normalize import Message
from kb.retrieval import Retriever
from kb.suggest import Suggester, SuggestQuery

Log = Callable[[str], None]


def _phrasings(embedder: Embedder, messages: Sequence[str], articles: list[tuple[str, str, str]], n: int,
               seed: int = 23) -> list[EvidencePhrasing]:
    rng = np.random.default_rng(seed)
    pick = random.Random(seed)
    vectors = np.asarray(embedder.embed([Message.of(m).text for m in messages], kind="query"), np.float32)
    out = []
    for i in range(n):
        row = i % len(messages)
        words = messages[row].split()
        if len(words) > 3:
            j = pick.randrange(len(words))
            words = [*words[:j], *words[j + 1:]] if pick.random() < 0.5 else [*words[:j], words[j], *words[j:]]
        vector = vectors[row] + np.asarray(rng.normal(0.0, 0.02, vectors.shape[1]), np.float32)
        article_id, language, title = articles[i % len(articles)]
        out.append(EvidencePhrasing(f"bench-{i}", article_id, language, " ".join(words), title,
                                    (vector / np.linalg.norm(vector)).astype(np.float32), agents=2, approved=False))
    return out


def bench_learned(settings: Settings, embedder: Embedder, messages: Sequence[str], *, phrasings: int = 10_000,
                  log: Log = print) -> dict[str, Any]:
    """Suggestion p50/p95 today and with `phrasings` learned phrasings in force, and their ratio (see above)."""
    from indexer.run import run_index

    with Engine.open(settings, embedder=embedder) as engine:
        run_index(engine, settings.articles_dir)
        raw = embedder.inner if isinstance(embedder, RecentQueries) else embedder
        served = engine.served.all_articles()
        articles = [(a.id, str(a.meta.language), a.meta.title) for a in served]

        def retriever(over: Embedder) -> Retriever:
            return Retriever(engine.store, over, engine.sparse, alias=settings.collection, mode=settings.search_mode,
                             fusion=settings.fusion)

        calibration = engine.suggester.calibration
        today = Suggester(settings, retriever(raw), engine.drafter, engine.served, calibration=calibration)
        remembering = RecentQueries(raw)
        evidence = LearnedEvidence(load_near_repeat(raw.model_id, raw.dim), remembering,
                                   short_words=settings.short_message_words)
        sources, common = list(messages[::2]), list(messages[1::2])
        made = _phrasings(raw, sources, articles, phrasings)
        evidence.replace(made)
        learned = Suggester(settings, retriever(remembering), engine.drafter, engine.served, calibration=calibration,
                            evidence=evidence)
        pick = random.Random(5)
        copies = [f"RT @x: {p.text} #deeldit" for p in pick.sample(made, min(len(messages), len(made)))]

        def ask(suggester: Suggester) -> Callable[[str], object]:
            return lambda m: suggester.suggest(SuggestQuery(m, Channel.X, limit=3))

        def learned_path(texts: Sequence[str]) -> int:
            return sum(any(s.learned for s in learned.suggest(SuggestQuery(m, Channel.X)).suggestions) for m in texts)

        sides = {"today": ask(today), "learned": ask(learned)}
        times = paired(sides, [*common, *copies])
        groups = {"common": paired(sides, common), "near_repeat": paired(sides, copies)}
        checked = {"common": common, "near_repeat": copies[:50]}
        reached = {name: f"{learned_path(texts)} of {len(texts)}" for name, texts in checked.items()}
    out: dict[str, Any] = {"phrasings": len(made), "messages": len(common), "near_repeats": len(copies),
                           **_ratios(times),
                           "groups": {name: {**_ratios(t), "learned_path": reached[name]}
                                      for name, t in groups.items()},
                           "near_repeats_answered_learned": reached["near_repeat"]}
    log(f"learned phrasings: suggest p50 {out['today']['p50_ms']} ms today, {out['with_phrasings']['p50_ms']} ms "
        f"with {len(made)} in force → ratio {out['ratio_p50']} (p95 {out['ratio_p95']}); new messages "
        f"{out['groups']['common']['ratio_p50']} ({out['groups']['common']['learned_path']} took the learned path), "
        f"near-repeats {out['groups']['near_repeat']['ratio_p50']}")
    return out


def _ratios(times: dict[str, dict[str, float]]) -> dict[str, Any]:
    return {"today": times["today"], "with_phrasings": times["learned"],
            "ratio_p50": round(times["learned"]["p50_ms"] / times["today"]["p50_ms"], 3),
            "ratio_p95": round(times["learned"]["p95_ms"] / times["today"]["p95_ms"], 3)}
