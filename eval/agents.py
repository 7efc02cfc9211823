"""Cross-agent consistency: do real agent replies agree with the knowledge base, and with each other?

For every reply in a log (CSV or JSONL: agent, channel, message, reply, time) the harness

1. maps the incoming message to its topic: the article the service would suggest first;
2. checks the reply against that article: content agreement (cosine of reply and approved answer), the links
   it cites against the article's sources, numbers it states that the article does not (`wrong_fact`), a
   stance that contradicts the verdict (`different_stance`: affirming a myth), and text closer to a retired
   article than to the current one (`outdated_policy`);
3. maps the reply itself to an article and a stance, and measures agreement between agents with
   Krippendorff's alpha (nominal) over those values, topic by topic, with a bootstrap confidence interval;
4. knows the message's kind (kb.kinds): a reply to a complaint is also read for its tone (an apology, a next step;
   eval/agent_tone.py), flagged without them, and compared between agents on them as well as on the facts.

    >>> report = run_agents(engine, load_log(Path("eval/data/agents_sample.jsonl")), corpus)  # doctest: +SKIP
    >>> report["alpha"]["value"]  # doctest: +SKIP
    0.81
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from eval.agent_sources import Reply, load_replies
from eval.agent_tone import complaint_subjects, flag_tone, per_kind, read_tone, tone_agreement
from eval.krippendorff import alpha_with_ci, percent_agreement, pooled_agreement, unit_alpha
from eval.metrics import mean
from eval.stance import ApprovedText, own_stance
from kb.article import Article, Verdict
from kb.corpus import Corpus
from kb.engine import Engine
from kb.language import detect_language
from kb.masking import mask
from kb.normalize import normalize
from kb.retrieval import Match

_URL = re.compile(r"https?://[^\s)>\]]+|www\.[^\s)>\]]+", re.IGNORECASE)
_NUMBER_WORDS = {
    "een": None, "twee": 2, "drie": 3, "vier": 4, "vijf": 5, "zes": 6, "zeven": 7, "acht": 8, "negen": 9, "tien": 10,
    "elf": 11, "twaalf": 12, "twintig": 20, "dertig": 30, "veertig": 40, "vijftig": 50, "zestig": 60,
    "zeventig": 70, "tachtig": 80, "negentig": 90, "honderd": 100, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "sixty": 60, "hundred": 100,
}
_NUMBER = re.compile(r"\b(\d+(?:[.,]\d+)?|" + "|".join(w for w, v in _NUMBER_WORDS.items() if v) + r")\b",
                     re.IGNORECASE)
MYTH_VERDICTS = {Verdict.FALSE, Verdict.MISLEADING, Verdict.UNPROVEN}
#: Cosines of multilingual-e5-small, measured on eval/data/agents_sample.jsonl (its planted inconsistencies in
#: agents_sample_planted.jsonl); e5 puts related texts in a narrow high band, so the bars sit high.
#: Below this cosine to the approved answer a reply is listed as saying something else (clean replies: 5th
#: percentile 0.91, median 0.94).
LOW_AGREEMENT = 0.87
#: A reply at least this close to a retired article, and clearly closer to it than to the current one, is
#: outdated (planted outdated replies: 0.935-0.974 to the retired article and 0.038-0.074 closer to it than to the
#: current one; clean replies: at most 0.923, and at most 0.022 closer).
RETIRED_MIN = 0.93
RETIRED_MARGIN = 0.03
#: How well a reply must fit a candidate article to settle the topic of a vague message (below the clean
#: replies' 5th percentile: an ordinary reply settles it).
TOPIC_FROM_REPLY = 0.85
NO_ARTICLE = "(no article)"
NO_TIME = "(no time)"
PERIODS = ("week", "month")


@dataclass
class Checked:
    """One reply, its topic and everything found about it."""

    id: str
    agent: str
    topic: str | None
    reply_article: str | None
    stance: str  # consistent | contradicts | outdated
    content_agreement: float
    cites_source: bool
    links: list[str]
    flags: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    message: str = ""
    reply: str = ""
    time: str = ""
    kind: str = ""  # the message's kind (kb.kinds), when the engine decides kinds
    tone: list[str] = field(default_factory=list)  # tone elements of a reply to a complaint (eval/agent_tone.py)
    #: Per flag, its code and the figures behind it (value and threshold), for pages that word it themselves.
    findings: list[dict[str, Any]] = field(default_factory=list)
    #: The reply is the knowledge base's own draft (nothing of the agent's own in it): never flagged.
    kb_draft: bool = False

    def flag(self, code: str, reason: str, **figures: Any) -> None:
        self.flags.append(code)
        self.reasons.append(reason)
        self.findings.append({"flag": code, **figures})


#: A log file of replies (CSV or JSON lines), every row checked: `path:line` errors.
load_log = load_replies


def _norm_url(url: str) -> str:
    url = url.lower().rstrip(".,;:!?)").split("#")[0]
    url = re.sub(r"^https?://", "", url)
    return re.sub(r"^www\.", "", url).rstrip("/")


def _numbers(text: str) -> set[str]:
    text = _URL.sub(" ", text)
    out = set()
    for m in _NUMBER.finditer(text):
        token = m.group(1).lower()
        value = _NUMBER_WORDS.get(token, token)
        out.add(str(value).replace(",", "."))
    return out


def _article_text(a: Article) -> str:
    s = a.sections
    return " ".join(filter(None, [a.meta.title, s.answer, s.short_answer, s.background, s.guidance,
                                  *a.meta.claims]))


class AgentChecker:
    def __init__(self, engine: Engine, corpus: Corpus) -> None:
        self.engine = engine
        self.served = {a.id: a for a in engine.served.all_articles()}
        self.retired = [a for a in corpus.articles.values() if a.meta.status == "retired" and a.sections.answer]
        #: What the knowledge base itself offers agents: its words are never held against an agent.
        self.approved = ApprovedText.of(self.served.values(), engine.suggester.drafter)
        self._vectors: dict[str, np.ndarray] = {}
        self._ranked: dict[str, list[tuple[Match, float]]] = {}  # message -> its candidates (asked twice per reply)

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            vectors = self.engine.embedder.embed([normalize(t) for t in missing], kind="query")
            for t, v in zip(missing, vectors, strict=True):
                self._vectors[t] = v / (np.linalg.norm(v) or 1.0)
        return np.stack([self._vectors[t] for t in texts])

    def _cos(self, a: str, b: str) -> float:
        va, vb = self._embed([a, b])
        return float(va @ vb)

    def _candidates(self, message: str) -> list[tuple[Match, float]]:
        """The message's ranked candidates with their probabilities, once per message."""
        if message not in self._ranked:
            self._ranked[message] = self.engine.suggester.rank_with_confidence(message,
                                                                              detect_language(message).language)
        return self._ranked[message]

    def myths_raised(self, message: str) -> list[Article]:
        """Myth articles the message plausibly raises (its candidates above the no-match line)."""
        ranked = self._candidates(message)[:3]
        return [self.served[m.article_id] for m, p in ranked if m.article_id in self.served
                and p >= self.engine.settings.threshold_low
                and self.served[m.article_id].meta.verdict in MYTH_VERDICTS]

    def topic(self, message: str, reply: str) -> str | None:
        """The article the conversation is about: of the message's best candidates, the one that message and
        reply together fit best (the agent saw the whole thread; a short message alone is often ambiguous)."""
        ranked = [(m, p) for m, p in self._candidates(message)[:5] if m.article_id in self.served]
        if not ranked:
            return None
        if ranked[0][1] >= self.engine.settings.threshold_high:
            return ranked[0][0].article_id  # a near-certain match: what the agent said cannot change the topic
        fit = {m.article_id: self._cos(reply, self.served[m.article_id].sections.answer) for m, _ in ranked}
        joint = {m.article_id: m.score + fit[m.article_id] for m, _ in ranked}
        best = max(joint, key=lambda a: joint[a])
        if ranked[0][1] < self.engine.settings.threshold_low and fit[best] < TOPIC_FROM_REPLY:
            return None
        return best

    def read_tone(self, c: Checked) -> None:
        """The message's kind and, for a complaint, the reply's tone elements and what is missing."""
        kinds = self.engine.suggester.kinds
        if kinds is None:
            return
        c.kind = str(kinds.classify(c.message).kind)
        c.tone = read_tone(c.kind, c.reply)

    def reply_article(self, reply: str) -> str | None:
        ranked = self.engine.suggester.rank(reply, detect_language(reply).language)
        return ranked[0].article_id if ranked else None

    def check(self, r: Reply) -> Checked:
        """The reply checked on its own words; what is kept of them (the report's texts) masked like the
        service's database (kb.masking): the report is stored, and customers' messages are personal data."""
        return _masked(self._check(r))

    def _check(self, r: Reply) -> Checked:
        kb_draft = self.approved.is_kb_draft(r.reply)
        topic = self.topic(r.message, r.reply)
        links = [_norm_url(u) for u in _URL.findall(r.reply)]
        reply_article = self.reply_article(r.reply)
        if topic is None and kb_draft:
            topic = reply_article  # the agent chose that article's draft: that is what the message was about
        article = self.served.get(topic) if topic else None
        if article is None:
            c = Checked(r.id, r.agent, None, reply_article, "consistent", 0.0, False, links, message=r.message,
                        reply=r.reply)
            ranked = self._candidates(r.message)
            best, low = (ranked[0][1] if ranked else 0.0), self.engine.settings.threshold_low
            c.flag("unmapped", f"the incoming message matches no article (best {best:.2f}, threshold {low:.2f})",
                   value=round(best, 4), threshold=low)
            return c
        answer = article.sections.answer
        agreement = max(self._cos(r.reply, answer),
                        self._cos(r.reply, article.sections.short_answer) if article.sections.short_answer else -1)
        sources = {_norm_url(s.href) for s in article.meta.sources}
        cites = bool(sources.intersection(links))
        c = Checked(r.id, r.agent, topic, reply_article, "consistent", round(agreement, 4), cites,
                    links, message=r.message, reply=r.reply, kb_draft=kb_draft)
        if kb_draft:
            return c  # the editors' approved words, as offered: nothing in it is the agent's to answer for
        self._check_stance(c, r, article)
        if article.meta.type in ("fact-check", "rebuttal") and not cites:
            c.flag("missing_source", "cites none of the article's sources" +
                   (f" (links: {', '.join(links)})" if links else " (no link at all)"), links=links)
        self._check_outdated(c, r, article)
        if "outdated_policy" not in c.flags:
            unknown = sorted(_numbers(r.reply) - _numbers(_article_text(article)))
            if unknown:
                known = sorted(_numbers(_article_text(article)))
                c.flag("wrong_fact", f"states {', '.join(unknown)} where the article says "
                       f"{', '.join(known) or 'no number'}", stated=unknown, article_says=known)
        if agreement < LOW_AGREEMENT and not c.flags:
            c.flag("low_agreement", f"content agreement {agreement:.2f} with the approved answer, threshold "
                   f"{LOW_AGREEMENT:.2f}", value=round(agreement, 4), threshold=LOW_AGREEMENT)
        return c

    def _check_stance(self, c: Checked, r: Reply, article: Article) -> None:
        """A stance against the verdict, in the agent's own words (the approved text they kept is left out)."""
        # The topic is a myth, or the message raises one even if the reply is about something else.
        myths = [article] if article.meta.verdict in MYTH_VERDICTS else self.myths_raised(r.message)
        found = own_stance(self.approved, r.reply, bool(myths), article.meta.verdict == Verdict.TRUE)
        if found is None:
            return
        c.stance = "contradicts"
        side, word = found
        if side == "affirms":
            c.flag("different_stance", f"affirms the claim ('{word}') while '{myths[0].id}' rates it "
                   f"{myths[0].meta.verdict}", side=side, word=word, article=myths[0].id,
                   verdict=str(myths[0].meta.verdict))
        else:
            c.flag("different_stance", f"denies a claim the article rates true ('{word}')", side=side, word=word,
                   article=article.id, verdict=str(article.meta.verdict))

    def _check_outdated(self, c: Checked, r: Reply, article: Article) -> None:
        current = self._cos(r.reply, article.sections.answer)
        for old in self.retired:
            old_sim = self._cos(r.reply, old.sections.answer)
            if old_sim >= RETIRED_MIN and old_sim > current + RETIRED_MARGIN:
                c.stance = "outdated" if c.stance == "consistent" else c.stance
                c.flag("outdated_policy", f"closer to retired article '{old.id}' ({old_sim:.2f}, threshold "
                       f"{RETIRED_MIN:.2f}) than to '{article.id}' ({current:.2f}; margin {RETIRED_MARGIN:.2f})",
                       retired=old.id, value=round(old_sim, 4), threshold=RETIRED_MIN, current=round(current, 4),
                       margin=RETIRED_MARGIN)
                return


