"""
### Nightdesk ELT: sources -> raw -> staging -> marts, gated by Great Expectations

For the run's logical date (the day the data describes):

1. refuse a date before the earliest logical date (``NIGHTDESK_EARLIEST_DATE``) or one no
   source is due on; apply pending warehouse migrations;
2. extract every source declared in ``warehouse/sources/*.yml`` that is due on the date
   (by its calendar) and load it into its raw table; a source not due is skipped; a due
   source with no rows gets its declared empty-day verdict; rows that do not fit the
   source's schema go to ``quarantine`` with a reason (nothing is dropped);
3. validate raw with its GX suites ("no rows" where a source is absent that day);
4. rebuild the staging models, then the marts, from SQL files, in dependency order, for
   the sources present (models of absent sources are cleared for the date);
5. validate the marts; only if they pass is the ``MARTS`` Asset updated, which starts
   the content DAG for that date (story types whose marts are empty yield no stories).

Every step replaces the logical date's partition, so a rerun or a backfill never
duplicates rows. Warehouse tasks share the one-slot ``warehouse`` pool because the
embedded engine (chDB) allows one process per data directory.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import CronDataIntervalTimetable, dag, task

from nightdesk.assets import MARTS, warehouse_pool
from nightdesk.settings import get_settings
from nightdesk.sources.catalog import source_names

EARLIEST = get_settings().earliest_date

DEFAULT_ARGS = {
    "owner": "nightdesk",
    "pool": warehouse_pool(),
    "retries": 2,
    "retry_delay": dt.timedelta(minutes=2),
}


def _date(ds: str | None) -> dt.date:
    if not ds:
        raise ValueError("this task needs a logical date: trigger the run with one")
    return dt.date.fromisoformat(ds)


@dag(
    dag_id="nightdesk_elt",
    # The interval timetable makes the logical date the day being loaded (the run for
    # 2013-03-01 starts at midnight after that day ends), as ELT expects.
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(EARLIEST.year, EARLIEST.month, EARLIEST.day, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["nightdesk", "elt"],
    doc_md=__doc__,
)
def nightdesk_elt() -> None:
    @task
    def prepare_warehouse(ds: str | None = None) -> list[str]:
        from nightdesk.elt import pipeline

        return pipeline.prepare_warehouse(_date(ds))

    @task(max_active_tis_per_dagrun=1)
    def extract_load(source_name: str, ds: str | None = None) -> dict:
        from nightdesk.elt import pipeline

        return pipeline.extract_load(source_name, _date(ds))

    # Runs when every due source loaded, even if others were skipped as not due.
    @task(trigger_rule="none_failed")
    def validate_raw(ds: str | None = None) -> dict:
        from nightdesk.elt import pipeline

        return pipeline.quality_gate("raw", _date(ds))

    @task
    def transform_staging(ds: str | None = None) -> dict[str, int | str]:
        from nightdesk.elt import pipeline

        return pipeline.transform("staging", _date(ds))

    @task
    def transform_marts(ds: str | None = None) -> dict[str, int | str]:
        from nightdesk.elt import pipeline

        return pipeline.transform("marts", _date(ds))

    @task(outlets=[MARTS])
    def validate_marts(ds: str | None = None, outlet_events=None) -> dict:
        from nightdesk.elt import pipeline

        result = pipeline.quality_gate("marts", _date(ds))
        outlet_events[MARTS].extra = {"logical_date": ds}
        return result

    loaded = prepare_warehouse() >> extract_load.expand(source_name=source_names())
    loaded >> validate_raw() >> transform_staging() >> transform_marts() >> validate_marts()


nightdesk_elt()
