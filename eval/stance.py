"""Which side of a claim an agent's reply takes, judged on the agent's own words only.

A reply that repeats the knowledge base's draft says what the editors approved, word for word; the stance check
must never hold those words against the agent. So the sentences of every draft the templates render (every
served article in every channel), and the articles' answers themselves, are known as approved text
(`ApprovedText`), and `own_words` keeps only what the agent wrote themselves: their greeting, sign-off and links
dropped too. A reply with no own words left is the knowledge base's draft (`is_kb_draft`).

On the own words, `stance` looks for an affirmation of the claim ("klopt", "inderdaad", "it can help") with no
denial beside it. An affirmation followed in the same sentence by "maar"/"but" is a concession ("Het klopt dat je
huid vitamine D aanmaakt …, maar de zonnebank is daar geen gezonde manier voor"), and an affirmation in a
question ("Klopt het dat …?") asks, so neither counts.

    >>> stance("Het klopt dat je huid vitamine D aanmaakt, maar de zonnebank is geen goede bron.", True, False)
    >>> stance("Klopt, een zonnebank helpt echt tegen een tekort.", True, False)
    ('affirms', 'Klopt')
    >>> stance("Dat is een fabel.", False, True)
    ('denies', 'fabel')
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kb.article import Article
from kb.channels import Channel
from kb.drafting import Drafter

#: Affirming a claim, unless negated right after ("klopt niet", "not true").
AFFIRM = re.compile(
    r"\b(klopt(?!\s+(niet|echt niet|helaas niet|absoluut niet|zeker niet))|dat is (zeker )?waar|inderdaad|"
    r"het helpt|kan (zeker )?helpen|helpt (echt|zeker)|baat bij|probeer het (gerust|maar)|aanrader|werkt echt|"
    r"that'?s (right|true|correct)|(it|this) is true|yes,? it|indeed|it (can|does) help|worth a try|"
    r"give it a try|does work|really works)\b", re.IGNORECASE)
DENY = re.compile(
    r"\b(klopt (niet|echt niet|helaas niet|absoluut niet|zeker niet)|niet waar|nee\b|fabel|mythe|geen bewijs|"
    r"onzin|dat is niet zo|niet bewezen|geen (wetenschappelijk )?bewijs|not true|isn'?t true|no,|myth|"
    r"no (scientific )?evidence|not proven|does not|doesn'?t|is false|untrue)", re.IGNORECASE)
#: After an affirmation in the same sentence, these turn it into a concession ("het klopt dat …, maar …").
_BUT = re.compile(r"\b(maar|echter|alleen|toch|but|however|although|yet)\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_INITIALS = re.compile(r"(?<!\S)\^\w{1,4}\b")
_SPACE = re.compile(r"\s+")
#: A sentence of a template around a name: greeting or sign-off, matched with any name in its place.
_NAME = "Qqnaamqq"
_SIGNATURE = "Qqondertekeningqq"
#: Lines of the agent's own this short carry no stance (a name under the reply, "Anna").
_TRIVIAL_WORDS = 3


def sentences(text: str) -> list[str]:
    """Lines, and the sentences within them, stripped; empty ones dropped.

        >>> sentences("Hoi Ria! Goed dat je het vraagt.\\n\\nGroetjes, Anna")
        ['Hoi Ria!', 'Goed dat je het vraagt.', 'Groetjes, Anna']
    """
    out: list[str] = []
    for line in text.splitlines():
        out.extend(s.strip() for s in _SENTENCE_END.split(line) if s.strip())
    return out


def _key(sentence: str) -> str:
    return _SPACE.sub(" ", _INITIALS.sub(" ", _URL.sub(" ", sentence))).strip(" \t-–•:,;").lower()


@dataclass(frozen=True)
class ApprovedText:
    """The sentences of the knowledge base's own drafts and answers, and its templates' greetings and sign-offs."""

    sentences: frozenset[str]
    frames: tuple[re.Pattern[str], ...] = ()

    @classmethod
    def of(cls, articles: Iterable[Article], drafter: Drafter | None = None) -> ApprovedText:
        """Every served article's answer and short answer, and (with a `drafter`) the draft of every article in
        every channel: exactly the text an agent is offered."""
        keys: set[str] = set()
        frames: dict[str, re.Pattern[str] | None] = {}
        for article in articles:
            s = article.sections
            for text in (s.answer, s.short_answer or ""):
                keys.update(_key(x) for x in sentences(text))
            if drafter is None:
                continue
            for channel in Channel:
                keys.update(_key(x) for x in sentences(drafter.draft(article, channel).text))
                framed = drafter.draft(article, channel, customer_name=_NAME, signature=_SIGNATURE).text
                for sentence in sentences(framed):
                    key = _key(sentence)
                    if (_NAME.lower() in key or _SIGNATURE.lower() in key) and key not in frames:
                        frames[key] = _frame(key)
        keys.discard("")
        return cls(frozenset(keys), tuple(p for p in frames.values() if p is not None))

    def approved(self, sentence: str) -> bool:
        key = _key(sentence)
        return not key or key in self.sentences or any(_framed(p, key) for p in self.frames)

    def own_words(self, reply: str) -> str:
        """The reply without the approved sentences, links and X initials: what the agent wrote themselves.

            >>> ApprovedText(frozenset({"nee, dat is een fabel."})).own_words("Nee, dat is een fabel. Klopt hoor!")
            'Klopt hoor!'
        """
        return " ".join(s for s in sentences(reply) if not self.approved(s))

    def is_kb_draft(self, reply: str) -> bool:
        """Whether the reply is the knowledge base's draft: nothing of the agent's own beyond a few words (a name
        under it)."""
        return all(len(_key(s).split()) <= _TRIVIAL_WORDS for s in sentences(reply) if not self.approved(s))


def _frame(key: str) -> re.Pattern[str] | None:
    """A template sentence with the name and signature as wildcards; None when nothing but a name is left (a
    signature alone on its line would match any short line)."""
    literal = key.replace(_NAME.lower(), "").replace(_SIGNATURE.lower(), "")
    if len(re.sub(r"\W", "", literal)) < 2:
        return None
    pattern = re.escape(key).replace(_NAME.lower(), "(.{1,60}?)").replace(_SIGNATURE.lower(), "(.{1,60}?)")
    return re.compile(pattern)


def _framed(frame: re.Pattern[str], key: str) -> bool:
    """`key` is the template's sentence with a name in it, and that name says nothing ("Hoi klopt helemaal" is
    the agent's own)."""
    found = frame.fullmatch(key)
    return found is not None and not any(AFFIRM.search(g) or DENY.search(g) for g in found.groups())


