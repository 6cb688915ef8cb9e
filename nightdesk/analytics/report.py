"""``nightdesk report --start D --end D``: one self-contained HTML file of charts and their numbers.

The file must open on a laptop with no network (an analyst mails it, a reviewer opens it
on a train): charts are inline SVG (nightdesk.analytics.svg), styles are inline, and
nothing in it points anywhere else, which tests/test_analyst_views.py asserts. Every chart
is followed by the table of the numbers it draws, so the figures can be read and copied.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from nightdesk.analytics import svg
from nightdesk.analytics.views import ANALYST_SQL, sql_frame
from nightdesk.settings import WAREHOUSE_DIR
from nightdesk.warehouse.clickhouse import Warehouse

if TYPE_CHECKING:
    import pandas as pd

TEMPLATES = Path(__file__).with_name("templates")
FAILURES_SQL = WAREHOUSE_DIR / "sql" / "cookbook" / "03_failure_reasons_ranked.sql"
TOP_REASONS = 10


@dataclass(frozen=True)
class Cell:
    text: str
    num: bool


@dataclass(frozen=True)
class Chart:
    """One chart of the report and the table of the numbers it draws."""

    id: str
    title: str
    note: str
    svg: Markup
    columns: Sequence[str]
    rows: Sequence[Sequence[Cell]]


def _cell(value: Any) -> Cell:
    if isinstance(value, float):
        return Cell("" if math.isnan(value) else f"{value:g}", True)
    if isinstance(value, int):
        return Cell(str(value), True)
    if hasattr(value, "strftime"):
        return Cell(f"{value:%Y-%m-%d}", False)
    return Cell(str(value), False)


def _chart(chart_id: str, title: str, note: str, drawing: str, df: pd.DataFrame) -> Chart:
    rows = [[_cell(v.item() if hasattr(v, "item") else v) for v in row] for row in df.itertuples(index=False)]
    return Chart(chart_id, title, note, Markup(drawing), list(df.columns), rows)


def _dates(df: pd.DataFrame) -> list[dt.date]:
    """The days of the range that have rows (an empty day would draw a flat gap)."""
    return sorted({d.date() if hasattr(d, "date") else d for d in df["logical_date"]}) if len(df) else []


def _rate_chart(df: pd.DataFrame, rate: str, count: str) -> str:
    days = _dates(df)
    series: dict[str, list[float | None]] = {}
    for (kind, version), part in df[df[count] > 0].groupby(["content_kind", "prompt_version"]):
        by_day = {d.date() if hasattr(d, "date") else d: r for d, r in zip(part["logical_date"], part[rate])}
        series[f"{kind} {version[:8]}"] = [by_day.get(d) for d in days]
    return svg.line_chart([f"{d:%m-%d}" for d in days], series, label=rate.replace("_", " ") + " by prompt version")


def build(start: dt.date, end: dt.date, wh: Warehouse | None = None) -> list[Chart]:
    """The report's charts for logical dates ``start .. end`` (inclusive)."""
    params = {"start": start, "end": end}
    rates = sql_frame(ANALYST_SQL / "report_daily_rates.sql", params, wh)
    latency = sql_frame(ANALYST_SQL / "report_latency.sql", params, wh)
    cost = sql_frame(ANALYST_SQL / "report_cost.sql", params, wh)
    failures = sql_frame(FAILURES_SQL, params, wh).head(TOP_REASONS)
    # a model id may be a long path: its last part names it on the axis (the table has it whole)
    labels = [f"{k} {m.rstrip('/').rsplit('/', 1)[-1]}" for m, k in zip(latency["model_id"], latency["content_kind"])]
    return [
        _chart("acceptance", "Editor acceptance by prompt version",
               "Share of decided drafts that editors approved, unedited or after an edit.",
               _rate_chart(rates, "acceptance_rate", "decided"),
               rates.loc[rates["decided"] > 0,
                         ["logical_date", "content_kind", "prompt_version", "decided", "accepted", "acceptance_rate"]]),
        _chart("pass-rate", "Check pass rate by prompt version",
               "Share of checked generations whose every check passed.",
               _rate_chart(rates, "pass_rate", "checked"),
               rates.loc[rates["checked"] > 0,
                         ["logical_date", "content_kind", "prompt_version", "checked", "checks_passed", "pass_rate"]]),
        _chart("latency", "Latency by model and kind",
               "p50, p95 and p99 of successful calls' latency_ms (a call's batch wall time).",
               svg.bar_chart(labels, {c: list(latency[c]) for c in ("p50_ms", "p95_ms", "p99_ms")},
                             label="latency by model and kind", fmt=",.0f"), latency),
        _chart("cost", "Cost per published item",
               "USD of device time (device_seconds / 3600 x the device's usd_per_hour) of every generation made "
               "for the published stories, failed attempts included; a device without a price adds nothing.",
               svg.bar_chart([f"{d:%m-%d}" for d in cost["logical_date"]],
                             {"USD per item": list(cost["cost_per_item_usd"].fillna(0))},
                             label="cost per published item", fmt=".2g"), cost),
        _chart("failures", "Check failure reasons",
               f"The {TOP_REASONS} most frequent failing findings (figures and quoted terms blanked).",
               svg.hbar_chart([f"{c}: {r}" for c, r in zip(failures["check_name"], failures["reason"])],
                              list(failures["failures"]), label="check failure reasons"), failures),
    ]


def render(start: dt.date, end: dt.date, wh: Warehouse | None = None) -> str:
    """The report as one HTML document."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return env.get_template("report.html").render(start=start, end=end, generated_at=now, charts=build(start, end, wh))


def write(start: dt.date, end: dt.date, output: Path, wh: Warehouse | None = None) -> Path:
    """Write the report to ``output`` (parent folders created) and return the path."""
    if end < start:
        raise ValueError(f"--end {end} is before --start {start}")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(start, end, wh), encoding="utf-8")
    return output
