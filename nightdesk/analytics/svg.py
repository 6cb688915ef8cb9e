"""Inline SVG charts for the offline report: no script, no font file, no external URL.

Written by hand rather than with a plotting library so the file carries nothing but the
marks and their labels (matplotlib's SVG embeds namespace URLs and glyph paths), and so
every label is escaped here, once: story types, prompt versions and reasons come from
data and may hold markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 60, 200, 20, 60
#: Series colours (Okabe-Ito, distinguishable with the common colour-vision deficiencies).
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")


def _svg(body: list[str], label: str, height: int = HEIGHT) -> str:
    return (f'<svg viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" '
            f'aria-label="{escape(label)}">' + "".join(body) + "</svg>")


def _empty(label: str) -> str:
    return _svg([f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">no data in this range</text>'], label)


def _y_axis(y_max: float, fmt: str) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    marks = []
    for i in range(5):
        value = y_max * i / 4
        y = TOP + plot_h - plot_h * i / 4
        marks.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{format(value, fmt)}</text>')
    return marks


def _legend(names: Sequence[str]) -> list[str]:
    """One entry per series, as many as fit beside the plot; the table below names them all."""
    fits = (HEIGHT - TOP) // 16 - 1
    shown = names if len(names) <= fits + 1 else [*names[:fits], f"+{len(names) - fits} more (see the table)"]
    return [(f'<rect x="{WIDTH - RIGHT + 12}" y="{TOP + 16 * i}" width="10" height="10" '
             f'fill="{COLOURS[i % len(COLOURS)]}"/>' if i < fits or len(shown) == len(names) else "")
            + f'<text x="{WIDTH - RIGHT + 28}" y="{TOP + 16 * i + 9}" font-size="11">{escape(name)}</text>'
            for i, name in enumerate(shown)]


def line_chart(x_labels: Sequence[str], series: Mapping[str, Sequence[float | None]], *, label: str,
               y_max: float = 1.0, fmt: str = ".0%") -> str:
    """One line per series over ``x_labels``; ``None`` leaves a gap (no data that day)."""
    if not x_labels or not series:
        return _empty(label)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(x_labels) - 1, 1)
    body = _y_axis(y_max, fmt)
    body += [f'<text x="{LEFT + i * step:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" font-size="11">'
             f'{escape(x)}</text>' for i, x in enumerate(x_labels)]
    for n, values in enumerate(series.values()):
        colour = COLOURS[n % len(COLOURS)]
        points = [(LEFT + i * step, TOP + plot_h - plot_h * v / y_max) for i, v in enumerate(values) if v is not None]
        if len(points) > 1:
            body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
                        + " ".join(f"{x:.1f},{y:.1f}" for x, y in points) + '"/>')
        body += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in points]
    return _svg(body + _legend(list(series)), label)


def bar_chart(labels: Sequence[str], series: Mapping[str, Sequence[float]], *, label: str, fmt: str = ".3g") -> str:
    """Grouped vertical bars: one group per label, one bar per series."""
    if not labels or not series:
        return _empty(label)
    y_max = max((v for values in series.values() for v in values), default=0) or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    group = plot_w / len(labels)
    bar = group * 0.8 / len(series)
    body = _y_axis(y_max, fmt)
    for i, name in enumerate(labels):
        fit = max(int(group / 6), 4)  # about 6 px a character at font-size 10
        body.append(f'<text x="{LEFT + (i + 0.5) * group:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                    f'font-size="10">{escape(name if len(name) <= fit else name[:fit - 1] + "…")}</text>')
        for n, values in enumerate(series.values()):
            h = plot_h * values[i] / y_max
            body.append(f'<rect x="{LEFT + i * group + group * 0.1 + n * bar:.1f}" y="{TOP + plot_h - h:.1f}" '
                        f'width="{bar:.1f}" height="{h:.1f}" fill="{COLOURS[n % len(COLOURS)]}"/>')
    return _svg(body + _legend(list(series)), label)


def hbar_chart(labels: Sequence[str], values: Sequence[float], *, label: str) -> str:
    """Horizontal bars, longest first as given (ranked lists such as failure reasons)."""
    if not labels:
        return _empty(label)
    row, left = 22, 330
    height = TOP + row * len(labels) + 10
    top = max(values) or 1
    body = []
    for i, (name, value) in enumerate(zip(labels, values)):
        y = TOP + i * row
        w = (WIDTH - left - 60) * value / top
        body.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end" font-size="11">{escape(name[:52])}</text>'
                    f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" fill="{COLOURS[0]}"/>'
                    f'<text x="{left + w + 4:.1f}" y="{y + 14}" font-size="11">{format(value, "g")}</text>')
    return _svg(body, label, height)
