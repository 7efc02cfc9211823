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

import math
from collections.abc import Callable, Mapping, Sequence

from markupsafe import escape

COLOURS = ("#2f7d32", "#c62828", "#1f5fa8", "#8a6d00")
_FONT = 'font-family="system-ui, sans-serif"'
#: Width of one character at font size 10, generously (system-ui averages about 5.5 px): labels get room for this.
_TEXT_WIDTH = 6.4


def histogram_svg(series: Mapping[str, Sequence[float]], *, lo: float = 0.3, hi: float = 1.0,
                  bins: int = 14, marks: Mapping[str, float] | None = None) -> str:
    """Grouped bars of score distributions, one colour per series (e.g. right / wrong / should be no match);
    `marks` draws a dashed line per named value on the axis (e.g. where the tiers cut it); marks at the same
    value share one line.

        >>> svg = histogram_svg({"right": [0.9, 0.95]}, lo=0.0, marks={"high": 0.84, "medium": 0.14, "low": 0.14})
        >>> svg.count("stroke-dasharray"), "medium = low" in svg
        (2, True)
    """
    width, height, pad = 640, 180, 24
    top_pad = 16 if marks else 0
    step = (hi - lo) / bins
    counts = {name: [0] * bins for name in series}
    for name, values in series.items():
        for v in values:
            counts[name][min(bins - 1, max(0, int((v - lo) / step)))] += 1
    top = max([1, *(c for cs in counts.values() for c in cs)])
    group = (width - 2 * pad) / bins
    bar = group / (len(series) + 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 40 + top_pad}" '
             f'viewBox="0 {-top_pad} {width} {height + 40 + top_pad}" role="img" {_FONT}>']
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
    shared: dict[float, list[str]] = {}
    for name, value in (marks or {}).items():
        shared.setdefault(round(value, 4), []).append(name)
    for value, names in sorted(shared.items()):
        x = pad + (width - 2 * pad) * (min(hi, max(lo, value)) - lo) / ((hi - lo) or 1.0)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{-top_pad + 12}" y2="{height}" stroke="#333" '
                     f'stroke-dasharray="4 3"/><text x="{x + 3:.1f}" y="{-top_pad + 10}" font-size="10">'
                     f"{escape(' = '.join(names))} {value:.2f}</text>")
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

    Only the `top` most frequent row and column labels are drawn, so the chart stays readable on large sets; each
    label is drawn in full, with the margins made to fit it."""
    if not pairs:
        return ""
    row_totals: dict[str, int] = {}
    col_totals: dict[str, int] = {}
    for (r, c), n in pairs.items():
        row_totals[r] = row_totals.get(r, 0) + n
        col_totals[c] = col_totals.get(c, 0) + n
    rows = [r for r, _ in sorted(row_totals.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]
    cols = [c for c, _ in sorted(col_totals.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]
    # Room for every label in full (ids are long; a clipped one cannot be told from its neighbour): rows on the
    # left, columns rotated by 60 degrees above, reaching up and to the right.
    cell = 22
    left = max(120, int(_TEXT_WIDTH * max(len(r) for r in rows)) + 12)
    longest = _TEXT_WIDTH * max(len(c) for c in cols)
    head = max(60, int(longest * math.sin(math.radians(60))) + 24)
    right = max(20, int(longest * math.cos(math.radians(60))) + 8)
    peak = max(pairs.values())
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + cell * len(cols) + right}" '
             f'height="{head + cell * len(rows) + 24}" role="img" {_FONT}>',
             f'<text x="4" y="14" font-size="11" font-weight="bold">{escape(rows_title)} ↓ · '
             f"{escape(columns_title)} →</text>"]
    for j, c in enumerate(cols):
        cx = left + j * cell + cell / 2
        parts.append(f'<text transform="translate({cx + 4:.1f},{head - 4}) rotate(-60)" font-size="10">'
                     f"{escape(c)}</text>")
    for i, r in enumerate(rows):
        y = head + i * cell
        parts.append(f'<text x="{left - 6}" y="{y + 15}" font-size="10" text-anchor="end">{escape(r)}</text>')
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


#: Series colours for line charts; red is kept for what needs a look (a rising subject).
SERIES = ("#1f5fa8", "#2f7d32", "#8a6d00", "#6a3d9a", "#00838f", "#ad5700", "#5d6d7e", "#b0407a", "#3f51b5",
          "#558b2f")
ALERT = "#c62828"


def _nice_top(value: float) -> float:
    """The round number a y axis should end at: 1, 2, 2.5 or 5 times a power of ten, at least `value`."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(f * power for f in (1, 2, 2.5, 5, 10) if f * power >= value)


