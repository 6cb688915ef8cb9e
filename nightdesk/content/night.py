"""The night's GPU work in one task: text drafts, covers, then checks with regeneration.

Airflow 3 starts a fresh process for every task, so a model loaded in one task is loaded
again in the next. Generation, covers and regeneration therefore run in one task with
one set of writers (:class:`~nightdesk.content.writers.Writers`): each model loads once
per try, and the task logs what each load cost. Splitting them buys nothing in
resumability: every step reads what is left from the warehouse and saves as it goes,
so a retry of this task redoes only what its failed try did not save.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from nightdesk.warehouse.clickhouse import Warehouse
from nightdesk.content.produce import produce
from nightdesk.content.qc import check_and_repair
from nightdesk.content.records import RunContext
from nightdesk.content.writers import Writers
from nightdesk.settings import Settings, get_settings
from nightdesk.stories.catalog import COVER_KIND, TEXT_KINDS, load_catalog

log = logging.getLogger(__name__)


def write_drafts(wh: Warehouse, runs: Sequence[RunContext], settings: Settings | None = None) -> dict[str, dict]:
    """Write, check and repair every draft of each run's date; returns counts per date.

    A draft that fails alone (logged as an ``error`` row) is owed its next attempt by the
    checks' repair rounds, as a draft that fails its checks is, and so reaches the
    template or chart fallback; only a draft that even its fallback could not write fails
    the task, naming how many, after everything else is written, so Airflow's retry
    writes only those.
    """
    settings = settings or get_settings()
    writers = Writers(load_catalog(), settings)
    counts: dict[str, dict] = {}
    try:
        for run in runs:
            counts[run.logical_date.isoformat()] = {
                "text": produce(wh, run, TEXT_KINDS, settings, writers),
                "covers": produce(wh, run, (COVER_KIND,), settings, writers),
                "checks": check_and_repair(wh, run, settings, writers),
            }
    finally:
        log_load_times(writers)
    failed = {day: stages["checks"]["failed"] for day, stages in counts.items()}
    if any(failed.values()):
        raise ItemsFailed(failed)
    return counts


def log_load_times(writers: Writers) -> None:
    """One line saying what loading each model cost this task (the cost of a task process)."""
    loads = writers.load_times_ms()
    log.info("model load time in this task: %s",
             "; ".join(f"{model} {ms:.0f} ms" for model, ms in loads.items()) or "no model loaded")


class ItemsFailed(RuntimeError):
    """Some drafts failed alone (logged as errors); everything else of the night was written."""

    def __init__(self, failed: dict[str, int]) -> None:
        per_day = ", ".join(f"{day}: {n}" for day, n in failed.items() if n)
        super().__init__(f"drafts that failed alone, logged as errors and left to the next try ({per_day}); "
                         "generation_log has each error")
