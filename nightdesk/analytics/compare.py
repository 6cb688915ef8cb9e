"""``nightdesk compare``: prompt version (or model) A vs B over a date range.

The query is warehouse/sql/analyst/compare.sql; this module checks the arguments, so a
typo in a variant names what exists instead of printing an empty table.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from nightdesk.analytics.views import ANALYST_SQL, sql_frame
from nightdesk.warehouse.clickhouse import Warehouse

if TYPE_CHECKING:
    import pandas as pd

COMPARE_SQL = ANALYST_SQL / "compare.sql"
#: What ``--by`` compares, and the column that names a variant.
DIMENSIONS = {"prompt": "prompt_version", "model": "model_id"}


def compare(by: str, a: str, b: str, start: dt.date, end: dt.date, wh: Warehouse | None = None) -> pd.DataFrame:
    """One row per variant (A first), or ValueError naming the variants the range has."""
    if by not in DIMENSIONS:
        raise ValueError(f"--by {by!r}: choose one of {', '.join(DIMENSIONS)}")
    if end < start:
        raise ValueError(f"--end {end} is before --start {start}")
    if a == b:
        raise ValueError(f"A and B are both {a!r}: compare two different variants")
    df = sql_frame(COMPARE_SQL, {"by": by, "a": a, "b": b, "start": start, "end": end}, wh)
    missing = [v for v in (a, b) if v not in set(df["variant"])]
    if missing:
        column = DIMENSIONS[by]
        present = sql_frame(ANALYST_SQL / "variants.sql", {"column": column, "start": start, "end": end}, wh)
        raise ValueError(f"no generations in {start} .. {end} for {column} {', '.join(map(repr, missing))}; "
                         f"there are: {', '.join(present['variant']) or 'none'}")
    return df