def _ticks(top: float, integer: bool) -> list[float]:
    """The y axis's tick values from 0 up to where it ends, at most five steps. Counts get whole steps (1, 2, 5,
    10, 20, 50, …): a chart of messages never reads 6.25.

        >>> _ticks(25, integer=True), _ticks(3, integer=True), _ticks(0, integer=True)
        ([0, 10, 20, 30], [0, 1, 2, 3], [0, 1])
        >>> _ticks(25, integer=False)
        [0.0, 6.25, 12.5, 18.75, 25.0]
    """
    if not integer:
        ceiling = _nice_top(top)
        return [ceiling * k / 4 for k in range(5)]
    step = next(f * 10 ** p for p in range(12) for f in (1, 2, 5) if f * 10 ** p * 4 >= top)
    return [step * k for k in range(max(1, math.ceil(top / step)) + 1)]


#: Share of the font size one character of a label takes, generously (system-ui digits and letters).
_CHAR = 0.62


def _x_labels(labels: Sequence[str], xs: Sequence[float], y: float, room: float, font: int) -> list[str]:
    """As many x labels as fit side by side without touching (the last one always), evenly spaced."""
    n = len(labels)
    if not n:
        return []
    each = max(len(label) for label in labels) * font * _CHAR + 12
    step = max(1, math.ceil(n / max(1, math.floor(room / each))))
    shown = list(range(0, n, step))
    if shown[-1] != n - 1:
        if n - 1 - shown[-1] < step and len(shown) > 1:
            shown[-1] = n - 1  # the last period matters most: it takes the place of the one before
        else:
            shown.append(n - 1)
    return [f'<text class="x-label" x="{xs[i]:.1f}" y="{y}" font-size="{font}" text-anchor="middle">'
            f"{escape(labels[i])}</text>" for i in shown]


def _y_axis(ticks: Sequence[float], y: Callable[[float], float], left: float, right: float, font: int) -> list[str]:
    return [f'<line x1="{left}" x2="{right}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e3e7ec"/>'
            f'<text class="y-label" x="{left - 6}" y="{y(v) + 4:.1f}" font-size="{font}" text-anchor="end">'
            f"{v:g}</text>" for v in ticks]


