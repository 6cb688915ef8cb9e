"""The ``stories`` table: the day's chosen fact sheets, replaced as a whole per date."""

from __future__ import annotations

import datetime as dt

from nightdesk.warehouse.clickhouse import Warehouse
from nightdesk.stories.factsheet import FactSheet


def save(wh: Warehouse, logical_date: dt.date, sheets: list[FactSheet],
         load_ids: dict[str, list[str]] | None = None) -> int:
    """Make the date's stories exactly ``sheets`` (a rerun replaces, never appends).

    A story selected before keeps its ``first_selected_at``; ``selected_at`` is now.

    :param load_ids: per story type, the loads its data came from (:mod:`nightdesk.stories.lineage`).
    """
    import pandas as pd

    now = pd.Timestamp.now(tz="UTC")
    first = dict(wh.query_rows(
        "SELECT story_id, min(first_selected_at) FROM stories WHERE logical_date = {d:Date} GROUP BY story_id",
        {"d": logical_date}))
    rows = pd.DataFrame(
        [
            {
                "logical_date": logical_date,
                "story_id": s.story_id,
                "story_type": s.story_type,
                "rank": rank,
                "score": s.score,
                "title": s.title,
                "facts_json": s.to_json(),
                "facts_digest": s.digest,
                "selected_at": now,
                "first_selected_at": _utc(first[s.story_id]) if s.story_id in first else now,
                "load_ids": (load_ids or {}).get(s.story_type, []),
            }
            for rank, s in enumerate(sheets, start=1)
        ]
    )
    with wh.scratch_table("stories") as scratch:
        wh.insert_df(scratch, rows)
        wh.swap_partition("stories", f"'{logical_date.isoformat()}'", scratch)
    return len(rows)


def _utc(value):  # -> pd.Timestamp
    import pandas as pd

    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def load(wh: Warehouse, logical_date: dt.date) -> list[FactSheet]:
    """The date's fact sheets in rank order."""
    rows = wh.query_rows(
        "SELECT facts_json FROM stories WHERE logical_date = {d:Date} ORDER BY rank", {"d": logical_date}
    )
    return [FactSheet.from_json(text) for (text,) in rows]
