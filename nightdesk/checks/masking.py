"""Blanking out parts of a text while keeping every offset valid.

The fact check extracts dates, then numbers, then names, and each later pass must not
see what an earlier one consumed ("March 1, 2013" is a date, not the numbers 1 and 2013).
Replacing consumed spans by spaces of the same length keeps all reported spans
pointing into the original draft.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

Span = tuple[int, int]


def mask(text: str, spans: Iterable[Span]) -> str:
    """``text`` with every character inside ``spans`` replaced by a space."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def find_spans(pattern: re.Pattern[str], text: str) -> list[Span]:
    """Spans of all non-empty matches of ``pattern`` in ``text``."""
    return [m.span() for m in pattern.finditer(text) if m.end() > m.start()]
