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
    # Why a tier is capped (a suggestion's `tier_capped_by`), beside the tier: "middel — kort bericht, lees mee".
    "capped": {"short_message": "kort bericht, lees mee", "stale": "review verlopen, controleer"},
    # What each tier asks of the agent (the badge's tooltip and the screen reader's description).
    "tier_hint": {"high": "Meestal juist: na een blik te versturen.", "medium": "Vaak juist: lees het concept eerst.",
                  "low": "Vaak niet het goede artikel: kijk of het past."},
    "status": {"draft": "concept", "published": "gepubliceerd", "retired": "ingetrokken"},
    "action": {"used": "gebruikt", "edited": "aangepast", "rejected": "afgewezen",
               "no_good_answer": "geen goed antwoord", "ignored": "genegeerd", "chosen": "zelf gekozen"},
    # What an agent should read about a suggestion (the agent page, the Chatwoot note and sidebar).
    "warning": {"stale": "Review verlopen: controleer of dit nog klopt",
                "too_long": "Te lang voor dit kanaal: kort in",
                "language_fallback": "Artikel in een andere taal dan het bericht",
                "short_message": "Kort bericht: lees mee of dit echt de vraag is",
                "template_error": "Sjabloon faalde: alleen het goedgekeurde antwoord, zonder aanhef of bronnen",
                "answer_shortened": "Antwoord ingekort om in het kanaal te passen (de erkenning niet)",
                "answer_left_out": "Het antwoord paste niet naast de erkenning: alleen erkenning en vervolgstap"},
    # A learned phrasing's status (kb/learning.py).
    "learned": {"candidate": "voorgesteld", "active": "actief (door medewerkers)", "approved": "goedgekeurd",
                "rejected": "afgewezen", "merged": "in het artikel", "dropped": "artikel weg", "expired": "verlopen"},
    # The message kinds (kb.kinds) and what moderation asks.
    "kind": {"question": "vraag of bewering", "complaint": "klacht", "thanks": "bedankje of compliment",
             "story": "persoonlijk verhaal", "abuse": "scheldpartij of belediging", "spam": "spam of reclame",
             "offtopic": "off-topic"},
    "moderation": {"hide": "verbergen"},
    # Flags on agent replies (eval.agents): what each code means, in one line (what it holds the reply to is in
    # its finding, worded by api.pages.wording.finding).
    "flag": {"different_stance": "ander standpunt", "missing_source": "geen bron", "outdated_policy": "verouderd",
             "wrong_fact": "onbekend getal", "low_agreement": "wijkt af", "unmapped": "geen artikel"},
    "flag_help": {
        "different_stance": "het antwoord kiest de kant van een bewering die het artikel onjuist of misleidend noemt "
                            "(of ontkent wat het artikel waar noemt)",
        "missing_source": "het antwoord noemt geen van de bronnen van het artikel",
        "outdated_policy": "het antwoord lijkt meer op een ingetrokken artikel dan op het huidige",
        "wrong_fact": "het antwoord noemt een getal dat niet in het artikel staat",
        "low_agreement": "het antwoord zegt inhoudelijk iets anders dan het goedgekeurde antwoord",
        "unmapped": "het bericht past bij geen enkel artikel, dus er is niets om het antwoord mee te vergelijken"},
    "job": {"golden": "Golden berichten", "paraphrase": "Parafrases", "agents": "Consistentie van agents"},
    "report": {"golden": "Golden berichten", "paraphrase": "Parafrases", "agents": "Consistentie van agents",
               "diff": "Verschil tussen twee versies van de artikelen", "dataset": "Zoeken op een dataset"},
    "phase": {"golden messages": "golden berichten", "paraphrase groups": "parafrasegroepen",
              "perturbed golden messages": "gevarieerde golden berichten", "agent replies": "antwoorden van agents"},
    "job_state": {"running": "bezig", "done": "klaar", "failed": "mislukt", "cancelled": "gestopt"},
    "period": {"week": "week", "month": "maand", "day": "dag"},
    "subject": {"article": "artikel", "topic": "onderwerp", "group": "onbeantwoord", "kind": "berichtsoort"},
    # Report headline figures (eval: golden, paraphrase, agents, diff, dataset), as the QA page names them.
    "metric": {
        "messages": "berichten", "hit@1": "juist artikel bovenaan", "hit@3": "juist artikel in top 3",
        "high right": "‘hoog’ klopt", "high_correct": "‘hoog’ klopt",
        "no-match precision": "‘geen artikel’ terecht", "no-match recall": "‘geen artikel’ gevonden",
        "tweets test suggested": "tweets (test) met suggestie", "tweets test high": "tweets (test) met ‘hoog’",
        "tweets dev suggested": "tweets (dev) met suggestie", "tweets dev high": "tweets (dev) met ‘hoog’",
        "misses": "missers",
        "groups": "parafrasegroepen", "same article+tier": "zelfde artikel en zekerheid",
        "same draft": "zelfde concept", "all expected": "groepen helemaal juist",
        "texts expected": "formuleringen met juist artikel", "texts_expected": "formuleringen met juist artikel",
        "perturbations unchanged": "varianten onveranderd", "perturbations_unchanged": "varianten onveranderd",
        "SICK paraphrase same": "SICK: parafrasen zelfde artikel",
        "SICK contradiction same": "SICK: tegenspraak zelfde artikel",
        "replies": "antwoorden", "agents": "agents", "alpha": "alpha (eensgezindheid)",
        "alpha 95% CI": "alpha, 95%-interval", "percent agreement": "overeenstemming", "outliers": "gemarkeerd",
        "changed_article": "ander artikel", "changed_tier": "andere zekerheid", "changed_draft": "ander concept",
        "better": "beter", "worse": "slechter", "top_right_a": "juist bovenaan, voor",
        "top_right_b": "juist bovenaan, na", "before hit@1": "juist artikel bovenaan, voor",
        "after hit@1": "juist artikel bovenaan, na", "targets": "doelen"},
    "metric_help": {
        "hit@1": "aandeel berichten met een artikel waarvoor de eerste suggestie het juiste artikel is",
        "hit@3": "aandeel berichten met een artikel waarvoor het juiste artikel bij de eerste drie zit",
        "high right": "aandeel suggesties met zekerheid ‘hoog’ dat het juiste artikel is; doel: minstens 0.95",
        "no-match precision": "van de keren ‘geen artikel’: aandeel waar er echt geen artikel voor was",
        "no-match recall": "van de berichten zonder artikel: aandeel dat ook geen suggestie kreeg",
        "tweets test suggested": "echte tweets zonder artikel die toch een suggestie kregen; lager is beter",
        "tweets test high": "echte tweets zonder artikel die ‘hoog’ kregen; lager is beter",
        "misses": "berichten met een verkeerd of geen artikel; lager is beter",
        "same article+tier": "aandeel groepen waarin elke formulering hetzelfde artikel én dezelfde zekerheid krijgt; "
                             "1 = alle groepen",
        "same draft": "aandeel groepen waarin elke formulering precies hetzelfde concept krijgt",
        "all expected": "aandeel groepen waarin elke formulering het verwachte artikel krijgt",
        "texts expected": "aandeel formuleringen dat het verwachte artikel krijgt",
        "perturbations unchanged": "tikfout, hoofdletters, emoji of link erbij: aandeel dat hetzelfde artikel houdt",
        "alpha": "hoe eensgezind agents zijn over artikel en standpunt, gecorrigeerd voor toeval: 1 = allemaal "
                 "eens, 0 = niet beter dan toeval; vanaf 0.80 betrouwbaar, 0.67–0.80 voorzichtig, daaronder "
                 "antwoorden agents verschillend",
        "percent agreement": "aandeel paren antwoorden op één onderwerp met hetzelfde artikel en standpunt "
                             "(1 = elk paar); niet gecorrigeerd voor toeval, dus hoog als één antwoord overheerst; "
                             "0.90 of meer is goed, lees het naast alpha",
        "outliers": "antwoorden met minstens één markering; lager is beter"},
    # Why alpha is not shown (eval.krippendorff's reasons).
    "alpha_note": {"one reply": "één antwoord: niets te vergelijken",
                   "all replies agree": "alle antwoorden komen overeen: alpha zegt dan niets, de overeenstemming wel",
                   "no topic has two replies": "geen onderwerp met twee antwoorden: niets te vergelijken",
                   "only one topic has two replies (alpha compares topics; it needs two)":
                       "maar één onderwerp met twee antwoorden; alpha vergelijkt onderwerpen en heeft er twee nodig",
                   "no article": "het bericht past bij geen artikel"},
    # Why a figure shows "–": there was nothing to measure.
    "metric_none": {
        "high right": "geen enkel bericht kreeg ‘hoog’", "high_correct": "geen enkel bericht kreeg ‘hoog’",
        "no-match precision": "nooit ‘geen artikel’ gegeven",
        "no-match recall": "geen berichten zonder artikel", "hit@1": "geen berichten met een artikel",
        "hit@3": "geen berichten met een artikel", "percent agreement": "geen twee antwoorden op één onderwerp",
        "alpha": "te weinig antwoorden om te vergelijken"},
}


#: Headline figures of the dev split carry this prefix ("dev hit@1"): labelled as their test-split figure.
_DEV = "dev "


def label(code: object, kind: str) -> str:
    """The Dutch label for `code` of `kind` (type, verdict, channel, language, confidence, capped, tier_hint, status,
    action, learned, warning, flag, flag_help, job, phase, job_state, period, subject, metric, metric_help,
    metric_none, kind, moderation).

        >>> label("dev hit@1", "metric"), label("dev hit@1", "metric_help")[:25]
        ('dev: juist artikel bovenaan', 'aandeel berichten met een')
    """
    text = str(getattr(code, "value", code))
    labels = LABELS.get(kind, {})
    if text not in labels and kind.startswith("metric") and text.startswith(_DEV) and text[len(_DEV):] in labels:
        found = labels[text[len(_DEV):]]
        return f"dev: {found}" if kind == "metric" else found
    if kind in _EXPLANATIONS:
        return labels.get(text, "")  # no explanation is better than the code repeated as one
    return labels.get(text, text)


_EXPLANATIONS = frozenset({"flag_help", "metric_help", "metric_none", "tier_hint"})
