"""Paraphrase invariance: the same question in other words, with typos or with an emoji added, should get the
same article, the same tier and, ideally, the same draft.

Three checks:

- **groups** (`eval/data/paraphrases.jsonl`): for each group of paraphrases, does every one get the same top
  article and tier, and the identical draft? And is that article the expected one?
- **perturbations** of the golden messages (a typo, accents removed, capitals, an emoji, a URL appended):
  the share whose top suggestion (or no-match) does not change.
- **SICK-NL** pairs (`../shared/data/sick-nl/pairs.jsonl`): paraphrase pairs should land on the same article
  more often than contradiction pairs (which differ by a negation and are hard negatives).

    >>> report = run_paraphrase(engine, load_groups())  # doctest: +SKIP
    >>> report["groups"]["same_article_and_tier"]  # doctest: +SKIP
    0.93
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eval.charts import bars_svg, confusion_svg, histogram_svg
from eval.golden import DATA, GoldenMessage, top_probability
from eval.metrics import mean
from eval.report import Section
from kb.channels import Channel
from kb.engine import Engine
from kb.language import detect_language
from kb.normalize import strip_accents
from kb.suggest import SuggestQuery

PERTURBATIONS = ("typo", "no_accents", "upper", "lower", "emoji", "url")


@dataclass(frozen=True)
class Group:
    group: str
    expected: str | None
    language: str
    texts: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    """What the service would show for one text: top article (None for no-match), its tier and draft."""

    text: str
    article: str | None
    tier: str | None
    draft: str | None
    ranked_top: str | None  # best candidate before thresholds
    score: float = 0.0  # the best candidate's raw retrieval score (not what agents see)
    #: The calibrated probability the tiers cut: the first suggestion's (what agents see), or under no-match the
    #: best candidate's.
    probability: float = 0.0


def load_groups(path: Path | None = None) -> list[Group]:
    rows = [json.loads(line) for line in (path or DATA / "paraphrases.jsonl").read_text(encoding="utf-8")
            .splitlines() if line.strip()]
    return [Group(r["group"], r.get("expected"), r.get("language", ""), tuple(r["texts"])) for r in rows]


def outcome(engine: Engine, text: str, channel: Channel = Channel.FACEBOOK) -> Outcome:
    language = detect_language(text).language
    ranked = engine.suggester.rank(text, language)
    result = engine.suggester.suggest(SuggestQuery(message=text, channel=channel, language=language, limit=3),
                                      ranked=ranked)
    top = result.suggestions[0] if result.suggestions else None
    return Outcome(text, top.article_id if top else None, str(top.confidence) if top else None,
                   top.draft if top else None, ranked[0].article_id if ranked else None,
                   ranked[0].score if ranked else 0.0, top_probability(engine, text, language, ranked, result))


def perturb(text: str, kind: str, seed: str) -> str:
    """A deterministic perturbation of `text` (the seed makes the typo's position repeatable)."""
    if kind == "typo":
        rng = random.Random(seed)
        words = text.split()
        long = [i for i, w in enumerate(words) if len(w) > 4 and w.isalpha()]
        if not long:
            return text
        i = rng.choice(long)
        w = words[i]
        j = rng.randrange(1, len(w) - 2)
        words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]  # swap two neighbouring letters
        return " ".join(words)
    if kind == "no_accents":
        return strip_accents(text)
    if kind == "upper":
        return text.upper()
    if kind == "lower":
        return text.lower()
    if kind == "emoji":
        return f"{text} 😡🙏"
    if kind == "url":
        return f"{text} https://t.co/x8Yq2LpZ0a"
    raise ValueError(f"unknown perturbation '{kind}'")


