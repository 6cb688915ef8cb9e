"""
### Nightdesk publish: editors' approvals -> the public site, and the review trail -> ClickHouse

Runs every morning at 07:00 UTC, after the editors' morning review of the drafts the
night's content run put in the review queue; trigger it by hand (for any logical date)
to publish at once. Each run:

1. **export_review_events**: copies the review queue's new audit events (enqueue,
   claims, edits, approvals, rejections, withdrawals...) into ``review_events``;
2. **publish**: builds every story whose headline and brief are approved (summary,
   marketing line and cover go with it when approved), writes the static site (pages,
   JSON Feed, Atom, covers, each day's newsletter issue and social posts of the approved
   marketing lines) to ``NIGHTDESK_OUTPUT_URL``, linked at ``NIGHTDESK_SITE_URL``, from
   *all* publishable stories, so a withdrawn story disappears, marks the drafts
   ``published`` and logs each story and channel issue whose files changed in
   ``publications`` (``published`` / ``updated`` / ``withdrawn``);
3. **export_review_events** again (``export_publish_events``), so the ``publish``
   audit events of this run reach the warehouse in the same run.

The site is not per date: the logical date only labels the run. Publishing again with
nothing newly approved or withdrawn rewrites no file and logs no row.

Only Airflow writes to the warehouse: the review UI runs in its own process and the
embedded chDB engine admits one process per data directory, so the audit trail reaches
ClickHouse here (or via ``nightdesk publish``, which runs this DAG), never from the UI.
Both warehouse tasks use the ``warehouse`` pool.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import CronDataIntervalTimetable, dag, task

from nightdesk.assets import warehouse_pool

DEFAULT_ARGS = {
    "owner": "nightdesk",
    "pool": warehouse_pool(),
    "retries": 2,
    "retry_delay": dt.timedelta(minutes=1),
}


@dag(
    dag_id="nightdesk_publish",
    # Logical date D runs at 07:00 on D+1: after the night's ELT and content for D and
    # the editors' first review.
    schedule=CronDataIntervalTimetable("0 7 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2013, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["nightdesk", "publish", "review"],
    doc_md=__doc__,
)
def nightdesk_publish() -> None:
    @task
    def export_review_events() -> dict[str, int]:
        """Append the review queue's new audit events to ``review_events``."""
        from nightdesk.warehouse import clickhouse
        from nightdesk.review_flow.events import export_events

        return export_events(clickhouse.connect())

    @task
    def publish(run_id: str | None = None) -> dict:
        """Write the site from every publishable story; mark and log what changed."""
        from nightdesk.warehouse import clickhouse
        from nightdesk.review_flow.release import release

        report = release(clickhouse.connect(), dag_id="nightdesk_publish", dag_run_id=run_id or "")
        print(f"{len(report.stories)} stories on {report.output_url}: {len(report.written)} files written, "
              f"{len(report.removed)} removed, {len(report.marked_published)} drafts marked published, "
              f"log rows {report.logged or 'none'}; waiting for approval: {len(report.waiting)}")
        if report.broken:
            raise RuntimeError(f"{len(report.broken)} approved stories could not be published (everything else "
                               f"was): {report.broken}")
        return {"stories": len(report.stories), "written": len(report.written), "removed": len(report.removed),
                "marked_published": len(report.marked_published), "logged": report.logged,
                "waiting": len(report.waiting)}

    # The second export carries this run's own ``publish`` audit events.
    export_review_events() >> publish() >> export_review_events.override(task_id="export_publish_events")()


nightdesk_publish()
