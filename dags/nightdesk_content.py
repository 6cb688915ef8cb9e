"""
### Nightdesk content: the day's validated marts -> stories -> drafts of five kinds

Runs when the ELT DAG updates the ``MARTS`` Asset (after its quality gate passed), or by
hand for any logical date. For each date:

1. choose the stories: every story type's candidates query over the marts, top N by
   newsworthiness, each turned into a fact sheet (stored in ``stories``);
2. write the drafts in one GPU task (``write_drafts``), on a GPU worker when there is one:
   the text drafts (headline, brief, summary, marketing copy) with the configured
   language model, batched over all stories; the cover images (a diffusion model when
   configured, else a chart of the story's key figures); then check every draft
   (figures against the fact sheet, form, claims, PII, markup, near-duplicates, images),
   regenerate failures with a new seed, a bounded number of times, then fall back to
   the data-to-text templates (or the chart cover). One task, because Airflow 3 starts a
   fresh process per task: each model loads once, and the task log says what it cost;
3. put every checked draft, with its check results, in the editors' review queue
   (failed ones marked as failing: editors can fix them but not approve them as is).

Every model call is logged in ``generation_log``; drafts land in ``drafts`` with their
fact sheet; every row records the try of the task that wrote it. Work is saved as each
writer finishes it and what is left is read back from the warehouse, so a rerun or a
restarted task (even one killed mid-write) finishes the day and skips what is already
done: no duplicates, nothing lost but the work in flight. A draft that fails alone is
logged as an error without stopping the others and is owed its next attempt like a draft
that failed its checks; only one that even its fallback cannot write fails the task.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import TYPE_CHECKING

import pendulum
from airflow.sdk import dag, task

from nightdesk.assets import DRAFTS, GPU_POOL, MARTS, warehouse_pool
from nightdesk.settings import get_settings

if TYPE_CHECKING:
    from nightdesk.content.records import RunContext

# With CeleryExecutor, GPU tasks go to the workers listening on this queue.
GPU_QUEUE = os.environ.get("NIGHTDESK_GPU_QUEUE", "gpu")


@dag(
    dag_id="nightdesk_content",
    schedule=[MARTS],
    start_date=pendulum.datetime(2013, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "nightdesk", "retries": 2, "retry_delay": get_settings().content_retry_delay},
    tags=["nightdesk", "content"],
    doc_md=__doc__,
)
def nightdesk_content() -> None:
    @task(pool=warehouse_pool())
    def choose_stories(ds: str | None = None, triggering_asset_events=None) -> list[str]:
        """Resolve the dates to write about, then select and store their stories."""
        from nightdesk.warehouse import clickhouse
        from nightdesk.content.produce import choose_stories as choose

        if ds:
            dates = [ds]
        else:
            events = triggering_asset_events[MARTS] if triggering_asset_events else []
            dates = sorted({e.extra["logical_date"] for e in events if e.extra.get("logical_date")})
        if not dates:
            raise ValueError("no logical date: trigger with one, or from a MARTS event that carries it")
        wh = clickhouse.connect()
        for day in dates:
            print(day, choose(wh, dt.date.fromisoformat(day)))
        return dates

    def _run_context(day: str, run_id: str | None, ti) -> RunContext:
        """Which run and which try of the task the rows written for ``day`` belong to."""
        from nightdesk.content.records import RunContext

        return RunContext(dt.date.fromisoformat(day), "nightdesk_content", run_id or "", ti.try_number if ti else 1)

    @task(pool=GPU_POOL, queue=GPU_QUEUE, outlets=[DRAFTS])
    def write_drafts(dates: list[str], run_id: str | None = None, ti=None, outlet_events=None) -> dict:
        """Text, covers, then checks with bounded regeneration and fallback, sharing the loaded models."""
        from nightdesk.warehouse import clickhouse
        from nightdesk.content.night import write_drafts as write

        result = write(clickhouse.connect(), [_run_context(day, run_id, ti) for day in dates])
        outlet_events[DRAFTS].extra = {"logical_dates": dates}
        return result

    @task(pool=warehouse_pool())
    def enqueue_for_review(dates: list[str]) -> dict:
        """Hand the checked drafts, with their check results, to the editors' review queue."""
        from dataclasses import asdict

        from nightdesk.warehouse import clickhouse
        from nightdesk.review_flow.enqueue import enqueue_date

        wh = clickhouse.connect()
        return {day: asdict(enqueue_date(wh, dt.date.fromisoformat(day))) for day in dates}

    dates = choose_stories()
    write_drafts(dates) >> enqueue_for_review(dates)


nightdesk_content()
