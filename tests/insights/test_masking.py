"""Personal data is masked before a message is stored: e-mail addresses, Dutch and international phone numbers
and IBANs; dates, times, amounts and handles are left as they are."""

from __future__ import annotations

import pytest

from kb.masking import EMAIL, IBAN, PHONE, mask

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("text", [
    "ria.devries@example.nl", "R.de-Vries+webcare@mail.example.co.uk", "jan_57@gmail.com", "info@kwf.nl",
])
def test_email_addresses_are_masked(text: str) -> None:
    assert mask(f"mail me op {text} aub") == f"mail me op {EMAIL} aub"


@pytest.mark.parametrize("text", [
    # Dutch mobile and landline, as people type them
    "0612345678", "06-12345678", "06 12 34 56 78", "06-1234 5678", "06/12345678", "020-1234567", "020 123 4567",
    "010-4567890", "0111-123456", "(020) 123 4567", "+31612345678", "+31 6 12345678", "+31 (0)6 12345678",
    "+31(0)20-1234567", "0031 6 1234 5678", "0031201234567",
    # international
    "+44 20 7946 0958", "+1 (555) 123-4567", "+49 30 1234567", "+32 470 12 34 56", "0044 20 7946 0958",
    "+33 6 12 34 56 78",
])
def test_phone_numbers_are_masked_in_dutch_and_international_formats(text: str) -> None:
    assert mask(f"bel me op {text}, dank") == f"bel me op {PHONE}, dank"


@pytest.mark.parametrize("text", ["NL91ABNA0417164300", "NL91 ABNA 0417 1643 00", "nl91abna0417164300",
                                  "BE68 5390 0754 7034", "DE89 3704 0044 0532 0130 00"])
def test_ibans_are_masked(text: str) -> None:
    assert mask(f"stort terug op {text} graag") == f"stort terug op {IBAN} graag"


@pytest.mark.parametrize("text", [
    "op 01-12-2026 om 10:30", "sinds 1-1-2020 12:00", "om 06.30 uur", "het kost 0,50 per dag", "2.500 euro",
    "tussen 2010 en 2020", "postcode 1234 AB 5", "@KWF klopt dit?", "ordernummer 2026123456", "0800-1234",
    "ik ben 06 jaar", "zie https://www.kwf.nl/5g?id=0612345", "3 kinderen van 12, 14 en 16",
])
def test_dates_times_amounts_and_handles_are_left_alone(text: str) -> None:
    assert mask(text) == text


def test_a_message_with_several_kinds_keeps_its_words() -> None:
    text = "Hoi, ik ben Ria (ria@example.nl, 06-12345678). Klopt het dat 5G kanker geeft? IBAN NL91ABNA0417164300"
    assert mask(text) == f"Hoi, ik ben Ria ({EMAIL}, {PHONE}). Klopt het dat 5G kanker geeft? IBAN {IBAN}"
