"""Channels a reply can go out on, and how each counts length.

    >>> Channel.X.length("Zie https://www.rivm.nl/bevolkingsonderzoek-darmkanker")
    27
    >>> Channel.parse("Twitter") is Channel.X
    True
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

from kb.errors import InvalidInput

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
#: X shortens every link to t.co, counted as 23 characters whatever its length.
X_URL_LENGTH = 23

_ALIASES = {"twitter": "x", "fb": "facebook", "ig": "instagram", "insta": "instagram", "wa": "whatsapp",
            "mail": "email", "e-mail": "email"}


class Channel(StrEnum):
    X = "x"
    FACEBOOK = "facebook"
    INSTAGRAM = "instagram"
    WHATSAPP = "whatsapp"
    EMAIL = "email"

    @property
    def max_length(self) -> int:
        """Longest draft we offer. X is the platform's hard limit; the others are readability limits well
        under the platforms' own (Facebook comments 8,000, Instagram 2,200, WhatsApp 4,096)."""
        return _LIMITS[self]

    def length(self, text: str) -> int:
        """Length as the channel counts it (X: every URL is 23)."""
        text = unicodedata.normalize("NFC", text)
        if self is Channel.X:
            return len(_URL.sub("", text)) + X_URL_LENGTH * len(_URL.findall(text))
        return len(text)

    @classmethod
    def parse(cls, value: str) -> Channel:
        key = value.strip().lower()
        key = _ALIASES.get(key, key)
        try:
            return cls(key)
        except ValueError:
            valid = ", ".join(c.value for c in cls)
            raise InvalidInput(f"channel: unknown channel '{value}'; use one of: {valid}", field="channel") from None


_LIMITS = {
    Channel.X: 280,
    Channel.FACEBOOK: 1500,
    Channel.INSTAGRAM: 1000,
    Channel.WHATSAPP: 1000,
    Channel.EMAIL: 5000,
}
