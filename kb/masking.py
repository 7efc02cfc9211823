r"""Personal data out of a message before it is stored: e-mail addresses, phone numbers (Dutch and international
formats) and IBANs become placeholders. What the service keeps of a customer's words is then the question, not
how to reach them.

Applied by `api.db.Database` to every stored message and final reply text, so no code path can store one unmasked,
and by the agent-consistency reports (eval/agents.py) to the messages and replies they keep.
The patterns err towards masking: an order number shaped like a Dutch phone number is masked too. Dates and times
("01-12-2026 10:30") and ordinary numbers are left alone. They match on a normalised copy of the text (NFKC,
invisible characters such as zero-width spaces left out, every dash and space the ASCII one), so full-width digits,
`06 - 12345678`, `jan @ example.nl` and `jan [at] example [dot] nl` are masked too; the rest of the text is kept
exactly as it was. Every pattern starts only where its first part can start (a long run of letters or digits is
not tried from each of its characters), so masking stays linear in the message's length.

    >>> mask("mail me op ria.de.vries@example.nl of bel 06-12345678")
    'mail me op [e-mail] of bel [telefoon]'
    >>> mask("+31 (0)20 123 4567, +44 20 7946 0958 of 0031 6 1234 5678")
    '[telefoon], [telefoon] of [telefoon]'
    >>> mask("IBAN NL91 ABNA 0417 1643 00 graag terugstorten")
    'IBAN [iban] graag terugstorten'
    >>> mask("op 01-12-2026 10:30 om 14.00 uur, 3 kinderen, 2.500 euro")
    'op 01-12-2026 10:30 om 14.00 uur, 3 kinderen, 2.500 euro'
    >>> mask("bel ０６－１２３４５６７８ of mail jan [at] example [dot] nl …")
    'bel [telefoon] of mail [e-mail] …'
"""

from __future__ import annotations

import re
import unicodedata

EMAIL = "[e-mail]"
PHONE = "[telefoon]"
IBAN = "[iban]"

# Patterns run on a normalised copy of the text (`_normalised`): NFKC, invisible characters gone, every dash a
# hyphen-minus and every space a plain space, so they need to know only the ASCII forms.
_AT_SIGN = r" *@ *"
_BRACKETED = r" *[\[({{<] *(?:{}) *[\])}}>] *"
_AT = "(?:" + "|".join((_AT_SIGN, _BRACKETED.format("at|@|apenstaartje"))) + ")"
_DOT = r"(?:\.| +\. +|" + _BRACKETED.format("dot|punt") + ")"  # not "school. Daarna": a sentence's end
_LOCAL = r"(?<![\w.+%-])[\w.+%-]+"  # from the start of a word only: tried from every character, a long run is quadratic
_EMAIL = re.compile("|".join((
    # jan@example.nl, jan @ example.nl, jan [at] example [dot] nl, jan(at)example.nl
    rf"{_LOCAL}{_AT}[\w-]+(?:{_DOT}[\w-]+)*{_DOT}[a-z]{{2,}}\b",
    # spelled out: jan at example dot nl, jan apenstaartje example punt nl
    rf"{_LOCAL} +(?:at|apenstaartje) +[\w-]+(?: +(?:dot|punt) +[\w-]+)*(?: +(?:dot|punt) +)[a-z]{{2,}}\b",
)), re.IGNORECASE)
# Between digits: nothing, spaces, or one dash, dot or slash with spaces around it (06 - 12345678, 06/12345678).
_SEP = r"(?: *[-./] *| +)?"
_NOT_BEFORE = r"(?<![\w+])"
_NOT_AFTER = r"(?![\w:]|[.,-]\d)"  # not followed by more of a number or a time ("… 10:30")
# 01-12-2026 starts with a 0 too; 06.12.34.56.78 goes on after its "year"
_NOT_A_DATE = r"(?!\d{1,2}[-./]\d{1,2}[-./](?:\d{4}|\d{2})(?!\d|[-./]\d))"
_ZERO = rf"(?:\( *0 *\){_SEP}|0{_SEP})?"  # the (0) or 0 people keep after a country code
_PHONE = re.compile("(?:" + "|".join((
    # +31 / 0031, optionally (0) or 0, then the 9 digits of a Dutch number: +31 6 12345678, +31 (0)20 123 4567
    rf"(?:\+|\b00)31{_SEP}{_ZERO}[1-9](?:{_SEP}\d){{8}}",
    # any other country code: +, 1-3 digits, then 6-13 more digits in groups (brackets allowed): +1 (555) 123-4567
    rf"(?:\+|\b00)(?!31)[1-9]\d{{0,2}}{_SEP}{_ZERO}(?:{_SEP}\(?\d{{1,4}}\)?){{2,6}}",
    # Dutch and Belgian national: 10 digits starting with 0 (06-12345678, 020 123 4567, 0470 12 34 56) or 9
    # (Belgian landlines: 02 123 45 67, 014 12 34 56), or the area code in brackets: (020) 123 4567
    rf"{_NOT_BEFORE}{_NOT_A_DATE}0[1-9](?:{_SEP}\d){{7,8}}",
    rf"\(0\d{{1,3}}\){_SEP}\d(?:{_SEP}\d){{5,7}}",
)) + ")" + _NOT_AFTER)
# Country, check digits, a bank code that may hold letters (NL91 ABNA), then digits (most countries' IBANs),
# grouped by spaces or dashes.
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}[ -]*[A-Z0-9]{4}(?:[ -]*\d{4}){1,6}(?:[ -]*\d{1,3})?\b", re.IGNORECASE)


