"""The runs of `kb eval learning` and their report: the stream in several orders, a surge built from it, the
same surge with a poisoning agent, and off-topic tweets after the surge (eval.learning replays each).

    >>> report = learning_report(engine, load_stream(Path("eval/data/golden_dev_blind.jsonl")))  # doctest: +SKIP
    >>> report["failures"]  # doctest: +SKIP
    []
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from eval.charts import bars_svg
from eval.golden import load_tweets
from eval.learning import (
    BLOCK,
    Runner,
    StreamMessage,
    compare,
    copy_figures,
    figures,
    shuffled,
    surge_stream,
)
from eval.report import Section
from kb.engine import Engine
from kb.learning import Status

#: Seed of the surge stream and of its agents (the orders use 0, 1, 2, …).
SURGE_SEED = 100


def learning_report(engine: Engine, stream: Sequence[StreamMessage], *, orders: int = 3, per_message: int = 4,
                    agents: int = 5, block: int = BLOCK, tweets: bool = True,
                    log: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Every run on `stream` (see the module docstring); `failures` lists what broke a rule."""
    runner = Runner.open(engine)
    out: dict[str, Any] = {"messages": len(stream), "agents": agents, "min_agents": runner.rules.min_agents,
                           "near_repeat_cut": runner.measure.cut, "orders": [], "failures": []}
    for k in range(orders):
        order = list(stream) if k == 0 else shuffled(stream, k)
        log(f"order {k + 1} of {orders}: without, then with learning")
        run = compare(runner.replay(order, learning=False, seed=k, agents=agents),
                      runner.replay(order, learning=True, seed=k, agents=agents), block)
        run["order"] = "as written" if k == 0 else f"shuffled, seed {k}"
        out["orders"].append(run)
        if run["with"]["hit@1"] < run["without"]["hit@1"] or run["wrong_high_added"] > 0:
            out["failures"].append(f"order {run['order']}: learning lowered hit@1 or added a wrong high "
                                   f"({run['without']['hit@1']} -> {run['with']['hit@1']}, wrong high "
                                   f"{run['without']['high_wrong']} -> {run['with']['high_wrong']})")
    if per_message:
        surge = surge_stream(stream, per_message, SURGE_SEED)
        log(f"surge: {len(surge)} messages ({per_message} edited copies of each), without and with learning")
        without = runner.replay(surge, learning=False, seed=SURGE_SEED, agents=agents)
        with_ = runner.replay(surge, learning=True, seed=SURGE_SEED, agents=agents)
        out["surge"] = {**compare(without, with_, block), "copies_with": copy_figures(with_),
                        "copies_without": copy_figures(without), "book": _book(runner)}
        if tweets:
            out["no_label"] = _no_label(runner, agents, log)
            if out["no_label"] and (out["no_label"]["phrasings_learned"] or out["no_label"]["learned_top"]):
                out["failures"].append(f"no-label run: {out['no_label']['phrasings_learned']} phrasings learned "
                                       f"from off-topic tweets, {out['no_label']['learned_top']} answered from one")
        log("poisoning: the surge again, one agent always choosing a wrong article")
        poisoned = runner.replay(surge, learning=True, seed=SURGE_SEED, agents=agents, poisoner=True)
        out["poisoning"] = {**compare(without, poisoned, block), "copies_with": copy_figures(poisoned),
                            "book": _book(runner)}
        if out["poisoning"]["wrong_high_added"] > 0:
            out["failures"].append(f"poisoning added {out['poisoning']['wrong_high_added']} wrong high suggestions")
    out["headline"] = headline(out)
    return out


def _book(runner: Runner) -> dict[str, int]:
    statuses = [p.status for p in runner.book.phrasings.values()]
    return {"phrasings": len(statuses), "evidence": sum(p.is_evidence for p in runner.book.phrasings.values()),
            "held": sum(p.held is not None for p in runner.book.phrasings.values()),
            **{str(s): statuses.count(s) for s in (Status.CANDIDATE, Status.ACTIVE)}}


def _no_label(runner: Runner, agents: int, log: Callable[[str], None]) -> dict[str, Any] | None:
    """Off-topic tweets replayed after the surge (its evidence in force), learning on: nothing may be learned."""
    rows = [m for m in load_tweets() if m.expected is None]
    if not rows:
        log("no-label run skipped: the shared tweets are not beside the checkout")
        return None
    tweets = [StreamMessage(m.id, m.text, None, m.language, m.channel) for m in rows]
    log(f"no-label: {len(tweets)} off-topic tweets after the surge, with its evidence, learning on")
    before = {p.id: (p.status, len(p.confirmers)) for p in runner.book.phrasings.values()}
    evidence = len(runner.evidence)
    with_ = figures(runner.replay(tweets, learning=True, seed=SURGE_SEED + 1, agents=agents, fresh=False))
    after = runner.book.phrasings
    without = figures(runner.replay(tweets, learning=False, seed=SURGE_SEED + 1, agents=agents))
    return {"tweets": len(tweets), "evidence_in_force": evidence,
            "phrasings_learned": sum(1 for i, p in after.items() if i not in before or
                                     len(p.confirmers) > before[i][1]),
            "learned_top": with_["learned_top"], "suggested_with": with_["n"] - round(with_["no_match_right"] *
                                                                                     with_["n"]),
            "suggested_without": without["n"] - round(without["no_match_right"] * without["n"]),
            "high_with": with_["high"], "high_without": without["high"]}


