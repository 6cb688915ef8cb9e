"""Great Expectations gates on warehouse tables, one suite per table per logical date.

Suites are declared in ``warehouse/expectations/<table>.yml`` next to the SQL they guard:
GX expectation names in snake_case with their arguments, plus four Nightdesk
directives that need the warehouse to compute their expected value:

* ``row_count_matches_load: <source>`` - the table's rows for the date equal the rows the
  last successful load of ``source`` reported (source rows minus quarantined);
* ``row_count_matches_table: {table, date_column}`` - as many rows as another table has
  for the date (one mart row per staging row of that grain);
* ``column_sum_matches_rows: {column, table, date_column}`` - e.g. a mart's ``flights``
  adds up to the staging table's row count for the date;
* ``fresh_within_hours: N`` - the date's rows were loaded within the last N hours.

``$logical_date`` anywhere in an argument is replaced by the run's date.

An empty day is decided before GX runs (GX 1.x reports every column of an empty batch
as missing): a table with no rows for the date passes with the verdict "no rows" when
every source behind it is absent that day (not due, or an allowed empty day; see
:mod:`nightdesk.sources.presence`), and fails with "no rows" when a source behind it
did load rows. The raw gate also fails when no source has rows at all: the date is
outside the data. Suites are read from ``warehouse/expectations`` and the folders named by
``NIGHTDESK_EXTRA_EXPECTATIONS``. Each run's full
result is kept in ``quality_results`` (queryable) and in GX Data Docs under
``<data_dir>/gx``; a failed suite raises :class:`QualityGateFailed`, which fails the task
and so stops everything downstream for that date.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nightdesk.warehouse.clickhouse import Warehouse, check_identifier
from nightdesk.settings import DECLARATION_DIRS, get_settings
from nightdesk.sources.presence import DayLoads, day_loads

EXPECTATIONS_DIR = DECLARATION_DIRS["expectations"]
_DIRECTIVES = {"row_count_matches_load", "row_count_matches_table", "column_sum_matches_rows", "fresh_within_hours"}


class QualityGateFailed(RuntimeError):
    """A suite failed; the message lists the failed expectations per table."""


@dataclass(frozen=True)
class Suite:
    table: str
    layer: str
    date_column: str
    expectations: tuple[dict[str, Any], ...]
    path: Path

    @property
    def name(self) -> str:
        return f"{self.table}_suite"


def load_suites(*directories: Path) -> list[Suite]:
    """Every declared suite (of ``directories``, default the project's and the extra
    folders); a malformed file is an error naming the file and entry."""
    import yaml

    suites = []
    paths = [p for d in directories or get_settings().declaration_dirs("expectations") for p in sorted(d.glob("*.yml"))]
    for path in paths:
        spec = yaml.safe_load(path.read_text())
        for key in ("table", "layer", "date_column", "expectations"):
            if key not in spec:
                raise ValueError(f"{path}: missing key {key!r}")
        for i, entry in enumerate(spec["expectations"]):
            if not isinstance(entry, dict) or len(entry) != 1:
                raise ValueError(f"{path}: expectation #{i + 1} must be a one-key mapping, got {entry!r}")
        suites.append(Suite(check_identifier(spec["table"]), spec["layer"], spec["date_column"],
                            tuple(spec["expectations"]), path))
    return suites


def gate(wh: Warehouse, layer: str, logical_date: dt.date) -> dict[str, dict]:
    """Validate every suite of ``layer`` for the date; raise if any failed."""
    suites = [s for s in load_suites() if s.layer == layer]
    if not suites:
        raise ValueError(f"no expectation suites declared for layer {layer!r} in "
                         f"{', '.join(map(str, get_settings().declaration_dirs('expectations')))}")
    loads = day_loads(wh, logical_date)
    if layer == "raw" and not loads.with_rows():
        raise QualityGateFailed(f"no source has rows for {logical_date}: the date is outside the data "
                                f"({'; '.join(f'{s} {v.status}: {v.note}' for s, v in sorted(loads.verdicts.items())) or 'nothing loaded'})")
    inputs = _raw_inputs()
    outcomes = {s.table: validate_table(wh, s, logical_date, loads, inputs.get(s.table, {s.table}))
                for s in suites}
    failed = {t: o["failed_expectations"] for t, o in outcomes.items() if not o["success"]}
    if failed:
        detail = "; ".join(f"{t}: {', '.join(f)}" for t, f in failed.items())
        raise QualityGateFailed(
            f"quality gate for {layer} on {logical_date} failed: {detail}. "
            f"Results: table quality_results, Data Docs under {_docs_dir()}"
        )
    return outcomes


def validate_table(wh: Warehouse, suite: Suite, logical_date: dt.date, loads: DayLoads | None = None,
                   raw_tables: frozenset[str] | set[str] | None = None) -> dict:
    """Run one suite on one date's rows of its table; store and return the outcome.

    :param raw_tables: the raw tables behind the suite's table (itself for a raw table),
        to tell an allowed empty day from a broken one.
    """
    import pandas as pd

    df = wh.query_df(
        "SELECT * FROM {t:Identifier} WHERE {c:Identifier} = {d:Date}",
        {"t": suite.table, "c": suite.date_column, "d": logical_date},
    )
    verdict = ""
    if df.empty:
        loads = loads or day_loads(wh, logical_date)
        absent = loads.absence(raw_tables or {suite.table})
        verdict = f"no rows: {absent}" if absent else (
            f"no rows for {logical_date}, although its sources "
            f"({', '.join(loads.sources_of(raw_tables or {suite.table})) or 'none declared'}) are not absent")
        result = {"success": absent is not None, "results": [], "verdict": verdict}
        failed = [] if absent else [verdict]
    else:
        expectations = [_expectation(wh, suite, e, logical_date) for e in suite.expectations]
        result = _run_gx(suite, df, expectations, logical_date)
        failed = [_failure_text(r) for r in result["results"] if not r["success"]]
    outcome = {
        "validation_id": uuid.uuid4().hex,
        "suite": suite.name,
        "table_name": suite.table,
        "logical_date": logical_date,
        "success": int(result["success"]),
        "evaluated": len(result["results"]),
        "failed": len(failed),
        "failed_expectations": failed,
        "result_json": json.dumps(result, default=str),
        "validated_at": pd.Timestamp.now(tz="UTC"),
    }
    wh.insert_df("quality_results", pd.DataFrame([outcome]))
    return {"success": bool(result["success"]), "evaluated": outcome["evaluated"],
            "failed_expectations": failed, "rows": len(df), **({"verdict": verdict} if verdict else {})}


def _raw_inputs() -> dict[str, frozenset[str]]:
    from nightdesk.elt.transform import discover, raw_inputs

    return raw_inputs(discover())


def _expectation(wh: Warehouse, suite: Suite, entry: dict, logical_date: dt.date) -> tuple[str, dict]:
    """Turn one declared entry into (GX expectation name, kwargs), resolving directives."""
    (name, args), = entry.items()
    args = _substitute(args or {}, logical_date)
    if name not in _DIRECTIVES:
        return name, args
    date = {"d": logical_date}
    if name == "row_count_matches_load":
        loaded = wh.scalar(
            "SELECT argMax(rows_loaded, finished_at) FROM load_log "
            "WHERE source = {s:String} AND logical_date = {d:Date} AND status = 'ok'",
            {"s": args, **date},
        )
        return "expect_table_row_count_to_equal", {"value": int(loaded or 0)}
    if name in ("row_count_matches_table", "column_sum_matches_rows"):
        rows = wh.scalar(
            "SELECT count() FROM {t:Identifier} WHERE {c:Identifier} = {d:Date}",
            {"t": args["table"], "c": args["date_column"], **date},
        )
        if name == "row_count_matches_table":
            return "expect_table_row_count_to_equal", {"value": int(rows)}
        return "expect_column_sum_to_be_between", {"column": args["column"], "min_value": rows, "max_value": rows}
    # fresh_within_hours
    import pandas as pd

    # _loaded_at arrives as naive datetime64 holding UTC.
    oldest_ok = pd.Timestamp.now(tz="UTC").tz_localize(None) - pd.Timedelta(hours=float(args))
    # Every row of the date was loaded recently (vacuously true for a day with no rows,
    # such as a market holiday; row counts are the row-count directives' job).
    return "expect_column_values_to_be_between", {"column": "_loaded_at", "min_value": oldest_ok}


def _substitute(value: Any, logical_date: dt.date) -> Any:
    if isinstance(value, str) and value == "$logical_date":
        import pandas as pd

        return pd.Timestamp(logical_date)  # Date columns arrive as naive datetime64
    if isinstance(value, dict):
        return {k: _substitute(v, logical_date) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, logical_date) for v in value]
    return value


def _run_gx(suite: Suite, df, expectations: list[tuple[str, dict]], logical_date: dt.date) -> dict:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    context = gx.get_context(mode="file", project_root_dir=str(get_settings().data_dir))
    context.variables.progress_bars = gx.data_context.types.base.ProgressBarsConfig(globally=False)
    source = context.data_sources.add_or_update_pandas("nightdesk_warehouse")
    asset = next((a for a in source.assets if a.name == suite.table), None) or source.add_dataframe_asset(suite.table)
    batch = next((b for b in asset.batch_definitions if b.name == "logical_date"), None) \
        or asset.add_batch_definition_whole_dataframe("logical_date")
    gx_suite = gx.ExpectationSuite(name=suite.name)
    for name, kwargs in expectations:
        gx_suite.add_expectation(_gx_class(gx, name, suite)(**kwargs))
    gx_suite = context.suites.add_or_update(gx_suite)
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=f"{suite.table}_daily", data=batch, suite=gx_suite)
    )
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=f"{suite.table}_gate",
            validation_definitions=[definition],
            actions=[gx.checkpoint.UpdateDataDocsAction(name="update_data_docs")],
            result_format="SUMMARY",
        )
    )
    run = checkpoint.run(batch_parameters={"dataframe": df},
                         run_id=gx.core.run_identifier.RunIdentifier(run_name=f"{suite.table}-{logical_date}"))
    (validation,) = run.run_results.values()
    return validation.to_json_dict()


def _gx_class(gx, name: str, suite: Suite):
    class_name = "".join(part.capitalize() for part in name.split("_"))
    cls = getattr(gx.expectations, class_name, None)
    if cls is None:
        raise ValueError(f"{suite.path}: unknown expectation {name!r} (no gx.expectations.{class_name})")
    return cls


def _failure_text(result: dict) -> str:
    """``expectation(args)``, plus what failed: unexpected count or the error raised."""
    config = result["expectation_config"]
    shown = {k: v for k, v in config["kwargs"].items() if k != "batch_id" and v is not None}
    text = f"{config['type']}({', '.join(f'{k}={v}' for k, v in shown.items())})"
    observed = result.get("result", {})
    if "unexpected_count" in observed:
        text += f" unexpected rows: {observed['unexpected_count']}"
    elif "observed_value" in observed:
        text += f" observed: {observed['observed_value']}"
    errors = [e for e in (result.get("exception_info") or {}).values() if isinstance(e, dict) and e.get("raised_exception")]
    if errors:
        text += f" error: {errors[0].get('exception_message', 'see result_json')}"
    return text


def _docs_dir() -> Path:
    return get_settings().data_dir / "gx" / "uncommitted" / "data_docs" / "local_site"


__all__ = ["QualityGateFailed", "Suite", "gate", "load_suites", "validate_table"]

