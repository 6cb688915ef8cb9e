"""Jinja filters the data-to-text templates use to agree with their figures.

Templates see each fact's written form ("1 flight", "-11.7%"), so the filters read the
figure back from it: "1 flight was cancelled" and "14 flights were cancelled" come from one
template, and a signed percentage can be written as a size with a direction word
("11.7% below its average") instead of "-11.7% away from".
"""

from __future__ import annotations

import re

_FIGURE = re.compile(r"^\s*([-+\u2212]?)\$?(\d[\d,]*(?:\.\d+)?)")


def _figure(display: str) -> float:
    found = _FIGURE.match(display)
    if not found:
        raise ValueError(f"no figure at the start of {display!r}")
    sign = -1.0 if found.group(1) in ("-", "\u2212") else 1.0
    return sign * float(found.group(2).replace(",", ""))


def agree(display: str, singular: str, plural: str) -> str:
    """``singular`` when the written figure is exactly one, else ``plural``: ``{{ cancelled |
    agree("was", "were") }}``."""
    return singular if abs(_figure(display)) == 1 else plural


def magnitude(display: str) -> str:
    """The written form without its sign ("-11.7%" -> "11.7%")."""
    return display.strip().lstrip("-+\u2212")


def sign_word(display: str, positive: str, negative: str, zero: str = "in line with") -> str:
    """The word for the figure's sign: ``{{ volume_vs_avg_pct | sign_word("above", "below") }}``."""
    value = _figure(display)
    return positive if value > 0 else negative if value < 0 else zero


FILTERS = {"agree": agree, "magnitude": magnitude, "sign_word": sign_word}
