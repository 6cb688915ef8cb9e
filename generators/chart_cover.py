"""The default cover: a typographic card of the story's key figures, drawn with matplotlib.

When no diffusion model is configured, a story still needs a social-card image. This one
shows only what the story reports (title, date, up to four figures, optionally one small
series), so it cannot illustrate something that did not happen. Rendering is
deterministic: the same card gives byte-identical PNG, so re-runs do not churn the media
store and reviewers can trust that an unchanged card is unchanged.

Every string is placed by measuring it with the renderer, never by counting characters:
titles and labels wrap and shrink until they fit their place, so nothing is cut and
nothing overlaps, and the figures grow to fill the card. Text is drawn with the Noto
faces bundled in ``generators/fonts`` (Latin, Greek, Cyrillic, Hebrew, Arabic);
matplotlib lays it out with libraqm, which orders right-to-left runs and joins Arabic
letters. What the card cannot draw as given (an emoji, which no bundled font has and
matplotlib cannot draw from a colour font; a bidi override that would reorder the text;
a title too long even at the smallest size) comes back in :attr:`RenderedCover.problems`
beside the picture, for the checks to fail the cover, instead of being drawn as boxes.

The card is designed at :data:`CARD_SIZE`; at any other size every measure scales with
the height, so :data:`THUMBNAIL_SIZE` (what feed readers and link previews show) lays
out the same way.
"""

from __future__ import annotations

import functools
import io
import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.text import Text

#: The social card (Open Graph / JSON Feed image), in pixels.
CARD_SIZE = (1200, 630)
#: The feed-thumbnail size the layout is also checked at: half the card, Facebook's
#: minimum for a large link preview. Every text stays at least 8 px high there.
THUMBNAIL_SIZE = (600, 315)
MAX_FIGURES = 4
MAX_SERIES_POINTS = 31
FONT_DIR = Path(__file__).with_name("fonts")
#: Tried in order for each character (matplotlib's font fallback), all bundled.
FONT_FAMILIES = ("Nightdesk Noto Sans", "Nightdesk Noto Sans Hebrew", "Nightdesk Noto Sans Arabic")

# Sizes in pixels on the 1200x630 card, largest first; scaled with the card's height.
_BRAND_PX = 16
_TITLE_FITS = tuple((px, 2) for px in range(50, 29, -2)) + tuple((px, 3) for px in range(30, 23, -2))
_SUBTITLE_PX = range(24, 15, -2)
_LABEL_PX = range(22, 15, -1)
_LABEL_LINES = 4
_VALUE_PX = (130, 28)  # largest and smallest
_TICK_PX = 16
_MARGIN_X, _MARGIN_TOP, _MARGIN_BOTTOM = 60, 38, 34
_GAP = 14
_ELLIPSIS = "…"
# Wrapping sums per-word widths; kerning and hinting make a real line up to ~2% wider.
_WRAP_SLACK = 0.97

_INK = "#1b1f24"
_MUTED = "#4d5560"
_ACCENT = "#1f5fa8"
_PAPER = "#fbfaf7"
_RULE = "#d9d6cf"
_BIDI_CONTROLS = frozenset({"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"})


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


@dataclass(frozen=True)
class DrawnText:
    """One string as the card drew it.

    :param role: its place on the card ("title", "value 2", "label 2", "x tick", ...).
    :param box: ``(left, top, right, bottom)`` in pixels from the card's top-left corner,
        as the renderer measured the laid-out text.
    :param size_px: the font size it was drawn at, in pixels.
    """

    role: str
    text: str
    box: tuple[float, float, float, float]
    size_px: float


@dataclass(frozen=True)
class RenderedCover:
    """The PNG and what is on it: every drawn string, and what could not be drawn as given.

    ``problems`` is empty for a card that shows its data whole; each entry says what was
    left out or cut, and where (the cover checks turn them into failing findings).
    """

    png: bytes
    size: tuple[int, int]
    texts: tuple[DrawnText, ...]
    problems: tuple[str, ...]


