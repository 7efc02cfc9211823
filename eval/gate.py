"""Quality gates: the minimum figures in `eval/thresholds.toml` (or `--thresholds FILE`), checked per command.

    >>> failures({"hit@1": 0.8}, {"hit@1": 0.85})
    ['hit@1 0.800 is below 0.850']
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

DEFAULT = Path(__file__).resolve().parent / "thresholds.toml"


def load(path: Path | None, section: str) -> dict[str, float]:
    path = path or DEFAULT
    if not path.exists():
        return {}
    data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    return {k: float(v) for k, v in data.get(section, {}).items()}


#: How a gated figure is named in its report's headline, where that differs from its key here.
HEADLINE_NAMES = {"no_match_precision": "no-match precision", "no_match_recall": "no-match recall",
                  "high_correct": "high right", "perturbations_unchanged": "perturbations unchanged",
                  "texts_expected": "texts expected"}


def headline_minimums(headline: dict[str, Any], minimums: dict[str, float]) -> dict[str, float]:
    """The minimums by the name the headline gives each figure (its key, or its headline name), for the figures
    the headline has: what the QA page shows beside each value.

        >>> headline_minimums({"hit@1": 0.7, "no-match recall": 0.8}, {"hit@1": 0.65, "no_match_recall": 0.7})
        {'hit@1': 0.65, 'no-match recall': 0.7}
    """
    out = {}
    for key, minimum in minimums.items():
        name = key if key in headline else HEADLINE_NAMES.get(key, key)
        if name in headline:
            out[name] = minimum
    return out


def failures(figures: dict[str, float | None], minimums: dict[str, float]) -> list[str]:
    """Every figure below its minimum; a minimum for a figure the run did not produce is a failure too."""
    out = []
    for name, minimum in minimums.items():
        value = figures.get(name)
        if value is None:
            out.append(f"{name}: not measured")
        elif value < minimum:
            out.append(f"{name} {value:.3f} is below {minimum:.3f}")
    return out
