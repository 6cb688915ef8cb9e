"""A content run killed at any write finishes on the next try: nothing lost, nothing twice.

Each case copies a warehouse prepared once (ELT for :data:`DAY`), runs the content DAG
through Airflow (``dag.test``, as ``nightdesk run`` does) in a subprocess that dies by
SIGKILL at a named fault point (:mod:`nightdesk.faults`), runs it again, and reads the
end state. The second run may itself fail a task at a fault point (an exception, so
Airflow retries it in the same DAG run): that is how a second try, and its try number,
is seen. chDB serves one data directory per process and this pytest process may hold
the session's, so the warehouse is prepared and read in subprocesses too.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from nightdesk.content.qc import FALLBACK_GENERATORS, MODEL_ATTEMPTS
from nightdesk.stories.catalog import CONTENT_KINDS, TEXT_KINDS

DAY = dt.date(2013, 2, 6)  # a Wednesday with every source; its own warehouse, so no clash

PREPARE = """
import datetime as dt, sys
from nightdesk.warehouse import clickhouse, migrations
from nightdesk.sources import ops_db
from nightdesk.airflow_setup import init_airflow
from nightdesk.runner import run_dag
ops_db.seed()
migrations.migrate(clickhouse.connect())
init_airflow()
outcome = run_dag("nightdesk_elt", dt.date.fromisoformat(sys.argv[1]))
assert outcome.ok, outcome
"""
RUN = """
import datetime as dt, json, sys
from nightdesk.runner import run_dag
outcome = run_dag("nightdesk_content", dt.date.fromisoformat(sys.argv[1]))
print(json.dumps({"state": outcome.state, "failed": outcome.failed_tasks}))
"""
READ = """
import datetime as dt, json, sys
from nightdesk.warehouse import clickhouse
wh = clickhouse.connect()
day = {"d": dt.date.fromisoformat(sys.argv[1])}
print(json.dumps({name: wh.query_df(sql, day).to_dict("records") for name, sql in json.load(sys.stdin).items()},
                 default=str))
