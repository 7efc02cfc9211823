"""What people read on the pages: Dutch labels for the codes the API keeps in English.

The API and its JSON keep stable English codes (`rebuttal`, `false`, `whatsapp`, `used`); the pages show these
labels instead, in one place, so every page says the same thing for the same code. The templates reach them
through the `label` filter (registered in api.pages.render), which falls back to the code itself for a code
that has no label yet rather than failing the page.

    >>> label("false", "verdict")
    'onjuist'
    >>> label("rebuttal", "type")
    'weerlegging'
    >>> label("whatsapp", "channel")
    'WhatsApp'
    >>> label("something-new", "type")
    'something-new'
"""

from __future__ import annotations

from collections.abc import Mapping

LABELS: Mapping[str, Mapping[str, str]] = {
    "type": {"fact-check": "factcheck", "rebuttal": "weerlegging", "policy": "beleid", "faq": "veelgestelde vraag"},
    # A verdict judges the claim the article is about, never the article: "claim: onjuist".
    "verdict": {"false": "onjuist", "misleading": "misleidend", "unproven": "onbewezen", "mixed": "deels waar",
                "true": "waar"},
    "channel": {"x": "X (Twitter)", "facebook": "Facebook", "instagram": "Instagram", "whatsapp": "WhatsApp",
                "email": "E-mail"},
    "language": {"nl": "Nederlands", "en": "Engels"},
    "confidence": {"high": "hoog", "medium": "middel", "low": "laag", "no_match": "geen artikel"},
    "status": {"draft": "concept", "published": "gepubliceerd", "retired": "ingetrokken"},
    "action": {"used": "gebruikt", "edited": "aangepast", "rejected": "afgewezen",
               "no_good_answer": "geen goed antwoord", "ignored": "genegeerd"},
    # What an agent should read about a suggestion (the agent page, the Chatwoot note and sidebar).
    "warning": {"stale": "Review verlopen: controleer of dit nog klopt",
                "too_long": "Te lang voor dit kanaal: kort in",
                "language_fallback": "Artikel in een andere taal dan het bericht",
                "short_message": "Kort bericht: lees mee of dit echt de vraag is",
                "template_error": "Sjabloon faalde: alleen het goedgekeurde antwoord, zonder aanhef of bronnen"},
}


def label(code: object, kind: str) -> str:
    """The Dutch label for `code` of `kind` (type, verdict, channel, language, confidence, status, action,
    warning)."""
    text = str(getattr(code, "value", code))
    return LABELS.get(kind, {}).get(text, text)
