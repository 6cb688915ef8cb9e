"""Pick the day's stories: run each story type's candidates query, keep the top N by score,
and turn each chosen row into a fact sheet.

A story type declares when there is no story. Its ``params:`` (story.yml) are bound as
query parameters of its candidates.sql, next to ``logical_date``; a candidate row whose
optional ``no_story_reason`` column is not empty is not news, and the reason is reported.
So a day without a story says why ("LGA: 2 earlier days with flights in the previous 7
days, 5 needed") instead of promoting the least dull candidate.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import Any

from nightdesk.warehouse.clickhouse import Warehouse, WarehouseError
from nightdesk.stories.catalog import Catalog, StoryDeclarationError, StoryType
from nightdesk.stories.factsheet import Fact, FactSheet, format_value

log = logging.getLogger(__name__)

NO_STORY_COLUMN = "no_story_reason"
_PLACEHOLDER = re.compile(r"\{(\w+):")


@dataclass(frozen=True)
class Selection:
    """The date's fact sheets, and for every story type that yielded none, why not."""

    sheets: list[FactSheet]
    no_story: dict[str, str]


def select_stories(wh: Warehouse, catalog: Catalog, logical_date: dt.date) -> list[FactSheet]:
    """The date's fact sheets for every story type, best first within each type.

    Story types without a story that day are logged with their reason; use
    :func:`select_day` to get the reasons as data.
    """
    return select_day(wh, catalog, logical_date).sheets


def select_day(wh: Warehouse, catalog: Catalog, logical_date: dt.date) -> Selection:
    """Every story type's fact sheets for the date, with the reason for each type that has none."""
    sheets: list[FactSheet] = []
    no_story: dict[str, str] = {}
    for story in catalog.story_types.values():
        found, reason = _stories_of(wh, story, logical_date)
        sheets += found
        if not found:
            no_story[story.name] = reason
            log.info("no %s story on %s: %s", story.name, logical_date, reason)
    return Selection(sheets, no_story)


def _stories_of(wh: Warehouse, story: StoryType, logical_date: dt.date) -> tuple[list[FactSheet], str]:
    sql_path = story.path.parent / "candidates.sql"
    try:
        df = wh.query_df(story.candidates_sql, query_params(story, logical_date))
    except WarehouseError as exc:
        raise StoryDeclarationError(f"{sql_path} failed: {exc}") from exc
    if df.empty:  # no candidates that day (a market holiday, say); the result has no columns
        return [], f"no candidates in the marts for {logical_date}"
    missing = {"story_key", "score", *(f.column for f in story.facts)} - set(df.columns)
    if missing:
        raise StoryDeclarationError(f"{sql_path}: result lacks columns {sorted(missing)}")
    if NO_STORY_COLUMN in df.columns:
        reasons = df[NO_STORY_COLUMN].fillna("")
        rejected = df[reasons != ""].sort_values("story_key")
        df = df[reasons == ""]
        if df.empty:
            return [], "; ".join(rejected[NO_STORY_COLUMN])
    top = df.sort_values(["score", "story_key"], ascending=[False, True]).head(story.top_n)
    return sheets_from_rows(story, top.to_dict("records"), logical_date), ""


def sheets_from_rows(story: StoryType, rows: list[dict[str, Any]], logical_date: dt.date) -> list[FactSheet]:
    """The fact sheets of candidate ``rows`` (one per row, with ``story_key`` and every fact's
    column), as the selection makes them: also how benchmarks make synthetic stories."""
    labels = _labels(story)
    return [_factsheet(story, labels, row, logical_date) for row in rows]


def query_params(story: StoryType, logical_date: dt.date) -> dict[str, Any]:
    """``logical_date`` plus the story's declared params, checked against the query's placeholders.

    A declared param the query never uses, or a placeholder nobody declared, is an error
    naming the file: a threshold that silently does nothing is worse than none.
    """
    if "logical_date" in story.params:
        raise StoryDeclarationError(f"{story.path}: params may not set 'logical_date'; the run does")
    for name, value in story.params.items():
        if not isinstance(value, int | float | str) or isinstance(value, bool):
            raise StoryDeclarationError(f"{story.path}: params.{name} must be a number or a string, not {value!r}")
    params = {**story.params, "logical_date": logical_date}
    used = set(_PLACEHOLDER.findall(story.candidates_sql))
    sql_path = story.path.parent / "candidates.sql"
    undeclared = sorted(used - set(params))
    if undeclared:
        raise StoryDeclarationError(f"{sql_path} uses {undeclared}, not declared in {story.path} params")
    if set(params) - used:
        raise StoryDeclarationError(f"{story.path}: params {sorted(set(params) - used)} are not used by {sql_path}")
    return params


def _labels(story: StoryType) -> dict[str, str]:
    """Fact labels with the story's params filled in ("the previous {{ window_days }} days")."""
    from jinja2 import Environment, StrictUndefined, UndefinedError

    env = Environment(autoescape=False, undefined=StrictUndefined)
    labels = {}
    for spec in story.facts:
        try:
            labels[spec.name] = env.from_string(spec.label or spec.name).render(story.params)
        except UndefinedError as exc:
            raise StoryDeclarationError(f"{story.path}: label of fact {spec.name!r}: {exc.message}") from exc
    return labels


def _factsheet(story: StoryType, labels: dict[str, str], row: dict[str, Any], logical_date: dt.date) -> FactSheet:
    from jinja2 import Environment

    facts = tuple(
        Fact(name=f.name, kind=f.kind, value=_plain(row[f.column]), unit=f.unit, decimals=f.decimals,
             display=format_value(f.kind, _plain(row[f.column]), f.decimals, f.unit), label=labels[f.name],
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
