"""Prequential evaluation of learned phrasings: replay a labelled stream in order, score each message first, then
feed its label back as one simulated agent's choice, so every figure is measured before the message is learned.

Each run starts from nothing learned (a fresh book, kb.learning) and goes through the real suggestion path
(kb.suggest.Suggester with kb.learned's evidence; retrieval and embeddings memoised per text, which changes no
result: both are deterministic, and the ranking without learning does not depend on the order). Per message:

1. suggest, and record the top article, its tier, no-match and whether learned evidence put it there;
2. the message's agent (one of `agents`, drawn by the seed) acts as an agent would: uses the top suggestion when
   it is the labelled article, otherwise rejects the top one (when there is one) and chooses the labelled article
   (searching for it); for a message without an article, rejects what was suggested;
3. with learning, those actions are observed by kb.learning and the evidence in force is replaced.

`poisoner` names one agent who always chooses a wrong article (the best-ranked candidate that is not the label,
the mistake an agent is likeliest to make) and never rejects anything.

The same stream in the same order is replayed without learning (no feedback is learned) for the comparison.

    >>> runner = Runner.open(engine)  # doctest: +SKIP
    >>> steps = runner.replay(load_stream(Path("eval/data/golden_test_blind.jsonl")), learning=True, seed=1)
    ... # doctest: +SKIP
    >>> block_figures(steps, 40)[0]["hit@1"]  # doctest: +SKIP
    0.71
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.metrics import mean
from eval.surge import copies
from kb.article import Language
from kb.channels import Channel
from kb.embedding import RecentQueries
from kb.engine import Engine
from kb.errors import InvalidInput
from kb.language import detect_language
from kb.learned import LearnedEvidence
from kb.learning import Book, Observation, Rules, observe
from kb.near_repeat import load_near_repeat
from kb.normalize import Message
from kb.retrieval import Match, Retriever
from kb.suggest import Suggester, SuggestQuery

AGENTS = 5
BLOCK = 40
_START = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class StreamMessage:
    """One message of a labelled stream; `copy_of` is the id of the message it is an edited copy of."""

    id: str
    text: str
    expected: str | None
    language: str = "nl"
    channel: str = "facebook"
    copy_of: str | None = None

    @property
    def group(self) -> str:
        return self.copy_of or self.id


def load_stream(path: Path) -> list[StreamMessage]:
    """A JSONL stream of `{id, text, expected, language?, channel?, copy_of?}` (the golden files are streams);
    a bad line is an InvalidInput naming the file and line."""
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out.append(StreamMessage(str(row["id"]), str(row["text"]), row.get("expected"),
                                     str(row.get("language", "nl")), str(row.get("channel", "facebook")),
                                     row.get("copy_of")))
        except (ValueError, KeyError, TypeError) as e:
            raise InvalidInput(f"{path}:{number}: not a stream message ({e})", field="stream") from e
    if not out:
        raise InvalidInput(f"{path}: no messages", field="stream")
    return out


def surge_stream(messages: Sequence[StreamMessage], per_message: int, seed: int) -> list[StreamMessage]:
    """Each message followed by `per_message` lightly edited copies (eval.surge), as a surge brings them: every
    message arrives at a random moment and its copies after it, interleaved with the rest."""
    rng = random.Random(seed)
    groups = {m.id: [m, *(StreamMessage(f"{m.id}~{i}", text, m.expected, m.language, m.channel, copy_of=m.id)
                          for i, text in enumerate(copies(m.text, per_message, rng, language=m.language), 1))]
              for m in messages}
    return _arrivals(groups, rng)


def shuffled(stream: Sequence[StreamMessage], seed: int) -> list[StreamMessage]:
    """Another order of `stream` (seeded); a copy keeps coming after its original."""
    groups: dict[str, list[StreamMessage]] = {}
    for m in stream:
        groups.setdefault(m.group, []).append(m)
    return _arrivals(groups, random.Random(seed))


def _arrivals(groups: dict[str, list[StreamMessage]], rng: random.Random) -> list[StreamMessage]:
    """Each group's first message at a random moment, the others within a quarter of the stream after it."""
    timed: list[tuple[float, int, StreamMessage]] = []
    for members in groups.values():
        start = rng.random()
        for i, m in enumerate(members):
            timed.append((start + (rng.random() * 0.25 if i else 0.0), len(timed), m))
    return [m for _, _, m in sorted(timed, key=lambda t: (t[0], t[1]))]


