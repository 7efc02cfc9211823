r"""Personal data out of a message before it is stored: e-mail addresses, phone numbers (Dutch and international
formats) and IBANs become placeholders. What the service keeps of a customer's words is then the question, not
how to reach them.

Applied by `api.db.Database` to every stored message and final reply text, so no code path can store one unmasked,
and by the agent-consistency reports (eval/agents.py) to the messages and replies they keep.
The patterns err towards masking: an order number shaped like a Dutch phone number is masked too. Dates and times
("01-12-2026 10:30") and ordinary numbers are left alone.

    >>> mask("mail me op ria.de.vries@example.nl of bel 06-12345678")
    'mail me op [e-mail] of bel [telefoon]'
    >>> mask("+31 (0)20 123 4567, +44 20 7946 0958 of 0031 6 1234 5678")
    '[telefoon], [telefoon] of [telefoon]'
    >>> mask("IBAN NL91 ABNA 0417 1643 00 graag terugstorten")
    'IBAN [iban] graag terugstorten'
    >>> mask("op 01-12-2026 10:30 om 14.00 uur, 3 kinderen, 2.500 euro")
    'op 01-12-2026 10:30 om 14.00 uur, 3 kinderen, 2.500 euro'
"""

from __future__ import annotations

import re

EMAIL = "[e-mail]"
PHONE = "[telefoon]"
IBAN = "[iban]"

_EMAIL = re.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", re.IGNORECASE)
# One separator at most between digits: a space, a dash, a dot or a slash (06/12345678).
_SEP = r"[ \-./]?"
_NOT_BEFORE = r"(?<![\w+])"
_NOT_AFTER = r"(?![\w:]|[.,-]\d)"  # not followed by more of a number or a time ("… 10:30")
_PHONE = re.compile("(?:" + "|".join((
    # +31 / 0031, optionally (0), then the 9 digits of a Dutch number: +31 6 12345678, +31 (0)20 123 4567
    rf"(?:\+|\b00)31{_SEP}(?:\(0\){_SEP})?[1-9](?:{_SEP}\d){{8}}",
    # any other country code: +, 1-3 digits, then 6-13 more digits in groups (brackets allowed): +1 (555) 123-4567
    rf"(?:\+|\b00)(?!31)[1-9]\d{{0,2}}(?:{_SEP}\(?\d{{1,4}}\)?){{2,6}}",
    # Dutch national: 10 digits starting with 0 (06-12345678, 020 123 4567, 0111-123456), or the area code in
    # brackets: (020) 123 4567
    rf"{_NOT_BEFORE}0[1-9](?:{_SEP}\d){{8}}",
    rf"\(0\d{{1,3}}\){_SEP}\d(?:{_SEP}\d){{5,7}}",
)) + ")" + _NOT_AFTER)
# Country, check digits, a bank code that may hold letters (NL91 ABNA), then digits (most countries' IBANs).
_IBAN = re.compile(r"\b[A-Z]{2}\d{2} ?[A-Z0-9]{4}(?: ?\d{4}){1,6}(?: ?\d{1,3})?\b", re.IGNORECASE)


def _phone(match: re.Match[str]) -> str:
    digits = sum(c.isdigit() for c in match.group())
    return PHONE if 9 <= digits <= 15 else match.group()


def _iban(match: re.Match[str]) -> str:
    return IBAN if sum(c.isdigit() for c in match.group()) >= 8 else match.group()


def mask(text: str) -> str:
    """`text` with e-mail addresses, phone numbers and IBANs replaced by `[e-mail]`, `[telefoon]`, `[iban]`."""
    text = _EMAIL.sub(EMAIL, text)
    text = _IBAN.sub(_iban, text)
    return _PHONE.sub(_phone, text)


def mask_optional(text: str | None) -> str | None:
    """`mask` for a text that may be absent (a feedback's final reply)."""
    return None if text is None else mask(text)
