"""Which sources have rows for a logical date, as the day's loads recorded it.

The ELT steps after the loads ask this instead of assuming every source is present: a
source that was not due (``skipped``) or had an allowed empty day (``empty``) is absent,
so the models built only from absent sources are cleared rather than run, and their
gates report "no rows" instead of failing on a table with no columns to check.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from nightdesk.warehouse.clickhouse import Warehouse
from nightdesk.settings import WAREHOUSE_DIR

ABSENT = ("skipped", "empty")


@dataclass(frozen=True)
class Verdict:
    status: str
    loaded: int
    note: str


@dataclass(frozen=True)
class DayLoads:
    """The date's load verdicts per source, and the raw table each source fills."""

    logical_date: dt.date
    verdicts: Mapping[str, Verdict]
    source_tables: Mapping[str, str]

    def sources_of(self, tables: Iterable[str]) -> list[str]:
        """The declared sources that fill any of ``tables``."""
        wanted = set(tables)
        return sorted(s for s, t in self.source_tables.items() if t in wanted)

    def absence(self, tables: Iterable[str]) -> str | None:
        """Why every source behind ``tables`` is absent today, or ``None`` if one may have rows."""
        sources = self.sources_of(tables)
        verdicts = [(s, self.verdicts.get(s)) for s in sources]
        if not sources or any(v is None or v.status not in ABSENT for _, v in verdicts):
            return None
        return "; ".join(f"{s} {v.status}: {v.note}" for s, v in verdicts if v)

    def with_rows(self) -> list[str]:
        return sorted(s for s, v in self.verdicts.items() if v.status == "ok" and v.loaded > 0)


def day_loads(wh: Warehouse, logical_date: dt.date) -> DayLoads:
    from nightdesk.sources.catalog import load_sources

    rows = wh.query_rows((WAREHOUSE_DIR / "sql" / "load_verdicts.sql").read_text(), {"d": logical_date})
    tables = {name: s.table for name, s in load_sources().items()}
    return DayLoads(logical_date, {s: Verdict(st, int(n), note) for s, st, n, note in rows if s in tables}, tables)
