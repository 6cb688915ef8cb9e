"""Pick the day's stories: run each story type's candidates query, keep the top N by score,
and turn each chosen row into a fact sheet."""

from __future__ import annotations

import datetime as dt
from typing import Any

from nightdesk.clickhouse import Warehouse, WarehouseError
from nightdesk.stories.catalog import Catalog, StoryDeclarationError, StoryType
from nightdesk.stories.factsheet import Fact, FactSheet, format_value


def select_stories(wh: Warehouse, catalog: Catalog, logical_date: dt.date) -> list[FactSheet]:
    """The date's fact sheets for every story type, best first within each type."""
    sheets: list[FactSheet] = []
    for story in catalog.story_types.values():
        try:
            df = wh.query_df(story.candidates_sql, {"logical_date": logical_date})
        except WarehouseError as exc:
            raise StoryDeclarationError(f"{story.path.parent / 'candidates.sql'} failed: {exc}") from exc
        if df.empty:  # no candidates that day (a market holiday, say); the result has no columns
            continue
        missing = {"story_key", "score", *(f.column for f in story.facts)} - set(df.columns)
        if missing:
            raise StoryDeclarationError(f"{story.path.parent / 'candidates.sql'}: result lacks columns {sorted(missing)}")
        top = df.sort_values(["score", "story_key"], ascending=[False, True]).head(story.top_n)
        sheets += [_factsheet(story, row, logical_date) for row in top.to_dict("records")]
    return sheets


def _factsheet(story: StoryType, row: dict[str, Any], logical_date: dt.date) -> FactSheet:
    from jinja2 import Environment

    facts = tuple(
        Fact(name=f.name, kind=f.kind, value=_plain(row[f.column]), unit=f.unit, decimals=f.decimals,
             display=format_value(f.kind, _plain(row[f.column]), f.decimals, f.unit), label=f.label or f.name,
             names=f.names, directions=f.directions)
        for f in story.facts
    )
    displays = {f.name: f.display for f in facts}
    return FactSheet(
        story_id=f"{story.name}/{logical_date.isoformat()}/{row['story_key']}",
        story_type=story.name,
        logical_date=logical_date.isoformat(),
        title=Environment(autoescape=False).from_string(story.title).render(displays),
        facts=facts,
        score=float(row["score"]),
    )


def _plain(value: Any) -> Any:
    """numpy/pandas scalars and timestamps to JSON-able Python values; NaN to None."""
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value.item() if hasattr(value, "item") else value
