r"""What of a customer's message may be stored: e-mail addresses, phone numbers and IBANs masked (the project's
masking, `kb.masking`), and the customer's name an agent filled in (`customer_name`) as `[naam]`.

The one function every stored message and phrasing goes through: when the masking moves (it may move into kb/),
only the import below changes.

    >>> mask_personal("Hoi, ik ben Ria de Vries (ria@example.nl). Klopt het dat suiker kanker voedt?", ["Ria de Vries"])
    'Hoi, ik ben [naam] ([e-mail]). Klopt het dat suiker kanker voedt?'
    >>> mask_personal("ria vroeg het ook, en De Vries ook", ["Ria de Vries"])
    '[naam] vroeg het ook, en [naam] ook'
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from kb.masking import mask

NAME = "[naam]"
#: Name parts too common to mask on their own ("de" in "Ria de Vries"; "van" in "Jan van Dam").
_PARTICLES = frozenset({"de", "der", "den", "het", "van", "von", "ter", "ten", "te", "la", "le", "du", "da", "di",
                        "el", "al", "bin", "mc", "mac", "o"})


def _name_patterns(name: str) -> list[re.Pattern[str]]:
    """The whole name, its surname with particles ("de Vries"), and each part of three letters or more."""
    words = [w for w in re.split(r"\s+", name.strip()) if w]
    if not words:
        return []
    forms = {" ".join(words)}
    particles = [i for i, w in enumerate(words) if w.lower() in _PARTICLES]
    if particles:
        forms.add(" ".join(words[particles[0]:]))
    forms.update(w for w in words if len(w) >= 3 and w.lower() not in _PARTICLES)
    return [re.compile(rf"(?<!\w){re.escape(f)}(?!\w)", re.IGNORECASE) for f in sorted(forms, key=len, reverse=True)]


def mask_personal(text: str, names: Iterable[str | None] = ()) -> str:
    """`text` with contact details masked and every given name (and its parts) replaced by `[naam]`."""
    text = mask(text)
    for name in names:
        for pattern in _name_patterns(name or ""):
            text = pattern.sub(NAME, text)
    return text
