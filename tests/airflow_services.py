"""Airflow as production runs it, started by a test: api-server, scheduler, dag-processor
and a Celery worker, on PostgreSQL (metadata and review store) and Redis (broker).

Everything is the real thing on this machine: the servers at 127.0.0.1:5432 and :6379, a
database of each created for the run and dropped after it, free ports, the project's
dags and plugins folders. Each service is its own process (group), stopped at the end
with its logs kept under the run's home for a failure to show.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = "postgres@127.0.0.1:5432"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def postgres_database(prefix: str) -> Iterator[str]:
    """A fresh PostgreSQL database; yields its SQLAlchemy URL (psycopg2)."""
    import psycopg2

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres", connect_timeout=5)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql+psycopg2://{POSTGRES}/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


class Services:
    """The running services of one Celery-shaped Airflow, and a small REST client for it."""

    def __init__(self, home: Path, env: dict[str, str], port: int) -> None:
        self.home, self.env, self.port = home, env, port
        self.base = f"http://127.0.0.1:{port}"
        self.processes: dict[str, subprocess.Popen] = {}

    # -- processes ------------------------------------------------------------------
    def run(self, *argv: str, timeout: float = 300) -> str:
        """Run a command to completion in the services' environment; its output."""
        done = subprocess.run(argv, env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        if done.returncode:
            raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done.stdout

    def start(self, name: str, *argv: str) -> None:
        log = open(self.home / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        self.processes[name] = subprocess.Popen(argv, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                                start_new_session=True)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def check_alive(self) -> None:
        dead = {n: p.returncode for n, p in self.processes.items() if p.poll() is not None}
        if dead:
            raise RuntimeError(f"services exited: {dead}\n{self.logs()}")

    def logs(self, tail: int = 2500) -> str:
        return "\n".join(f"--- {p.name} ---\n{p.read_text(errors='replace')[-tail:]}"
                         for p in sorted(self.home.glob("*.log")))

    # -- REST -----------------------------------------------------------------------
    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as answer:
                return answer.status, json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"{}")

    def wait_for(self, what: str, ready, timeout: float = 240, every: float = 2.0):
        """Poll ``ready()`` until it returns something truthy; fail naming ``what``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                result = ready()
            except (urllib.error.URLError, ConnectionError, OSError):
                result = None
            if result:
                return result
            time.sleep(every)
        raise TimeoutError(f"{what} not ready after {timeout:.0f} s\n{self.logs()}")

    def run_dag(self, dag_id: str, logical_date: str, timeout: float = 420) -> dict:
        """Trigger ``dag_id`` for ``logical_date`` and wait for the run to end; its final state."""
        status, run = self.request("POST", f"/api/v2/dags/{dag_id}/dagRuns",
                                   {"logical_date": f"{logical_date}T00:00:00Z", "conf": {}})
        if status != 200:
            raise RuntimeError(f"triggering {dag_id}: {status} {run}")
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run['dag_run_id']}"

        def ended():
            _, state = self.request("GET", path)
            return state if state.get("state") in ("success", "failed") else None

        final = self.wait_for(f"{dag_id} run for {logical_date}", ended, timeout=timeout)
        _, tis = self.request("GET", path + "/taskInstances")
        final["tasks"] = {t["task_id"] + (f"[{t['map_index']}]" if t["map_index"] >= 0 else ""): t
                          for t in tis["task_instances"]}
        return final


@contextmanager
def celery_airflow(home: Path, extra_env: dict[str, str]) -> Iterator[Services]:
    """Airflow with the CeleryExecutor on PostgreSQL and Redis, Nightdesk initialised in
    ``home``; yields the :class:`Services` once the DAGs are parsed and unpaused."""
    import redis

    broker_db = 1 + uuid.uuid4().int % 15
    redis.Redis(host="127.0.0.1", port=6379, db=broker_db).flushdb()
    port = free_port()
    with postgres_database("nightdesk_airflow") as metadata:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "NIGHTDESK_"))}
        env.update({
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            "PYTHONPATH": str(ROOT),
            "AIRFLOW_HOME": str(home / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata,
            "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{broker_db}",
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata,
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            # Runs start only when the test triggers them: no schedule creates one for today.
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "GX_ANALYTICS_ENABLED": "false",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "NIGHTDESK_DATA_DIR": str(home / "data"),
            **extra_env,
        })
        services = Services(home, env, port)
        try:
            services.run(str(BIN / "nightdesk"), "init")
            services.start("api-server", str(BIN / "airflow"), "api-server", "--port", str(port))
            services.start("scheduler", str(BIN / "airflow"), "scheduler")
            services.start("dag-processor", str(BIN / "airflow"), "dag-processor")
            services.start("worker", str(BIN / "airflow"), "celery", "worker", "--queues", "default,gpu",
                           "--concurrency", "2")
            services.wait_for("the api-server", lambda: services.request("GET", "/api/v2/monitor/health")[0] == 200)
            for dag_id in ("nightdesk_elt", "nightdesk_content", "nightdesk_publish"):
                services.wait_for(f"{dag_id} parsed",
                                  lambda d=dag_id: services.request("GET", f"/api/v2/dags/{d}")[0] == 200)
                status, body = services.request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
                assert status == 200, body
            yield services
        finally:
            services.stop()
            redis.Redis(host="127.0.0.1", port=6379, db=broker_db).flushdb()
