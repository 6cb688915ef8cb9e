"""Run Nightdesk's DAGs through Airflow itself (``dag.test``), for the CLI and the tests.

``dag.test`` executes a real DAG run (task instances, XCom, Asset events recorded in the
metadata DB) inside this process, so it needs no scheduler or workers: the embedded
defaults work on a laptop, and the same DAGs run unchanged under a scheduler.

A run that could not do anything is a failure, never a success: a date before the
earliest logical date is refused up front (Airflow would create the run and schedule
none of its tasks), and a run in which no task ran reports so.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from nightdesk.settings import PROJECT_ROOT, get_settings

DAGS_DIR = PROJECT_ROOT / "dags"


@dataclass(frozen=True)
class RunOutcome:
    dag_id: str
    logical_date: dt.date
    state: str
    failed_tasks: tuple[str, ...]
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.state == "success"


def load_dags(dag_folder: Path = DAGS_DIR) -> dict:
    """Parse the dags folder; import errors are raised, naming the file."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(dag_folder))
    if bag.import_errors:
        details = "\n".join(f"{path}: {err}" for path, err in bag.import_errors.items())
        raise RuntimeError(f"DAG import errors:\n{details}")
    return bag.dags


def run_dag(dag_id: str, logical_date: dt.date, *, quiet: bool = True) -> RunOutcome:
    """Run one DAG for one logical date and report its state and failed tasks."""
    import pendulum

    earliest = get_settings().earliest_date
    if logical_date < earliest:
        return RunOutcome(dag_id, logical_date, "refused", (),
                          f"{logical_date} is before the earliest logical date {earliest} (NIGHTDESK_EARLIEST_DATE)")
    dag = load_dags()[dag_id]
    if quiet:
        for name in ("airflow", "airflow.task", "great_expectations", "sqlalchemy"):
            logging.getLogger(name).setLevel(logging.WARNING)
    when = pendulum.datetime(logical_date.year, logical_date.month, logical_date.day, tz="UTC")
    run = dag.test(logical_date=when, run_after=when)
    instances = run.get_task_instances()
    failed = tuple(sorted(ti.task_id for ti in instances if ti.state not in ("success", "skipped")))
    if not any(ti.state == "success" for ti in instances):
        return RunOutcome(dag_id, logical_date, "failed", failed, "no task ran successfully")
    return RunOutcome(dag_id, logical_date, str(run.state), failed)
