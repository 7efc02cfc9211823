"""The one normalisation of social-media text, used at index time and at query time so both sides match, and
`Message`: an incoming message read once, so nothing downstream normalises it again.

    >>> normalize("RT @kwf: Baking soda geneest kanker!!!! #BakingSodaCures https://t.co/x pic.twitter.com/AbC")
    'Baking soda geneest kanker! Baking Soda Cures'
    >>> message = Message.bounded("  RT @kwf: Geneest baking soda kanker?!?! ", max_chars=5000)
    >>> message.text, message.words
    ('Geneest baking soda kanker?!?!', 4)
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from kb.errors import InvalidInput

_RT = re.compile(r"^\s*RT\s+@\w+:?\s*", re.IGNORECASE)
_PIC = re.compile(r"pic\.twitter\.com/\S+", re.IGNORECASE)
# "— Jane Doe (@jane) March 3, 2020" at the end of an embedded tweet
_TRAILER = re.compile(r"[—–-]\s*[^\n()]{0,60}\(@\w+\)\s*[\w\s,.]{0,30}\d{4}\s*$")
_URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+\.(?:ly|co|com|nl|org|net|be|eu|io|me|info)/\S*", re.IGNORECASE)
_HANDLE = re.compile(r"(?<!\w)@\w+")
_LEADING_HANDLES = re.compile(r"^(?:\s*@\w+)+")
_TRAILING_HANDLES = re.compile(r"(?:\s*@\w+)+\s*$")
_HASHTAG = re.compile(r"#(\w+)")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_REPEAT = re.compile(r"(\w)\1{2,}")
_REPEAT_PUNCT = re.compile(r"([!?.])\1+")
_SPACE = re.compile(r"\s+")
# A letter's opening ("Geachte heer/mevrouw,", "Beste mensen,", "Dear Sir or Madam,", "hoi!"): the greeting word,
# at most three words of whom it addresses, and the punctuation that closes it.
_GREETING = re.compile(
    r"^(?:(?:geachte|beste|lieve|dear|hi|hoi|hallo|hello|hey|hee|goedemorgen|goedemiddag|goedenavond|goedendag"
    r"|good\s+morning|good\s+afternoon|good\s+evening)(?:\s+[^\s,!.?:]+){0,3}\s*[,!:]"
    r"|to\s+whom\s+it\s+may\s+concern\s*[,:]?)(?:\s*(?:heer|mevrouw|mijnheer|madam|sir)\s*[,!:])?\s*",
    re.IGNORECASE)
# A letter's closing and the name under it (at most four words) at the very end.
_SIGN_OFF = re.compile(
    r"(?:\s|^)(?:met\s+(?:vriendelijke|hartelijke)\s+groet(?:en)?|(?:vriendelijke|hartelijke|lieve|warme)\s+groet(?:en)?"
    r"|groetjes|groeten|groet|hoogachtend|mvg|alvast\s+(?:heel\s+)?bedankt|bij\s+voorbaat\s+dank|kind\s+regards|best\s+regards"
    r"|warm\s+regards|regards|best\s+wishes|many\s+thanks|thanks\s+in\s+advance|thank\s+you"
    r"|yours\s+(?:sincerely|faithfully)|sincerely)\b[\s,.!]*(?:[\w.'’-]+[\s,.]*){0,4}$", re.IGNORECASE)
#: A message left with fewer words than this after its greeting and closing is read whole ("Hoi! Groetjes").
MIN_BODY_WORDS = 3


def _is_pictograph(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat in ("So", "Sk", "Cs", "Co", "Cn") or ch in "\u200d\ufe0f\ufe0e" or (cat == "Cc" and ch not in "\n\t")


#: Every character `_is_pictograph` may be true for: ASCII controls but tab and newline, ^ and `, and all non-ASCII.
#: Only these are looked at one by one (most text is ASCII; checking every character cost 1 s per 10k chunks).
_MAYBE_PICTOGRAPH = re.compile(r"[^\t\n\x20-\x5d\x5f\x61-\x7e]")


def _blank_pictograph(match: re.Match[str]) -> str:
    return " " if _is_pictograph(match.group()) else match.group()


def _without_addressing(text: str) -> str:
    """`text` without the handles that open it or end its body (before an embedded tweet's trailer)."""
    text = _LEADING_HANDLES.sub(" ", text.strip())
    trailer = _TRAILER.search(text)
    body, tail = (text[:trailer.start()], text[trailer.start():]) if trailer else (text, "")
    return _TRAILING_HANDLES.sub(" ", body) + tail


def _handle_word(match: re.Match[str]) -> str:
    return match.group()[1:]


def _split_hashtag(match: re.Match[str]) -> str:
    return _CAMEL.sub(" ", match.group(1)).replace("_", " ")


def normalize(text: str, *, keep_names: bool = False) -> str:
    """Strip what varies between two ways of saying the same thing on social media; keep the words.

    `keep_names`: a gentler reading that keeps an embedded tweet's "— Name (@handle) date" trailer and the
    handles inside the message as words (without their "@"), since the people a message names can be what an
    article is about. Handles that open or close the message only address someone (on webcare, mostly the
    organisation itself) and are dropped as before:

        >>> normalize("@kwf Zei @jansmit dit echt? #nepnieuws @kwf — Jan Smit (@jansmit) May 3, 2020", keep_names=True)
        'Zei jansmit dit echt? nepnieuws — Jan Smit (jansmit) May 3, 2020'
    """
    if keep_names:
        text = _without_addressing(text)
    text = unicodedata.normalize("NFKC", text)
    text = _RT.sub("", text)
    text = _PIC.sub(" ", text)
    if not keep_names:
        text = _TRAILER.sub(" ", text.rstrip())
    text = _URL.sub(" ", text)
    text = _HANDLE.sub(_handle_word if keep_names else " ", text)
    text = _HASHTAG.sub(_split_hashtag, text)
    text = _MAYBE_PICTOGRAPH.sub(_blank_pictograph, text)
    text = _REPEAT.sub(r"\1\1", text)
    text = _REPEAT_PUNCT.sub(r"\1", text)
    return _SPACE.sub(" ", text).strip()


def without_salutation(text: str) -> str:
    """`text` (normalised) without a letter's greeting and closing: they say whom the message is to and from, not
    what it asks, and in the encoder's eyes a formal "Geachte heer/mevrouw, ... Met vriendelijke groet, A. de Vries"
    made every formal letter look alike (a letter about wifi in a classroom ranked the article on what donations
    are spent on first). Retrieval reads the rest (`Message.query`); blind dev halves of the sample KB, hit@1
    0.773 -> 0.813 and 0.792 -> 0.831, no other dev set's hit@1 moved (docs/benchmarks.md, "Letters").

        >>> without_salutation("Geachte heer/mevrouw, Geneest zuiveringszout kanker? Met vriendelijke groet, A. Smit")
        'Geneest zuiveringszout kanker?'
        >>> without_salutation("Hoi! Groetjes")
        'Hoi! Groetjes'
    """
    body = _SIGN_OFF.sub("", _GREETING.sub("", text, count=1)).strip()
    return body if len(body.split()) >= MIN_BODY_WORDS else text


def strip_accents(text: str) -> str:
    """'coördinatie café' -> 'coordinatie cafe'."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


@dataclass(frozen=True)
class Message:
    """An incoming message as received (without surrounding blanks) and read, once: language detection, the
    message kinds and the tiers' word count read `text` (normalised); retrieval's dense and lexical queries read
    `query` (normalised with names kept, `normalize(keep_names=True)`, and without a letter's greeting and closing,
    `without_salutation`).

    Two readings because what helps the one hurts the other. Retrieval lost to the plain encoder on CheckThat 2020
    when the trailer's name and the handles were dropped: fact-checks name the people a tweet quotes (dev MAP@5
    0.866 with `text`, 0.920 with `query`, plain encoder 0.895; docs/benchmarks.md "Issue 24", ONNX encoder),
    while the sample KB's and policyqa-nl's dev figures did not move. Language detection and the kinds
    classifier were fitted on `text`, and a name says nothing about a message's language or kind.

    A `Message` passed where text is expected is used as it is (`Message.of`), so a caller that already read
    one (the service, to refuse a bad message before anything else) does not pay for reading it again.

        >>> Message.of("@kwf Klopt dit van @jansmit? — Jan Smit (@jansmit) May 3, 2020").query
        'Klopt dit van jansmit? — Jan Smit (jansmit) May 3, 2020'
    """

    raw: str
    text: str
    words: int
    query: str

    @classmethod
    def read_as(cls, raw: str, text: str, query: str | None = None) -> Message:
        """A message read some other way (evaluation compares readings): `query` defaults to `text`."""
        return cls(raw, text, len(text.split()), text if query is None else query)

    @classmethod
    def of(cls, message: str | Message) -> Message:
        """`message` read as a message, without bounds (evaluation and tests read their own texts)."""
        if isinstance(message, Message):
            return message
        raw = message.strip()
        text = normalize(raw)
        return cls(raw, text, len(text.split()), without_salutation(normalize(raw, keep_names=True)))

    @classmethod
    def bounded(cls, message: str | Message, max_chars: int) -> Message:
        """`of`, refusing an empty message or one over `max_chars` (KB_MAX_MESSAGE_CHARS) with InvalidInput.

            >>> Message.bounded("x" * 12, max_chars=10)
            Traceback (most recent call last):
            kb.errors.InvalidInput: message: 12 characters, at most 10
        """
        read = cls.of(message)
        if not read.raw:
            raise InvalidInput("message: is empty; paste the incoming message", field="message")
        if len(read.raw) > max_chars:
            raise InvalidInput(f"message: {len(read.raw)} characters, at most {max_chars}", field="message")
        return read