def run_groups(engine: Engine, groups: Sequence[Group],
               progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for n, g in enumerate(groups, 1):
        outs = [outcome(engine, t) for t in g.texts]
        articles = {o.article for o in outs}
        modal = Counter(o.article for o in outs).most_common(1)[0][1]
        rows.append({
            "group": g.group, "expected": g.expected, "language": g.language,
            "same_article": len(articles) == 1,
            "same_article_and_tier": len({(o.article, o.tier) for o in outs}) == 1,
            "same_draft": len({o.draft for o in outs}) == 1,
            "all_expected": articles == {g.expected},
            "consistency": round(modal / len(outs), 4),  # share of texts on the group's most common answer
            "outcomes": [asdict(o) for o in outs],
        })
        if progress:
            progress(n, len(groups))
    return {
        "n": len(rows),
        "same_article": mean([r["same_article"] for r in rows]),
        "same_article_and_tier": mean([r["same_article_and_tier"] for r in rows]),
        "same_draft": mean([r["same_draft"] for r in rows]),
        "all_expected": mean([r["all_expected"] for r in rows]),
        "texts_expected": mean([o["article"] == r["expected"] for r in rows for o in r["outcomes"]]),
        "inconsistent": [r for r in rows if not r["same_article_and_tier"]],
        "groups": rows,
    }


def run_perturbations(engine: Engine, messages: Sequence[GoldenMessage],
                      progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    per_kind: dict[str, list[bool]] = {k: [] for k in PERTURBATIONS}
    changed = []
    for n, m in enumerate(messages, 1):
        base = outcome(engine, m.text, Channel.parse(m.channel))
        for kind in PERTURBATIONS:
            text = perturb(m.text, kind, m.id)
            if text == m.text:
                continue
            o = outcome(engine, text, Channel.parse(m.channel))
            same = o.article == base.article
            per_kind[kind].append(same)
            if not same:
                changed.append({"id": m.id, "kind": kind, "text": text, "before": base.article, "after": o.article})
        if progress:
            progress(n, len(messages))
    every = [s for v in per_kind.values() for s in v]
    return {"n": len(every), "unchanged": mean(every),
            "by_kind": {k: {"n": len(v), "unchanged": mean(v)} for k, v in per_kind.items()}, "changed": changed}


def run_sick(engine: Engine, path: Path, limit: int | None = None) -> dict[str, Any]:
    """Share of pairs whose two sentences get the same best candidate, for paraphrases and contradictions."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if limit:
        rows = rows[:limit]
    same: dict[str, list[bool]] = {"paraphrase": [], "contradiction": []}
    for r in rows:
        a, b = outcome(engine, r["a"]), outcome(engine, r["b"])
        same[r["label"]].append(a.ranked_top == b.ranked_top)
    return {label: {"n": len(v), "same_top": mean(v)} for label, v in same.items()} | {
        "paraphrase_more_stable": mean(same["paraphrase"]) > mean(same["contradiction"])}


def _p(outcome: dict[str, Any]) -> float:
    """An outcome's probability (reports written before it was recorded have only the raw score: 0 there)."""
    return float(outcome.get("probability", 0.0))


def paraphrase_headline(groups: dict[str, Any], perturbed: dict[str, Any], sick: dict[str, Any] | None
                        ) -> dict[str, Any]:
    headline = {"groups": groups["n"], "same article+tier": groups["same_article_and_tier"],
                "same draft": groups["same_draft"], "all expected": groups["all_expected"],
                "texts expected": groups["texts_expected"], "perturbations unchanged": perturbed["unchanged"]}
    if sick:
        headline |= {"SICK paraphrase same": sick["paraphrase"]["same_top"],
                     "SICK contradiction same": sick["contradiction"]["same_top"]}
    return headline


def paraphrase_sections(groups: dict[str, Any], perturbed: dict[str, Any], sick: dict[str, Any] | None,
                        cuts: Mapping[str, float] | None = None) -> list[Section]:
    """The report: per-group consistency, score distribution, what gets mixed up, perturbations, SICK-NL."""
    texts = [(g, o) for g in groups["groups"] for o in g["outcomes"]]
    by_consistency = sorted(groups["groups"], key=lambda g: (g["consistency"], g["group"]))
    mixed = Counter((g["expected"] or "no match", o["article"] or "no match") for g, o in texts
                    if o["article"] != g["expected"])
    scores = histogram_svg({"expected article first": [_p(o) for g, o in texts
                                                       if g["expected"] and o["ranked_top"] == g["expected"]],
                            "other article first": [_p(o) for g, o in texts
                                                    if g["expected"] and o["ranked_top"] != g["expected"]],
                            "should be no match": [_p(o) for g, o in texts if g["expected"] is None]},
                           lo=0.0, hi=1.0, bins=20, marks=cuts)
    inconsistent = [{"group": g["group"], "expected": g["expected"], "text": o["text"], "article": o["article"],
                     "tier": o["tier"], "confidence": _p(o)} for g in groups["inconsistent"] for o in g["outcomes"]]
    by_kind = [{"perturbation": k, **v} for k, v in perturbed["by_kind"].items()]
    sections = [
        Section("Consistency per group", note="Share of a group's phrasings that get the group's most common "
                "answer; red bars are groups where the phrasings disagree.",
                svg=bars_svg({g["group"]: g["consistency"] for g in by_consistency}, mark=1.0)),
        Section("Confidence distribution", note="The confidence agents see for every phrasing: the calibrated "
                "probability that the first suggestion is the right article (under no-match, the best candidate's), "
                "the number the tiers cut; dashed lines mark where.", svg=scores),
        Section("Which articles paraphrases get mixed up", [{"expected": e, "shown": s, "texts": n}
                                                             for (e, s), n in mixed.most_common()],
                svg=confusion_svg(mixed, columns_title="shown")),
        Section("Groups without one answer", inconsistent),
        Section("Perturbations by kind", by_kind,
                svg=bars_svg({r["perturbation"]: r["unchanged"] for r in by_kind}, mark=0.95)),
        Section("Perturbations that changed the answer", perturbed["changed"]),
    ]
    if sick:
        sections.append(Section("SICK-NL pairs", [{"pairs": k, **v} for k, v in sick.items() if isinstance(v, dict)],
                                note="Share of pairs whose two sentences get the same best candidate: paraphrases "
                                "should agree more often than contradictions.",
                                svg=bars_svg({k: v["same_top"] for k, v in sick.items() if isinstance(v, dict)})))
    return sections
