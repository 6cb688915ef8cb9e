"""The review store's schema, kept by Alembic and brought up to date whenever a store opens.

Revisions are in ``nightdesk/review/migrations/versions``: ``0001`` is the schema as
``create_all`` made it before Alembic, every later one a change of it. Alembic records the
revision in ``review_schema_version``, not its default ``alembic_version``, so the store
may share a PostgreSQL database with Airflow's metadata, which uses that name.

A store made before Alembic has the tables but no version table: it is adopted, i.e.
stamped at the baseline (after adding ``attempts_json``, the one column that stores older
still were told to add by hand), then upgraded like any other.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "review_schema_version"
BASELINE = "0001"
_ITEMS = "review_items"


def alembic_config(conn: sa.Connection | None = None) -> Config:
    """Alembic's configuration for the review store, running on ``conn`` (see ``env.py``)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if conn is not None:
        config.attributes["connection"] = conn
    return config


def head() -> str:
    """The newest revision."""
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None, f"no Alembic revisions under {MIGRATIONS_DIR}"
    return revision


def current(conn: sa.Connection) -> str | None:
    """The revision the store is at; ``None`` for a store Alembic has not versioned."""
    return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def upgrade(conn: sa.Connection, revision: str = "head") -> None:
    """Bring the store on ``conn`` to ``revision``: create it, adopt it, or migrate it.

    Runs in the caller's transaction, which should hold the store's schema lock
    (:func:`nightdesk.review.store.serialize_audit`) so two processes never migrate at once.
    """
    if current(conn) is None and sa.inspect(conn).has_table(_ITEMS):
        _adopt(conn)
    command.upgrade(alembic_config(conn), revision)


def _adopt(conn: sa.Connection) -> None:
    """Stamp a store made by ``create_all`` at the baseline it was made with."""
    columns = {c["name"] for c in sa.inspect(conn).get_columns(_ITEMS)}
    if "attempts_json" not in columns:
        conn.execute(sa.text(f"ALTER TABLE {_ITEMS} ADD COLUMN attempts_json TEXT NOT NULL DEFAULT '[]'"))
    command.stamp(alembic_config(conn), BASELINE)
