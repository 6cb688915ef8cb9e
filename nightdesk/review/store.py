"""The review store (:class:`Store`): engines set up so concurrent writers wait rather than fail.

SQLite: WAL journal (readers never block the writer), a busy timeout so a writer waits
for the lock, and ``BEGIN IMMEDIATE`` for every write transaction. The last matters: with
a deferred ``BEGIN`` a transaction that read first and writes later can fail at once with
"database is locked" (its snapshot is stale, so waiting cannot help); taking the write
lock up front makes writers queue behind each other. Reads use a deferred ``BEGIN`` so a
queue listing never waits for a writer.

PostgreSQL: ``lock_timeout`` bounds how long a statement waits for a row lock, and
:func:`serialize_audit` makes audit ids commit in id order (see there).

Either way a lock wait that runs out becomes :class:`StoreBusyError` saying nothing was
changed, never a silently lost decision.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from nightdesk.review.errors import StoreBusyError
from nightdesk.review import schema
from nightdesk.settings import get_settings

URL_ENV = "NIGHTDESK_REVIEW_DB_URL"
READ_ONLY = "nightdesk_read_only"
# SQLSTATEs of a PostgreSQL lock wait that gave up: lock_not_available, deadlock_detected.
_PG_LOCK_CODES = frozenset({"55P03", "40P01"})
# Key of the transaction-level advisory lock that orders audit inserts and schema migration
# on PostgreSQL (any constant unique to this application; "NDRV" in ASCII).
_PG_AUDIT_LOCK = 0x4E445256


def review_db_url() -> str:
    """``NIGHTDESK_REVIEW_DB_URL``, or a SQLite file in the data directory."""
    return os.environ.get(URL_ENV, f"sqlite:///{get_settings().data_dir / 'review.sqlite'}")


def safe_url(url: str | sa.URL) -> str:
    """The URL with its password masked, for messages."""
    return sa.make_url(url).render_as_string(hide_password=True)


def create_engine(url: str, lock_timeout: float) -> sa.Engine:
    """An engine for ``url`` whose lock waits end after ``lock_timeout`` seconds."""
    parsed = sa.make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed, lock_timeout)
    if backend == "postgresql":
        return sa.create_engine(parsed, pool_pre_ping=True,
                                connect_args={"options": f"-c lock_timeout={int(lock_timeout * 1000)}"})
    raise ValueError(f"review store {safe_url(parsed)}: only sqlite and postgresql URLs are supported")


class Store:
    """One review store: its engine, opened on first use with its schema created or
    upgraded to the newest revision (:mod:`nightdesk.review.schema`), and the transactions
    the queue and the account store run on it.

    Opening happens once even when several threads of the web server ask at the same
    time, and is safe from several processes at once (the schema is migrated under a lock).
    """

    def __init__(self, url: str | None, lock_timeout: float) -> None:
        self.url = url or review_db_url()
        self.lock_timeout = lock_timeout
        self._lock = threading.Lock()
        self._engine: sa.Engine | None = None

    @property
    def engine(self) -> sa.Engine:
        with self._lock:
            if self._engine is None:
                engine = create_engine(self.url, self.lock_timeout)
                with busy_as_error(engine, "migrate the review store", self.lock_timeout), engine.begin() as conn:
                    serialize_audit(conn)  # the same lock keeps two processes from migrating at once
                    schema.upgrade(conn)
                self._engine = engine
            return self._engine

    def close(self) -> None:
        """Close the connections (the next transaction reopens them)."""
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    @contextmanager
    def write(self, what: str) -> Iterator[sa.Connection]:
        """A write transaction; a lock wait past the timeout while doing ``what`` becomes
        :class:`StoreBusyError`."""
        engine = self.engine
        with busy_as_error(engine, what, self.lock_timeout), engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A read transaction, which never waits for writers."""
        with self.engine.connect() as conn:
            yield conn.execution_options(**{READ_ONLY: True})


def serialize_audit(conn: sa.Connection) -> None:
    """Hold, until this transaction ends, the lock that orders audit inserts.

    The ClickHouse export reads events past the highest id it has copied, which is only
    safe if ids become visible in id order. SQLite already runs one writer at a time. On
    PostgreSQL two transactions could take ids 7 and 8 and commit 8 first; an export
    between the two commits would skip 7 for good. Taking this lock right before the
    audit inserts (after every row lock the transaction needs, so it cannot deadlock with
    them) makes id allocation and commit one critical section.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_AUDIT_LOCK})


def _sqlite_engine(url: sa.URL, lock_timeout: float) -> sa.Engine:
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise ValueError(f"review store {safe_url(url)}: SQLite needs a file path (sqlite:////path/review.sqlite), "
                         "shared by every connection")
    Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin hook below emit BEGIN instead of the sqlite3 module.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(lock_timeout * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def _is_lock_timeout(exc: sa.exc.DBAPIError) -> bool:
    if getattr(exc.orig, "pgcode", None) in _PG_LOCK_CODES:
        return True
    message = str(exc.orig).lower()
    return "database is locked" in message or "database is busy" in message


@contextmanager
def busy_as_error(engine: sa.Engine, what: str, lock_timeout: float) -> Iterator[None]:
    """Turn a lock wait that timed out while doing ``what`` into :class:`StoreBusyError`."""
    try:
        yield
    except sa.exc.OperationalError as exc:
        if not _is_lock_timeout(exc):
            raise
        raise StoreBusyError(
            f"{what}: the review store {safe_url(engine.url)} stayed locked by other writers for more than "
            f"{lock_timeout:g}s ({exc.orig}); nothing was changed, try again"
        ) from exc
