"""What the ELT DAG's tasks do, one function per task, so the DAG file stays a thin plan.

Each function opens the warehouse itself (lazily: chDB must not be imported by the
scheduler or DAG processor) and returns a small JSON-able summary for XCom and logs.
"""

from __future__ import annotations

import datetime as dt

from nightdesk.sources.catalog import SOURCES


def prepare_warehouse() -> list[str]:
    """Apply pending warehouse migrations; returns the names applied now."""
    from nightdesk import clickhouse, migrations

    return [m.path.name for m in migrations.migrate(clickhouse.connect())]


def extract_load(source_name: str, logical_date: dt.date) -> dict:
    """Extract one source for the date into its raw table (bad rows to quarantine)."""
    from nightdesk import clickhouse
    from nightdesk.load import load_source

    if source_name not in SOURCES:
        raise ValueError(f"unknown source {source_name!r}; known: {sorted(SOURCES)}")
    return load_source(clickhouse.connect(), SOURCES[source_name], logical_date).as_dict()


def transform(layer: str, logical_date: dt.date) -> dict[str, int]:
    """Rebuild every model of ``layer`` for the date; returns rows per model."""
    from nightdesk import clickhouse
    from nightdesk.transform import run_layer

    return run_layer(clickhouse.connect(), layer, logical_date)


def quality_gate(layer: str, logical_date: dt.date) -> dict:
    """Validate the layer's tables with their GX suites; fails the task if any suite fails.

    A failed suite is a fact about the data, not a transient error: the task fails at
    once instead of retrying, and everything downstream for the date stops.
    """
    from airflow.sdk.exceptions import AirflowFailException

    from nightdesk import clickhouse
    from nightdesk.quality import QualityGateFailed, gate

    try:
        return gate(clickhouse.connect(), layer, logical_date)
    except QualityGateFailed as exc:
        raise AirflowFailException(str(exc)) from exc
