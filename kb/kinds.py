"""Message kinds: what an incoming message *is* (a question, a complaint, thanks, a story, abuse, spam, off-topic),
decided once per message, so the reply can have the right tone before it has the right facts.

The classifier reads the message twice over: its meaning, as the vector the encoder already makes for retrieval
(the same query vector; `kb.embedding.RecentQueries` hands it to the retriever without a second pass), and a few
surface signals the normalised text no longer has (links, emoji, exclamation marks, money, calls to action).
A small multinomial logistic model over both (`KindModel`), fitted offline on the labelled dev messages only by
`kb eval kinds --train --write FILE` and shipped per embedding model in `kb/kinds/`, gives each kind a
probability.

Two rules come before the model, because on the dev messages they are more precise than it is (figures in
`fitted_on` and docs/kinds.md): a strong insult or a threat aimed at someone is abuse (`insult`), and a link or
a call to action that sells, recruits or chains is spam (`advert`). A rule's probability is the precision it had
on dev. Without a model for the configured encoder the rules still run and everything else is a question, the
path the service had before kinds existed.

    >>> classifier = KindClassifier(embedder, load_kind_model(embedder.model_id))  # doctest: +SKIP
    >>> classifier.classify(Message.of("Wat een prachtige campagne, dank jullie wel ❤️")).kind  # doctest: +SKIP
    <Kind.THANKS: 'thanks'>
    >>> insult("Stelletje oplichters, kankerlijers"), insult("Mijn moeder heeft kanker")
    (True, False)
    >>> advert("Verdien €300 per dag vanuit huis! Klik op de link in mijn bio"), advert("Hoe stop ik mijn donatie?")
    (True, False)
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np

from kb.drafting import Draft
from kb.errors import ConfigError
from kb.fitted import load_fitted
from kb.models import Embedder, file_slug
from kb.normalize import Message

log = logging.getLogger(__name__)

BUNDLED = Path(__file__).resolve().parent / "kinds"
#: Bumped when the features change: a model fitted on other features is refused.
FEATURE_VERSION = 1


class Kind(StrEnum):
    QUESTION = "question"  # a question or a claim: the fact path
    COMPLAINT = "complaint"
    THANKS = "thanks"  # thanks or praise
    STORY = "story"  # a personal story
    ABUSE = "abuse"  # abuse or insult
    SPAM = "spam"  # spam or advertisement
    OFFTOPIC = "offtopic"


# --- surface signals and the two rules ---------------------------------------------------------------------

_URL = re.compile(r"https?://|www\.|\b[\w-]+\.(?:ly|com|nl|org|net|be|eu|io|me|info|shop)(?:/|\b)", re.I)
_MONEY = re.compile(r"[€$£]\s?\d|\d\s?(?:euro|eur|dollar)\b|\b(?:verdien|earn|income|inkomen)\b", re.I)
_CALL = re.compile(
    r"link in (?:mijn |my )?bio|\bklik\b|\bclick\b|\bdm (?:me|mij)\b|stuur (?:me|mij|ons) een dm|\bbestel|\border\b|"
    r"\bkoop\b|\bbuy\b|\bkorting\b|\bdiscount\b|\bgratis\b|\bfree\b|giveaway|\bwin(?:nen)?\b|\bvolg\b|\bfollow|"
    r"abonneer|subscribe|\bdeel\b|\bshare\b|\bretweet\b|\brt\b|\blike\b|\btag\b|\bwhatsapp\b|\bbel nu\b|"
    r"\d+\s?%|\bcrypto|\bbitcoin|\beth\b|\bbtc\b|\bfollowers\b|\bvolgers\b", re.I)
#: Chain messages and follow trading are spam whatever else they say.
_CHAIN = re.compile(
    r"\b(?:deel|share|stuur) (?:dit |this )?(?:bericht )?(?:door |met |with )?(?:naar )?\d+|\brt als\b|"
    r"\b(?:like|deel|share) als\b|follow ?for ?follow|volg ?voor ?volg|\bvolg(?:en)? (?:jullie )?(?:mij|me) terug|"
    r"\bfollow (?:me )?back\b|\bf4f\b", re.I)
#: Selling, recruiting or get-rich offers. A bare link with "gratis" or "win" is news as often as an advert (dev
#: tweets: "zorgpersoneel mag gratis parkeren <link>"), so a link needs a strong selling word; the weak ones count
#: only with a direct call to act ("link in bio", "DM me", "klik hier", a phone number).
_SELL_STRONG = re.compile(
    r"\bkorting|\bdiscount|\d\s?%\s*(?:korting|off)|\bbestel\w*|\border (?:now|today)|\bkoop nu|\bbuy\b|\bwebshop|"
    r"\bcrypto|\bbitcoin|\bbtc\b|\beth\b|\bfollowers\b|\bvolgers\b|giveaway|\bleningen?\b|\bloans?\b|\bseo\b|"
    r"\bpromotors?\b|\bsingles\b|\babonneer|\bsubscribe|\b(?:verdien|earn|make)\w* [€$]?\s?\d[\d.,]*\s?(?:euro )?"
    r"(?:per|a|in) (?:dag|day|week|uur|hour|maand|month)", re.I)
_SELL_WEAK = re.compile(r"\bgratis\b|\bfree\b|\bwin(?:nen)?\b|\bverdien|\bearn\b|\bshop\b|\bkoop\b|\bdeals?\b", re.I)
_CALL_TO_ACT = re.compile(r"link in (?:mijn |my )?bio|\bdm (?:me|mij)\b|stuur (?:me|mij|ons) een dm|\bklik (?:hier|op)|"
                          r"\bclick (?:here|the link)|\bwhatsapp\b|\bbel nu\b|\bmessage me\b", re.I)
_PHONE = re.compile(r"(?:\+31|\b0)6[\s-]?\d{2}[\s-]?\d{2}[\s-]?\d{2}[\s-]?\d{2}\b")

# Insults that are insults whatever the sentence (not "idioot dat", not "kanker" the disease): nouns for people,
# `kanker`/`tyfus`/`tering` compounds, curses wished on someone, and threats.
_INSULT_WORDS = (
    r"klootza\w*|kankerlijers?|tyfuslijers?|teringlijers?|kutwijf|hoer(?:en)?|mongo(?:ol|olen|len)|debielen?|"
    r"randdebiel\w*|imbecielen?|sukkels?|idioten|zakkenvullers?|schoft(?:en)?|graaiers?|aso'?s?|"
    r"kankerclub|kanker(?:hoer|mongool|wijf|volk|zooi|organisatie|kind)\w*|tyfus\w+|tering\w+|"
    r"hersenloze|achterlijke|walgelijke|zielige figuren|stelletje \w+|"
    r"idiots?|morons?|scum|parasites?|clowns?|retards?|bitch\w*|bastards?|imbeciles?"
)
_INSULT = re.compile(
    rf"\b(?:{_INSULT_WORDS})\b|"
    r"\bkrijg (?:toch |allemaal |nou )?(?:de |het )?(?:kanker|tering|tyfus|pest|klere)\b|"
    r"\b(?:hou|houd) (?:je|jullie|toch je) (?:bek|kop|smoel)\b|\b(?:flikker|donder|rot|sodemieter|oprotten)\w* "
    r"(?:toch |maar |nou )?op\b|\bf[u*]{1,3}ck(?:ing)? off\b|\bgo to hell\b|\bshut (?:up|your mouth)\b|"
    r"\bik hoop dat (?:jullie|je|jij|hij|zij)\b[^.!?]{0,40}\b(?:kanker|dood|creperen|rotten|sterven)\b|"
    r"\bhope (?:you|he|she|they) (?:all )?(?:rot|die)\b|\bmag (?:wat mij betreft )?creperen\b|"
    r"\b(?:ik weet|i know) waar (?:jullie|je|jij)\b|\bpas maar op\b|\bwatch your back\b|"
    r"\b(?:burn|kill)\w* (?:your|you|jullie)\b|\bbranden zullen jullie\b|\bpak slaag\b", re.I)

_POSITIVE = re.compile(r"[❤💛💙💚💜🧡🤍♥😍🥰🙏👏💪🎉🎗]")
_YOU = re.compile(r"\b(?:jullie|je|jij|u|you|your|ur)\b", re.I)
_EXCLAIM = re.compile(r"!")

#: What the model reads besides the vector, each from the message as received (`Message.raw`).
SURFACE = ("url", "money", "call", "chain", "sell", "insult", "question", "exclaim", "positive", "you", "log_words")


def insult(raw: str) -> bool:
    """A strong insult, a curse wished on someone or a threat (the abuse rule)."""
    return _INSULT.search(raw) is not None


def advert(raw: str) -> bool:
    """A chain message or follow trading, or selling/recruiting with a link, phone number or call to action (the
    spam rule)."""
    if _CHAIN.search(raw) or (_SELL_STRONG.search(raw) and (_URL.search(raw) or _CALL_TO_ACT.search(raw))):
        return True
    reach = _CALL_TO_ACT.search(raw) or _PHONE.search(raw)
    return bool(reach and (_SELL_STRONG.search(raw) or _SELL_WEAK.search(raw)))


def surface(raw: str) -> list[float]:
    """The surface signals of a message, in `SURFACE` order."""
    words = len(raw.split())
    return [
        float(bool(_URL.search(raw) or _PHONE.search(raw))),
        float(bool(_MONEY.search(raw))),
        min(3.0, float(len(_CALL.findall(raw)))),
        float(bool(_CHAIN.search(raw))),
        float(bool(_SELL_STRONG.search(raw))) + 0.5 * float(bool(_SELL_WEAK.search(raw))),
        float(insult(raw)),
        float("?" in raw),
        math.log1p(len(_EXCLAIM.findall(raw))),
        math.log1p(len(_POSITIVE.findall(raw))),
        float(bool(_YOU.search(raw))),
        math.log1p(words),
    ]


# --- the model ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KindModel:
    """A fitted multinomial logistic model: standardised [vector, surface] features, one row of weights per kind.

    `rule_precision` is how often each rule was right on the dev messages it fired on: the probability reported
    when a rule decides."""

    model_id: str
    kinds: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[tuple[float, ...], ...]  # one row per kind: intercept first
    rule_precision: dict[str, float]
    fitted_on: str
    feature_version: int = FEATURE_VERSION
    fitted_with: dict[str, float] = field(default_factory=dict)  # the fit's settings (L2, class balance)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """The probability of each kind (in `kinds` order) for one feature row."""
        z = (x - np.asarray(self.mean)) / np.asarray(self.scale)
        w = np.asarray(self.weights)
        logits = w[:, 0] + w[:, 1:] @ z
        e = np.exp(logits - logits.max())
        return np.asarray(e / e.sum())

    def to_json(self) -> str:
        raw = asdict(self)
        raw["mean"] = [round(v, 6) for v in self.mean]
        raw["scale"] = [round(v, 6) for v in self.scale]
        raw["weights"] = [[round(v, 5) for v in row] for row in self.weights]
        # One key per line and each list on its line: a diff of two fits stays readable.
        lines = [f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in raw.items()]
        return "{\n" + ",\n".join(lines) + "\n}\n"

    @classmethod
    def from_json(cls, text: str, source: str) -> KindModel:
        try:
            raw = json.loads(text)
            model = cls(model_id=str(raw["model_id"]), kinds=tuple(raw["kinds"]), mean=tuple(raw["mean"]),
                        scale=tuple(raw["scale"]), weights=tuple(tuple(r) for r in raw["weights"]),
                        rule_precision={str(k): float(v) for k, v in raw.get("rule_precision", {}).items()},
                        fitted_on=str(raw.get("fitted_on", "")), feature_version=int(raw.get("feature_version", 0)),
                        fitted_with={str(k): float(v) for k, v in raw.get("fitted_with", {}).items()})
        except (ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"kinds model: {source} is not a kinds model file ({e})") from e
        if model.feature_version != FEATURE_VERSION:
            raise ConfigError(f"kinds model: {source} was fitted on features version {model.feature_version}, this "
                              f"version reads {FEATURE_VERSION}: refit it with `kb eval kinds --train --write FILE`")
        if set(model.kinds) - {k.value for k in Kind} or not (
                len(model.mean) == len(model.scale) == len(model.weights[0]) - 1 and len(model.weights) ==
                len(model.kinds)):
            raise ConfigError(f"kinds model: {source} does not fit this version's kinds and features")
        return model


def kind_model_file(model_id: str) -> Path:
    return BUNDLED / f"{file_slug(model_id)}.json"


def load_kind_model(model_id: str, path: Path | None = None) -> KindModel | None:
    """The kinds model for the encoder `model_id`: `path` if given (KB_KINDS_MODEL), else the one bundled in
    kb/kinds/. A file fitted for another encoder is refused (its weights would read the wrong vectors); no file at
    all is a warning, and the rules alone decide."""
    model = load_fitted("kinds model", model_id, kind_model_file(model_id), parse=KindModel.from_json, given=path,
                        refit="run `kb eval kinds --train --write FILE` and set KB_KINDS_MODEL")
    if model is None:
        log.warning("no kinds model for encoder %s: only the abuse and spam rules decide a message's kind; run "
                    "`kb eval kinds --train --write FILE` and set KB_KINDS_MODEL", model_id)
    return model


# --- the classifier ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KindDecision:
    """What a message is, how likely (`probability`, of the decided kind), and what decided it."""

    kind: Kind
    probability: float
    decided_by: str  # "model", "rule:insult", "rule:advert" or "default"
    probabilities: tuple[tuple[Kind, float], ...] = ()  # every kind's model probability, best first


@dataclass(frozen=True)
class Moderation:
    """A message to moderate rather than answer: the action, and why."""

    action: str
    reason: Kind


@dataclass(frozen=True)
class KindResult:
    """A message's kind and what follows from it (made by kb.kind_replies): the reply to offer first (a Draft, or
    None), the guideline for the agent, and the moderation flag."""

    kind: Kind
    probability: float
    decided_by: str
    reply: Draft | None = None
    reply_template: str | None = None
    guideline: str | None = None
    moderation: Moderation | None = None


def features(vector: np.ndarray, raw: str) -> np.ndarray:
    """One feature row: the message's query vector and its surface signals."""
    return np.concatenate([np.asarray(vector, dtype=np.float64), np.asarray(surface(raw), dtype=np.float64)])


