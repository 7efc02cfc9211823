"""Whether a production secret is strong enough, by one documented rule (README, `KB_ENV`).

A secret passes when

1. it holds no whitespace or control character (32 spaces passed before; a pasted line break is a mistake);
2. it has at least `MIN_DISTINCT` (8) different characters (one character repeated passed before);
3. its estimated entropy is at least `MIN_BITS` (128): the number of *fresh* characters times log2 of the
   size of the character classes it uses (a-z 26, A-Z 26, 0-9 10, ASCII punctuation 32, anything else 100).
   A character is not fresh when it continues a repeat (the three characters ending at it occurred before:
   the second `changeme` of `changemechangeme`), a run (the third of three characters in a row that are equal,
   or one code point or one key apart: `aaa`, `abc`, `987`, `qwe`), or is part of a placeholder word
   (`changeme`, `secret`, `password`, `example`, …).

Generated secrets pass with room to spare (`python -c "import secrets; print(secrets.token_urlsafe(32))"`: 43
characters, about 280 bits by this estimate; `openssl rand -hex 32`, `openssl rand -base64 32` too); the
secrets the issue showed passing before fail. The estimate cannot tell a random string from a memorable one
made to look random: generate secrets, never make them up.

    >>> weakness("changeme" * 4)
    'only 7 different characters (at least 8)'
    >>> weakness("changeme" + "0" * 24)
    'an estimated 10 bits of entropy (at least 128): repeats, runs and placeholder words do not count'
    >>> weakness("aB3dE5gH7jK9mN1p" * 2)
    'an estimated 107 bits of entropy (at least 128): repeats, runs and placeholder words do not count'
    >>> weakness("Zq8vJ3kR_m2XwT9pL4sYc7Nd-0bHfG6a") is None
    True
"""

from __future__ import annotations

import math
import string

MIN_BITS = 128
MIN_DISTINCT = 8
#: How to make a good one; every refusal says it.
GENERATE = 'generate one with `python -c "import secrets; print(secrets.token_urlsafe(32))"`'
#: Words that make a secret look like a secret without adding to it (lower case; matched case-insensitively).
PLACEHOLDER_WORDS = ("changeme", "change-me", "change_me", "secret", "password", "passwd", "example", "default",
                     "kennisbank", "letmein", "admin", "demo", "test", "token", "apikey", "api-key", "api_key")
_KEY_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")
_CLASSES = ((string.ascii_lowercase, 26), (string.ascii_uppercase, 26), (string.digits, 10),
            (string.punctuation, 32))
_OTHER = 100


def _pool(value: str) -> int:
    """The size of the character classes `value` draws from."""
    total = sum(size for chars, size in _CLASSES if any(c in chars for c in value))
    if any(all(c not in chars for chars, _ in _CLASSES) for c in value):
        total += _OTHER
    return max(total, 1)


def _run(three: str) -> bool:
    """Three characters in a row that are equal or one code point apart each (`aaa`, `abc`, `987`), or three
    neighbours on a keyboard row either way (`qwe`, `lkj`)."""
    a, b, c = (ord(x) for x in three)
    if b - a == c - b and abs(b - a) <= 1:
        return True
    low = three.lower()
    return any(low in row or low[::-1] in row for row in _KEY_ROWS)


def _placeholder_spans(value: str) -> set[int]:
    lowered, covered = value.lower(), set[int]()
    for word in PLACEHOLDER_WORDS:
        start = lowered.find(word)
        while start != -1:
            covered.update(range(start, start + len(word)))
            start = lowered.find(word, start + 1)
    return covered


def fresh_characters(value: str) -> int:
    """Characters that continue no repeat, run or placeholder word (see the module docstring).

        >>> fresh_characters("abcabcabc"), fresh_characters("x7Qm")
        (4, 4)
    """
    placeholder = _placeholder_spans(value)
    seen: set[str] = set()
    fresh = 0
    for i in range(len(value)):
        trigram = value[i - 2:i + 1] if i >= 2 else ""
        if not ((trigram and (trigram in seen or _run(trigram))) or i in placeholder):
            fresh += 1
        if trigram:
            seen.add(trigram)
    return fresh


def estimated_bits(value: str) -> float:
    """Fresh characters times log2 of the character pool: an upper estimate for random-looking strings.

        >>> round(estimated_bits("Zq8vJ3kR_m2XwT9pL4sYc7Nd-0bHfG6a"))
        210
    """
    return fresh_characters(value) * math.log2(_pool(value)) if value else 0.0


def weakness(value: str, *, min_length: int = 0) -> str | None:
    """Why `value` is too weak for production by the rule above, or None when it passes."""
    if any(c.isspace() or not c.isprintable() for c in value):
        return "it contains whitespace or a control character"
    if len(value) < min_length:
        return f"{len(value)} characters (at least {min_length})"
    distinct = len(set(value))
    if distinct < MIN_DISTINCT:
        return f"only {distinct} different characters (at least {MIN_DISTINCT})"
    bits = estimated_bits(value)
    if bits < MIN_BITS:
        return (f"an estimated {bits:.0f} bits of entropy (at least {MIN_BITS}): repeats, runs and placeholder "
                "words do not count")
    return None
