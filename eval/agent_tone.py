"""Tone in agents' replies, by the kind of message they answer: a reply to a complaint is read for an apology (or an
acknowledgement: "wat vervelend", "sorry", "excuses") and a next step (a DM, the form, a call, "we zoeken het
uit"). The consistency harness (eval/agents.py) compares agents on these tone elements as well as on facts, and
flags a complaint reply that lacks an element most replies to the same subject have (`no_apology`,
`no_next_step`): not every complaint calls for an apology, but agents should answer alike.

    >>> tone_of("Wat vervelend! Stuur ons een DM, dan zoeken we het uit.")
    ('apology', 'next_step')
    >>> read_tone("complaint", "Je kunt een klacht indienen via het formulier.")
    ['next_step']
    >>> read_tone("question", "Nee, dat klopt niet.")
    []
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar

from eval.krippendorff import alpha_with_ci, pooled_agreement
from eval.report import Section

T = TypeVar("T", bound="ToneRead")

#: The tone elements a complaint reply is read for, in order.
TONE = ("apology", "next_step")
#: Kinds whose replies are read for tone.
TONE_KINDS = ("complaint",)
#: The most of a subject's complaint replies that may lack an element before the others are flagged for it.
MAJORITY = 0.5
_APOLOGY = re.compile(
    r"\b(sorry|excuses|excuus|onze excuses|het spijt (?:ons|me|mij)|spijt ons|vervelend|jammer|wat naar|"
    r"balen|apolog\w*|we regret|i regret|so sorry|that'?s frustrating|not (?:the )?(?:experience|service) we)",
    re.IGNORECASE)
_NEXT_STEP = re.compile(
    r"(\bdm\b|\bprivé ?bericht|\bprive ?bericht|\bpersoonlijk bericht|\bstuur (?:ons|me|mij|je) |\bneem (?:gerust )?"
    r"contact|\bbel (?:ons|me|mij|gerust)|\bmail (?:ons|me|mij|gerust)|\bformulier|\bwe nemen contact|"
    r"\bzoeken (?:het|dit) (?:voor je |graag )?uit|\bwe bellen je|\bklachtenregeling|\bprivate message|"
    r"\btelefonisch|\bper (?:e-?)?mail|\bsend us|\bget in touch|\bcontact us|\bcall us|\bemail us|\breach out|"
    r"\bform\b|\bby (?:phone|e-?mail)|\bwe'?ll look into|\bwe will look into)", re.IGNORECASE)


def tone_of(reply: str) -> tuple[str, ...]:
    found = {"apology": _APOLOGY.search(reply), "next_step": _NEXT_STEP.search(reply)}
    return tuple(t for t in TONE if found[t])


def read_tone(kind: str | None, reply: str) -> list[str]:
    """The tone elements of a reply to a message of `kind`; none read but for complaints."""
    return list(tone_of(reply)) if kind in TONE_KINDS else []


def tone_value(kind: str | None, elements: list[str]) -> str:
    """The tone part of what a reply is compared on between agents: empty but for complaints."""
    if kind not in TONE_KINDS:
        return ""
    return "+".join(elements) or "no-tone"


class ToneRead(Protocol):
    """A checked reply as eval.agents keeps it: its message's kind, its tone elements, its flags."""

    topic: str | None
    kind: str
    tone: list[str]
    flags: list[str]
    reasons: list[str]


def flag_tone(units: Mapping[str, Sequence[ToneRead]]) -> None:
    """Flag each complaint reply that lacks a tone element more than `MAJORITY` of the replies to its subject
    (`units`: subject -> its replies) have, saying how many did."""
    for subject, replies in units.items():
        complaints = [c for c in replies if c.kind in TONE_KINDS]
        if len(complaints) < 2:
            continue
        for element in TONE:
            having = sum(element in c.tone for c in complaints)
            if having / len(complaints) <= MAJORITY:
                continue
            for c in complaints:
                if element not in c.tone:
                    c.flags.append(f"no_{element}")
                    c.reasons.append(f"no {element.replace('_', ' ')}, where {having} of the {len(complaints)} "
                                     f"replies to complaints about {subject} have one")


def complaint_subjects(checked: Sequence[T]) -> dict[str, list[T]]:
    """Subject -> its replies to complaints: the topic, or one subject for complaints that match no article."""
    subjects: dict[str, list[T]] = defaultdict(list)
    for c in checked:
        if c.kind in TONE_KINDS:
            subjects[c.topic or f"({c.kind})"].append(c)
    return dict(subjects)


def tone_agreement(checked: Sequence[ToneRead], *, seed: int = 7) -> dict[str, Any]:
    """How alike agents answer complaints in tone (which of apology and next step a reply has), per subject, as
    alpha and percent agreement: beside the facts' alpha, which it leaves as it was."""
    units = {s: [tone_value(c.kind, c.tone) for c in cs] for s, cs in complaint_subjects(checked).items()}
    return {"replies": sum(len(v) for v in units.values()), "subjects": len(units),
            "alpha": alpha_with_ci(list(units.values()), seed=seed), "percent_agreement": pooled_agreement(units)}


def per_kind(checked: Sequence[ToneRead]) -> dict[str, dict[str, Any]]:
    """Per message kind: replies, flagged, and for complaints the share that apologise and give a next step."""
    out: dict[str, dict[str, Any]] = {}
    for kind in sorted({c.kind for c in checked if c.kind}):
        cs = [c for c in checked if c.kind == kind]
        out[kind] = {"replies": len(cs), "flagged": sum(bool(c.flags) for c in cs)}
        if kind in TONE_KINDS:
            out[kind] |= {element: round(sum(element in c.tone for c in cs) / len(cs), 4) for element in TONE}
    return out


def tone_sections(report: dict[str, Any]) -> list[Section]:
    """The consistency report's section per message kind (empty when the engine decides no kinds)."""
    if not report.get("per_kind"):
        return []
    agreement = (report.get("tone") or {}).get("percent_agreement")
    return [Section("Per message kind", [{"kind": k, **v} for k, v in report["per_kind"].items()],
                    note="Replies to complaints are read for an apology (or acknowledgement) and a next step, and "
                         f"compared between agents on these beside the facts (tone agreement: {agreement}).")]
