"""Evaluation reports: `<name>.json` for machines and `<name>.html` for QA leads, side by side in `--out DIR`.

The HTML is one self-contained page (no scripts, inline CSS) rendered by Jinja2 with autoescape on, so a
message that contains markup shows as text. The JSON is strict: a figure that is not a finite number (NaN, an
infinity) is written as null, and `json.dumps(allow_nan=False)` guarantees no parser meets a bare `NaN`.

    >>> write_report(Path("reports/golden"), "golden", "Golden messages", headline={"hit@1": 0.91},
    ...              data={}, sections=[Section("Misses", rows=[{"id": "core-007"}])])  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

_env = Environment(loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
                   autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined, trim_blocks=True,
                   lstrip_blocks=True)


@dataclass
class Section:
    title: str
    rows: Sequence[dict[str, Any]] = ()
    note: str = ""
    columns: Sequence[str] = field(default_factory=list)
    svg: str = ""  # a chart from eval.charts (labels escaped there)

    def column_names(self) -> list[str]:
        if self.columns:
            return list(self.columns)
        names: dict[str, None] = {}
        for row in self.rows:
            names.update(dict.fromkeys(row))
        return list(names)


def fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, list | tuple):
        return ", ".join(fmt(v) for v in value)
    if value is None:
        return "–"
    return str(value)


def finite(value: Any) -> Any:
    """`value` with every float that is not finite replaced by None, through dicts, lists and tuples.

        >>> finite({"alpha": float("nan"), "ci": [float("inf"), 0.5]})
        {'alpha': None, 'ci': [None, 0.5]}
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def report_json(title: str, created: str, headline: dict[str, Any], data: dict[str, Any]) -> str:
    """The JSON text of a report, valid for strict parsers."""
    return json.dumps(finite({"title": title, "created": created, "headline": headline, **data}), indent=2,
                      ensure_ascii=False, default=str, allow_nan=False)


def write_report(out_dir: Path, name: str, title: str, *, headline: dict[str, Any], data: dict[str, Any],
                 sections: Sequence[Section] = (), created: str | None = None) -> Path:
    """Write `<name>.json` (all of `data`) and `<name>.html`, readable by their owner only (a report may hold
    masked customer messages); return the HTML path. `created`: keep a rewritten report's time."""
    out_dir.mkdir(parents=True, exist_ok=True)
    created = created or dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    write_private(out_dir / f"{name}.json", report_json(title, created, headline, data))
    html = _env.get_template("report.html.j2").render(title=title, created=created, headline=headline,
                                                      sections=sections, fmt=fmt)
    path = out_dir / f"{name}.html"
    write_private(path, html)
    return path


def write_private(path: Path, text: str) -> None:
    """`text` into `path` with mode 0600, whole or not at all (written beside it, then renamed over it), so the
    QA page never reads half a report."""
    part = path.with_name(f".{path.name}.part")
    try:
        with os.fdopen(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as out:
            os.fchmod(out.fileno(), 0o600)  # a leftover part file keeps its old mode through O_CREAT
            out.write(text)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, path)
