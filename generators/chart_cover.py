"""The default cover: a typographic card of the story's key figures, drawn with matplotlib.

When no diffusion model is configured, a story still needs a social-card image. This one
shows only what the story reports (title, date, up to four figures, optionally one small
series), so it cannot illustrate something that did not happen. Rendering is
deterministic: the same card gives byte-identical PNG, so re-runs do not churn the media
store and reviewers can trust that an unchanged card is unchanged.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

# Text caps, in characters: beyond these a value would overflow its place on the card.
_TITLE_CHARS = 110
_TITLE_LINE_CHARS = 42
_SUBTITLE_CHARS = 60
_LABEL_CHARS = 28
_VALUE_CHARS = 14
_SERIES_LABEL_CHARS = 12
MAX_FIGURES = 4
MAX_SERIES_POINTS = 31

_INK = "#1b1f24"
_MUTED = "#5b6470"
_ACCENT = "#1f5fa8"
_PAPER = "#fbfaf7"
_RULE = "#d9d6cf"
# Bundled with matplotlib, so the picture does not depend on the machine's fonts.
_FONT = "DejaVu Sans"


@dataclass(frozen=True)
class KeyFigure:
    """One headline number: ``value`` is formatted by :func:`format_value` (strings pass as-is)."""

    label: str
    value: float | int | str
    unit: str = ""


@dataclass(frozen=True)
class CoverCard:
    """What a chart cover shows.

    :param subtitle: usually the story's date.
    :param series: optional (label, value) points drawn as ``series_kind`` under ``series_title``.
    """

    title: str
    subtitle: str
    figures: Sequence[KeyFigure] = ()
    series: Sequence[tuple[str, float]] = ()
    series_kind: Literal["bar", "line"] = "bar"
    series_title: str = ""


def render_chart_cover(card: CoverCard, size: tuple[int, int] = (1200, 630)) -> bytes:
    """PNG bytes of ``card`` at exactly ``size`` pixels (default: the 1200x630 social card)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # 1. Check inputs: more than the card has room for is a caller error, not data to cut.
    if len(card.figures) > MAX_FIGURES:
        raise ValueError(f"render_chart_cover: at most {MAX_FIGURES} key figures fit, got {len(card.figures)}")
    if len(card.series) > MAX_SERIES_POINTS:
        raise ValueError(f"render_chart_cover: at most {MAX_SERIES_POINTS} series points fit, got {len(card.series)}")
    if card.series_kind not in ("bar", "line"):
        raise ValueError(f"render_chart_cover: series_kind must be 'bar' or 'line', got {card.series_kind!r}")

    # 2. A bare Figure (no pyplot): no global state, safe in worker threads.
    width, height = size
    figure = Figure(figsize=(width / 100, height / 100), dpi=100, facecolor=_PAPER)
    FigureCanvasAgg(figure)

    # 3. Header, then the figures; with a series they share the lower half with its chart.
    _draw_header(figure, card)
    if card.series:
        _draw_figures(figure, card.figures, left=0.05, right=0.47, columns=2)
        _draw_series(figure, card)
    else:
        _draw_figures(figure, card.figures, left=0.05, right=0.95, columns=max(len(card.figures), 1))

    # 4. Encode without the Software tag, so output depends on the card alone.
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, facecolor=_PAPER, metadata={"Software": None})
    return buffer.getvalue()