@dataclass(frozen=True)
class Step:
    """What happened to one message of the stream, measured before its label was fed back."""

    position: int
    id: str
    group: str
    is_copy: bool
    expected: str | None
    top: str | None
    tier: str | None
    no_match: bool
    learned: bool  # the top suggestion came from learned evidence
    agent: str
    confirmed_before: int  # distinct honest agents who had confirmed this group's article before this message

    @property
    def right(self) -> bool:
        return self.expected is not None and self.top == self.expected


class _MemoRetriever:
    """The engine's retriever, each (message, language, limit) searched once: it is deterministic."""

    def __init__(self, inner: Retriever) -> None:
        self.inner = inner
        self.memo: dict[tuple[str, str | None, int], list[Match]] = {}

    def search(self, message: str | Message, language: Language | None, *, limit: int) -> list[Match]:
        key = (Message.of(message).text, str(language) if language else None, limit)
        if key not in self.memo:
            self.memo[key] = self.inner.search(message, language, limit=limit)
        return self.memo[key]


class Runner:
    """Replays streams through one engine's retrieval with evidence of its own (see the module docstring)."""

    def __init__(self, engine: Engine, rules: Rules) -> None:
        self.engine, self.rules = engine, rules
        embedder = RecentQueries(engine.embedder, size=1_000_000)  # every text embedded once per run
        self.embedder = embedder
        self.measure = load_near_repeat(embedder.model_id, embedder.dim)
        self.evidence = LearnedEvidence(self.measure, embedder, short_words=engine.settings.short_message_words)
        self.suggester = Suggester(engine.settings, _MemoRetriever(engine.retriever), engine.drafter,  # type: ignore[arg-type]
                                   engine.served, calibration=engine.suggester.calibration, evidence=self.evidence)
        articles = engine.served.all_articles()
        self.titles = {a.id: (str(a.meta.language), a.meta.title) for a in articles}
        self.languages: dict[str, Language] = {}
        self.book = Book(self.measure)

    @classmethod
    def open(cls, engine: Engine) -> Runner:
        return cls(engine, Rules(min_agents=engine.settings.learned_min_agents,
                                 short_words=engine.settings.short_message_words))

    def _language(self, text: str) -> Language:
        if text not in self.languages:  # as the service does: detected, never taken from the label
            self.languages[text] = detect_language(text).language
        return self.languages[text]

    def replay(self, stream: Sequence[StreamMessage], *, learning: bool, seed: int, agents: int = AGENTS,
               poisoner: bool = False, fresh: bool = True,
               progress: Callable[[int, int], None] | None = None) -> list[Step]:
        """Score every message of `stream` in order, learning from each after it is scored (when `learning`).
        `fresh`: start from nothing learned (else go on from the previous replay's book)."""
        rng = random.Random(seed)
        names = [f"agent-{i + 1}" for i in range(agents)]
        if fresh:
            self.book = Book(self.measure)
            self.evidence.replace([])
        confirmed: dict[str, set[str]] = {}
        steps: list[Step] = []
        for position, m in enumerate(stream):
            agent = rng.choice(names)
            language = self._language(m.text)
            ranked = self.suggester.rank(m.text, language)
            result = self.suggester.suggest(SuggestQuery(m.text, Channel.parse(m.channel), language, limit=3),
                                            ranked=ranked)
            top = result.suggestions[0] if result.suggestions else None
            steps.append(Step(position, m.id, m.group, m.copy_of is not None, m.expected,
                              top.article_id if top else None, str(top.confidence) if top else None,
                              result.no_match, bool(top and top.learned), agent,
                              len(confirmed.get(m.group, set()))))
            actions = self._actions(m, [s.article_id for s in result.suggestions], ranked,
                                    poisoned=poisoner and agent == names[0])
            if m.expected is not None and not (poisoner and agent == names[0]) and \
                    any(a == m.expected and act != "rejected" for act, a in actions):
                confirmed.setdefault(m.group, set()).add(agent)
            if learning and actions:
                self._learn(m, agent, actions, position)
            if progress is not None:
                progress(position + 1, len(stream))
        return steps

    @staticmethod
    def _actions(m: StreamMessage, shown: list[str], ranked: list[Match], *,
                 poisoned: bool) -> list[tuple[str, str]]:
        """(action, article) pairs the message's agent sends back."""
        top = shown[0] if shown else None
        if poisoned:
            wrong = next((r.article_id for r in ranked if r.article_id != m.expected), None)
            return [] if wrong is None else [("used" if wrong == top else "chosen", wrong)]
        if m.expected is None:
            return [("rejected", top)] if top else []
        if top == m.expected:
            return [("used", top)]
        return ([("rejected", top)] if top else []) + [("chosen", m.expected)]

    def _learn(self, m: StreamMessage, agent: str, actions: list[tuple[str, str]], position: int) -> None:
        read = Message.of(m.text)
        vector = self.embedder.embed([read.text], kind="query")[0]
        at = (_START + dt.timedelta(seconds=position)).isoformat(timespec="seconds")  # stream order is the clock
        changed = []
        for action, article in actions:
            changed += observe(self.book, self.rules, Observation(article, m.text, vector, agent, action, at,
                                                                  m.language, request_id=str(position)))
        if changed:
            self.evidence.replace(self.book.evidence(self.titles))


