"""Lightly edited copies of a message, as a surge brings them: retweets, copy-paste chains, a word added, a typo.

During a surge a team sees the same claim copied and reworded a little hundreds of times. `copies` makes such
copies of one message, reproducibly (a seed), with 1-3 of these edits each:

- a retweet or quote prefix ("RT @handle:", "Klopt dit?? ", "Zag dit net: "), or a call to share appended;
- hashtags, emoji or a link appended;
- a typo (a letter dropped, doubled or swapped) in one word;
- a filler word added or one word dropped;
- the whole message in lower case, or one word in capitals.

These are the edits that keep a message a near-repeat. They never change what it is about, so a copy keeps its
original's article. The near-repeat cut (kb.learned) is fitted on copies of the dev messages, the surge stream
of `kb eval learning --surge` is built from the test messages; the edits are the same kinds, the messages not.

    >>> import random
    >>> copy = copies("klopt het dat suiker kanker voedt", 2, random.Random(1))
    >>> len(copy), all(c != "klopt het dat suiker kanker voedt" for c in copy)
    (2, True)
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

_PREFIXES = {
    "nl": ("RT @{h}: ", "Klopt dit?? ", "Zag dit net: ", "Lees dit: ", "Wat vinden jullie hiervan? ", "@{h} "),
    "en": ("RT @{h}: ", "Is this true?? ", "Just saw this: ", "Read this: ", "Thoughts? ", "@{h} "),
}
_SUFFIXES = {
    "nl": (" Deel dit!!", " delen!", " Wat een onzin.", " Ik wil het gewoon weten.", " Graag reactie."),
    "en": (" Share this!!", " pls share", " What nonsense.", " Just want to know.", " Please reply."),
}
_FILLERS = {"nl": ("echt", "nou", "gewoon", "toch", "eigenlijk", "hoor"),
            "en": ("really", "just", "actually", "honestly", "literally")}
_HASHTAGS = ("#kanker", "#gezondheid", "#deeldit", "#waarheid", "#cancer", "#health", "#fakenews", "#wakeup")
_EMOJI = ("😡", "🙏", "😱", "🤔", "‼️", "👇", "💔", "😂")
_HANDLES = ("gezondleven", "ria_v", "waarheid_nl", "bertjan1970", "healthnews", "mamavan3")
_WORD = re.compile(r"[^\W\d_]{4,}")


def _prefix(text: str, lang: str, rng: random.Random) -> str:
    return rng.choice(_PREFIXES[lang]).format(h=rng.choice(_HANDLES)) + text


def _suffix(text: str, lang: str, rng: random.Random) -> str:
    return text + rng.choice(_SUFFIXES[lang])


def _tags(text: str, lang: str, rng: random.Random) -> str:
    extra = rng.sample(_HASHTAGS, rng.randint(1, 2)) + rng.sample(_EMOJI, rng.randint(0, 2))
    if rng.random() < 0.3:
        extra.append(f"https://t.co/{rng.randrange(16**8):08x}")
    return f"{text} {' '.join(extra)}"


def _typo(text: str, lang: str, rng: random.Random) -> str:
    words = list(_WORD.finditer(text))
    if not words:
        return text + "!"
    m = rng.choice(words)
    w, i = m.group(), rng.randrange(1, len(m.group()) - 1)
    kind = rng.choice(("drop", "double", "swap"))
    typo = {"drop": w[:i] + w[i + 1:], "double": w[:i] + w[i] + w[i:], "swap": w[:i] + w[i + 1] + w[i] + w[i + 2:]}
    return text[:m.start()] + typo[kind] + text[m.end():]


def _filler(text: str, lang: str, rng: random.Random) -> str:
    words = text.split(" ")
    if len(words) > 6 and rng.random() < 0.5:  # drop one word that is not the first
        del words[rng.randrange(1, len(words))]
    else:
        words.insert(rng.randrange(1, len(words) + 1), rng.choice(_FILLERS[lang]))
    return " ".join(words)


def _case(text: str, lang: str, rng: random.Random) -> str:
    if rng.random() < 0.5:
        return text.lower()
    words = list(_WORD.finditer(text))
    if not words:
        return text.upper()
    m = rng.choice(words)
    return text[:m.start()] + m.group().upper() + text[m.end():]


EDITS: tuple[Callable[[str, str, random.Random], str], ...] = (_prefix, _suffix, _tags, _typo, _filler, _case)


def copies(text: str, n: int, rng: random.Random, *, language: str = "nl") -> list[str]:
    """`n` lightly edited copies of `text` (1-3 edits each, never the text itself)."""
    lang = language if language in _PREFIXES else "nl"
    out: list[str] = []
    while len(out) < n:
        copy = text
        for edit in rng.sample(EDITS, rng.randint(1, 3)):
            copy = edit(copy, lang, rng)
        if copy != text:
            out.append(copy)
    return out
