"""Evaluation reports: `<name>.json` for machines and `<name>.html` for QA leads, side by side in `--out DIR`.

The HTML is one self-contained page (no scripts, inline CSS) rendered by Jinja2 with autoescape on, so a
message that contains markup shows as text.

    >>> write_report(Path("reports/golden"), "golden", "Golden messages", headline={"hit@1": 0.91},
    ...              data={}, sections=[Section("Misses", rows=[{"id": "core-007"}])])  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import escape

_env = Environment(loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
                   autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined, trim_blocks=True,
                   lstrip_blocks=True)


@dataclass
class Section:
    title: str
    rows: Sequence[dict[str, Any]] = ()
    note: str = ""
    columns: Sequence[str] = field(default_factory=list)
    svg: str = ""  # a chart made by `histogram_svg` from numbers only (never from message text)

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


def write_report(out_dir: Path, name: str, title: str, *, headline: dict[str, Any], data: dict[str, Any],
                 sections: Sequence[Section] = ()) -> Path:
    """Write `<name>.json` (all of `data`) and `<name>.html`; return the HTML path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    (out_dir / f"{name}.json").write_text(json.dumps({"title": title, "created": created, "headline": headline,
                                                      **data}, indent=2, ensure_ascii=False, default=str))
    html = _env.get_template("report.html.j2").render(title=title, created=created, headline=headline,
                                                      sections=sections, fmt=fmt)
    path = out_dir / f"{name}.html"
    path.write_text(html, encoding="utf-8")
    return path


def histogram_svg(series: dict[str, Sequence[float]], *, lo: float = 0.3, hi: float = 1.0, bins: int = 14) -> str:
    """A small grouped bar chart of score distributions, one colour per series, as inline SVG."""
    colours = ["#2f7d32", "#c62828", "#1f5fa8", "#8a6d00"]
    width, height, pad = 640, 180, 24
    step = (hi - lo) / bins
    counts = {name: [0] * bins for name in series}
    for name, values in series.items():
        for v in values:
            counts[name][min(bins - 1, max(0, int((v - lo) / step)))] += 1
    top = max([1, *(c for cs in counts.values() for c in cs)])
    group = (width - 2 * pad) / bins
    bar = group / (len(series) + 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 40}" role="img">']
    for i, (name, cs) in enumerate(counts.items()):
        colour = colours[i % len(colours)]
        for b, c in enumerate(cs):
            h = (height - pad) * c / top
            x = pad + b * group + i * bar
            parts.append(f'<rect x="{x:.1f}" y="{height - h:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour}">'
                         f"<title>{escape(name)} {lo + b * step:.2f}–{lo + (b + 1) * step:.2f}: {c}</title></rect>")
        parts.append(f'<rect x="{pad + i * 150}" y="{height + 18}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{pad + i * 150 + 14}" y="{height + 27}" font-size="12">{escape(name)}</text>')
    for b in range(0, bins + 1, 2):
        parts.append(f'<text x="{pad + b * group:.1f}" y="{height + 12}" font-size="10">{lo + b * step:.2f}</text>')
    parts.append("</svg>")
    return "".join(parts)
