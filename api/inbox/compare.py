"""Which draft did the agent send? The agent's public reply compared with the drafts offered for the customer's
message, without a click:

- `used`: a draft unchanged, apart from the parts the reply template fills (kb/drafting.py; articles/_templates):
  the greeting line (`Hoi Ria,`, `Hi!`, `Beste,`; on X the `Hoi Ria! ` before the answer) and the sign-off
  (`Groetjes, Anna`, the e-mail closing block, X's `^AV`), also when the agent greets or signs differently;
  letter case and spacing do not count either;
- `edited`: built on a draft (at least 40% of the words in order, or nearly all of a shortened reply taken from
  it); the edit distance (characters, between the draft and the reply with those parts set aside) says how much;
- `ignored`: like none of them: the agent answered in their own words.

Both sides are compared masked (kb/masking.py), since the reply is only ever stored masked.

    >>> d = Draft("suiker", "Suiker", "high", 0.9, "Hoi Ria,\\n\\nNee, suiker voedt kanker niet.\\n\\nGroetjes, Anna")
    >>> compare("Hallo Ria!\\n\\nNee, suiker voedt kanker niet.\\n\\nGroet, Bert", [d]).action
    'used'
    >>> compare("Nee, suiker voedt kanker niet. Eet gewoon fruit.", [d]).action
    'edited'
    >>> compare("Bel ons gerust, dan leggen we het uit.", [d]).action
    'ignored'
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

from api.inbox.events import Draft
from kb.masking import mask

Action = Literal["used", "edited", "ignored"]
#: Words a greeting line starts with, and a sign-off line (the templates' own, and what agents type instead).
GREETINGS = ("hoi", "hi", "hallo", "hello", "hey", "beste", "dear", "goedemorgen", "goedemiddag", "goedenavond",
             "good morning", "good afternoon", "lieve", "dag")
CLOSINGS = ("groetjes", "groet", "met hartelijke groet", "met vriendelijke groet", "hartelijke groet",
            "vriendelijke groet", "liefs", "best wishes", "kind regards", "best regards", "regards", "warm regards",
            "cheers", "thanks", "bedankt", "fijne dag")
SIMILAR = 0.4  # share of words in order (2·matched / all) from which a reply counts as built on a draft
TAKEN = 0.8  # or: this share of a reply's own words comes from the draft (a shortened draft)
_INITIALS = re.compile(r"\s*\^[^\s^]{1,4}\s*$")
#: Words a sign-off as given may hold besides capitalised ones (kb/drafting.py puts the agent's sign-off in exactly
#: as typed: `^SA`, `Anna de Vries`, `Team Hoop & Gezondheid`).
_NAME_PARTS = frozenset({"de", "van", "der", "den", "ter", "ten", "het", "'t", "&", "-", "en", "and"})
_SIGN_OFF_WORDS = 5
_WORDS = re.compile(r"https?://\S+|[^\W_]+(?:['’-][^\W_]+)*")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Comparison:
    action: Action
    article_id: str | None  # the draft it was built on; None when ignored
    edit_distance: int | None  # characters; 0 when used, None when ignored
    similarity: float  # of the closest draft, 0..1


def _starts(line: str, words: tuple[str, ...]) -> bool:
    low = line.strip().lower()
    return any(low == w or low.startswith((w + " ", w + ",", w + "!", w + ".")) for w in words)


def core(text: str, names: tuple[str, ...] = ()) -> str:
    """`text` without its greeting and sign-off, masked, lower-case, one space between words.

        >>> core("Hoi Sam! Nee, dat klopt niet. https://kwf.nl ^AV", ("Sam",))
        'nee, dat klopt niet. https://kwf.nl'
        >>> core("Beste Ria,\\n\\nDank je wel.\\n\\nMet hartelijke groet,\\n\\nAnna\\nStichting Hoop & Gezondheid")
        'dank je wel.'
    """
    text = unicodedata.normalize("NFC", mask(text)).replace("\r\n", "\n").strip()
    text = _INITIALS.sub("", text)
    lines = [line for line in text.split("\n")]
    filled = [n.lower() for n in names if n]
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    if len(nonblank) > 1:
        first = lines[nonblank[0]]
        if len(first.split()) <= 6 and (_starts(first, GREETINGS) or any(n in first.lower() for n in filled)):
            lines = lines[nonblank[0] + 1:]
        tail = [i for i, line in enumerate(lines) if line.strip()][-4:]
        for i in tail:
            if _starts(lines[i], CLOSINGS) and len(lines[i].split()) <= 8:
                lines = lines[:i]
                break
    else:
        one = lines[nonblank[0]] if nonblank else ""
        match = re.match(r"\s*([^\s!,:]+(?:\s+[^\s!,:]+){0,3})\s*[!,:]\s+", one)
        if match and (_starts(match.group(1), GREETINGS) or any(n in match.group(1).lower() for n in filled)):
            one = one[match.end():]
        lines = [_without_sign_off(one, filled)]
    return _SPACE.sub(" ", "\n".join(lines)).strip().lower()


def _without_sign_off(line: str, names: list[str]) -> str:
    """A one-line reply (X) without the sign-off after its last link or sentence: a name given (`names`), initials
    (`^AV`) or up to five capitalised words (`Bert Jansen`, `Team Hoop & Gezondheid`).

        >>> _without_sign_off("Nee, dat klopt niet. https://kwf.nl Bert Jansen", [])
        'Nee, dat klopt niet. https://kwf.nl'
        >>> _without_sign_off("Nee, dat klopt niet. anna v.", ["anna v."])
        'Nee, dat klopt niet.'
        >>> _without_sign_off("Nee. Dat Klopt Echt Niet Hoor Zeg", []), _without_sign_off("Nee. Zie KWF.", [])
        ('Nee. Dat Klopt Echt Niet Hoor Zeg', 'Nee. Zie KWF.')
    """
    line = _INITIALS.sub("", line).rstrip()
    for name in sorted(names, key=len, reverse=True):
        if name and line.lower().endswith(" " + name):
            return line[:-len(name)].rstrip()
    words = line.split()
    for size in range(min(_SIGN_OFF_WORDS, len(words) - 1), 0, -1):
        before, tail = words[-size - 1], words[-size:]
        ends = before.endswith((".", "!", "?")) or before.startswith(("http://", "https://"))
        if ends and not tail[-1].endswith((".", "!", "?", ",", ":")) and \
                all(w[:1].isupper() or w.lower() in _NAME_PARTS for w in tail):
            return " ".join(words[:-size])
    return line


def levenshtein(a: str, b: str) -> int:
    """Edit distance in characters (insertions, deletions, substitutions), bit-parallel (Myers 1999, Hyyrö 2001):
    one pass over `b` with `len(a)`-bit integers, so two 5,000-character texts take milliseconds.

        >>> levenshtein("kitten", "sitting"), levenshtein("", "abc"), levenshtein("same", "same")
        (3, 3, 0)
    """
    if not a:
        return len(b)
    if not b:
        return len(a)
    m = len(a)
    mask = (1 << m) - 1
    last = 1 << (m - 1)
    peq: dict[str, int] = {}
    for i, c in enumerate(a):
        peq[c] = peq.get(c, 0) | (1 << i)
    pv, mv, score = mask, 0, m
    for c in b:
        eq = peq.get(c, 0)
        xv = eq | mv
        xh = ((((eq & pv) + pv) & mask) ^ pv) | eq
        ph = (mv | ~(xh | pv)) & mask
        mh = pv & xh
        if ph & last:
            score += 1
        elif mh & last:
            score -= 1
        ph = ((ph << 1) | 1) & mask
        mh = (mh << 1) & mask
        pv = (mh | ~(xv | ph)) & mask
        mv = ph & xv
    return score


def compare(reply: str, drafts: list[Draft], *, customer_name: str | None = None, agent_name: str | None = None,
            sender_name: str | None = None) -> Comparison:
    """How `reply` relates to the closest of `drafts` (see the module docstring); `agent_name` signed the drafts,
    `sender_name` sent the reply (another agent may have taken the conversation over)."""
    names = tuple(n for n in (customer_name, agent_name, sender_name) if n)
    sent = core(reply, names)
    sent_words = _WORDS.findall(sent)
    best: tuple[float, Draft, str] | None = None
    for draft in drafts:
        offered = core(draft.text, names)
        if offered == sent:
            return Comparison("used", draft.article_id, 0, 1.0)
        offered_words = _WORDS.findall(offered)
        matcher = SequenceMatcher(None, offered_words, sent_words, autojunk=False)
        matched = sum(block.size for block in matcher.get_matching_blocks())
        similarity = matcher.ratio()
        taken = matched / len(sent_words) if sent_words else 0.0
        score = similarity if similarity >= SIMILAR else (SIMILAR if taken >= TAKEN and matched >= 6 else similarity)
        if best is None or score > best[0]:
            best = (score, draft, offered)
    if best is None or best[0] < SIMILAR:
        return Comparison("ignored", None, None, round(best[0], 3) if best else 0.0)
    score, draft, offered = best
    return Comparison("edited", draft.article_id, levenshtein(offered, sent), round(score, 3))
