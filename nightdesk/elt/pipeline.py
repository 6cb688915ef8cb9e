"""What the ELT DAG's tasks do, one function per task, so the DAG file stays a thin plan.

Each function opens the warehouse itself (lazily: chDB must not be imported by the
scheduler or DAG processor) and returns a small JSON-able summary for XCom and logs.
Errors that asking again cannot fix (a date outside the schedule, a missing file, a
refused empty day, a failed gate) fail the task at once, with no retry.
"""

from __future__ import annotations

import datetime as dt


def check_date(logical_date: dt.date) -> None:
    """Refuse a date before the earliest logical date or one no source is due on."""
    from airflow.sdk.exceptions import AirflowFailException

    from nightdesk.settings import get_settings
    from nightdesk.sources.catalog import load_sources

    earliest = get_settings().earliest_date
    if logical_date < earliest:
        raise AirflowFailException(f"{logical_date} is before the earliest logical date {earliest} "
                                   "(NIGHTDESK_EARLIEST_DATE): nothing to run")
    sources = load_sources()
    reasons = {name: s.calendar.not_due_reason(logical_date) for name, s in sources.items()}
    if all(reasons.values()):
        detail = "; ".join(f"{name}: {why}" for name, why in reasons.items())
        raise AirflowFailException(f"no source is due on {logical_date}, so the date is outside the schedule ({detail})")


def prepare_warehouse(logical_date: dt.date) -> list[str]:
    """Check the date, apply pending warehouse migrations and load the device prices;
    returns the names of the migrations applied now."""
    from nightdesk.warehouse import clickhouse, migrations
    from nightdesk.warehouse.prices import load_device_prices

    check_date(logical_date)
    wh = clickhouse.connect()
    applied = [m.path.name for m in migrations.migrate(wh)]
    load_device_prices(wh)
    return applied


def extract_load(source_name: str, logical_date: dt.date) -> dict:
    """Extract one source for the date into its raw table (bad rows to quarantine).

    A source not due on the date is recorded as skipped and the task is skipped.
    """
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    from nightdesk.warehouse import clickhouse
    from nightdesk.elt.load import EmptyDayRefused, load_source, record_skip
    from nightdesk.sources.catalog import load_sources
    from nightdesk.sources.schema import PermanentSourceError

    sources = load_sources()
    if source_name not in sources:
        raise AirflowFailException(f"unknown source {source_name!r}; known: {sorted(sources)}")
    source = sources[source_name]
    wh = clickhouse.connect()
    not_due = source.calendar.not_due_reason(logical_date)
    if not_due:
        record_skip(wh, source, logical_date, f"not due: {not_due}")
        raise AirflowSkipException(f"{source_name} is not due on {logical_date}: {not_due}")
    try:
        return load_source(wh, source, logical_date).as_dict()
    except (EmptyDayRefused, PermanentSourceError) as exc:
        # A refused empty day or a missing/unreadable file: a retry cannot fix it.
        raise AirflowFailException(str(exc)) from exc


def transform(layer: str, logical_date: dt.date) -> dict[str, int | str]:
    """Rebuild the layer's models for the sources present on the date; returns rows per model."""
    from nightdesk.warehouse import clickhouse
    from nightdesk.elt.transform import run_layer

    return run_layer(clickhouse.connect(), layer, logical_date)


def quality_gate(layer: str, logical_date: dt.date) -> dict:
    """Validate the layer's tables with their GX suites; fails the task if any suite fails.

    A failed suite is a fact about the data, not a transient error: the task fails at
    once instead of retrying, and everything downstream for the date stops.
    """
    from airflow.sdk.exceptions import AirflowFailException

    from nightdesk.warehouse import clickhouse
    from nightdesk.elt.quality import QualityGateFailed, gate

    try:
        return gate(clickhouse.connect(), layer, logical_date)
    except QualityGateFailed as exc:
        raise AirflowFailException(str(exc)) from exc