def headline(report: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for run in report["orders"]:
        out[f"{run['order']}: hit@1 without → with"] = f"{run['without']['hit@1']:.3f} → {run['with']['hit@1']:.3f}"
    if "surge" in report:
        s = report["surge"]
        out["surge hit@1 without → with"] = f"{s['without']['hit@1']:.3f} → {s['with']['hit@1']:.3f}"
        after = [r for r in s["copies_with"] if r["confirmed before"] not in ("0", "1")]
        n = sum(r["answerable"] for r in after)
        if n:
            out["copies after ≥2 confirmations: hit@1"] = sum(r["hit@1"] * r["answerable"] for r in after) / n
            out["copies after ≥2 confirmations: high"] = sum(r["high_share"] * r["answerable"] for r in after) / n
        p = report["poisoning"]
        out["poisoning: wrong high without → with"] = f"{p['without']['high_wrong']} → {p['with']['high_wrong']}"
    if report.get("no_label"):
        out["tweets: phrasings learned"] = report["no_label"]["phrasings_learned"]
    return out | {"failures": len(report["failures"])}


def print_report(report: dict[str, Any]) -> list[str]:
    lines = [f"{report['messages']} messages, {report['agents']} agents, N={report['min_agents']} distinct agents, "
             f"near-repeat cut {report['near_repeat_cut']}"]

    def row(name: str, f: dict[str, Any]) -> str:
        return (f"  {name:9} hit@1 {f['hit@1']:.3f}  high {f['high']:4} (wrong {f['high_wrong']:3}, precision "
                f"{f['high_precision']:.3f})  no-match right {f['no_match_right']:.3f}  learned top "
                f"{f['learned_top']} (wrong {f['learned_wrong']})")

    runs = [(r["order"], r) for r in report["orders"]]
    runs += [(name, report[name]) for name in ("surge", "poisoning") if name in report]
    for name, run in runs:
        lines += [f"{name} (worst block hit@1 change {run['worst_block_hit@1_change']:+.3f}):",
                  row("without", run["without"]), row("with", run["with"])]
    if "surge" in report:
        lines.append("surge copies, by distinct agents who had confirmed their article before:")
        for r in report["surge"]["copies_with"]:
            lines.append(f"  {r['confirmed before']:>2}: {r['answerable']:4} copies  hit@1 {r['hit@1']:.3f}  "
                         f"high {r['high_share']:.3f} (precision {r['high_precision']:.3f})")
    if report.get("no_label"):
        t = report["no_label"]
        lines.append(f"no-label: {t['tweets']} off-topic tweets with {t['evidence_in_force']} phrasings in force: "
                     f"{t['phrasings_learned']} learned, {t['learned_top']} answered from one; high "
                     f"{t['high_without']} -> {t['high_with']}")
    return lines


def learning_sections(report: dict[str, Any]) -> list[Section]:
    sections = []
    overall = [{"run": name, "learning": side, **{k: v for k, v in run[side].items()}}
               for name, run in [*((r["order"], r) for r in report["orders"]),
                                 *((n, report[n]) for n in ("surge", "poisoning") if n in report)]
               for side in ("without", "with")]
    sections.append(Section("Every run, without and with learning", overall,
                            note="Each message is scored before its label is fed back. high_wrong: `high` "
                                 "suggestions of a wrong article."))
    for run in report["orders"]:
        sections.append(Section(f"Per block: {run['order']}", run["blocks"]))
    if "surge" in report:
        copies = report["surge"]["copies_with"]
        sections.append(Section("Surge copies by confirmations before them (with learning)", copies,
                                svg=bars_svg({f"{r['confirmed before']} before": r["hit@1"] for r in copies}),
                                note="Bars: hit@1 on the copies."))
        sections.append(Section("Surge copies without learning", report["surge"]["copies_without"]))
        sections.append(Section("Per block: surge", report["surge"]["blocks"]))
        sections.append(Section("Poisoning: copies by confirmations before them", report["poisoning"]["copies_with"]))
    if report.get("no_label"):
        sections.append(Section("No-label run: off-topic tweets", [report["no_label"]]))
    if report["failures"]:
        sections.append(Section("Failures", [{"failure": f} for f in report["failures"]]))
    return sections
