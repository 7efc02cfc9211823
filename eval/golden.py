"""The golden set: realistic incoming messages with the article that should answer them (or none).

Two splits, so the figures do not flatter us. `dev` (`golden_dev_*.jsonl`) is what claims were written from and
what retrieval, the confidence calibration and the tiers were tuned on: the original golden messages, written
together with the articles' claims, and half of a set written blind (from article titles only). `test`
(`golden_test_*.jsonl`, the other half of the blind set) is never used for either; the gap between the two is the
honest measure of how much tuning flattered dev. Real Dutch tweets (`../shared/data/dutch-tweets`, labelled
against the sample KB in `tweets_nl_labels.jsonl`, almost all without an article) measure no-match on real
traffic, split the same way.

`run_golden` returns one `GoldenItem` per message (what was expected, what was ranked, the tier) and
`summarise` the figures QA leads read: hit@1, hit@3, MRR, no-match precision/recall and how often each tier was
right, overall and per language and type.

    >>> items = run_golden(engine, load_golden())  # doctest: +SKIP
    >>> summarise(items)["all"]["hit@1"]  # doctest: +SKIP
    0.87
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eval.charts import confusion_svg, histogram_svg
from eval.metrics import hit_at, measured, precision_recall, reciprocal_rank, wilson
from eval.report import Section
from kb.article import Article, Language
from kb.channels import Channel
from kb.engine import Engine
from kb.language import detect_language
from kb.normalize import Message
from kb.retrieval import Match
from kb.suggest import SuggestQuery, SuggestResult

DATA = Path(__file__).resolve().parent / "data"
#: Where the shared evaluation data lives beside a checkout (read there, never copied into the repository).
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SPLITS = ("dev", "test")


@dataclass(frozen=True)
class GoldenMessage:
    id: str
    text: str
    language: str
    channel: str
    expected: str | None
    kind: str = ""
    split: str = "dev"
    source: str = "golden"  # "golden" or "tweets"
    file: str = ""  # the file it came from (golden_test_blind2): a split can hold several independent draws


@dataclass(frozen=True)
class GoldenItem:
    """The outcome for one message."""

    id: str
    text: str
    language: str
    kind: str
    split: str
    source: str
    expected: str | None
    expected_type: str | None
    ranked: list[str]  # candidate articles before thresholds, best first
    top_score: float  # the best candidate's raw retrieval score (not what agents see)
    suggested: list[str]  # what the agent is shown (after thresholds)
    tier: str | None  # tier of the first suggestion
    no_match: bool
    #: The calibrated probability the tiers cut: the first suggestion's, or the best candidate's under no-match.
    probability: float = 0.0
    file: str = ""  # the golden file it came from

    @property
    def correct_top(self) -> bool:
        return self.expected is not None and bool(self.suggested) and self.suggested[0] == self.expected


def load_golden(paths: Iterable[Path] | None = None, *, split: str | None = None,
                folder: Path | None = None) -> list[GoldenMessage]:
    """The golden messages of one split (`dev`, `test`) or both; the split is in the file name. They come from
    `eval/data`, or from `folder` (an articles repository's own `golden_{dev,test}_*.jsonl`)."""
    rows: list[GoldenMessage] = []
    for path in paths or sorted((folder or DATA).glob(f"golden_{split or '*'}_*.jsonl")):
        file_split = path.stem.split("_")[1] if path.stem.count("_") >= 2 else "dev"
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                rows.append(GoldenMessage(r["id"], r["text"], r["language"], r.get("channel", "facebook"),
                                          r.get("expected"), r.get("kind", ""), file_split, file=path.stem))
    return rows


def load_tweets(root: Path = SHARED / "dutch-tweets", *, split: str | None = None) -> list[GoldenMessage]:
    """The labelled Dutch tweets of one split (or both), their text read from the shared data; [] without it."""
    source = root / "tweets.jsonl"
    if not source.is_file():
        return []
    texts = {str(r["id"]): str(r["text"]) for r in map(json.loads, source.read_text(encoding="utf-8").splitlines())}
    rows = []
    for line in (DATA / "tweets_nl_labels.jsonl").read_text(encoding="utf-8").splitlines():
        label = json.loads(line)
        if (split is None or label["split"] == split) and label["id"] in texts:
            rows.append(GoldenMessage(f"tweet-{label['id']}", texts[label["id"]], "nl", "x", label.get("expected"),
                                      f"tweet-{label['stratum']}", label["split"], "tweets"))
    return rows


def judge(engine: Engine, msg: GoldenMessage, served: dict[str, Article]) -> tuple[GoldenItem, SuggestResult]:
    """What the service does with one golden message, as a GoldenItem, and the full result (drafts and all)."""
    # The language is detected as the service would, never taken from the golden label.
    detected = detect_language(msg.text).language
    query = SuggestQuery(message=msg.text, channel=Channel.parse(msg.channel), language=detected, limit=3)
    ranked = engine.suggester.rank(msg.text, detected)
    result = engine.suggester.suggest(query, ranked=ranked)
    expected_type = str(served[msg.expected].meta.type) if msg.expected in served else None
    item = GoldenItem(
        id=msg.id, text=msg.text, language=msg.language, kind=msg.kind, split=msg.split, source=msg.source,
        expected=msg.expected,
        expected_type=expected_type, ranked=[m.article_id for m in ranked[:10]],
        top_score=ranked[0].score if ranked else 0.0, suggested=[s.article_id for s in result.suggestions],
        tier=str(result.suggestions[0].confidence) if result.suggestions else None, no_match=result.no_match,
        probability=top_probability(engine, msg.text, detected, ranked, result), file=msg.file,
    )
    return item, result


def top_probability(engine: Engine, text: str, language: Language, ranked: list[Match],
                    result: SuggestResult) -> float:
    """What an agent is shown as the confidence of the first suggestion (the tiers cut it); under no-match, the
    best candidate's probability, which fell below the lowest tier."""
    if result.suggestions:
        return result.suggestions[0].score
    probabilities = engine.suggester.confidences(ranked, words=Message.of(text).words, language=language)
    return round(max(probabilities, default=0.0), 4)


def run_golden(engine: Engine, messages: list[GoldenMessage],
               progress: Callable[[int, int], None] | None = None) -> list[GoldenItem]:
    served = {a.id: a for a in engine.served.all_articles()}
    items = []
    for i, msg in enumerate(messages):
        items.append(judge(engine, msg, served)[0])
        if progress:
            progress(i + 1, len(messages))
    return items


def figures(items: list[GoldenItem]) -> dict[str, Any]:
    """Figures for one slice of items. A figure with nothing to measure in the slice (no message got that tier,
    the slice holds no message without an article) is None, never a 0.0 that reads as "always wrong"."""
    answerable = [i for i in items if i.expected is not None]
    predicted = [i.no_match for i in items]
    actual = [i.expected is None for i in items]
    nm_precision, nm_recall = precision_recall(predicted, actual)
    tiers: dict[str, dict[str, Any]] = {}
    for tier in ("high", "medium", "low"):
        shown = [i for i in items if i.tier == tier]
        tiers[tier] = {"n": len(shown), "correct": measured([1.0 if i.correct_top else 0.0 for i in shown])}
    return {
        "n": len(items),
        "answerable": len(answerable),
        "hit@1": measured([1.0 if i.correct_top else 0.0 for i in answerable]),
        # how far another draw of as many messages could put it: the draws of one split differ by this much
        "hit@1_95": wilson(sum(i.correct_top for i in answerable), len(answerable)),
        "hit@3": measured([1.0 if i.expected is not None and hit_at(i.suggested, i.expected, 3) else 0.0
                           for i in answerable]),
        "mrr": measured([reciprocal_rank(i.suggested, i.expected) for i in answerable if i.expected]),
        "ranked_hit@1": measured([1.0 if i.ranked[:1] == [i.expected] else 0.0 for i in answerable]),
        # Only a slice with messages that need no article can say how well no-match is given: in the others (an
        # article type's slice holds none) every no-match is wrong by construction and precision reads 0.000.
        "no_match_precision": nm_precision if any(actual) and any(predicted) else None,
        "no_match_recall": nm_recall if any(actual) else None,
        "tiers": tiers,
    }


def off_topic(items: list[GoldenItem]) -> dict[str, Any]:
    """Real traffic without an article: how much of it still gets a suggestion, and how much a `high` one."""
    none = [i for i in items if i.expected is None]
    return {"n": len(items), "without_article": len(none),
            "suggested": measured([0.0 if i.no_match else 1.0 for i in none]),
            "high": measured([1.0 if i.tier == "high" else 0.0 for i in none]),
            "suggested_n": sum(not i.no_match for i in none), "high_n": sum(i.tier == "high" for i in none)}


#: Summary keys that are not figure slices.
NOT_SLICES = ("misses", "scores", "tweets")


def summarise(items: list[GoldenItem]) -> dict[str, Any]:
    """Figures per split (`dev`, `test`), and per language, article type and message kind within each, and per
    file where a split holds several (independent draws: `test file:golden_test_blind2`); the tweets' off-topic
    figures per split; every miss; the top scores for the chart."""
    golden = [i for i in items if i.source == "golden"]
    out: dict[str, Any] = {}
    for split in SPLITS:
        part = [i for i in golden if i.split == split]
        if not part:
            continue
        out[split] = figures(part)
        for language in sorted({i.language for i in part}):
            out[f"{split} language:{language}"] = figures([i for i in part if i.language == language])
        for kind in sorted({i.expected_type for i in part if i.expected_type}):
            out[f"{split} type:{kind}"] = figures([i for i in part if i.expected_type == kind])
        for kind in sorted({i.kind for i in part if i.kind}):
            out[f"{split} kind:{kind}"] = figures([i for i in part if i.kind == kind])
        files = sorted({i.file for i in part if i.file})
        for name in files if len(files) > 1 else ():  # several draws in one split: each beside the pooled figure
            out[f"{split} file:{name}"] = figures([i for i in part if i.file == name])
    tweets = [i for i in items if i.source == "tweets"]
    out["tweets"] = {split: off_topic([i for i in tweets if i.split == split]) for split in SPLITS
                     if any(i.split == split for i in tweets)}
    out["misses"] = [asdict(i) for i in golden if not _ok(i)]
    out["scores"] = {  # the probabilities the tiers cut, as agents see them
        "right": [i.probability for i in golden if i.expected is not None and i.ranked[:1] == [i.expected]],
        "wrong": [i.probability for i in golden if i.expected is not None and i.ranked[:1] != [i.expected]],
        "no_match": [i.probability for i in golden if i.expected is None]}
    return out


def _ok(item: GoldenItem) -> bool:
    return item.no_match if item.expected is None else item.correct_top


def golden_headline(summary: dict[str, Any]) -> dict[str, Any]:
    """The test split's figures under the plain names (nothing was tuned on it; the gates read these), dev's with
    a `dev` prefix beside them, and the off-topic tweets."""
    out: dict[str, Any] = {}
    for split, prefix in (("test", ""), ("dev", "dev ")):
        if split in summary:
            a = summary[split]
            out |= {f"{prefix}messages": a["n"], f"{prefix}hit@1": a["hit@1"], f"{prefix}hit@3": a["hit@3"],
                    f"{prefix}high right": a["tiers"]["high"]["correct"],
                    f"{prefix}no-match precision": a["no_match_precision"],
                    f"{prefix}no-match recall": a["no_match_recall"]}
    for split, t in summary.get("tweets", {}).items():
        out |= {f"tweets {split} suggested": t["suggested"], f"tweets {split} high": t["high"]}
    return out | {"misses": len(summary["misses"])}


def golden_gate_figures(summary: dict[str, Any]) -> dict[str, float | None]:
    """The figures `eval/thresholds.toml` [golden] sets minimums for (the CLI and `make test` gate on them): the
    test split's, which nothing was tuned on."""
    a = summary.get("test") or summary["dev"]
    return {**{k: a[k] for k in ("hit@1", "hit@3", "mrr", "no_match_precision", "no_match_recall")},
            "high_correct": a["tiers"]["high"]["correct"]}


def tier_cuts(engine: Engine) -> dict[str, float]:
    """Where the tiers cut the probability, for the charts: named as the page names them."""
    s = engine.settings
    return {"high": s.threshold_high, "medium": s.threshold_medium, "low (below: no match)": s.threshold_low}


def golden_sections(summary: dict[str, Any], cuts: Mapping[str, float] | None = None) -> list[Section]:
    slices = [{"slice": name, "n": f["n"], "hit@1": f["hit@1"],
               "hit@1 95%": "–".join(f"{x:.2f}" for x in f["hit@1_95"]) if f.get("hit@1_95") else None,
               "hit@3": f["hit@3"], "MRR": f["mrr"],
               "no-match P": f["no_match_precision"], "no-match R": f["no_match_recall"],
               **{f"{t} n": f["tiers"][t]["n"] for t in ("high", "medium", "low")},
               **{f"{t} right": f["tiers"][t]["correct"] for t in ("high", "medium", "low")}}
              for name, f in summary.items() if name not in NOT_SLICES]
    tweets = [{"split": split, "tweets": t["n"], "without an article": t["without_article"],
               "got a suggestion": t["suggested"], "got high": t["high"]}
              for split, t in summary.get("tweets", {}).items()]
    misses = [{"id": m["id"], "language": m["language"], "message": m["text"], "expected": m["expected"] or "no match",
               "shown": m["suggested"][:3] or "no match", "tier": m["tier"], "score": m["top_score"]}
              for m in summary["misses"]]
    mixed = Counter((m["expected"] or "no match", (m["suggested"] or ["no match"])[0]) for m in summary["misses"])
    confusion = [{"expected": e, "shown first": g, "messages": n} for (e, g), n in mixed.most_common()]
    scores = summary.get("scores", {})
    chart = histogram_svg({"right article first": scores.get("right", []),
                           "wrong article first": scores.get("wrong", []),
                           "should be no match": scores.get("no_match", [])}, lo=0.0, hi=1.0, bins=20,
                          marks=cuts) if scores else ""
    return [Section("Confidence distribution", note="The confidence agents see: the calibrated probability that "
                    "the first suggestion is the right article (under no-match, the best candidate's). The tiers cut "
                    "this axis; dashed lines mark where.", svg=chart),
            Section("Per split, language, type and kind", slices,
                    note="test: written blind and never used to write claims or tune; dev: everything tuned on. "
                    "–: nothing to measure in that slice (no message got that tier; or the slice holds no message "
                    "without an article, so no-match precision and recall say nothing there; or no message got "
                    "no-match, so its precision says nothing)."),
            Section("Real Dutch tweets (no-match on real traffic)", tweets),
            Section("Which articles get mixed up", confusion, svg=confusion_svg(mixed)),
            Section("Every miss", misses)]