def render_chart_cover(card: CoverCard, size: tuple[int, int] = CARD_SIZE) -> RenderedCover:
    """Draw ``card`` at exactly ``size`` pixels (default: the 1200x630 social card)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # 1. Check inputs: more than the card has room for is a caller error, not data to cut.
    if len(card.figures) > MAX_FIGURES:
        raise ValueError(f"render_chart_cover: at most {MAX_FIGURES} key figures fit, got {len(card.figures)}")
    if len(card.series) > MAX_SERIES_POINTS:
        raise ValueError(f"render_chart_cover: at most {MAX_SERIES_POINTS} series points fit, got {len(card.series)}")
    if card.series_kind not in ("bar", "line"):
        raise ValueError(f"render_chart_cover: series_kind must be 'bar' or 'line', got {card.series_kind!r}")
    width, height = size
    if width < height:
        raise ValueError(f"render_chart_cover: a card is landscape, got {width}x{height}")

    # 2. A bare Figure (no pyplot, 72 dpi so a point is a pixel): no global state.
    _register_fonts()
    figure = Figure(figsize=(width / 72, height / 72), dpi=72, facecolor=_PAPER)
    FigureCanvasAgg(figure)
    layout = _Layout(figure, scale=height / CARD_SIZE[1])

    # 3. Header, then the figures; with a series they share the lower part with its chart.
    top = layout.header(card)
    if card.series:
        split = layout.width * 0.5
        layout.figures(card.figures, left=layout.px(_MARGIN_X), right=split - layout.px(_GAP), top=top, columns=2)
        layout.series(card, left=split + layout.px(_GAP), top=top)
    else:
        columns = 2 if len(card.figures) == 4 else max(len(card.figures), 1)
        layout.figures(card.figures, left=layout.px(_MARGIN_X), right=layout.width - layout.px(_MARGIN_X), top=top,
                       columns=columns)

    # 4. Measure what was drawn; anything outside the card or on top of another string is a problem.
    figure.canvas.draw()
    texts = layout.drawn()
    problems = layout.problems + _geometry_problems(texts, size)

    # 5. Encode without the Software tag, so output depends on the card alone.
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=72, facecolor=_PAPER, metadata={"Software": None})
    return RenderedCover(buffer.getvalue(), size, texts, tuple(dict.fromkeys(problems)))


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
    return " ".join((text + unit).split())


def undrawable(text: str) -> list[str]:
    """What the card would leave out of ``text``, one description per character
    ("U+1F600 GRINNING FACE ('😀'), which no bundled font draws ..."). Empty when all of it draws."""
    return [_refusal(char) for char in dict.fromkeys(text) if not _draws(char)]


@functools.cache
def _register_fonts() -> None:
    """Add the bundled faces to matplotlib's font manager, once per process."""
    from matplotlib import font_manager

    for path in sorted(FONT_DIR.glob("*.ttf")):
        font_manager.fontManager.addfont(str(path))


@functools.cache
def _coverage() -> frozenset[int]:
    """Code points some bundled face has a glyph for."""
    from matplotlib.ft2font import FT2Font

    return frozenset(code for path in FONT_DIR.glob("*-Regular.ttf") for code in FT2Font(str(path)).get_charmap())


def _draws(char: str) -> bool:
    return char == " " or (unicodedata.category(char) != "Cc" and unicodedata.bidirectional(char) not in _BIDI_CONTROLS
                           and ord(char) in _coverage())


def _refusal(char: str) -> str:
    name = f"U+{ord(char):04X} {unicodedata.name(char, 'UNNAMED')}"
    if unicodedata.bidirectional(char) in _BIDI_CONTROLS:
        return f"{name}, a bidi control that would reorder the drawn text against the checked text (left out)"
    if unicodedata.category(char) == "Cc":
        return f"{name}, a control character (left out)"
    return f"{name} ({char!r}), which no bundled font draws (emoji are left out)"