def _masked(c: Checked) -> Checked:
    c.message, c.reply = mask(c.message), mask(c.reply)
    c.links, c.reasons = [mask(link) for link in c.links], [mask(reason) for reason in c.reasons]
    # The findings carry what the reply said too (the numbers it stated, the word that affirmed): masked alike.
    c.findings = [{k: _masked_value(v) for k, v in f.items()} for f in c.findings]
    return c


def _masked_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, list):
        return [_masked_value(v) for v in value]
    return value


def run_agents(engine: Engine, replies: Sequence[Reply], corpus: Corpus, *, seed: int = 7,
               period: str | None = None, progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Check every reply and sum up: alpha overall and per topic (with percent agreement and flagged replies),
    per agent, and per `period` ("week" or "month" of each reply's time) when asked."""
    checker = AgentChecker(engine, corpus)
    checked = []
    for n, r in enumerate(replies, 1):
        c = checker.check(r)
        c.time = r.time
        checker.read_tone(c)
        checked.append(c)
        if progress:
            progress(n, len(replies))
    flag_tone(complaint_subjects(checked))
    report = consistency(checked, seed=seed)
    if period:
        report["period"] = period
        report["per_period"] = per_period(checked, period, seed=seed)
    return report


def _value(c: Checked) -> str:
    return f"{c.reply_article}:{c.stance}"


def _units(checked: Sequence[Checked]) -> dict[str, list[str]]:
    """Topic -> the value each reply maps to (replies whose message matches no article are no unit)."""
    units: dict[str, list[str]] = defaultdict(list)
    for c in checked:
        if c.topic:
            units[c.topic].append(_value(c))
    return dict(units)


def consistency(checked: Sequence[Checked], *, seed: int = 7) -> dict[str, Any]:
    """The figures over checked replies: alpha overall with its interval; per topic percent agreement, flagged
    replies and alpha where it is meaningful (the reason where not); per agent; every outlier."""
    by_topic: dict[str, list[Checked]] = defaultdict(list)
    by_agent: dict[str, list[Checked]] = defaultdict(list)
    for c in checked:
        by_topic[c.topic or NO_ARTICLE].append(c)
        by_agent[c.agent].append(c)
    units = _units(checked)
    alpha = alpha_with_ci(list(units.values()), seed=seed)

    def figures(cs: list[Checked]) -> dict[str, Any]:
        return {"replies": len(cs), "agents": len({c.agent for c in cs}),
                "content_agreement": round(mean([c.content_agreement for c in cs]), 4),
                "cites_source": round(mean([c.cites_source for c in cs]), 4),
                "contradictions": sum("different_stance" in c.flags for c in cs),
                "flagged": sum(bool(c.flags) for c in cs)}

    def topic_figures(topic: str, cs: list[Checked]) -> dict[str, Any]:
        if topic not in units:
            return figures(cs) | {"percent_agreement": None, "alpha": None, "alpha_note": "no article"}
        value, reason = unit_alpha(units[topic], list(units.values()))
        return figures(cs) | {"percent_agreement": percent_agreement(units[topic]), "alpha": value,
                              "alpha_note": reason}

    return {
        "replies": len(checked), "agents": len(by_agent), "topics": len(units),
        "alpha": alpha,
        "percent_agreement": pooled_agreement(units),
        "per_topic": {t: topic_figures(t, cs) for t, cs in sorted(by_topic.items())},
        "per_agent": {a: figures(cs) for a, cs in sorted(by_agent.items())},
        "per_kind": per_kind(checked),
        "tone": tone_agreement(checked, seed=seed),
        "outliers": [asdict(c) for c in checked if c.flags],
        "checked": [asdict(c) for c in checked],
    }


def period_of(time: str, period: str) -> str:
    """The week (`2026-W48`) or month (`2026-11`) of an ISO date or time; `(no time)` when there is none.

        >>> period_of("2026-11-30T09:12:00+00:00", "week"), period_of("2026-11-30", "month")
        ('2026-W49', '2026-11')
    """
    try:
        day = dt.date.fromisoformat(time.strip()[:10])
    except ValueError:
        return NO_TIME
    if period == "month":
        return f"{day.year}-{day.month:02d}"
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def per_period(checked: Sequence[Checked], period: str, *, seed: int = 7) -> list[dict[str, Any]]:
    """Alpha, percent agreement and the flagged replies per period, oldest first, each with how it moved since
    the period before it (`change`: differences of the figures both have)."""
    groups: dict[str, list[Checked]] = defaultdict(list)
    for c in checked:
        groups[period_of(c.time, period)].append(c)
    rows: list[dict[str, Any]] = []
    for label in sorted(groups, key=lambda p: (p == NO_TIME, p)):
        cs = groups[label]
        units = _units(cs)
        alpha = alpha_with_ci(list(units.values()), seed=seed, bootstrap=0)
        flagged = [c for c in cs if c.flags]
        row = {"period": label, "replies": len(cs), "agents": len({c.agent for c in cs}),
               "topics": alpha["units"], "alpha": alpha["value"], "alpha_note": alpha["reason"],
               "percent_agreement": pooled_agreement(units), "flagged": len(flagged),
               "flagged_share": round(len(flagged) / len(cs), 4),
               "flagged_replies": [{"id": c.id, "agent": c.agent, "topic": c.topic, "flags": c.flags,
                                    "why": "; ".join(c.reasons), "findings": c.findings, "reply": c.reply}
                                   for c in flagged]}
        before = rows[-1] if rows and label != NO_TIME else None
        row["change"] = {k: round(row[k] - before[k], 4) for k in ("alpha", "percent_agreement", "flagged",
                                                                   "flagged_share")
                         if before is not None and row[k] is not None and before[k] is not None}
        rows.append(row)
    return rows
