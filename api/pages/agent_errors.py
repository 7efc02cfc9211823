"""The agent page's own mistakes in Dutch: an empty or too long message, a bad sign-off, feedback on a suggestion
the service does not know.

The API keeps its English messages and codes; the page turns the ones an agent can cause into Dutch that says
what to do, keeping the code, the status and the field (`InvalidInput`/`NotFound` with `field`), so pages.js and
the page without JavaScript show them as they show any error. Anything else (the index not ready, the store
down) is not the agent's doing and passes as it is.

    >>> str(from_validation([{"loc": ("message",), "type": "string_too_short", "msg": "", "ctx": {}}]))
    'Het bericht is leeg: plak het bericht van de klant.'
    >>> str(in_dutch(InvalidInput("message: 5001 characters, at most 5000", field="message"), message="x" * 5001,
    ...              max_chars=5000))
    'Het bericht is 5.001 tekens; er passen er 5.000 in. Kort het in (de vraag zelf is genoeg) en vraag opnieuw.'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kb.errors import InvalidInput, KbError, NotFound

#: The form fields, as a sentence names them.
FIELDS = {"message": "Het bericht", "channel": "Het kanaal", "customer_name": "De naam van de klant",
          "agent_signature": "De ondertekening", "final_text": "De verstuurde tekst", "action": "De keuze",
          "request_id": "Het verzoek", "article_id": "Het artikel", "limit": "Het aantal suggesties"}
EMPTY_MESSAGE = "Het bericht is leeg: plak het bericht van de klant."
UNKNOWN_REQUEST = "Deze suggesties kent de service niet (meer): vraag ze opnieuw op en kies dan."


def thousands(n: int) -> str:
    """5000 -> '5.000', as Dutch writes it."""
    return f"{n:,}".replace(",", ".")


def too_long(length: int, max_chars: int) -> str:
    return (f"Het bericht is {thousands(length)} tekens; er passen er {thousands(max_chars)} in. Kort het in "
            "(de vraag zelf is genoeg) en vraag opnieuw.")


def _problem(error: Mapping[str, Any]) -> str:
    field = str(error["loc"][0]) if error.get("loc") else ""
    name = FIELDS.get(field, "Het formulier")
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if field == "message" and kind == "string_too_short":
        return EMPTY_MESSAGE
    if kind == "string_too_short":
        return f"{name} is leeg."
    if kind == "string_too_long":
        return f"{name} is te lang: hoogstens {thousands(int(ctx.get('max_length', 0)))} tekens."
    if kind == "unsafe_signature":
        return (f"{name} kan zo niet onder een antwoord: haal de link of de tekens < > {{ }} [ ] \\ weg "
                "(bijvoorbeeld ^SA).")
    if kind == "enum" and field == "channel":
        return "Dit kanaal kennen we niet: kies X, Facebook, Instagram, WhatsApp of e-mail."
    if kind == "enum":
        return f"{name} kennen we niet."
    return f"{name} klopt niet."


def from_validation(errors: Iterable[Mapping[str, Any]]) -> InvalidInput:
    """One InvalidInput in Dutch for pydantic's errors on a page form (the first field named in `field`)."""
    errors = list(errors)
    fields = [str(e["loc"][0]) for e in errors if e.get("loc")]
    return InvalidInput(" ".join(dict.fromkeys(_problem(e) for e in errors)), **({"field": fields[0]} if fields
                                                                                  else {}))


def in_dutch(error: KbError, *, message: str = "", max_chars: int = 0) -> KbError:
    """`error` in Dutch when the agent caused it (same type and field), else `error` itself."""
    field = error.details.get("field")
    if isinstance(error, NotFound) and field == "request_id":
        return NotFound(UNKNOWN_REQUEST, field="request_id")
    if not isinstance(error, InvalidInput):
        return error
    if field == "message":
        text = message.strip()
        return InvalidInput(too_long(len(text), max_chars) if text else EMPTY_MESSAGE, field="message")
    if field == "article_id":
        return InvalidInput("Dit artikel hoorde niet bij deze suggesties: vraag ze opnieuw op.", field="article_id")
    if field == "limit":
        return InvalidInput("Het aantal suggesties moet tussen 1 en 10 liggen.", field="limit")
    return error
