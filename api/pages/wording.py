"""Dutch sentences the pages make from what the service keeps in English: a flagged reply's finding (with the
figure and the threshold it was held to), an error, a form value that did not validate, and dates.

The API, the reports' JSON and the logs keep their English codes and messages; only what a person reads on a page
goes through here (single words and codes go through `api.pages.labels`). Registered as Jinja filters in
`api.pages.render`.

    >>> finding({"flag": "low_agreement", "value": 0.8612, "threshold": 0.87})
    'inhoudelijke overeenstemming met het goedgekeurde antwoord 0.86, grens 0.87'
    >>> nl_date("2027-05-01")
    '1 mei 2027'
    >>> nl_datetime("2026-11-30T08:12:00+00:00")
    '30 nov. 2026, 09:12'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from api.pages.labels import label

MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
          "november", "december")
SHORT_MONTHS = ("jan.", "feb.", "mrt.", "apr.", "mei", "jun.", "jul.", "aug.", "sep.", "okt.", "nov.", "dec.")
try:  # the pages' readers are in the Netherlands; stored times are UTC
    LOCAL: dt.tzinfo = ZoneInfo("Europe/Amsterdam")
except ZoneInfoNotFoundError:  # no time zone data on this machine: say UTC rather than guess
    LOCAL = dt.UTC


def _parse(value: object) -> dt.date | dt.datetime | None:
    if isinstance(value, dt.datetime | dt.date):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return dt.datetime.fromisoformat(text) if len(text) > 10 else dt.date.fromisoformat(text)
    except ValueError:
        return None


def nl_date(value: object) -> str:
    """A day as Dutch readers write it: `1 mei 2027` (a time, if any, is left out); anything else as given."""
    parsed = _parse(value)
    if parsed is None:
        return "" if value is None else str(value)
    if isinstance(parsed, dt.datetime):
        parsed = _local(parsed).date()
    return f"{parsed.day} {MONTHS[parsed.month - 1]} {parsed.year}"


def nl_datetime(value: object) -> str:
    """A moment in Dutch time: `30 nov. 2026, 09:12` (UTC when there is no time zone data)."""
    parsed = _parse(value)
    if parsed is None:
        return "" if value is None else str(value)
    if not isinstance(parsed, dt.datetime):
        return nl_date(parsed)
    local = _local(parsed)
    zone = " UTC" if LOCAL is dt.UTC else ""
    return f"{local.day} {SHORT_MONTHS[local.month - 1]} {local.year}, {local:%H:%M}{zone}"


def _local(moment: dt.datetime) -> dt.datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(LOCAL)


def _num(value: object) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def finding(f: Mapping[str, Any]) -> str:
    """What a flag found, in Dutch, with its figure beside the threshold it was held to."""
    code = str(f.get("flag", ""))
    if code == "low_agreement":
        return (f"inhoudelijke overeenstemming met het goedgekeurde antwoord {_num(f.get('value'))}, "
                f"grens {_num(f.get('threshold'))}")
    if code == "different_stance":
        verdict = label(f.get("verdict", ""), "verdict")
        if f.get("side") == "denies":
            return f"ontkent (‘{f.get('word')}’) wat ‘{f.get('article')}’ {verdict} noemt"
        return f"bevestigt de bewering (‘{f.get('word')}’), terwijl ‘{f.get('article')}’ die {verdict} noemt"
    if code == "missing_source":
        links = f.get("links") or []
        return "noemt geen van de bronnen van het artikel" + (f" (wel: {', '.join(links)})" if links else
                                                              " (geen enkele link)")
    if code == "outdated_policy":
        return (f"lijkt op ingetrokken artikel ‘{f.get('retired')}’ ({_num(f.get('value'))}, grens "
                f"{_num(f.get('threshold'))}), meer dan op het huidige ({_num(f.get('current'))}; verschil "
                f"minstens {_num(f.get('margin'))})")
    if code == "wrong_fact":
        stated, says = f.get("stated") or [], f.get("article_says") or []
        return (f"noemt {', '.join(map(str, stated))}, terwijl het artikel "
                f"{', '.join(map(str, says)) if says else 'geen getal'} noemt")
    if code == "unmapped":
        return (f"het bericht past bij geen artikel (beste kans {_num(f.get('value'))}, grens "
                f"{_num(f.get('threshold'))})")
    return label(code, "flag_help") or code


def findings(reply: Mapping[str, Any]) -> list[str]:
    """Every finding of a flagged reply in Dutch; a report written before findings were kept gives the flags'
    explanations instead."""
    found = reply.get("findings")
    if found:
        return [finding(f) for f in found]
    return [label(code, "flag_help") or str(code) for code in reply.get("flags") or []]


#: An error, for a person on a page: by its code (the API's message stays in the JSON and the logs).
ERRORS = {
    "unauthorized": "Log in met je API-sleutel om deze pagina te openen.",
    "forbidden": "Je sleutel geeft geen toegang tot deze pagina.",
    "csrf_refused": "Het formulier is verlopen of kwam niet van deze pagina. Laad de pagina opnieuw en probeer het "
                    "nog eens.",
    "not_found": "Deze pagina, dit artikel of dit rapport bestaat niet (meer).",
    "method_not_allowed": "Dit adres kun je zo niet openen.",
    "payload_too_large": "Wat je stuurde is te groot.",
    "unsupported_media_type": "Dit soort bestand of formulier kan de service niet lezen.",
    "too_many_requests": "Te veel verzoeken met deze sleutel in korte tijd. Wacht een paar seconden en probeer het "
                         "opnieuw.",
    "overloaded": "De service is even te druk. Probeer het over een paar seconden opnieuw.",
    "unavailable": "De service is even niet beschikbaar. Probeer het over een paar seconden opnieuw.",
    "index_not_ready": "De index is nog niet klaar. Probeer het over een minuut opnieuw, of vraag een redacteur om "
                       "te indexeren.",
    "store_unavailable": "De index (Qdrant) is nu niet bereikbaar. Probeer het zo opnieuw.",
    "reindex_running": "Er loopt al een herindexering; wacht tot die klaar is.",
    "job_running": "Er loopt al een evaluatie; wacht tot die klaar is, of stop hem.",
    "invalid_input": "Deze invoer kon de service niet gebruiken.",
    "internal_error": "Er ging aan onze kant iets mis. Het is vastgelegd; probeer het later opnieuw.",
}
#: Who may do what a role grants, and a key's role, as a person calls them.
MAY = {"agent": "agents", "editor": "redacteuren", "qa": "QA", "admin": "beheerders",
       "insights": "redacteuren en QA"}
ROLE = {"agent": "agent", "editor": "redacteur", "qa": "QA", "admin": "beheerder"}


def error_text(code: str, details: Mapping[str, Any], message: str) -> str:
    """The Dutch sentence for an error page. A refused role says which roles may, and which role the key has;
    a message already written in Dutch (the editor's "geen artikel met id …") is kept as it is."""
    if code == "forbidden" and details.get("needs") and details.get("role"):
        needs, role = str(details["needs"]), str(details["role"])
        return (f"Dit is alleen voor {MAY.get(needs, needs)}. Je bent ingelogd met de rol {ROLE.get(role, role)}; "
                f"vraag een beheerder om een sleutel met de juiste rol.")
    if code == "csrf_refused" and details.get("https_only"):  # the page's Dutch would drop the English hint
        return ERRORS[code] + " In productie gaat het inlogcookie alleen over HTTPS: open deze pagina via https://."
    if code == "not_found" and message.startswith("geen "):
        return message[0].upper() + message[1:] + "."
    return ERRORS.get(code, ERRORS["internal_error"] if code.endswith("error") else ERRORS["invalid_input"])


#: Query parameters of the insights page, as its form names them.
FIELDS = {"period": "Per", "periods": "Aantal", "until": "Tot en met", "channel": "Kanaal", "language": "Taal"}


def validation_problem(error: Mapping[str, Any]) -> str:
    """One pydantic validation error in Dutch, naming the form field: `Aantal: een getal van 1 tot en met 60`."""
    loc: Sequence[object] = error.get("loc") or ()
    name = str(loc[0]) if loc else ""
    field = FIELDS.get(name, name)
    kind, ctx = str(error.get("type", "")), error.get("ctx") or {}
    given = error.get("input")
    shown = f" (niet ‘{str(given)[:30]}’)" if isinstance(given, str) and given else ""
    if name == "periods" or kind in ("int_parsing", "greater_than_equal", "less_than_equal"):
        low, high = ctx.get("ge", 1), ctx.get("le", 60)
        if name == "periods":
            low, high = 1, 60
        return f"{field}: een heel getal van {low} tot en met {high}{shown}"
    if name == "until":
        return f"{field}: een datum als 2026-12-01{shown}"
    if name == "period":
        return f"{field}: kies dag of week{shown}"
    if name == "channel":
        return f"{field}: kies een van de kanalen in de lijst{shown}"
    if name == "language":
        return f"{field}: kies Nederlands of Engels{shown}"
    return f"{field}: deze waarde kan niet{shown}"
