"""The analyst views (warehouse/migrations/0011_analyst_views.sql) as DataFrames.

The views hide ``FINAL`` and rerun duplicates, so a notebook, the CLI and the report all
read the same numbers through :func:`frame`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nightdesk.settings import WAREHOUSE_DIR
from nightdesk.warehouse.clickhouse import Warehouse

if TYPE_CHECKING:
    import pandas as pd

PREFIX = "analyst_"
ANALYST_SQL = WAREHOUSE_DIR / "sql" / "analyst"


def _warehouse(wh: Warehouse | None) -> Warehouse:
    from nightdesk.warehouse import clickhouse

    return wh or clickhouse.connect()


def analyst_views(wh: Warehouse | None = None) -> list[str]:
    """Names of the ``analyst_*`` views in the warehouse, sorted."""
    return sorted(_warehouse(wh).query_df((ANALYST_SQL / "views.sql").read_text())["name"])


def _as_date(value: str | dt.date | None, what: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{what}={value!r} is not a date like 2013-03-01") from None


def frame(view: str, *, start: str | dt.date | None = None, end: str | dt.date | None = None,
          wh: Warehouse | None = None) -> pd.DataFrame:
    """One analyst view as a DataFrame, optionally for logical dates ``start .. end`` (inclusive).

    :param view: ``daily_model_prompt`` or ``analyst_daily_model_prompt``; an unknown name
        is an error listing the views there are.
    """
    wh = _warehouse(wh)
    name = view if view.startswith(PREFIX) else PREFIX + view
    known = analyst_views(wh)
    if name not in known:
        raise ValueError(f"no analyst view {view!r}; the views are: {', '.join(v.removeprefix(PREFIX) for v in known)}")
    params: dict[str, Any] = {"view": name, "start": _as_date(start, "start") or dt.date(1970, 1, 1),
                              "end": _as_date(end, "end") or dt.date(2149, 6, 6)}
    return wh.query_df((ANALYST_SQL / "view_rows.sql").read_text(), params)


def sql_frame(path: Path, params: dict[str, Any], wh: Warehouse | None = None) -> pd.DataFrame:
    """The result of one SQL file (a cookbook query, the comparison) as a DataFrame.

    An empty result from chDB has no columns; it is given the query's columns, so a
    caller can always print or write the table's header.
    """
    wh = _warehouse(wh)
    sql = path.read_text()
    df = wh.query_df(sql, params)
    if df.columns.empty:
        import pandas as pd

        names = [row[0] for row in wh.query_rows(f"DESCRIBE ({sql.strip().rstrip(';')})", params)]
        df = pd.DataFrame(columns=names)
    return df
