"""Find the dates a draft mentions, in the ways English news copy writes them.

Each mention keeps only the parts the text states (a bare "Friday" says nothing about
the month), so the fact check can ask "does the story's date agree with every part
written?" instead of guessing the rest. Month and weekday names must be capitalised:
lower-case "march" or "may" are verbs far more often than dates, and a bare "May" (no
day, no year) is left alone for the same reason.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from nightdesk.checks.masking import Span

_MONTHS = {name: i for i, name in enumerate(calendar.month_name) if name}
_MONTHS |= {name: i for i, name in enumerate(calendar.month_abbr) if name} | {"Sept": 9}
_WEEKDAYS = {name: i for i, name in enumerate(calendar.day_name)}

_MON = "|".join(sorted(_MONTHS, key=len, reverse=True))
_FULL_MON = "|".join(name for name in calendar.month_name if name)
_WD = "|".join(_WEEKDAYS)
_WD_PREFIX = rf"(?<![A-Za-z])(?:(?P<wd>{_WD}),?\s+)?(?:the\s+)?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?(?!\d)(?!,\d)"
_YEAR_TAIL = r"(?:,?\s+(?P<year>\d{4})(?!\d))?"


@dataclass(frozen=True)
class DateMention:
    """A date as written; ``None`` parts were not stated. ``weekday``: Monday is 0."""

    text: str
    span: Span
    year: int | None = None
    month: int | None = None
    day: int | None = None
    weekday: int | None = None

    @property
    def is_real(self) -> bool:
        """False for dates no calendar has ("February 30", "2013-13-01")."""
        if self.month is None:
            return True
        if not 1 <= self.month <= 12:
            return False
        if self.day is None:
            return True
        last_day = calendar.monthrange(self.year if self.year is not None else 2000, self.month)[1]
        return 1 <= self.day <= last_day

    def agrees_with(self, day: dt.date) -> bool:
        """Whether every stated part equals that part of ``day``."""
        stated = ((self.year, day.year), (self.month, day.month), (self.day, day.day), (self.weekday, day.weekday()))
        return all(written is None or written == actual for written, actual in stated)


def _named(match: re.Match[str]) -> dict[str, int | None]:
    groups = match.groupdict()
    return {
        "year": int(groups["year"]) if groups.get("year") else None,
        "month": _MONTHS[groups["mon"]] if groups.get("mon") else None,
        "day": int(groups["day"]) if groups.get("day") else None,
        "weekday": _WEEKDAYS[groups["wd"]] if groups.get("wd") else None,
    }


def _numeric(match: re.Match[str]) -> dict[str, int | None]:
    year = int(match["year"])
    return {"year": year + 2000 if year < 100 else year, "month": int(match["month"]), "day": int(match["day"])}


def _month_alone(match: re.Match[str]) -> dict[str, int | None] | None:
    parts = _named(match)
    return None if match["mon"] == "May" and parts["year"] is None else parts


# Most specific first: a later pattern never takes text an earlier one matched.
_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], dict[str, int | None] | None]], ...] = (
    (re.compile(r"(?<![\d/.-])(?P<year>\d{4})([-/])(?P<month>\d{1,2})\2(?P<day>\d{1,2})(?![\d/-])"), _numeric),
    (re.compile(r"(?<![\d/.])(?P<month>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{4}|\d{2})(?![\d/])"), _numeric),
    (re.compile(rf"{_WD_PREFIX}(?<![A-Za-z])(?P<mon>{_MON})\.?\s+{_DAY}{_YEAR_TAIL}"), _named),
    (re.compile(rf"{_WD_PREFIX}(?<![\d.,]){_DAY}\s+(?:of\s+)?(?P<mon>{_MON})\.?(?![A-Za-z]){_YEAR_TAIL}"), _named),
    (re.compile(rf"(?<![A-Za-z])(?P<mon>{_FULL_MON})(?![A-Za-z]){_YEAR_TAIL}"), _month_alone),
    (re.compile(rf"(?<![A-Za-z])(?P<wd>{_WD})s?(?![A-Za-z])"), _named),
)


def find_dates(text: str) -> list[DateMention]:
    """Every date mention in ``text``, in order of position."""
    found: list[DateMention] = []
    for pattern, parse in _PATTERNS:
        for match in pattern.finditer(text):
            if any(match.start() < m.span[1] and m.span[0] < match.end() for m in found):
                continue
            parts = parse(match)
            if parts is not None:
                found.append(DateMention(match.group(), match.span(), **parts))
    return sorted(found, key=lambda m: m.span)
