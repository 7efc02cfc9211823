"""The agent-consistency report: its headline and sections (`kb eval agents --out`, the QA page's runs), each
figure with a line on how to read it and the minimum it is held to.

    >>> report = run_agents(engine, replies, corpus)  # doctest: +SKIP
    >>> write_report(out, "agents", "Agent consistency", headline=agents_headline(report), data=report,
    ...              sections=agents_sections(report))  # doctest: +SKIP
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from eval import gate
from eval.agent_tone import tone_sections
from eval.agents import LOW_AGREEMENT
from eval.charts import bars_svg, confusion_svg
from eval.report import Section

#: How to read the two agreement figures, and what counts as good (the page says the same in Dutch).
ALPHA_HELP = ("Krippendorff's alpha: how far agents agree on the article and stance of their replies, corrected "
              "for chance. 1 = all agree, 0 = no better than chance, below 0 = they systematically differ. From "
              "0.80 reliable, 0.67-0.80 tentative, below that agents answer differently.")
AGREEMENT_HELP = ("Percent agreement: the share of pairs of replies on one topic that take the same article and "
                  "stance (1 = every pair). Not corrected for chance, so it reads high when one answer dominates; "
                  "0.90 or more is good, and read it beside alpha.")


def agents_headline(report: dict[str, Any]) -> dict[str, Any]:
    a = report["alpha"]
    ci = f"[{a['ci'][0]:.3f}, {a['ci'][1]:.3f}]" if a["ci"] else (a["reason"] or "n/a")
    out = {"replies": report["replies"], "agents": report["agents"], "alpha": a["value"], "alpha 95% CI": ci,
           "percent agreement": report["percent_agreement"], "outliers": len(report["outliers"])}
    tone = report.get("tone") or {}
    if tone.get("replies"):
        out["complaint tone agreement"] = tone["percent_agreement"]
    return out


def agents_sections(report: dict[str, Any]) -> list[Section]:
    """The report: per period, per agent and per topic, what replies drift to, every outlier with its reason."""
    per_agent, per_topic = report["per_agent"], report["per_topic"]
    topic_alpha = {t: f["alpha"] for t, f in sorted(per_topic.items(), key=lambda kv: (kv[1]["alpha"] or 0, kv[0]))
                   if f["alpha"] is not None}
    drift = Counter((c["topic"], c["reply_article"] or "no article") for c in report["checked"]
                    if c["topic"] and c["reply_article"] != c["topic"])
    outliers = [{"id": o["id"], "agent": o["agent"], "topic": o["topic"], "flags": o["flags"],
                 "why": "; ".join(o["reasons"]), "reply": o["reply"]} for o in report["outliers"]]
    topics = [{"topic": k, "replies": v["replies"], "agents": v["agents"], "percent agreement": v["percent_agreement"],
               "flagged": v["flagged"], "alpha": v["alpha"] if v["alpha"] is not None else v["alpha_note"],
               "content agreement": v["content_agreement"], "cites source": v["cites_source"],
               "contradictions": v["contradictions"]} for k, v in per_topic.items()]
    minimum = gate.load(None, "agents").get("alpha")
    sections = [Section("How to read this", note=f"{ALPHA_HELP} {AGREEMENT_HELP} The minimum for alpha "
                        f"(eval/thresholds.toml): {minimum if minimum is not None else 'none'}. A reply is flagged "
                        f"low_agreement under {LOW_AGREEMENT:.2f} similarity to the approved answer; each flag's "
                        "reason gives its figure and threshold. A reply that is the knowledge base's own draft is "
                        "never flagged.")]
    if report.get("per_period"):
        sections.append(Section(f"Per {report['period']}", [
            {"period": p["period"], "replies": p["replies"], "agents": p["agents"],
             "alpha": p["alpha"] if p["alpha"] is not None else p["alpha_note"],
             "percent agreement": p["percent_agreement"], "flagged": p["flagged"],
             "flagged share": p["flagged_share"], "change in alpha": p["change"].get("alpha"),
             "change in flagged share": p["change"].get("flagged_share")} for p in report["per_period"]],
            note="Alpha over the topics of each period; changes are against the period before."))
    sections.extend(tone_sections(report))
    return [
        *sections,
        Section("Per agent", [{"agent": k, **v} for k, v in per_agent.items()],
                note="Content agreement: mean similarity of the agent's replies to the approved answer.",
                svg=bars_svg({k: v["content_agreement"] for k, v in per_agent.items()}, mark=LOW_AGREEMENT)),
        Section("Replies flagged per agent", note="Share of each agent's replies with at least one flag.",
                svg=bars_svg({k: v["flagged"] / max(1, v["replies"]) for k, v in per_agent.items()})),
        Section("Per topic", topics,
                note="Percent agreement: share of pairs of replies on the topic that map to the same article and "
                "stance. Alpha: 1 - that topic's disagreement / the disagreement expected over all topics (1: none, "
                "0: as much as chance); not shown for a topic with one reply or where all replies agree (alpha says "
                "nothing there; the percent agreement does). Red bars are topics where agents disagree.",
                svg=bars_svg(topic_alpha, lo=min([0.0, *topic_alpha.values()]), mark=0.8)),
        Section("What replies drift to", [{"topic": t, "reply reads like": r, "replies": n}
                                          for (t, r), n in drift.most_common()],
                note="Replies whose content maps to another article than the message's topic.",
                svg=confusion_svg(drift, rows_title="message topic", columns_title="reply reads like")),
        Section("Outlier replies", outliers),
    ]
