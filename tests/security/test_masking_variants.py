"""Issue 25, point 5: masking missed common variants (`06 - 12345678`, full-width digits, a zero-width space inside a
number, `jan @ example.nl`, `+31 (0) 6 - 1234 5678`) and stored them verbatim. The text is now normalised first
(NFKC, invisible characters out) and separators are read as people type them. A table of what must be masked, and
of ordinary numbers (years, amounts, dates, times) that must not be."""

from __future__ import annotations

import pytest

from kb.masking import EMAIL, IBAN, PHONE, mask

pytestmark = pytest.mark.unit

ZW = "\u200b"  # zero-width space
NBSP = "\u00a0"

PHONES = [
    # the issue's
    "06 - 12345678", "０６－１２３４５６７８", f"06{ZW}12345678", "+31 (0) 6 - 1234 5678",
    # Dutch mobile and landline, typed loosely
    "06 – 12345678", "06—12345678", "06 ‑ 1234 5678", f"06{ZW}-{ZW}12345678", "06  12345678", f"06{NBSP}12345678",
    "06.12.34.56.78", "06 12 345 678", "(06) 12345678", "020 - 123 45 67", "0111 - 12 34 56", f"0612{ZW}345{ZW}678",
    "+31 (0)6-1234 5678", "+31 06 12345678", "+31 (0) 20 - 123 45 67", "0031 (0)6 12345678", "0031 6-12345678",
    "+31\u20096\u200912345678",
    # Belgian mobile and landline, national and international
    "0470 12 34 56", "0470/12.34.56", "02 123 45 67", "09 123 45 67", "014 12 34 56", "+32 2 123 45 67",
    "+32 470 12 34 56", "0032 470 12 34 56", "+32 (0)470 12 34 56", "+32 (0) 9 123 45 67",
    # other international forms
    "+49 (0)30 1234567", "+44 (0) 20 7946 0958", "+1-555-123-4567", "+33 6 12 34 56 78",
    "＋４４ ２０ ７９４６ ０９５８",
]
EMAILS = [
    "jan @ example.nl", "jan@ example.nl", "jan [at] example [dot] nl", "jan(at)example(dot)nl", "jan (at) example.nl",
    "jan{at}example.nl", "jan [@] example.nl", "jan at example dot nl", "jan apenstaartje example punt nl",
    "jan[at]example[punt]nl", "ＪＡＮ＠ＥＸＡＭＰＬＥ．ＮＬ", f"jan{ZW}@example.nl", f"jan@{ZW}example.nl",
    "j.an@example.co.uk", "jan <at> example <dot> co <dot> uk", "jan @ example . nl",
]
IBANS = [
    "NL91 ABNA 0417 1643 00", "NL91  ABNA  0417  1643  00", NBSP.join(["NL91", "ABNA", "0417", "1643", "00"]),
    "NL91-ABNA-0417-1643-00", "ＮＬ９１ＡＢＮＡ０４１７１６４３００", f"NL91ABNA{ZW}0417164300", "BE68 5390 0754 7034",
    "be68 5390 0754 7034",
]
#: Ordinary numbers and words that look a little like the above: left exactly as they are.
ORDINARY = [
    "in 2024", "€ 1.250,00", "2.500 euro", "€ 0,50 per dag", "01-12-2026", "op 01-12-2026 3 kinderen",
    "01-12-2026 10:30", "1-1-2020 12:00", "30-11-2024 om 09:15", "2024-11-30", "om 14.00 uur", "12,5%",
    "postcode 1234 AB", "huisnummer 12", "3 kinderen van 12, 14 en 16", "tussen 2010 en 2020", "van 1990 tot 2000",
    "ordernummer 2026123456", "0800-1234", "tel. 112", "+5 graden", "1 op de 3 mensen", "week 12 2024",
    "versie 2.0.1", "10-15 minuten", "150/90 bloeddruk", "5G is 3,5 GHz", "2x per dag 500 mg", "NL91",
    "RT @kwf: klopt dit?", "@KWF_nl", "we meet at school. Then we go", "ik ben @ school. Daarna naar huis",
    "kijk at home", "zie https://www.kwf.nl/5g?id=0612345", "tussen 06.30 en 07.45 uur", "op 6-12 om 8.30",
    "👨‍👩‍👧 familie",
]


@pytest.mark.parametrize("text", PHONES)
def test_phone_number_variants_are_masked(text: str) -> None:
    assert mask(f"bel me op {text}, dank") == f"bel me op {PHONE}, dank"


@pytest.mark.parametrize("text", EMAILS)
def test_obfuscated_email_addresses_are_masked(text: str) -> None:
    assert mask(f"mail me op {text} aub") == f"mail me op {EMAIL} aub"


@pytest.mark.parametrize("text", IBANS)
def test_iban_variants_are_masked(text: str) -> None:
    assert mask(f"stort terug op {text} graag") == f"stort terug op {IBAN} graag"


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_numbers_and_words_are_left_alone(text: str) -> None:
    assert mask(text) == text


def test_normalising_changes_nothing_else_of_a_message() -> None:
    text = "Klopt het dat suiker kanker voedt?!? 😢 #SuikerStop — mijn schoonmoeder zegt ‘stop met fruit’"
    assert mask(text) == text


@pytest.mark.parametrize("text", ["06" * 2500, "a." * 2500, "x" * 5000 + "@", "a@" + "b-" * 2500, "jan at " * 700,
                                  "+31 (0) 6 - 1 " * 350, "0 " * 2500])
def test_masking_a_hostile_message_stays_linear(text: str) -> None:
    """Every request's message is masked: a pattern tried from every character of a long run is quadratic (a
    draft of these patterns took 4 s on 5,000 characters). A bound far above the milliseconds it takes."""
    import time

    started = time.perf_counter()
    mask(text)
    assert time.perf_counter() - started < 1.0