class KindClassifier:
    """Decides a message's kind: the rules first, then the model (see the module docstring)."""

    def __init__(self, embedder: Embedder, model: KindModel | None) -> None:
        self.embedder = embedder
        self.model = model

    def classify(self, message: str | Message) -> KindDecision:
        read = Message.of(message)
        return self.decide(read.raw, lambda: self.embedder.embed([read.text], kind="query")[0])

    def decide(self, raw: str, vector: np.ndarray | Callable[[], np.ndarray]) -> KindDecision:
        """The kind of a message from its raw text and its query vector (or a function making it, called only when
        the model is asked)."""
        precision = self.model.rule_precision if self.model else {}
        if insult(raw):
            return KindDecision(Kind.ABUSE, precision.get("insult", 1.0), "rule:insult")
        if advert(raw):
            return KindDecision(Kind.SPAM, precision.get("advert", 1.0), "rule:advert")
        if self.model is None:
            return KindDecision(Kind.QUESTION, 1.0, "default")
        v = vector() if callable(vector) else vector
        p = self.model.probabilities(features(v, raw))
        ranked = sorted(((Kind(k), float(q)) for k, q in zip(self.model.kinds, p, strict=True)),
                        key=lambda kq: -kq[1])
        best, probability = ranked[0]
        return KindDecision(best, round(probability, 4), "model", tuple((k, round(q, 4)) for k, q in ranked))


def decide_many(classifier: KindClassifier, raws: Sequence[str], vectors: np.ndarray) -> list[KindDecision]:
    """`decide` for many messages whose vectors are already made (evaluation embeds them in one batch)."""
    return [classifier.decide(raw, vector) for raw, vector in zip(raws, vectors, strict=True)]
