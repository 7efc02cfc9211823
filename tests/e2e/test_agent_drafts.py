"""An agent who sends the knowledge base's own draft is never flagged, on the real model and index: every draft
the shipped templates render (each served article in each channel and language) goes through the consistency
check as a reply to a message raising the article's first claim."""

from __future__ import annotations

from typing import Any

from eval.agent_sources import Reply
from eval.agents import AgentChecker
from eval.stance import drafts
from kb.corpus import build_corpus, iter_article_files
from tests.conftest import ARTICLES


def test_no_shipped_draft_sent_unchanged_is_ever_flagged(sample_engine: Any) -> None:
    corpus = build_corpus(iter_article_files(ARTICLES))
    checker = AgentChecker(sample_engine, corpus)
    served = sorted(checker.served.values(), key=lambda a: a.id)
    flagged = []
    sent = list(drafts(served, sample_engine.suggester.drafter, names=("Ria",), signatures=("Sanne",)))
    assert len(sent) == 5 * len(served)
    for n, (article, channel, text) in enumerate(sent):
        message = article.meta.claims[0] if article.meta.claims else article.meta.title
        checked = checker.check(Reply(f"d-{n}", "Sanne", str(channel), message, text, ""))
        if checked.flags:
            flagged.append((article.id, str(channel), checked.flags, checked.reasons))
    assert flagged == []


def test_the_reported_sunbed_reply_is_not_a_different_stance(sample_engine: Any) -> None:
    corpus = build_corpus(iter_article_files(ARTICLES))
    checker = AgentChecker(sample_engine, corpus)
    sunbed = checker.served["zonnebank-vitamine-d"]
    reply = sunbed.sections.answer  # the approved answer, as the agent sent it
    checked = checker.check(Reply("r-1", "Sanne", "facebook", "is de zonnebank goed voor je vitamine D?", reply, ""))
    assert checked.kb_draft and "different_stance" not in checked.flags and checked.flags == []
    # An agent's own affirmation on top of it is still caught.
    own = checker.check(Reply("r-2", "Tom", "facebook", "is de zonnebank goed voor je vitamine D?",
                              "Klopt helemaal, af en toe zonnebanken kan geen kwaad! " + reply, ""))
    assert "different_stance" in own.flags and not own.kb_draft
