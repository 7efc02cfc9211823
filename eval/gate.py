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


def failures(figures: dict[str, float], minimums: dict[str, float]) -> list[str]:
    """Every figure below its minimum; a minimum for a figure the run did not produce is a failure too."""
    out = []
    for name, minimum in minimums.items():
        value = figures.get(name)
        if value is None:
            out.append(f"{name}: not measured")
        elif value < minimum:
            out.append(f"{name} {value:.3f} is below {minimum:.3f}")
    return out