def _legend(names: Sequence[str], colours: Sequence[str], x0: float, y0: float, width: float, font: int, *,
            rings: Sequence[bool] = (), each: float = 0) -> tuple[list[str], float]:
    """Swatches with names in as many columns as fit `width` (names cut to their column); its height."""
    columns = max(1, int(width // each)) if each else 1
    columns = min(columns, max(1, len(names)))
    column_w = width / columns
    chars = max(6, int((column_w - 24) / (font * _CHAR)))
    parts = []
    for i, name in enumerate(names):
        x = x0 + (i % columns) * column_w
        y = y0 + (i // columns) * (font + 8)
        ring = f' stroke="{ALERT}" stroke-width="2"' if i < len(rings) and rings[i] else ""
        parts.append(f'<rect x="{x:.1f}" y="{y - font + 2:.1f}" width="12" height="12" fill="{colours[i]}"{ring}/>'
                     f'<text x="{x + 18:.1f}" y="{y:.1f}" font-size="{font}">{escape(_clip(name, chars))}'
                     f"{' ▲' if i < len(rings) and rings[i] else ''}<title>{escape(name)}</title></text>")
    return parts, math.ceil(len(names) / columns) * (font + 8)


def lines_svg(labels: Sequence[str], series: Mapping[str, Sequence[float]], *,
              marked: Mapping[str, Sequence[bool]] | None = None, title: str = "", width: int = 720,
              height: int = 240, integer: bool = False, font: int = 12, css_class: str = "chart",
              tips: Sequence[str] | None = None) -> str:
    """Lines over time, one per series (e.g. messages per week per article); `marked` points (e.g. a rising
    subject's surge) get a red ring and their line is drawn thicker. Scales to its container (viewBox); draw a
    narrower one for a phone (`width=360`) so its text stays as large as on a laptop. `integer`: counts, so the
    axis has whole steps. `tips`: each point's period in full for its tooltip (the axis may say it shorter).

        >>> svg = lines_svg(["W1", "W2", "W3"], {"5g": [3, 4, 30], "suiker": [5, 6, 5]},
        ...                 marked={"5g": [False, False, True]}, title="per week")
        >>> svg.count('class="marked"'), 'viewBox="0 0 720' in svg
        (1, True)
    """
    marked = marked or {}
    left, right, top, plot_h = 44, 30, 14, height  # right: half the last x label, centred on its point
    plot_w = width - left - right
    ticks = _ticks(max([0.0, *(v for vs in series.values() for v in vs)]), integer)
    ceiling = ticks[-1] or 1.0
    n = len(labels)
    xs = [left + (plot_w * (i / (n - 1)) if n > 1 else plot_w / 2) for i in range(n)]

    def y(v: float) -> float:
        return top + plot_h * (1 - v / ceiling)

    colours = [SERIES[i % len(SERIES)] for i in range(len(series))]
    rising = [any(list(marked.get(name, ()))[:n]) for name in series]
    legend, legend_h = _legend(list(series), colours, left, top + plot_h + 34 + font, plot_w, font,
                               rings=rising, each=260)
    total_h = top + plot_h + 40 + legend_h
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {total_h}" width="{width}" '
             f'height="{total_h}" class="{css_class}" role="img" aria-label="{escape(title)}" {_FONT}>',
             f"<title>{escape(title)}</title>"]
    parts.extend(_y_axis(ticks, y, left, width - right, font))
    parts.extend(_x_labels(labels, xs, top + plot_h + 20, plot_w + right, font))
    for i, (name, values) in enumerate(series.items()):
        flags = list(marked.get(name, ())) + [False] * n
        points = " ".join(f"{x:.1f},{y(v):.1f}" for x, v in zip(xs, values, strict=True))
        parts.append(f'<g class="series" data-name="{escape(name)}"><polyline points="{points}" fill="none" '
                     f'stroke="{colours[i]}" stroke-width="{3.5 if rising[i] else 2}" stroke-linejoin="round"/>')
        for j, (x, v) in enumerate(zip(xs, values, strict=True)):
            tip = (f"<title>{escape(name)} · {escape((tips or labels)[j])}: {v:g}"
                   f"{' · stijgt' if flags[j] else ''}</title>")
            if flags[j]:
                parts.append(f'<circle class="marked" cx="{x:.1f}" cy="{y(v):.1f}" r="7" fill="#fff" '
                             f'stroke="{ALERT}" stroke-width="3">{tip}</circle>')
            parts.append(f'<circle cx="{x:.1f}" cy="{y(v):.1f}" r="3" fill="{colours[i]}">{tip}</circle>')
        parts.append("</g>")
    parts.extend(legend)
    parts.append("</svg>")
    return "".join(parts)


def columns_svg(labels: Sequence[str], stacks: Mapping[str, Sequence[float]], *, colours: Sequence[str] = COLOURS,
                title: str = "", width: int = 720, height: int = 180, integer: bool = False, font: int = 12,
                css_class: str = "chart", tips: Sequence[str] | None = None) -> str:
    """Stacked columns per label (e.g. messages per week: answered and no match), with a legend.

        >>> columns_svg(["W1", "W2"], {"answered": [90, 80], "no match": [10, 20]}).count("<rect")
        6
    """
    left, right, top = 44, 12, 10
    plot_w = width - left - right
    n = max(1, len(labels))
    totals = [sum(values[i] for values in stacks.values()) for i in range(len(labels))]
    ticks = _ticks(max([0.0, *totals]), integer)
    ceiling = ticks[-1] or 1.0
    slot = plot_w / n
    bar = max(2.0, slot * 0.7)
    names = list(stacks)
    legend, legend_h = _legend(names, [colours[k % len(colours)] for k in range(len(names))], left,
                               top + height + 30 + font, plot_w, font, each=170)
    total_h = top + height + 36 + legend_h

    def y(v: float) -> float:
        return top + height * (1 - v / ceiling)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {total_h}" width="{width}" '
             f'height="{total_h}" class="{css_class}" role="img" aria-label="{escape(title)}" {_FONT}>',
             f"<title>{escape(title)}</title>"]
    parts.extend(_y_axis(ticks, y, left, width - right, font))
    xs = [left + slot * (i + 0.5) for i in range(len(labels))]
    for i, x in enumerate(xs):
        base = 0.0
        for k, (name, values) in enumerate(stacks.items()):
            h = height * values[i] / ceiling
            parts.append(f'<rect x="{x - bar / 2:.1f}" y="{y(base) - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                         f'fill="{colours[k % len(colours)]}"><title>{escape((tips or labels)[i])} · '
                         f"{escape(name)}: {values[i]:g}</title></rect>")
            base += values[i]
    parts.extend(_x_labels(labels, xs, top + height + 18, plot_w, font))
    parts.extend(legend)
    parts.append("</svg>")
    return "".join(parts)


def stacked_bars_svg(rows: Mapping[str, Mapping[str, int]], parts_order: Sequence[tuple[str, str, str]], *,
                     title: str = "", label_width: int = 230, width: int = 720, font: int = 12,
                     css_class: str = "chart") -> str:
    """One horizontal bar per row split into its parts as shares (e.g. per article: used, edited, rejected, no
    good answer); `parts_order` is (key, label, colour). The count is written after each bar.

        >>> svg = stacked_bars_svg({"5g-kanker": {"used": 6, "rejected": 2}},
        ...                        [("used", "gebruikt", "#2f7d32"), ("rejected", "afgewezen", "#c62828")])
        >>> svg.count("<rect") - 2  # two parts, plus two legend swatches
        2
    """
    row, bar_w = 24, width - label_width - 40
    chars = max(8, int((label_width - 8) / (font * _CHAR)))
    legend, legend_h = _legend([name for _, name, _ in parts_order], [c for _, _, c in parts_order], 8,
                               row * len(rows) + 14 + font, width - 16, font, each=160)
    total_h = row * len(rows) + 20 + legend_h
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {total_h}" width="{width}" '
             f'height="{total_h}" class="{css_class}" role="img" aria-label="{escape(title)}" {_FONT}>',
             f"<title>{escape(title)}</title>"]
    for i, (label, counts) in enumerate(rows.items()):
        yv = 4 + i * row
        total = sum(counts.get(k, 0) for k, _, _ in parts_order) or 1
        parts.append(f'<text x="{label_width - 6}" y="{yv + 15}" font-size="{font}" text-anchor="end">'
                     f"{escape(_clip(label, chars))}<title>{escape(label)}</title></text>")
        x = float(label_width)
        for key, name, colour in parts_order:
            w = bar_w * counts.get(key, 0) / total
            if w > 0:
                parts.append(f'<rect x="{x:.1f}" y="{yv + 2}" width="{w:.1f}" height="{row - 6}" fill="{colour}">'
                             f"<title>{escape(label)} · {escape(name)}: {counts.get(key, 0)} "
                             f"({100 * counts.get(key, 0) / total:.0f}%)</title></rect>")
            x += w
        parts.append(f'<text x="{label_width + bar_w + 6}" y="{yv + 15}" font-size="{font}">{total}</text>')
    parts.extend(legend)
    parts.append("</svg>")
    return "".join(parts)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
