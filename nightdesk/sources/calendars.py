"""When a source is due, and what a due day with no rows means.

A source declares its calendar (which logical dates it publishes data for) and its
empty-day policy (what a due date that yields no rows is: an error, a warning, or
expected because the date is a holiday of a named exchange calendar). Both are plain
values parsed from the source's YAML file; see docs/calendars.md.

Exchange calendars come from the maintained ``exchange_calendars`` package, imported only
when a policy names one (it takes about a second to import and build).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Literal

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
CalendarKind = Literal["daily", "weekdays", "weekly", "monthly", "yearly", "whenever"]
EmptyPolicy = Literal["fail", "warn", "expected_on_holidays"]


@dataclass(frozen=True)
class Calendar:
    """Which logical dates a source publishes data for.

    :param kind: ``daily``; ``weekdays`` (Monday to Friday); ``weekly`` (on ``weekday``);
        ``monthly`` (on ``day`` of each month); ``yearly`` (on ``month``/``day``);
        ``whenever`` (due every day, and a day with no rows is simply not a data day).
    :param weekday: for ``weekly``: ``monday`` .. ``sunday``.
    :param day: for ``monthly`` and ``yearly``: day of the month (1-28, so every month has it).
    :param month: for ``yearly``: 1-12.
    :param start: first date with data (inclusive); earlier dates are not due.
    :param end: last date with data (inclusive; a dataset that stopped); later dates are not due.
    """

    kind: CalendarKind = "daily"
    weekday: str | None = None
    day: int = 1
    month: int = 1
    start: dt.date | None = None
    end: dt.date | None = None

    def not_due_reason(self, date: dt.date) -> str | None:
        """Why ``date`` is not one of this calendar's dates, or ``None`` when it is due."""
        if self.start and date < self.start:
            return f"its data starts on {self.start}"
        if self.end and date > self.end:
            return f"its data ends on {self.end}"
        due = {
            "daily": True,
            "whenever": True,
            "weekdays": date.weekday() < 5,
            "weekly": self.weekday is not None and date.weekday() == WEEKDAYS.index(self.weekday),
            "monthly": date.day == self.day,
            "yearly": (date.month, date.day) == (self.month, self.day),
        }[self.kind]
        return None if due else f"it is due {self.describe()}, and {date} ({date:%A}) is not such a day"

    def describe(self) -> str:
        return {
            "daily": "every day",
            "whenever": "whenever it has rows",
            "weekdays": "Monday to Friday",
            "weekly": f"every {(self.weekday or '').capitalize()}",
            "monthly": f"on day {self.day} of each month",
            "yearly": f"on {dt.date(2000, self.month, self.day):%B} {self.day} each year",
        }[self.kind]


@dataclass(frozen=True)
class EmptyDay:
    """What a due date that yields no rows means.

    :param policy: ``fail`` (the load fails; the date's earlier rows stay), ``warn`` (the
        empty day is loaded and logged), or ``expected_on_holidays`` (fine on a holiday of
        ``holidays``, a failure on any other due date).
    :param holidays: an ``exchange_calendars`` name or alias (``XNYS``, ``NYSE``, ``XLON``):
        a holiday is a date that is not one of its sessions.
    """

    policy: EmptyPolicy = "fail"
    holidays: str | None = None

    def verdict(self, date: dt.date, calendar: Calendar) -> tuple[bool, str]:
        """(allowed, why) for a due ``date`` that yielded no rows."""
        if calendar.kind == "whenever":
            return True, f"no rows on {date}: the source is due {calendar.describe()}"
        if self.policy == "warn":
            return True, f"no rows on {date} (policy: warn)"
        if self.policy == "expected_on_holidays" and self.holidays and not _is_session(self.holidays, date):
            return True, f"no rows on {date}: a holiday of the {self.holidays} calendar"
        held = f" and {date} is a session of {self.holidays}" if self.holidays else ""
        return False, f"no rows on {date}, a due day (policy: {self.policy}{held})"


def check_holiday_calendar(name: str) -> None:
    """Raise ``ValueError`` naming the known calendars when ``name`` is not one of them."""
    import exchange_calendars

    names = exchange_calendars.get_calendar_names(include_aliases=True)
    if name not in names:
        raise ValueError(f"unknown exchange calendar {name!r}; known include XNYS, NYSE, XNAS, XLON, XTKS "
                         f"({len(names)} in exchange_calendars)")


@functools.lru_cache(maxsize=8)
def _sessions(name: str):  # -> exchange_calendars.ExchangeCalendar
    import exchange_calendars

    # From 1990: the calendar's default start is only 20 years back, too late for old datasets.
    return exchange_calendars.get_calendar(name, start="1990-01-01")


def _is_session(name: str, date: dt.date) -> bool:
    calendar = _sessions(name)
    first, last = calendar.first_session.date(), calendar.last_session.date()
    if not first <= date <= last:
        raise ValueError(f"{date} is outside the {name} calendar's range {first} .. {last}")
    return bool(calendar.is_session(date.isoformat()))
