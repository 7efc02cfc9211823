"""axe-core in the browser tests: injected into a page (through the DevTools protocol, so the pages' own
Content-Security-Policy stays as it is), run over the whole document, its serious and critical violations returned.

axe-core comes from the npm registry, pinned and checksum-verified by `scripts/fetch-axe.sh` (run by `make
test-deps`) into `.cache/axe-core`; where npm is missing the check skips with the reason in the `-ra` summary.

    >>> problems = serious_violations(page)  # doctest: +SKIP
    >>> [(v["id"], v["impact"], len(v["nodes"])) for v in problems]  # doctest: +SKIP
    []
"""

from __future__ import annotations

import os
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

from tests.conftest import ROOT

FETCH = ROOT / "scripts" / "fetch-axe.sh"
#: The WCAG levels checked (plus axe's best practices): what the issue asks, "no serious or critical violation".
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
SERIOUS = ("serious", "critical")


@cache
def axe_path() -> Path | str:
    """axe.min.js, installed by scripts/fetch-axe.sh (idempotent, so running it here costs nothing when make
    test-deps did); the reason as a string when it cannot be had."""
    if os.environ.get("KB_TEST_AXE"):
        return Path(os.environ["KB_TEST_AXE"])
    done = subprocess.run([str(FETCH)], capture_output=True, text=True, timeout=300, check=False)
    if done.returncode == 2:
        return f"ACCESSIBILITY CHECK NOT RUN: {done.stderr.strip()}"
    assert done.returncode == 0, f"scripts/fetch-axe.sh failed (a checksum?): {done.stderr}"
    return Path(done.stdout.strip())


def serious_violations(page: Any, exclude: list[str] | None = None) -> list[dict[str, Any]]:
    """axe's violations of impact serious or critical on the page as it is now, with their nodes."""
    path = axe_path()
    assert isinstance(path, Path), path
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(path.read_text(encoding="utf-8") + "\n;undefined")
    result = page.evaluate("""async ([tags, exclude]) => {
        const context = exclude.length ? {include: [document], exclude: exclude.map(s => [s])} : document;
        const r = await axe.run(context, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary,
                                      html: n.html.slice(0, 200)}))}));
    }""", [TAGS, exclude or []])
    return [v for v in result if v["impact"] in SERIOUS]


def describe(violations: list[dict[str, Any]]) -> str:
    """Violations as lines a reader can act on."""
    return "\n".join(f"{v['id']} ({v['impact']}): {v['help']}\n" +
                     "\n".join(f"    {n['target']}: {n['summary']}" for n in v["nodes"][:6]) for v in violations)
