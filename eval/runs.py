"""Evaluation runs as the QA page starts them: the same runners and report writer as `kb eval …`, on an open
engine, reporting progress through a callback and writing `<name>.json` + `<name>.html` into a folder of their own.

    >>> html, headline = golden_run(engine, run_folder(Path("reports"), "golden"), progress=steps)  # doctest: +SKIP

`progress` is anything with `phase(name, total)` and `step(done, total)` (`api.jobs.Progress`): it is called
once per message or reply, and may raise to cancel the run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from eval.agent_sources import Reply
from eval.agents import run_agents
from eval.agents_report import agents_headline, agents_sections
from eval.golden import (
    golden_headline,
    golden_sections,
    load_golden,
    load_tweets,
    run_golden,
    summarise,
    tier_cuts,
)
from eval.paraphrase import load_groups, paraphrase_headline, paraphrase_sections, run_groups, run_perturbations
from eval.report import write_report
from kb.corpus import Corpus
from kb.engine import Engine

#: The HTML report's path and its headline figures.
Ran = tuple[Path, dict[str, Any]]
GOLDEN_SCOPES = {"test": "test split (what the gate reads)", "all": "both splits and the labelled tweets"}


class Steps(Protocol):
    def phase(self, name: str, total: int) -> None: ...

    def step(self, done: int, total: int | None = None) -> None: ...


def run_folder(root: Path, kind: str, now: dt.datetime | None = None) -> Path:
    """A new, empty folder for one run's report, below the reports folder: `runs/<UTC time>-<kind>`.

    Created here, not by the report writer: a run that finishes within the second of the one before would otherwise
    get the same folder and overwrite that run's report. The later one is `…-<kind>-2` (then `-3`, …).

        >>> run_folder(tmp, "agents").name  # doctest: +SKIP
        '20261207-051200-agents'
    """
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%d-%H%M%S")
    (root / "runs").mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        folder = root / "runs" / (f"{stamp}-{kind}" if n == 1 else f"{stamp}-{kind}-{n}")
        try:
            folder.mkdir()  # atomic: of two runs asking at once, one gets it
        except FileExistsError:
            continue
        return folder
    raise FileExistsError(f"{root / 'runs'}: a thousand runs of {kind} in the second {stamp}")


def golden_run(engine: Engine, out_dir: Path, *, progress: Steps, scope: str = "test") -> Ran:
    """`kb eval golden`: the test split (and its tweets), or everything."""
    split = None if scope == "all" else "test"
    messages = load_golden(split=split) + load_tweets(split=split)
    progress.phase("golden messages", len(messages))
    summary = summarise(run_golden(engine, messages, progress=progress.step))
    headline = golden_headline(summary)
    return write_report(out_dir, "golden", f"Golden messages ({GOLDEN_SCOPES[scope]})", headline=headline,
                        data=summary, sections=golden_sections(summary, tier_cuts(engine))), headline


def paraphrase_run(engine: Engine, out_dir: Path, *, progress: Steps) -> Ran:
    """`kb eval paraphrase` without the SICK-NL pairs (those stay a command-line run)."""
    groups_in = load_groups()
    progress.phase("paraphrase groups", len(groups_in))
    groups = run_groups(engine, groups_in, progress=progress.step)
    messages = [m for m in load_golden() if m.expected is not None]
    progress.phase("perturbed golden messages", len(messages))
    perturbed = run_perturbations(engine, messages, progress=progress.step)
    headline = paraphrase_headline(groups, perturbed, None)
    return write_report(out_dir, "paraphrase", "Paraphrase invariance", headline=headline,
                        data={"groups": groups, "perturbations": perturbed, "sick": None},
                        sections=paraphrase_sections(groups, perturbed, None, tier_cuts(engine))), headline


def agents_run(engine: Engine, corpus: Corpus, replies: Sequence[Reply], out_dir: Path, *, title: str,
               period: str | None, progress: Steps, source: dict[str, Any]) -> Ran:
    """`kb eval agents` over replies already read (an upload, or feedback from the database)."""
    progress.phase("agent replies", len(replies))
    report = run_agents(engine, replies, corpus, period=period, progress=progress.step)
    headline = agents_headline(report)
    return write_report(out_dir, "agents", title, headline=headline, data=report | {"source": source},
                        sections=agents_sections(report)), headline