def _affirmation(text: str) -> re.Match[str] | None:
    """The first affirmation that is neither a question nor a concession."""
    for sentence in sentences(text):
        if sentence.endswith("?"):
            continue
        for found in AFFIRM.finditer(sentence):
            if not _BUT.search(sentence, found.end()):
                return found
    return None


def stance(own_words: str, myth: bool, true_claim: bool) -> tuple[str, str] | None:
    """('affirms', word) when the words take a myth's side, ('denies', word) when they deny a claim rated true;
    None when they do neither (or say both)."""
    affirms, denies = _affirmation(own_words), DENY.search(own_words)
    if myth and affirms and not denies:
        return "affirms", affirms.group(0)
    if true_claim and denies and not AFFIRM.search(own_words):
        return "denies", denies.group(0)
    return None


def own_stance(approved: ApprovedText, reply: str, myth: bool, true_claim: bool) -> tuple[str, str] | None:
    """`stance` of what the agent wrote themselves: the approved text they kept says nothing about them."""
    return stance(approved.own_words(reply), myth, true_claim)


def drafts(articles: Sequence[Article], drafter: Drafter, names: Sequence[str | None] = (None,),
           signatures: Sequence[str | None] = (None,)) -> Iterable[tuple[Article, Channel, str]]:
    """Every draft the templates render: each article in each channel, with each name and signature given."""
    for article in articles:
        for channel in Channel:
            for name in names:
                for signature in signatures:
                    yield article, channel, drafter.draft(article, channel, customer_name=name,
                                                          signature=signature).text
