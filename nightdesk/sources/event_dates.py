"""Which logical date a source row belongs to, for data published by the day, week, month or year.

A daily file names each row's date in one column, or in year/month/day columns; the file
reader filters on those itself. Coarser data (monthly sales, a weekly index, a yearly
census) names only a year and a month, week or nothing more: each row then belongs to
the first day of its period, which is the logical date its calendar is due on (the 1st of
the month, the Monday of the ISO week, January 1st). :class:`PeriodReader` keeps a
period's rows for that date around any reader.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from nightdesk.sources.readers import Reader

if TYPE_CHECKING:
    import pandas as pd

Grain = Literal["day", "week", "month", "year"]

#: The calendar each grain's rows are due on (logical date = first day of the period).
GRAIN_CALENDAR = {"week": ("weekly", "monday"), "month": ("monthly", 1), "year": ("yearly", (1, 1))}


@dataclass(frozen=True)
class EventDate:
    """Where a row's date is: one ``column``, or ``parts`` naming the columns of its period.

    :param column: a column holding a date (ISO text or a date type).
    :param parts: ``{"year": col}`` plus ``"month"`` and ``"day"``, or ``"week"`` (ISO week),
        or ``"month"`` alone, or nothing more: the period is the finest part given.
    """

    column: str | None = None
    parts: tuple[tuple[str, str], ...] = ()

    @property
    def grain(self) -> Grain:
        named = dict(self.parts)
        if self.column or "day" in named:
            return "day"
        return "week" if "week" in named else "month" if "month" in named else "year"

    def dates(self, chunk: pd.DataFrame) -> pd.Series:
        """Each row's logical date (first day of its period); ``NaT`` where unreadable."""
        import pandas as pd

        if self.column:
            return pd.to_datetime(chunk[self.column], errors="coerce", format="ISO8601").dt.date
        named = {part: pd.to_numeric(chunk[col], errors="coerce") for part, col in self.parts}
        if "week" in named:
            text = named["year"].astype("Int64").astype(str) + "-W" + named["week"].astype("Int64").astype(str) + "-1"
            return pd.to_datetime(text, errors="coerce", format="%G-W%V-%u").dt.date
        frame = pd.DataFrame({"year": named["year"], "month": named.get("month", 1), "day": named.get("day", 1)})
        return pd.to_datetime(frame, errors="coerce").dt.date


@dataclass(frozen=True)
class PeriodReader:
    """Any reader's rows, keeping those whose period starts on the logical date.

    Rows whose date cannot be read are passed on, so the validator quarantines them with
    their values instead of their vanishing.
    """

    inner: Reader
    event_date: EventDate

    @property
    def kind(self) -> str:
        return self.inner.kind

    def describe(self) -> str:
        return self.inner.describe()

    def read(self, logical_date: dt.date) -> Iterator[pd.DataFrame]:
        for chunk in self.inner.read(logical_date):
            dates = self.event_date.dates(chunk)
            yield chunk[(dates.isna() | (dates == logical_date)).to_numpy()]
