"""The right tone first, then the right facts: what a message's kind (kb.kinds) does to its suggestions. The one
seam into the suggestion path: `Suggester.suggest` hands its result here once (`KindReplies.apply`).

| kind      | article suggestions                                 | kind reply (offered first)     | moderation |
| --------- | --------------------------------------------------- | ------------------------------ | ---------- |
| question  | today's path, unchanged                             | none                           | none       |
| complaint | kept; drafts = acknowledgement + answer + next step | acknowledgement + next step    | none       |
| thanks    | none: a fact is never the reply to thanks or praise | personal thanks                | none       |
| story     | kept; drafts framed by the story reply              | thanks for sharing + support   | none       |
| offtopic  | today's path, unchanged                             | only when no article is shown  | none       |
| abuse     | none (KB_MODERATION_DRAFTS=true: today's path)      | none, or the team's template   | hide       |
| spam      | none (KB_MODERATION_DRAFTS=true: today's path)      | none, or the team's template   | hide       |

Every kind but question may have a guideline for the agent; for abuse and spam it takes the place of a draft.

A composed draft stays within the channel's limit by shortening only the article's part: the full answer, else
the short answer, else as many of the short answer's leading sentences as fit, else no answer at all (the article
is still listed, with the warning `answer_left_out`). The acknowledgement and the next step are never cut
(`kb lint` checks they fit alone). Everything is rendered from editor-owned templates over approved text.

    >>> replies = KindReplies(classifier, KindTemplates(Path("articles/_templates")), drafter)  # doctest: +SKIP
    >>> result = replies.apply(result, Message.of("Belachelijk! Al drie weken geen antwoord..."), query, articles)
    ... # doctest: +SKIP
    >>> result.kind.kind, result.kind.reply.text[:25]  # doctest: +SKIP
    (<Kind.COMPLAINT: 'complaint'>, 'Hoi, wat vervelend, sorry')
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterator, Mapping
from typing import Any

from kb.article import Article, Language
from kb.channels import Channel
from kb.drafting import DEFAULT_SIGNATURE, Draft, Drafter, clean_name, initials
from kb.kind_templates import KindTemplates
from kb.kinds import Kind, KindClassifier, KindDecision, KindResult, Moderation
from kb.normalize import Message
from kb.suggest import Suggestion, SuggestQuery, SuggestResult

log = logging.getLogger(__name__)

MODERATED = (Kind.ABUSE, Kind.SPAM)
#: What the agent is told to do with a moderated message (the guideline template says how, per channel).
ACTIONS = {Kind.ABUSE: "hide", Kind.SPAM: "hide"}
#: Kinds a message of which, left without an article, is not a gap in the knowledge base: its kind's reply or
#: guideline is the answer (the insights and the gaps page count only the others as no-match).
NOT_A_GAP = (Kind.THANKS, Kind.STORY, Kind.ABUSE, Kind.SPAM)
#: Kinds whose article drafts are framed by the kind's reply template (its `answer` variable).
COMPOSED = (Kind.COMPLAINT, Kind.STORY)
_SENTENCE = re.compile(r"(?<=[.!?…])\s+")


class KindReplies:
    def __init__(self, classifier: KindClassifier, templates: KindTemplates, drafter: Drafter, *,
                 moderation_drafts: bool = False) -> None:
        self.classifier = classifier
        self.templates = templates
        self.drafter = drafter
        self.moderation_drafts = moderation_drafts

    def apply(self, result: SuggestResult, message: Message, query: SuggestQuery,
              articles: Mapping[str, Article]) -> SuggestResult:
        """`result` with the message's kind decided (once) and applied (see the module docstring)."""
        decision = self.classifier.classify(message)
        kind = decision.kind
        suggestions = result.suggestions
        if kind is Kind.THANKS or (kind in MODERATED and not self.moderation_drafts):
            suggestions = ()
        elif kind in COMPOSED:
            suggestions = tuple(self._composed(kind, s, articles[s.article_id], query) for s in suggestions)
        offer_reply = kind is not Kind.QUESTION and not (kind is Kind.OFFTOPIC and suggestions) and (
            kind not in MODERATED or self.moderation_drafts)
        reply, template = self._reply(kind, query, result.language) if offer_reply else (None, None)
        kind_result = KindResult(
            kind=kind, probability=decision.probability, decided_by=decision.decided_by, reply=reply,
            reply_template=template, guideline=self._guideline(kind, query.channel, result.language),
            moderation=Moderation(ACTIONS[kind], kind) if kind in MODERATED else None)
        return dataclasses.replace(result, suggestions=suggestions, no_match=not suggestions, kind=kind_result)

    def classify(self, message: str | Message) -> KindDecision:
        return self.classifier.classify(message)

    @staticmethod
    def _context(kind: Kind, channel: Channel, language: Language, query: SuggestQuery | None = None) -> dict[str, Any]:
        """The variables of a kind template (articles/_templates/README.md), without an article yet."""
        sign = clean_name(query.agent_signature) if query else None
        return {"kind": str(kind), "channel": str(channel), "language": str(language),
                "customer_name": clean_name(query.customer_name) if query else None,
                "agent_signature": sign,  # as the agent gave it (issue 26): the template picks its default
                "signature": sign or DEFAULT_SIGNATURE, "initials": initials(sign) if sign else "HG", "answer": None,
                "sources": [], "article": None}

    def _reply(self, kind: Kind, query: SuggestQuery, language: Language) -> tuple[Draft | None, str | None]:
        name = self.templates.reply_name(kind, query.channel, language)
        if name is None:
            return None, None
        try:
            text = self.templates.render(name, self._context(kind, query.channel, language, query))
        except Exception as e:  # data the test render did not cover: never a failed request
            log.warning("kind template %s failed: %s", name, e)
            return None, name
        length = query.channel.length(text)
        return Draft(text, length, warnings=("too_long",) if length > query.channel.max_length else ()), name

    def _guideline(self, kind: Kind, channel: Channel, language: Language) -> str | None:
        name = self.templates.guideline_name(kind, language)
        if name is None:
            return None
        try:
            return self.templates.render(name, self._context(kind, channel, language))
        except Exception as e:
            log.warning("kind guideline %s failed: %s", name, e)
            return None

    def _composed(self, kind: Kind, suggestion: Suggestion, article: Article, query: SuggestQuery) -> Suggestion:
        """The suggestion with its draft framed by the kind's template, in the article's language."""
        language = article.meta.language
        name = self.templates.reply_name(kind, query.channel, language)
        if name is None:
            return suggestion
        context = self._context(kind, query.channel, language, query)
        context["sources"] = [{"title": s.title, "url": s.href} for s in article.meta.sources]
        context["article"] = {"id": article.id, "title": article.meta.title, "type": str(article.meta.type),
                              "verdict": str(article.meta.verdict) if article.meta.verdict else None}
        try:
            draft = self._fitted(name, context, article, query.channel)
        except Exception as e:  # keep the article's own draft rather than fail the request
            log.warning("kind template %s failed on article %s: %s", name, article.id, e)
            return suggestion
        kept = [w for w in suggestion.warnings if w not in ("too_long", "template_error")]
        return dataclasses.replace(suggestion, draft=draft.text, draft_length=draft.length,
                                   warnings=(*draft.warnings, *kept))

    def _fitted(self, name: str, context: dict[str, Any], article: Article, channel: Channel) -> Draft:
        text = ""
        for answer, warning in answers(article):
            text = self.templates.render(name, {**context, "answer": answer,
                                                "sources": context["sources"] if answer else []})
            if channel.length(text) <= channel.max_length:
                return Draft(text, channel.length(text), used_short_answer=answer != article.sections.answer,
                             warnings=(warning,) if warning else ())
        return Draft(text, channel.length(text), warnings=("answer_left_out", "too_long"))


def answers(article: Article) -> Iterator[tuple[str | None, str | None]]:
    """The article's part of a composed draft, longest first, with the warning each shortening carries: the full
    answer, the short answer, the short answer's leading sentences (fewer each time), none.

        >>> from kb.parsing import parse_article
        >>> from pathlib import Path
        >>> a = parse_article(Path("articles/nl/donatie-stopzetten.md")).article
        >>> [w for _, w in answers(a)][-2:]
        ['answer_shortened', 'answer_left_out']
    """
    yield article.sections.answer, None
    short = article.sections.short_answer or article.sections.answer
    if article.sections.short_answer:
        yield short, None
    sentences = _SENTENCE.split(short.strip())
    for n in range(len(sentences) - 1, 0, -1):
        yield " ".join(sentences[:n]), "answer_shortened"
    yield None, "answer_left_out"