def format_value(value: float | int | str, unit: str = "") -> str:
    """A number as a reader expects it on a card: ``12,345``, ``3.14``, ``12.3M``; plus ``unit``."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, float) and not math.isfinite(value):
        text = "n/a"
    elif abs(value) >= 1e9:
        text = f"{value / 1e9:,.1f}B"
    elif abs(value) >= 1e6:
        text = f"{value / 1e6:,.1f}M"
    elif float(value).is_integer():
        text = f"{int(value):,}"
    else:
        text = f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.2f}"
    return _cap(text + unit, _VALUE_CHARS)


def _cap(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis when longer."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _draw_header(figure: Figure, card: CoverCard) -> None:
    """Brand line, title (at most two lines, shrunk until it fits) and subtitle right under it."""
    figure.add_artist(_rule(figure, x=0.0, width=0.012, color=_ACCENT))
    figure.text(0.05, 0.90, "NIGHTDESK  ·  DATA CARD", fontsize=13, color=_ACCENT, fontfamily=_FONT, weight="bold",
                parse_math=False)
    lines = textwrap.wrap(_cap(card.title, _TITLE_CHARS), _TITLE_LINE_CHARS)
    if len(lines) > 2:
        lines = [lines[0], _cap(" ".join(lines[1:]), _TITLE_LINE_CHARS)]
    title = figure.text(0.05, 0.845, "\n".join(lines), fontsize=34, color=_INK, fontfamily=_FONT, weight="bold",
                        va="top", linespacing=1.15, parse_math=False)
    renderer = figure.canvas.get_renderer()
    available = 0.90 * figure.bbox.width
    # Character counts only approximate width ("WWW" vs "iii"): measure and shrink.
    while title.get_window_extent(renderer).width > available and title.get_fontsize() > 20:
        title.set_fontsize(title.get_fontsize() - 2)
    title_bottom = figure.transFigure.inverted().transform(title.get_window_extent(renderer).min)[1]
    figure.text(0.05, title_bottom - 0.035, _cap(card.subtitle, _SUBTITLE_CHARS), fontsize=17, color=_MUTED,
                fontfamily=_FONT, va="top", parse_math=False)


def _draw_figures(figure: Figure, figures: Sequence[KeyFigure], left: float, right: float, columns: int) -> None:
    """Key figures in a grid of ``columns`` between ``left`` and ``right``, top row first."""
    cell_width = (right - left) / columns
    row_tops = (0.50, 0.27) if len(figures) > columns else (0.45,)
    for index, item in enumerate(figures):
        row, column = divmod(index, columns)
        x = left + column * cell_width
        top = row_tops[row]
        figure.add_artist(_rule(figure, x=x, width=0.004, color=_ACCENT, bottom=top - 0.17, height=0.17))
        text = format_value(item.value, item.unit)
        figure.text(x + 0.015, top, text, fontsize=_fitting_size(text, cell_width * figure.bbox.width), color=_INK,
                    fontfamily=_FONT, weight="bold", va="top", parse_math=False)
        figure.text(x + 0.015, top - 0.105, _cap(item.label, _LABEL_CHARS), fontsize=13, color=_MUTED,
                    fontfamily=_FONT, va="top", parse_math=False)


def _fitting_size(text: str, cell_px: float, largest: float = 30.0) -> float:
    """Font size (points, at 100 dpi) at which ``text`` fits its cell with a margin.

    Bold DejaVu Sans digits average about 0.7 em wide; long values ("19,730,300 shares")
    shrink instead of running into the next figure.
    """
    em_px = 100 / 72  # pixels per point at the 100 dpi the card is saved at
    return min(largest, 0.85 * cell_px / (0.7 * em_px * max(len(text), 1)))


def _draw_series(figure: Figure, card: CoverCard) -> None:
    axes = figure.add_axes((0.55, 0.10, 0.41, 0.38), facecolor=_PAPER)
    labels = [_cap(label, _SERIES_LABEL_CHARS) for label, _ in card.series]
    values = [float(value) for _, value in card.series]
    positions = range(len(values))
    if card.series_kind == "bar":
        axes.bar(positions, values, color=_ACCENT, width=0.7)
    else:
        axes.plot(positions, values, color=_ACCENT, linewidth=2.5, marker="o", markersize=4)
    # Label at most ~8 ticks so the labels stay legible; the data is all drawn.
    step = max(1, math.ceil(len(labels) / 8))
    ticks = list(positions)[::step]
    axes.set_xticks(ticks, [labels[i] for i in ticks], fontsize=10, color=_MUTED, fontfamily=_FONT, parse_math=False)
    axes.tick_params(axis="y", labelsize=10, labelcolor=_MUTED, color=_RULE)
    axes.tick_params(axis="x", color=_RULE)
    axes.grid(axis="y", color=_RULE, linewidth=0.8)
    axes.set_axisbelow(True)
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)
    axes.spines["bottom"].set_color(_RULE)
    if card.series_title:
        axes.set_title(_cap(card.series_title, _LABEL_CHARS + 12), loc="left", fontsize=13, color=_MUTED,
                       fontfamily=_FONT, parse_math=False)


def _rule(figure: Figure, x: float, width: float, color: str, bottom: float = 0.0, height: float = 1.0) -> Rectangle:
    """A filled rectangle in figure coordinates (accent bars and rules)."""
    from matplotlib.patches import Rectangle

    return Rectangle((x, bottom), width, height, transform=figure.transFigure, color=color, linewidth=0)