def figures(steps: Sequence[Step]) -> dict[str, Any]:
    """hit@1 over messages with an article; `high`: how many, and how many of them right; no-match: the share
    of messages without an article that got none, and the share of messages with one that got none."""
    answerable = [s for s in steps if s.expected is not None]
    none = [s for s in steps if s.expected is None]
    high = [s for s in steps if s.tier == "high"]
    return {"n": len(steps), "answerable": len(answerable),
            "hit@1": round(mean([1.0 if s.right else 0.0 for s in answerable]), 4),
            "high": len(high), "high_wrong": sum(not s.right for s in high),
            "high_precision": round(mean([1.0 if s.right else 0.0 for s in high]), 4),
            "high_share": round(len(high) / len(answerable), 4) if answerable else 0.0,
            "no_match_right": round(mean([1.0 if s.no_match else 0.0 for s in none]), 4),
            "no_match_missed": round(mean([1.0 if s.no_match else 0.0 for s in answerable]), 4),
            "learned_top": sum(s.learned for s in steps),
            "learned_wrong": sum(s.learned and not s.right for s in steps)}


def block_figures(steps: Sequence[Step], block: int = BLOCK) -> list[dict[str, Any]]:
    return [{"block": f"{i + 1}-{min(i + block, len(steps))}", **figures(steps[i:i + block])}
            for i in range(0, len(steps), block)]


def copy_figures(steps: Sequence[Step], most: int = 4) -> list[dict[str, Any]]:
    """Figures on the copies, by how many distinct agents had confirmed their article before (`most`+ pooled)."""
    rows = []
    for k in range(most + 1):
        part = [s for s in steps if s.is_copy and s.expected is not None and
                (s.confirmed_before == k if k < most else s.confirmed_before >= k)]
        if part:
            rows.append({"confirmed before": f"{k}+" if k == most else str(k), **figures(part)})
    return rows


def compare(without: Sequence[Step], with_: Sequence[Step], block: int = BLOCK) -> dict[str, Any]:
    """One stream replayed without and with learning: both figures, overall and per block, and the worst block."""
    blocks = [{"block": a["block"], "hit@1 without": a["hit@1"], "hit@1 with": b["hit@1"],
               "high without": a["high"], "high with": b["high"], "high wrong without": a["high_wrong"],
               "high wrong with": b["high_wrong"], "no-match right without": a["no_match_right"],
               "no-match right with": b["no_match_right"], "learned top": b["learned_top"]}
              for a, b in zip(block_figures(without, block), block_figures(with_, block), strict=True)]
    return {"without": figures(without), "with": figures(with_), "blocks": blocks,
            "worst_block_hit@1_change": round(min(b["hit@1 with"] - b["hit@1 without"] for b in blocks), 4),
            "wrong_high_added": figures(with_)["high_wrong"] - figures(without)["high_wrong"]}
