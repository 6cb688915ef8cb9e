"""The distributed shape, run: one pipeline date under Airflow's CeleryExecutor.

PostgreSQL holds Airflow's metadata and the review store, Redis is the broker, and a
real api-server (which also serves the review UI plugin), scheduler, dag-processor and
Celery worker on the ``default`` and ``gpu`` queues run the night: ELT, content on the
templates, the review queue, an editor's decisions over the review UI's HTTP API, and
publishing. The warehouse stays the embedded engine (no ClickHouse server installs
here), so the one-slot ``warehouse`` pool and the data-directory lock must hold across
the worker's task processes. The drafts must be the ones the embedded run
(``dag.test`` in this process) writes for the same date.

Run it alone with ``pytest -m celery``.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import subprocess

import pytest

from airflow_services import BIN, celery_airflow, postgres_database

pytestmark = [pytest.mark.celery, pytest.mark.postgres, pytest.mark.slow]

DAY = dt.date(2013, 2, 14)  # a Thursday no other test uses
EARLIER = dt.date(2013, 2, 13)  # so stock moves have a previous close
PASSWORD = "correct horse battery staple"
# A cover's text is its media URL, under each run's own data directory: compared by file name.
DRAFTS_SQL = ("SELECT story_id, content_kind, if(content_kind = 'cover', replaceRegexpOne(text, '^.*/', ''), text), "
              "media_sha256, status FROM drafts FINAL WHERE logical_date = {d:Date} ORDER BY story_id, content_kind")


class Run:
    """What the Celery run did (attributes set by the fixture)."""


@pytest.fixture(scope="module")
def celery_run(tmp_path_factory) -> Run:
    import httpx

    run = Run()
    home = tmp_path_factory.mktemp("celery")
    with postgres_database("nightdesk_review") as review_url:
        env = {"NIGHTDESK_TEXT_MODEL": "template", "NIGHTDESK_REVIEW_DB_URL": review_url,
               "NIGHTDESK_OUTPUT_URL": str(home / "public"), "NIGHTDESK_REVIEW_SECRET_KEY": secrets.token_urlsafe(48),
               "NIGHTDESK_RETRY_DELAY_S": "1"}
        with celery_airflow(home, env) as airflow:
            run.elt = [airflow.run_dag("nightdesk_elt", day.isoformat()) for day in (EARLIER, DAY)]
            run.content = airflow.run_dag("nightdesk_content", DAY.isoformat())
            subprocess.run([str(BIN / "nightdesk"), "review", "add-user", "ana", "--password-stdin"],
                           input=PASSWORD + "\n", text=True, env=airflow.env, check=True, capture_output=True)
            with httpx.Client(base_url=airflow.base + "/nightdesk-review", timeout=30) as ana:
                login = ana.post("/api/login", json={"username": "ana", "password": PASSWORD})
                assert login.status_code == 200, login.text
                headers = {login.json()["csrf_header"]: login.json()["csrf_token"]}
                items = ana.get("/api/drafts", params={"date": DAY.isoformat(), "limit": 1000}).json()["items"]
                run.listed = {item["draft_id"]: item for item in items}
                story = next(i["story_id"] for i in items if i["kind"] == "headline" and i["qc_passed"])
                run.approved = sorted(i["draft_id"] for i in items if i["story_id"] == story and i["qc_passed"])
                for draft_id in run.approved:
                    version = ana.get(f"/api/drafts/{draft_id}").json()["version"]
                    answer = ana.post(f"/api/drafts/{draft_id}/approve", headers=headers,
                                      json={"expected_version": version})
                    assert answer.status_code == 200, answer.text
            run.story = story
            run.publish = airflow.run_dag("nightdesk_publish", DAY.isoformat())
            run.logs = airflow.logs
        # After the services stopped, the warehouse's data directory is free for a reader.
        run.drafts = _query(airflow.env, DRAFTS_SQL, {"d": DAY.isoformat()})
    run.site = home / "public"
    return run


def _query(env: dict[str, str], sql: str, params: dict) -> list[list]:
    """Rows of ``sql`` on the Celery run's warehouse, read by a separate process (this
    process holds the test session's own embedded warehouse: one data directory each)."""
    code = ("import json, sys; from nightdesk.warehouse import clickhouse; "
            "rows = clickhouse.connect().query_rows(sys.argv[1], json.loads(sys.argv[2])); "
            "print(json.dumps([list(r) for r in rows], default=str))")
    done = subprocess.run([str(BIN / "python"), "-c", code, sql, json.dumps(params)], env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def _outcomes(run: Run) -> list[dict]:
    return [*run.elt, run.content, run.publish]


def test_every_run_succeeds_on_the_celery_worker(celery_run):
    for outcome in _outcomes(celery_run):
        failed = {name: t["state"] for name, t in outcome["tasks"].items() if t["state"] not in ("success", "skipped")}
        assert outcome["state"] == "success" and not failed, (outcome["dag_id"], failed, celery_run.logs())


def test_tasks_take_their_queues_and_pools(celery_run):
    content = celery_run.content["tasks"]
    gpu = [t for t in content.values() if t["queue"] == "gpu"]
    assert gpu and {t["pool"] for t in gpu} == {"gpu"}, content
    assert (content["choose_stories"]["queue"], content["choose_stories"]["pool"]) == ("default", "warehouse")
    for outcome in celery_run.elt:
        assert {t["pool"] for t in outcome["tasks"].values()} == {"warehouse"}, outcome["tasks"]


def test_warehouse_tasks_ran_in_many_processes_one_at_a_time(celery_run):
    """Two worker slots, four sources mapped in parallel: the one-slot pool still ran the
    warehouse tasks one after another, each in its own task process."""
    import datetime as dt_

    spans = sorted((dt_.datetime.fromisoformat(t["start_date"]), dt_.datetime.fromisoformat(t["end_date"]), t["pid"])
                   for outcome in _outcomes(celery_run) for t in outcome["tasks"].values()
                   if t["pool"] == "warehouse" and t["state"] == "success")
    assert len(spans) >= 8
    assert len({pid for _, _, pid in spans}) > 1
    for (_, end, _), (start, _, _) in zip(spans, spans[1:]):
        assert start >= end, spans


def test_the_drafts_are_the_embedded_runs(celery_run, template_night, warehouse):
    _, _, run_dag = template_night
    assert run_dag("nightdesk_elt", EARLIER).ok and run_dag("nightdesk_elt", DAY).ok
    assert run_dag("nightdesk_content", DAY).ok
    embedded = [list(map(str, row)) for row in warehouse.query_rows(DRAFTS_SQL, {"d": DAY})]
    assert len(embedded) >= 8
    assert [list(map(str, row)) for row in celery_run.drafts] == embedded


def test_the_approved_story_is_published(celery_run):
    feed = json.loads((celery_run.site / "feed.json").read_text())
    assert len(feed["items"]) == 1 and celery_run.story in feed["items"][0]["id"], feed
    assert (celery_run.site / "index.html").is_file()
    assert celery_run.approved and set(celery_run.approved) <= set(celery_run.listed)