"""
TABLES = {
    "stories": "SELECT story_id FROM stories WHERE logical_date = {d:Date}",
    "log": "SELECT generation_id, dag_run_id, try_number, story_id, content_kind, attempt, generator, status "
           "FROM generation_log WHERE logical_date = {d:Date}",
    "drafts": "SELECT draft_id, story_id, content_kind, attempt, generation_id, generator, status, try_number "
              "FROM drafts FINAL WHERE logical_date = {d:Date}",
    "checks": "SELECT generation_id, check_name, passed, try_number FROM draft_checks WHERE logical_date = {d:Date}",
}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    """A Nightdesk home (warehouse, ops DB, Airflow DB) with the ELT of DAY done, never run on."""
    home = tmp_path_factory.mktemp("crash-prepared")
    _python(PREPARE, _env(home))
    return home


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory) -> Path:
    """A random-weight causal LM: its drafts fail the checks, so repairs and fallbacks happen."""
    from generators.random_models import build_tiny_causal_lm

    return build_tiny_causal_lm(tmp_path_factory.mktemp("crash-lm") / "lm")


def _env(home: Path, *, text_model: str = "template", fault: str = "", action: str = "kill") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("NIGHTDESK_") and k not in ("CLICKHOUSE_URL", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")}
    (home / "tmp").mkdir(exist_ok=True)
    env.update({
        "NIGHTDESK_DATA_DIR": str(home / "data"), "AIRFLOW_HOME": str(home / "airflow"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow' / 'airflow.db'}",
        "NIGHTDESK_REVIEW_DB_URL": f"sqlite:///{home / 'review.sqlite'}", "NIGHTDESK_TEXT_MODEL": text_model,
        "NIGHTDESK_RETRY_DELAY_S": "1", "TMPDIR": str(home / "tmp"),  # a killed chDB leaves its temp dirs
        "GX_ANALYTICS_ENABLED": "false", "OMP_NUM_THREADS": "1",
    })
    if fault:
        env.update({"NIGHTDESK_FAULT": fault, "NIGHTDESK_FAULT_ACTION": action})
    return env


def _python(code: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-c", code, DAY.isoformat()], env=env, input=stdin,
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0 and done.returncode != -signal.SIGKILL:
        raise AssertionError(f"subprocess failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


class Case:
    """One copy of the prepared home, its content runs and what the warehouse held after each."""

    def __init__(self, prepared: Path, home: Path, text_model: str) -> None:
        # chDB links its tables to their store with relative symlinks: copy them as links.
        # Every other path is set by _env; none is stored in the copy.
        shutil.copytree(prepared, home, symlinks=True)
        self.home, self.text_model = home, text_model

    def killed_at(self, fault: str) -> dict[str, list[dict]]:
        done = _python(RUN, _env(self.home, text_model=self.text_model, fault=fault))
        assert done.returncode == -signal.SIGKILL, f"the run did not reach {fault}:\n{done.stdout[-2000:]}"
        return self.read()

    def run(self, *, failing_once_at: str = "") -> dict:
        env = _env(self.home, text_model=self.text_model, fault=failing_once_at, action="raise")
        return json.loads(_python(RUN, env).stdout.strip().splitlines()[-1])

    def read(self) -> dict[str, list[dict]]:
        return json.loads(_python(READ, _env(self.home), stdin=json.dumps(TABLES)).stdout.strip().splitlines()[-1])

    def queue(self):
        from nightdesk.review.queue import QueueFilter, ReviewQueue

        queue = ReviewQueue(f"sqlite:///{self.home / 'review.sqlite'}")
        try:
            items = queue.list(QueueFilter(logical_date=DAY), limit=1000)
            return items, {i.draft_id: [e.action for e in queue.history(i.draft_id)].count("enqueue") for i in items}
        finally:
            queue.close()


def _repeated(keys) -> dict:
    return {key: n for key, n in Counter(keys).items() if n > 1}


def assert_day_finished(end: dict[str, list[dict]], queue) -> None:
    """Every story has all its drafts, each final, each attempt logged and checked exactly once."""
    stories = {s["story_id"] for s in end["stories"]}
    assert stories, "the prepared day has stories"
    log, drafts, checks = end["log"], end["drafts"], end["checks"]
    assert {(d["story_id"], d["content_kind"]) for d in drafts} == {(s, k) for s in stories for k in CONTENT_KINDS}
    assert {d["status"] for d in drafts} <= {"checked_ok", "checked_failed"}
    # no draft left failing that a regeneration or the fallback would have fixed
    assert [d["draft_id"] for d in drafts if d["status"] == "checked_failed"
            and d["generator"] not in FALLBACK_GENERATORS] == []
    # no duplicate rows: one log row per attempt, one check row per check of a generation
    assert _repeated((g["story_id"], g["content_kind"], g["attempt"]) for g in log) == {}
    assert _repeated((c["generation_id"], c["check_name"]) for c in checks) == {}
    # each draft's attempts run 1..n; every one was checked; all but the last failed
    verdict = {}
    for c in checks:
        verdict[c["generation_id"]] = verdict.get(c["generation_id"], 1) and c["passed"]
    assert set(verdict) == {g["generation_id"] for g in log}
    for d in drafts:
        attempts = sorted((g for g in log if (g["story_id"], g["content_kind"]) == (d["story_id"], d["content_kind"])),
                          key=lambda g: g["attempt"])
        assert [g["attempt"] for g in attempts] == list(range(1, d["attempt"] + 1)), d["draft_id"]
        assert attempts[-1]["generation_id"] == d["generation_id"], d["draft_id"]
        assert all(verdict[g["generation_id"]] == 0 for g in attempts[:-1]), d["draft_id"]
        assert d["attempt"] <= MODEL_ATTEMPTS + 1
    # the editors' queue holds every draft once, marked as its checks decided
    items, enqueues = queue
    status = {d["draft_id"]: d["status"] for d in drafts}
    assert {i.draft_id: i.qc_passed for i in items} == {k: v == "checked_ok" for k, v in status.items()}
    assert set(enqueues.values()) == {1}


def test_fault_points_are_named_and_counted():
    from nightdesk import faults

    assert faults.parse("after_enqueue,after_status_update:3") == {"after_enqueue": 1, "after_status_update": 3}
    with pytest.raises(ValueError, match="unknown fault point 'after_lunch'; known: after_checks_saved, "):
        faults.parse("after_lunch")
    with pytest.raises(ValueError, match="'after_enqueue:' must be a whole number >= 1, got '0'"):
        faults.parse("after_enqueue:0")


def test_a_kill_between_the_log_and_the_drafts_insert_loses_nothing(prepared, tmp_path):
    """Killed after the first text batch was saved and the second one's log rows were written.

    The rerun writes the second batch's drafts from their log rows and generates only what
    was never generated; its check task fails once after storing the check results, and its
    second try takes their verdicts instead of checking again; its enqueue task fails once
    after the queue committed, and its second try finds every draft unchanged.
    """
    case = Case(prepared, tmp_path / "home", "template")
    crashed = case.killed_at("after_generation_log_insert:2")  # DAY has fewer stories than a batch holds
    first, second = TEXT_KINDS[:2]
    assert Counter(g["content_kind"] for g in crashed["log"]) == {first: len(crashed["stories"]),
                                                                   second: len(crashed["stories"])}
    assert {d["content_kind"] for d in crashed["drafts"]} == {first}

    outcome = case.run(failing_once_at="after_checks_saved,after_enqueue")
    end = case.read()
    assert outcome == {"state": "success", "failed": []}
    assert_day_finished(end, case.queue())
    # finished work not redone: the generations logged before the kill are the drafts now
    current = {d["generation_id"] for d in end["drafts"]}
    assert {g["generation_id"] for g in crashed["log"]} <= current
    assert len(end["log"]) == len(CONTENT_KINDS) * len(end["stories"])
    # one DAG run, two tries of the check task: the checks are try 1's, the statuses try 2's
    assert {g["dag_run_id"] for g in end["log"]} == {crashed["log"][0]["dag_run_id"]}
    assert {g["try_number"] for g in end["log"]} == {1}
    assert {c["try_number"] for c in end["checks"]} == {1}
    assert {d["try_number"] for d in end["drafts"]} == {2}


def test_a_kill_after_drafts_are_marked_failed_still_repairs_them(prepared, tiny_lm, tmp_path):
    """Killed after the first check round marked the model's drafts failed, before any rewrite.

    The rerun regenerates them, then falls back to the templates; its check task fails once
    right after logging a batch of regenerations, and its second try writes those drafts
    from the log rather than generating them again.
    """
    case = Case(prepared, tmp_path / "home", str(tiny_lm))
    crashed = case.killed_at("after_status_update")
    failed = [d for d in crashed["drafts"] if d["status"] == "checked_failed"]
    assert failed and {d["generator"] for d in failed} == {"transformers"}, "random weights fail the checks"
    assert all(d["attempt"] == 1 for d in crashed["drafts"])

    outcome = case.run(failing_once_at="after_generation_log_insert")
    end = case.read()
    assert outcome == {"state": "success", "failed": []}
    assert_day_finished(end, case.queue())
    by_id = {g["generation_id"]: g for g in end["log"]}
    repaired = {d["draft_id"]: d for d in end["drafts"] if d["draft_id"] in {f["draft_id"] for f in failed}}
    assert all(d["attempt"] > 1 for d in repaired.values())
    assert {d["generator"] for d in end["drafts"] if d["content_kind"] in TEXT_KINDS} <= {"transformers", "template"}
    # the batch logged by the failed try (try 1) was kept, not generated again by try 2
    retried = [g for g in end["log"] if g["attempt"] > 1]
    assert {g["try_number"] for g in retried} == {1, 2}
    lost_batch = [g for g in retried if g["try_number"] == 1]
    assert {(g["content_kind"], g["attempt"]) for g in lost_batch} == {(lost_batch[0]["content_kind"], 2)}
    assert all(by_id[d["generation_id"]]["try_number"] == 2 for d in end["drafts"] if d["attempt"] > 2)
