"""Dutch/English detection with lingua (offline, maintained), restricted to the two languages we answer in.

    >>> detect_language("Klopt het dat suiker kanker voedt?").language
    <Language.NL: 'nl'>
    >>> detect(Message.of("Does sugar feed cancer?")).language
    <Language.EN: 'en'>
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from lingua import Language as Lingua
from lingua import LanguageDetectorBuilder

from kb.article import Language
from kb.normalize import Message

_lock = threading.Lock()
_detector = None
_MAP = {Lingua.DUTCH: Language.NL, Lingua.ENGLISH: Language.EN}


@dataclass(frozen=True)
class Detection:
    language: Language
    confidence: float
    reliable: bool


def _get():  # type: ignore[no-untyped-def]
    global _detector
    with _lock:
        if _detector is None:
            _detector = (LanguageDetectorBuilder.from_languages(Lingua.DUTCH, Lingua.ENGLISH)
                         .with_preloaded_language_models().build())
        return _detector


def warm() -> None:
    """Load the language models now (about 3 s, holding Python's interpreter lock nearly all that time), so that a
    service does it at start-up instead of stalling every request in flight on its first suggestion."""
    _get()


def detect_language(text: str, default: Language = Language.NL) -> Detection:
    """The language of a text as received (read as a `Message` first)."""
    return detect(Message.of(text), default)


def detect(message: Message, default: Language = Language.NL) -> Detection:
    """The message's language; `default` (Dutch first) when there is too little text to tell."""
    clean = message.text
    if sum(1 for w in clean.split() if any(c.isalpha() for c in w)) < 2:
        return Detection(default, 0.0, False)
    values = _get().compute_language_confidence_values(clean)
    best = max(values, key=lambda v: v.value)
    language = _MAP.get(best.language, default)
    return Detection(language, round(best.value, 4), best.value >= 0.7)