def _rtl(text: str) -> bool:
    """The paragraph direction the bidi algorithm gives ``text``: that of its first strong character."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("L", "R", "AL"):
            return kind != "L"
    return False


class _Layout:
    """Places the card's strings by measuring them with the figure's renderer.

    All positions are pixels from the top-left corner; ``scale`` turns the design sizes
    of the 1200x630 card into this card's.
    """

    def __init__(self, figure: Figure, scale: float) -> None:
        self.figure, self.scale = figure, scale
        self.width, self.height = figure.bbox.width, figure.bbox.height
        self.renderer: RendererAgg = figure.canvas.get_renderer()
        self.problems: list[str] = []
        self._texts: list[tuple[str, Text]] = []
        self._axes: Axes | None = None
        self._advances: dict[tuple[str, bool], float] = {}

    def px(self, design_px: float) -> float:
        return design_px * self.scale

    # -- measuring ---------------------------------------------------------------------

    def font(self, size_px: float, bold: bool = False) -> FontProperties:
        from matplotlib.font_manager import FontProperties

        return FontProperties(family=list(FONT_FAMILIES), weight="bold" if bold else "normal", size=size_px)

    def measure(self, text: str, font: FontProperties) -> float:
        """Width in pixels of one line of ``text`` as the renderer lays it out."""
        width, _, _ = self.renderer.get_text_width_height_descent(text, font, ismath=False)
        return width

    def height_of(self, lines: Sequence[str], font: FontProperties) -> float:
        """Height in pixels of ``lines`` drawn as one block (matplotlib's line spacing)."""
        from matplotlib.text import Text

        probe = Text(0, 0, "\n".join(lines), fontproperties=font, parse_math=False)
        probe.set_figure(self.figure)
        return probe.get_window_extent(self.renderer).height

    def clean(self, text: str, where: str) -> str:
        """``text`` on one line, without what the card cannot draw (each such character is a problem)."""
        text = " ".join(str(text).split())
        self.problems += [f"the {where} has {refusal}" for refusal in undrawable(text)]
        return " ".join("".join(c for c in text if _draws(c)).split())

    def advance(self, piece: str, size: float, bold: bool = False) -> float:
        """Estimated width of ``piece`` at ``size``: measured once at 100 px and scaled.

        Laying text out costs about 2 ms a call (libraqm), so wrapping sums these
        per-word estimates and only the chosen lines are measured for real.
        """
        key = (piece, bold)
        if key not in self._advances:
            self._advances[key] = self.measure(piece, self.font(100, bold))
        return self._advances[key] * size / 100

    def wrapped(self, text: str, width: float, size: float, bold: bool = False) -> list[str] | None:
        """``text`` wrapped to ``width`` at ``size``, or None when a line, measured, is wider."""
        lines = _wrap(text, width * _WRAP_SLACK, functools.partial(self.advance, size=size, bold=bold))
        font = self.font(size, bold)
        return lines if all(self.measure(line, font) <= width for line in lines) else None

    def fit(self, text: str, where: str, fits: Sequence[tuple[float, int]], width: float, bold: bool = False,
            ) -> tuple[list[str], float]:
        """Lines and size: the first ``(design_px, max_lines)`` at which ``text`` fits ``width``.

        When none does, the smallest is used and the text is cut with an ellipsis, which
        is recorded as a problem: the card never cuts a string silently.
        """
        for design_px, max_lines in fits:
            lines = self.wrapped(text, width, self.px(design_px), bold)
            if lines is not None and len(lines) <= max_lines:
                return lines, self.px(design_px)
        design_px, max_lines = fits[-1]
        size = self.px(design_px)
        lines = _wrap(text, width * _WRAP_SLACK, functools.partial(self.advance, size=size, bold=bold))[:max_lines]
        font = self.font(size, bold)
        last = lines[-1]
        while last and self.measure(last + _ELLIPSIS, font) > width:
            last = last[:-1].rstrip()
        lines[-1] = last + _ELLIPSIS
        shown = sum(len(line) for line in lines) - 1
        self.problems.append(f"the {where} is too long for the card: cut after {shown} of {len(text)} characters")
        return lines, size

    # -- drawing -----------------------------------------------------------------------

    def put(self, role: str, x: float, y: float, lines: Sequence[str], size: float, *, color: str, bold: bool = False,
            right: float | None = None, rtl: bool | None = None) -> float:
        """Draw ``lines`` with their top at ``y``, from ``x`` or, for right-to-left text
        (``rtl``, by default the text's own direction), up to ``right``; returns the bottom."""
        text = "\n".join(lines)
        rtl = right is not None and (_rtl(text) if rtl is None else rtl)
        artist = self.figure.text((right if rtl else x) / self.width, 1 - y / self.height, text,
                                  fontproperties=self.font(size, bold), color=color, va="top",
                                  ha="right" if rtl else "left", multialignment="right" if rtl else "left",
                                  parse_math=False)
        self._texts.append((role, artist))
        return y + artist.get_window_extent(self.renderer).height

    def rule(self, x: float, y: float, width: float, height: float, color: str = _ACCENT) -> None:
        from matplotlib.patches import Rectangle

        self.figure.add_artist(Rectangle((x / self.width, 1 - (y + height) / self.height), width / self.width,
                                         height / self.height, transform=self.figure.transFigure, color=color,
                                         linewidth=0))

    def header(self, card: CoverCard) -> float:
        """Accent bar, brand line, title (wrapped and shrunk to fit) and subtitle; returns their bottom."""
        left, right = self.px(_MARGIN_X), self.width - self.px(_MARGIN_X)
        self.rule(0, 0, self.px(14), self.height)
        bottom = self.put("brand", left, self.px(_MARGIN_TOP), ["NIGHTDESK  ·  DATA CARD"], self.px(_BRAND_PX),
                          color=_ACCENT, bold=True)
        title = self.clean(card.title, "title")
        lines, size = self.fit(title, "title", _TITLE_FITS, right - left, bold=True)
        bottom = self.put("title", left, bottom + self.px(_GAP), lines, size, color=_INK, bold=True, right=right)
        subtitle = self.clean(card.subtitle, "subtitle")
        if subtitle:
            lines, size = self.fit(subtitle, "subtitle", [(px, 1) for px in _SUBTITLE_PX], right - left)
            bottom = self.put("subtitle", left, bottom + self.px(_GAP * 0.6), lines, size, color=_MUTED, right=right)
        return bottom + self.px(_GAP * 1.6)

    def figures(self, figures: Sequence[KeyFigure], left: float, right: float, top: float, columns: int) -> None:
        """Key figures in a grid between ``left`` and ``right`` below ``top``: one label size
        and one value size for all, the values as large as the space allows."""
        if not figures:
            return
        rows = math.ceil(len(figures) / columns)
        bottom = self.height - self.px(_MARGIN_BOTTOM)
        cell_width = (right - left) / columns
        inner = cell_width - self.px(_GAP * 2.2)  # less the accent rule's side and the gutter to the next cell
        slot = (bottom - top) / rows
        values = [self.clean(format_value(f.value, f.unit), f"value of figure {i}") for i, f in enumerate(figures, 1)]
        labels = [self.clean(f.label, f"label of figure {i}") for i, f in enumerate(figures, 1)]
        label_px = next((px for px in _LABEL_PX if all(
            (lines := self.wrapped(label, inner, self.px(px))) is not None and len(lines) <= _LABEL_LINES
            for label in labels)), _LABEL_PX[-1])
        fitted = [self.fit(label, f"label of figure {i}", [(label_px, _LABEL_LINES)], inner)[0]
                  for i, label in enumerate(labels, 1)]
        label_height = max(self.height_of(lines, self.font(self.px(label_px))) for lines in fitted)
        value_px = self._value_size(values, inner, slot - label_height - self.px(_GAP * 2.5))
        value_height = self.height_of(values, self.font(value_px, bold=True)) / len(values)
        block = value_height + self.px(_GAP * 0.5) + label_height
        for index, (value, lines) in enumerate(zip(values, fitted, strict=True)):
            row, column = divmod(index, columns)
            x = left + column * cell_width
            # Rows spread from the top of the space to its bottom; a single row sits in its middle.
            y = top + (slot - block) / 2 if rows == 1 else top + row * (bottom - top - block) / (rows - 1)
            # A cell reads from its accent rule: on the left, or on the right for a
            # right-to-left label, which takes its value to that side with it.
            rtl = _rtl(" ".join(lines))
            usable = cell_width - self.px(_GAP)
            rule_x = x + usable - self.px(5) if rtl else x
            text_x = x if rtl else x + self.px(_GAP * 1.2)
            self.rule(rule_x, y, self.px(5), block)
            self.put(f"value {index + 1}", text_x, y, [value], value_px, color=_INK, bold=True,
                     right=text_x + inner, rtl=rtl)
            self.put(f"label {index + 1}", text_x, y + value_height + self.px(_GAP * 0.5), lines,
                     self.px(label_px), color=_MUTED, right=text_x + inner, rtl=rtl)

    def _value_size(self, values: Sequence[str], width: float, height: float) -> float:
        """The largest common size at which every value fits ``width`` on one line and ``height``."""
        largest, smallest = self.px(_VALUE_PX[0]), self.px(_VALUE_PX[1])
        probe = self.font(100, bold=True)
        size = min(largest, 100 * height / self.height_of(["Hg"], probe),
                   *(100 * width / max(self.measure(v, probe), 1) for v in values))
        size = math.floor(max(size, smallest))
        # Glyph advances do not scale exactly linearly: step down until every value fits.
        while size > smallest and any(self.measure(v, self.font(size, bold=True)) > width for v in values):
            size -= 1
        for i, value in enumerate(values, 1):
            if self.measure(value, self.font(size, bold=True)) > width:
                self.problems.append(f"the value of figure {i} ({value!r}) is too wide for the card")
        return size

    def series(self, card: CoverCard, left: float, top: float) -> None:
        """The series as a small chart right of the figures, its tick labels thinned until none overlap."""
        from matplotlib.ticker import MaxNLocator

        right, bottom = self.width - self.px(_MARGIN_X), self.height - self.px(_MARGIN_BOTTOM)
        if card.series_title:
            title = self.clean(card.series_title, "series title")
            lines, size = self.fit(title, "series title", [(px, 2) for px in _LABEL_PX], right - left)
            top = self.put("series title", left, top, lines, size, color=_MUTED, right=right) + self.px(_GAP)
        tick_font = self.font(self.px(_TICK_PX))
        values = [float(value) for _, value in card.series]
        labels = [self.clean(label, f"series label {i}") for i, (label, _) in enumerate(card.series, 1)]
        low, high = min(values), max(values)
        if card.series_kind == "bar":
            low, high = min(low, 0.0), max(high, 0.0)
        ticks = [t for t in MaxNLocator(nbins=4).tick_values(low, high)]
        tick_labels = [format_value(t) for t in ticks]
        axis_left = left + max(self.measure(t, tick_font) for t in tick_labels) + self.px(10)
        axis_bottom = bottom - self.height_of(["Hg"], tick_font) - self.px(10)
        axes = self.figure.add_axes((axis_left / self.width, 1 - axis_bottom / self.height,
                                     (right - axis_left) / self.width, (axis_bottom - top) / self.height),
                                    facecolor=_PAPER)
        positions = list(range(len(values)))
        if card.series_kind == "bar":
            axes.bar(positions, values, color=_ACCENT, width=0.7)
        else:
            axes.plot(positions, values, color=_ACCENT, linewidth=2.5 * self.scale, marker="o",
                      markersize=4 * self.scale)
        axes.set_ylim(ticks[0], ticks[-1])
        axes.set_xlim(-0.6, len(values) - 0.4)
        axes.set_yticks(ticks, tick_labels, fontproperties=tick_font, color=_MUTED)
        spacing = (right - axis_left) / len(values)
        widest = max(self.measure(label, tick_font) for label in labels) + self.px(12)
        shown = positions[:: max(1, math.ceil(widest / spacing))]
        axes.set_xticks(shown, [labels[i] for i in shown], fontproperties=tick_font, color=_MUTED)
        axes.tick_params(axis="both", color=_RULE, length=4 * self.scale, pad=4 * self.scale)
        axes.grid(axis="y", color=_RULE, linewidth=0.8)
        axes.set_axisbelow(True)
        for side in ("top", "right", "left"):
            axes.spines[side].set_visible(False)
        axes.spines["bottom"].set_color(_RULE)
        self._axes = axes

    # -- what is on the card -----------------------------------------------------------

    def drawn(self) -> tuple[DrawnText, ...]:
        """Every string on the card with its measured box (after ``canvas.draw()``)."""
        artists = list(self._texts)
        if self._axes is not None:
            artists += [("x tick", t) for t in self._axes.get_xticklabels()]
            artists += [("y tick", t) for t in self._axes.get_yticklabels()]
        out = []
        for role, artist in artists:
            if not artist.get_visible() or not artist.get_text():
                continue
            box = artist.get_window_extent(self.renderer)
            out.append(DrawnText(role, artist.get_text(),
                                 (box.x0, self.height - box.y1, box.x1, self.height - box.y0), artist.get_fontsize()))
        return tuple(out)


def _wrap(text: str, width: float, advance: Callable[[str], float]) -> list[str]:
    """Greedy word wrap of ``text`` to ``width``, with ``advance`` giving the width of a word
    (a line is its words and the spaces between); a word wider than a line is broken
    between characters, so nothing is dropped."""
    space = advance(" ")
    lines: list[str] = []
    current, used = "", 0.0
    for word in text.split(" "):
        needed = advance(word)
        if current and used + space + needed <= width:
            current, used = f"{current} {word}", used + space + needed
            continue
        if current:
            lines.append(current)
        current, used = "", 0.0
        if needed <= width:
            current, used = word, needed
            continue
        for char in word:
            step = advance(char)
            if current and used + step > width:
                lines.append(current)
                current, used = "", 0.0
            current, used = current + char, used + step
    if current or not lines:
        lines.append(current)
    return lines


def _geometry_problems(texts: Sequence[DrawnText], size: tuple[int, int]) -> list[str]:
    """Strings that leave the card or overlap another, as measured."""
    width, height = size
    problems = [f"the {t.role} {t.text!r} leaves the card: box {tuple(round(v) for v in t.box)} in {width}x{height}"
                for t in texts if t.box[0] < 0 or t.box[1] < 0 or t.box[2] > width or t.box[3] > height]
    for i, a in enumerate(texts):
        for b in texts[i + 1:]:
            if min(a.box[2], b.box[2]) > max(a.box[0], b.box[0]) and min(a.box[3], b.box[3]) > max(a.box[1], b.box[1]):
                problems.append(f"the {a.role} {a.text!r} overlaps the {b.role} {b.text!r}")
    return problems
