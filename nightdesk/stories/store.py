"""The ``stories`` table: the day's chosen fact sheets, replaced as a whole per date."""

from __future__ import annotations

import datetime as dt

from nightdesk.warehouse.clickhouse import Warehouse
from nightdesk.stories.factsheet import FactSheet


def save(wh: Warehouse, logical_date: dt.date, sheets: list[FactSheet]) -> int:
    """Make the date's stories exactly ``sheets`` (a rerun replaces, never appends)."""
    import pandas as pd

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
                "selected_at": pd.Timestamp.now(tz="UTC"),
            }
            for rank, s in enumerate(sheets, start=1)
        ]
    )
    with wh.scratch_table("stories") as scratch:
        wh.insert_df(scratch, rows)
        wh.swap_partition("stories", f"'{logical_date.isoformat()}'", scratch)
    return len(rows)


def load(wh: Warehouse, logical_date: dt.date) -> list[FactSheet]:
    """The date's fact sheets in rank order."""
    rows = wh.query_rows(
        "SELECT facts_json FROM stories WHERE logical_date = {d:Date} ORDER BY rank", {"d": logical_date}
    )
    return [FactSheet.from_json(text) for (text,) in rows]