def _normalised(text: str) -> tuple[str, list[int]]:
    """A copy of `text` to match on, and for each of its characters the index of the one it came from: NFKC per
    character (full-width digits and `＠` become ASCII), format characters (zero-width spaces and joiners, bidi
    marks, soft hyphens) left out, dashes made `-` and spaces ` `."""
    chars: list[str] = []
    origin: list[int] = []
    for i, c in enumerate(text):
        if unicodedata.category(c) == "Cf":
            continue
        for n in unicodedata.normalize("NFKC", c):
            kind = unicodedata.category(n)
            chars.append("-" if kind == "Pd" or n == "\u2212" else " " if kind == "Zs" else n)
            origin.append(i)
    return "".join(chars), origin


def _phone(match: re.Match[str]) -> bool:
    return 9 <= sum(c.isdigit() for c in match.group()) <= 15


def _iban(match: re.Match[str]) -> bool:
    return sum(c.isdigit() for c in match.group()) >= 8


def _spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, placeholder) in the normalised text, e-mail first, then IBANs, then phone numbers: a span
    found is blanked out (same length) before the next pattern looks."""
    found: list[tuple[int, int, str]] = []
    for pattern, placeholder, keep in ((_EMAIL, EMAIL, None), (_IBAN, IBAN, _iban), (_PHONE, PHONE, _phone)):
        for match in pattern.finditer(text):
            if keep is None or keep(match):
                found.append((match.start(), match.end(), placeholder))
        for start, end, _ in found:
            text = text[:start] + "\x00" * (end - start) + text[end:]
    return found


def mask(text: str) -> str:
    """`text` with e-mail addresses, phone numbers and IBANs replaced by `[e-mail]`, `[telefoon]`, `[iban]`;
    everything else exactly as it was (the normalised copy is only matched on)."""
    normal, origin = _normalised(text)
    for start, end, placeholder in sorted(_spans(normal), reverse=True):
        text = text[:origin[start]] + placeholder + text[origin[end - 1] + 1:]
    return text


def mask_optional(text: str | None) -> str | None:
    """`mask` for a text that may be absent (a feedback's final reply)."""
    return None if text is None else mask(text)
