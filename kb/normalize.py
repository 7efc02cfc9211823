"""The one normalisation of social-media text, used at index time and at query time so both sides match.

    >>> normalize("RT @kwf: Baking soda geneest kanker!!!! #BakingSodaCures https://t.co/x pic.twitter.com/AbC")
    'Baking soda geneest kanker! Baking Soda Cures'
"""

from __future__ import annotations

import re
import unicodedata

_RT = re.compile(r"^\s*RT\s+@\w+:?\s*", re.IGNORECASE)
_PIC = re.compile(r"pic\.twitter\.com/\S+", re.IGNORECASE)
# "— Jane Doe (@jane) March 3, 2020" at the end of an embedded tweet
_TRAILER = re.compile(r"[—–-]\s*[^\n()]{0,60}\(@\w+\)\s*[\w\s,.]{0,30}\d{4}\s*$")
_URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+\.(?:ly|co|com|nl|org|net|be|eu|io|me|info)/\S*", re.IGNORECASE)
_HANDLE = re.compile(r"(?<!\w)@\w+")
_HASHTAG = re.compile(r"#(\w+)")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_REPEAT = re.compile(r"(\w)\1{2,}")
_REPEAT_PUNCT = re.compile(r"([!?.])\1+")
_SPACE = re.compile(r"\s+")


def _is_pictograph(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat in ("So", "Sk", "Cs", "Co", "Cn") or ch in "\u200d\ufe0f\ufe0e" or (cat == "Cc" and ch not in "\n\t")


#: Every character `_is_pictograph` may be true for: ASCII controls but tab and newline, ^ and `, and all non-ASCII.
#: Only these are looked at one by one (most text is ASCII; checking every character cost 1 s per 10k chunks).
_MAYBE_PICTOGRAPH = re.compile(r"[^\t\n\x20-\x5d\x5f\x61-\x7e]")


def _blank_pictograph(match: re.Match[str]) -> str:
    return " " if _is_pictograph(match.group()) else match.group()


def _split_hashtag(match: re.Match[str]) -> str:
    return _CAMEL.sub(" ", match.group(1)).replace("_", " ")


def normalize(text: str) -> str:
    """Strip what varies between two ways of saying the same thing on social media; keep the words."""
    text = unicodedata.normalize("NFKC", text)
    text = _RT.sub("", text)
    text = _PIC.sub(" ", text)
    text = _TRAILER.sub(" ", text.rstrip())
    text = _URL.sub(" ", text)
    text = _HANDLE.sub(" ", text)
    text = _HASHTAG.sub(_split_hashtag, text)
    text = _MAYBE_PICTOGRAPH.sub(_blank_pictograph, text)
    text = _REPEAT.sub(r"\1\1", text)
    text = _REPEAT_PUNCT.sub(r"\1", text)
    return _SPACE.sub(" ", text).strip()


def strip_accents(text: str) -> str:
    """'coördinatie café' -> 'coordinatie cafe'."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
