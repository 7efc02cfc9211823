"""Small inline SVG charts for the evaluation reports: no scripts, no external files, every label escaped.

A report stays one self-contained HTML file that a QA lead can mail or attach to a pull request. Charts take
numbers and labels only; labels are article ids, agent names or series names, escaped all the same.

    >>> svg = bars_svg({"anna": 0.91, "bram": 0.64})
    >>> svg.startswith("<svg") and "anna" in svg
    True
    >>> "&lt;b&gt;" in confusion_svg({("<b>", "x"): 2})
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import escape

COLOURS = ("#2f7d32", "#c62828", "#1f5fa8", "#8a6d00")
_FONT = 'font-family="system-ui, sans-serif"'


def histogram_svg(series: Mapping[str, Sequence[float]], *, lo: float = 0.3, hi: float = 1.0,
                  bins: int = 14) -> str:
    """Grouped bars of score distributions, one colour per series (e.g. right / wrong / should be no match)."""
    width, height, pad = 640, 180, 24
    step = (hi - lo) / bins
    counts = {name: [0] * bins for name in series}
    for name, values in series.items():
        for v in values:
            counts[name][min(bins - 1, max(0, int((v - lo) / step)))] += 1
    top = max([1, *(c for cs in counts.values() for c in cs)])
    group = (width - 2 * pad) / bins
    bar = group / (len(series) + 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 40}" role="img" {_FONT}>']
    for i, (name, cs) in enumerate(counts.items()):
        colour = COLOURS[i % len(COLOURS)]
        for b, c in enumerate(cs):
            h = (height - pad) * c / top
            x = pad + b * group + i * bar
            parts.append(f'<rect x="{x:.1f}" y="{height - h:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour}">'
                         f"<title>{escape(name)} {lo + b * step:.2f}–{lo + (b + 1) * step:.2f}: {c}</title></rect>")
        parts.append(f'<rect x="{pad + i * 170}" y="{height + 18}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{pad + i * 170 + 14}" y="{height + 27}" font-size="12">{escape(name)}</text>')
    for b in range(0, bins + 1, 2):
        parts.append(f'<text x="{pad + b * group:.1f}" y="{height + 12}" font-size="10">{lo + b * step:.2f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bars_svg(values: Mapping[str, float], *, lo: float = 0.0, hi: float = 1.0, mark: float | None = None,
             label_width: int = 220) -> str:
    """Horizontal bars, one per label, in the given order; `mark` draws a dashed line (e.g. a threshold).

    Bars below `mark` are red, so the rows that need a look stand out."""
    row, width = 18, 420
    height = row * len(values) + 24
    span = (hi - lo) or 1.0

    def x(v: float) -> float:
        return label_width + width * min(1.0, max(0.0, (v - lo) / span))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_width + width + 70}" height="{height}" '
             f'role="img" {_FONT}>']
    for i, (label, value) in enumerate(values.items()):
        y = 4 + i * row
        colour = COLOURS[1] if mark is not None and value < mark else COLOURS[2]
        parts.append(f'<text x="{label_width - 6}" y="{y + 12}" font-size="11" text-anchor="end">'
                     f"{escape(_clip(label, 34))}</text>"
                     f'<rect x="{label_width}" y="{y + 2}" width="{x(value) - label_width:.1f}" height="{row - 5}" '
                     f'fill="{colour}"><title>{escape(label)}: {value:.3f}</title></rect>'
                     f'<text x="{x(value) + 4:.1f}" y="{y + 12}" font-size="10">{value:.2f}</text>')
    if mark is not None:
        parts.append(f'<line x1="{x(mark):.1f}" x2="{x(mark):.1f}" y1="0" y2="{height - 18}" stroke="#555" '
                     f'stroke-dasharray="3 3"/><text x="{x(mark) + 3:.1f}" y="{height - 6}" font-size="10">'
                     f"{mark:.2f}</text>")
    parts.append("</svg>")
    return "".join(parts)


def confusion_svg(pairs: Mapping[tuple[str, str], int], *, top: int = 15, rows_title: str = "expected",
                  columns_title: str = "shown first") -> str:
    """A heat map of which labels get mixed up: rows are what was right, columns what was given instead.

    Only the `top` most frequent row and column labels are drawn, so the chart stays readable on large sets."""
    if not pairs:
        return ""
    row_totals: dict[str, int] = {}
    col_totals: dict[str, int] = {}
    for (r, c), n in pairs.items():
        row_totals[r] = row_totals.get(r, 0) + n
        col_totals[c] = col_totals.get(c, 0) + n
    rows = [r for r, _ in sorted(row_totals.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]
    cols = [c for c, _ in sorted(col_totals.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]
    cell, left, head = 22, 230, 170
    peak = max(pairs.values())
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + cell * len(cols) + 20}" '
             f'height="{head + cell * len(rows) + 24}" role="img" {_FONT}>',
             f'<text x="4" y="{head - 6}" font-size="11" font-weight="bold">{escape(rows_title)} ↓ · '
             f"{escape(columns_title)} →</text>"]
    for j, c in enumerate(cols):
        cx = left + j * cell + cell / 2
        parts.append(f'<text transform="translate({cx + 4:.1f},{head - 4}) rotate(-60)" font-size="10">'
                     f"{escape(_clip(c, 30))}</text>")
    for i, r in enumerate(rows):
        y = head + i * cell
        parts.append(f'<text x="{left - 6}" y="{y + 15}" font-size="10" text-anchor="end">'
                     f"{escape(_clip(r, 36))}</text>")
        for j, c in enumerate(cols):
            n = pairs.get((r, c), 0)
            shade = 0.08 + 0.92 * n / peak if n else 0.0
            parts.append(f'<rect x="{left + j * cell}" y="{y}" width="{cell - 2}" height="{cell - 2}" '
                         f'fill="#c62828" fill-opacity="{shade:.2f}" stroke="#e3e7ec">'
                         f"<title>{escape(r)} → {escape(c)}: {n}</title></rect>")
            if n:
                parts.append(f'<text x="{left + j * cell + cell / 2 - 1:.1f}" y="{y + 15}" font-size="10" '
                             f'text-anchor="middle">{n}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
