"""What the kinds do to the replies, end to end on the served index: each labelled message suggested twice from
one ranking, without kinds (the question path for everything, as before kinds existed) and with them.

It counts what the issue asked for: thanks and praise that get a fact article as the first thing offered (before
and after), questions that lose the article they had, complaints whose first reply acknowledges them, and drafts
over their channel's limit.

    >>> report = run_replies(engine, with_kinds, messages)  # doctest: +SKIP
    >>> report["test"]["thanks_fact_first_after"]  # doctest: +SKIP
    0
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eval.golden import SPLITS
from eval.kinds import KindMessage
from kb.channels import Channel
from kb.engine import Engine
from kb.kind_replies import KindReplies
from kb.language import detect_language
from kb.suggest import Suggester, SuggestQuery, SuggestResult

#: The figures reply_gate_figures gives (gated only when the reply checks ran).
REPLY_FIGURES = ("thanks_without_fact_first", "questions_keeping_their_article")
#: Labelled kinds the reply checks read (off-topic, abuse and spam are measured by the classification figures).
CHECKED = ("question", "thanks", "complaint", "story")


@dataclass(frozen=True)
class ReplyOutcome:
    id: str
    split: str
    labelled: str
    decided: str
    first_before: str | None  # the first article offered without kinds
    first_after: str | None  # "reply:<kind>" when the kind's reply comes first, else the first article
    articles_after: int  # article suggestions with kinds
    over_limit: int  # drafts (kind reply and articles) over the channel's limit, with kinds


def first_offered(result: SuggestResult) -> str | None:
    if result.kind is not None and result.kind.reply is not None:
        return f"reply:{result.kind.kind}"
    return result.suggestions[0].article_id if result.suggestions else None


def _over_limit(result: SuggestResult, channel: Channel) -> int:
    drafts = [s.draft for s in result.suggestions]
    if result.kind is not None and result.kind.reply is not None:
        drafts.append(result.kind.reply.text)
    return sum(channel.length(d) > channel.max_length for d in drafts)


def run_replies(engine: Engine, kinds: KindReplies, messages: Sequence[KindMessage],
                progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Both ways for every labelled question, thanks, complaint and story; figures per split."""
    s = engine.suggester
    plain = Suggester(s.settings, s.retriever, s.drafter, s.articles, clock=s.clock, calibration=s.calibration)
    shaped = Suggester(s.settings, s.retriever, s.drafter, s.articles, clock=s.clock, calibration=s.calibration,
                       kinds=kinds)
    checked = [m for m in messages if m.kind in CHECKED]
    outcomes = []
    for i, m in enumerate(checked):
        language = detect_language(m.text).language
        channel = Channel.parse(m.channel)
        query = SuggestQuery(message=m.text, channel=channel, language=language, limit=3)
        ranked = s.rank(m.text, language)
        before, after = plain.suggest(query, ranked=ranked), shaped.suggest(query, ranked=ranked)
        decided = str(after.kind.kind) if after.kind else "question"
        outcomes.append(ReplyOutcome(m.id, m.split, m.kind, decided, first_offered(before), first_offered(after),
                                     len(after.suggestions), _over_limit(after, channel)))
        if progress:
            progress(i + 1, len(checked))
    return summarise_replies(outcomes)


def summarise_replies(outcomes: Sequence[ReplyOutcome]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for split in SPLITS:
        part = [o for o in outcomes if o.split == split]
        if not part:
            continue
        thanks = [o for o in part if o.labelled == "thanks"]
        questions = [o for o in part if o.labelled == "question"]
        complaints = [o for o in part if o.labelled == "complaint"]
        stories = [o for o in part if o.labelled == "story"]
        out[split] = {
            "thanks": len(thanks),
            "thanks_fact_first_before": sum(_is_article(o.first_before) for o in thanks),
            "thanks_fact_first_after": sum(_is_article(o.first_after) for o in thanks),
            "questions": len(questions),
            "questions_answered_before": sum(_is_article(o.first_before) for o in questions),
            "questions_losing_their_article": sum(_is_article(o.first_before) and not o.articles_after
                                                  for o in questions),
            "complaints": len(complaints),
            "complaints_acknowledged_first": sum(o.first_after == "reply:complaint" for o in complaints),
            "stories": len(stories),
            "stories_with_story_reply_first": sum(o.first_after == "reply:story" for o in stories),
            "drafts_over_limit": sum(o.over_limit for o in part),
        }
    out["thanks_with_fact_first"] = [{"id": o.id, "split": o.split, "decided": o.decided, "first": o.first_after}
                                     for o in outcomes if o.labelled == "thanks" and _is_article(o.first_after)]
    return out


def _is_article(first: str | None) -> bool:
    return first is not None and not first.startswith("reply:")


def replies_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"split": split, **figures} for split, figures in report.items() if split in SPLITS]


def reply_headline(summary: dict[str, Any]) -> dict[str, Any]:
    r = summary.get("replies", {})
    out = {}
    for split, prefix in (("test", ""), ("dev", "dev ")):
        if split in r:
            f = r[split]
            out[f"{prefix}thanks with a fact article first"] = (f"{f['thanks_fact_first_after']}/{f['thanks']} "
                                                              f"(without kinds {f['thanks_fact_first_before']})")
            out[f"{prefix}questions losing their article"] = (f"{f['questions_losing_their_article']}/"
                                                             f"{f['questions_answered_before']}")
    return out


def reply_gate_figures(summary: dict[str, Any]) -> dict[str, float]:
    """Shares for eval/thresholds.toml [kinds] (minimums): of the test thanks, those not given a fact article
    first; of the test questions that had an article, those that keep one. Empty without the reply checks."""
    f = summary.get("replies", {}).get("test")
    if not f:
        return {}
    out = {}
    if f["thanks"]:
        out["thanks_without_fact_first"] = 1 - f["thanks_fact_first_after"] / f["thanks"]
    if f["questions_answered_before"]:
        lost = f["questions_losing_their_article"] / f["questions_answered_before"]
        out["questions_keeping_their_article"] = 1 - lost
    return out
