"""Run Nightdesk's DAGs through Airflow itself (``dag.test``), for the CLI and the tests.

``dag.test`` executes a real DAG run (task instances, XCom, Asset events recorded in the
metadata DB) inside this process, so it needs no scheduler or workers: the embedded
defaults work on a laptop, and the same DAGs run unchanged under a scheduler.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from nightdesk.settings import PROJECT_ROOT

DAGS_DIR = PROJECT_ROOT / "dags"


@dataclass(frozen=True)
class RunOutcome:
    dag_id: str
    logical_date: dt.date
    state: str
    failed_tasks: tuple[str, ...]

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

    dag = load_dags()[dag_id]
    if quiet:
        for name in ("airflow", "airflow.task", "great_expectations", "sqlalchemy"):
            logging.getLogger(name).setLevel(logging.WARNING)
    when = pendulum.datetime(logical_date.year, logical_date.month, logical_date.day, tz="UTC")
    run = dag.test(logical_date=when, run_after=when)
    failed = tuple(sorted(ti.task_id for ti in run.get_task_instances() if ti.state not in ("success", "skipped")))
    return RunOutcome(dag_id, logical_date, str(run.state), failed)
