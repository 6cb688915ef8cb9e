"""The one module that talks to ClickHouse.

Everything else asks this module for a :class:`Warehouse`. The same code serves the
embedded engine (chDB, in-process, data on disk) and a ClickHouse server named by
``CLICKHOUSE_URL``: same SQL files, same migrations, same bound parameters.

chDB has two rules that shape this module:

* one process per data directory: a second process fails with ``Code: 36 ...
  EmbeddedServer``. We take an exclusive file lock next to the data first, wait up to
  ``NIGHTDESK_WAREHOUSE_LOCK_TIMEOUT`` seconds, and fail naming the holder (pid and
  command line) instead of chDB's cryptic error. Concurrent access needs the server.
* a process forked after ``import chdb`` hangs on its first query, so ``chdb`` and
  ``clickhouse_connect`` are imported here lazily, only when a task opens the warehouse.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nightdesk.settings import Settings, get_settings

if TYPE_CHECKING:
    import pyarrow as pa
    import pandas as pd

log = logging.getLogger(__name__)

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class WarehouseError(RuntimeError):
    """A warehouse operation failed; the message says what, where and what to try."""


class WarehouseLockTimeout(WarehouseError):
    """Another process holds the embedded warehouse."""


def check_identifier(name: str) -> str:
    """Return ``name`` if it is a plain table/column identifier, else raise.

    Identifiers are bound with ``{name:Identifier}`` in queries; DDL cannot bind them, so
    the few DDL templates here check every name they splice in.
    """
    if not _IDENTIFIER.match(name):
        raise WarehouseError(f"invalid ClickHouse identifier {name!r}: use letters, digits and _")
    return name


class _ProcessLock:
    """An exclusive, process-lifetime lock on the embedded data directory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.holder_path = path.with_suffix(".holder")
        self._fd: int | None = None

    def acquire(self, timeout: float) -> None:
        if self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise WarehouseLockTimeout(
                        f"the embedded warehouse at {self.path.parent} is in use by "
                        f"{self._holder()} (waited {timeout:.0f}s). chDB allows one process per "
                        "data directory: wait for it, or set CLICKHOUSE_URL to a ClickHouse "
                        "server for concurrent access."
                    ) from None
                time.sleep(0.2)
        self.holder_path.write_text(f"pid {os.getpid()}: {' '.join(sys.argv)[:300]}")
        self._fd = fd

    def _holder(self) -> str:
        try:
            return self.holder_path.read_text() or "an unknown process"
        except OSError:
            return "an unknown process"


_locks: dict[Path, _ProcessLock] = {}
_clients: dict[tuple[str, str], Any] = {}


class Warehouse:
    """Typed access to the Nightdesk database: queries, inserts, partition swaps.

    Query parameters are always bound (``{name:Type}`` in the SQL), never formatted in.
    ``cluster`` names the ClickHouse cluster the tables are spread over (empty: one server).
    """

    def __init__(self, client: Any, database: str, cluster: str = "") -> None:
        self.client = client
        self.database = database
        self.cluster = cluster

    # -- reading ---------------------------------------------------------------
    def query_df(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        return self._call("query", self.client.query_df, sql, parameters=dict(params or {}))

    def query_rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple]:
        result = self._call("query", self.client.query, sql, parameters=dict(params or {}))
        return result.result_rows

    def scalar(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        rows = self.query_rows(sql, params)
        return rows[0][0] if rows else None

    # -- writing ---------------------------------------------------------------
    def command(self, sql: str, params: Mapping[str, Any] | None = None, *,
                settings: Mapping[str, Any] | None = None) -> None:
        """Run one statement; ``settings`` are ClickHouse settings for this statement only."""
        self._call("command", self.client.command, sql, parameters=dict(params or {}), settings=dict(settings or {}))

    def run_script(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run every statement of a multi-statement SQL text, in order."""
        import sqlparse

        for statement in sqlparse.split(sql):
            statement = statement.strip().rstrip(";").strip()
            if statement and not _only_comments(statement):
                self.command(statement, params)

    def insert_df(self, table: str, df: pd.DataFrame) -> int:
        """Insert a DataFrame whose columns are a subset of the table's; returns rows."""
        if df.empty:
            return 0
        self._call("insert", self.client.insert_df, check_identifier(table), df)
        return len(df)

    def insert_arrow(self, table: str, data: pa.Table) -> int:
        """Insert an Arrow table whose columns are a subset of the table's; returns rows.

        Sent as one Arrow IPC stream the engine decodes itself: on chDB about twice as
        fast as ``insert_arrow`` of clickhouse-connect, which converts column by column
        (1M flights rows: 1.8 s against 3.7 s, benchmarks/load_throughput.py's machine).
        """
        if not data.num_rows:
            return 0
        import pyarrow as pa

        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, data.schema) as writer:
            writer.write_table(data)
        self._call("insert", self.client.raw_insert, check_identifier(table), data.column_names,
                   sink.getvalue().to_pybytes(), fmt="ArrowStream")
        return data.num_rows

    @contextmanager
    def scratch_table(self, like: str) -> Iterator[str]:
        """A throw-away copy of ``like``'s structure, dropped afterwards.

        Not on a cluster: there the copy would be a second Distributed table and the swap
        would have to run on every shard's local table. Until that is built (and tested
        against a real cluster), a clustered warehouse refuses here, before any write,
        rather than replacing a partition on one node only.
        """
        if self.cluster:
            raise WarehouseError(
                f"replacing {like}'s partition on cluster {self.cluster!r} is not supported yet: the warehouse "
                "schema renders for a cluster (nightdesk/warehouse/topology.py) but the rerun-safe partition "
                "swap of loads, transforms and story selection runs on one server only (docs/clickhouse.md)"
            )
        name = f"_scratch_{check_identifier(like)}_{uuid.uuid4().hex[:10]}"
        self.command(f"CREATE TABLE {name} AS {like}")  # DDL cannot bind identifiers
        try:
            yield name
        finally:
            self.command(f"DROP TABLE IF EXISTS {name}")

    def swap_partition(self, table: str, partition: str, source_table: str) -> None:
        """Atomically make ``table``'s ``partition`` equal ``source_table``'s.

        ``partition`` is a ClickHouse partition expression (e.g. ``'2013-01-15'`` or
        ``tuple('flights', '2013-01-15')``), built by the caller from validated values.
        An empty source drops the partition: that is what a rerun with no rows means.
        """
        check_identifier(table)
        has_rows = self.scalar("SELECT count() FROM {t:Identifier}", {"t": source_table})
        if has_rows:
            self.command(
                f"ALTER TABLE {table} REPLACE PARTITION {partition} FROM {check_identifier(source_table)}"
            )
        else:
            self.command(f"ALTER TABLE {table} DROP PARTITION {partition}")

    # -- plumbing --------------------------------------------------------------
    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # clickhouse_connect raises several unrelated types
            sql = args[0] if args and isinstance(args[0], str) else ""
            first_line = " ".join(sql.split())[:200]
            raise WarehouseError(
                f"ClickHouse {what} failed in database {self.database!r}: {exc}\n  statement: {first_line}"
            ) from exc


def _only_comments(statement: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in statement.splitlines())


def connect(settings: Settings | None = None, *, database: str | None = None) -> Warehouse:
    """Open the warehouse named by ``settings`` (default: the environment).

    The client is cached per process: chDB serves one data directory per process, and a
    server client is cheap to reuse.
    """
    settings = settings or get_settings()
    database = check_identifier(database or settings.clickhouse_database)
    import clickhouse_connect

    if settings.embedded:
        path = settings.chdb_path
        lock = _locks.setdefault(path, _ProcessLock(path.with_name("clickhouse.lock")))
        lock.acquire(settings.warehouse_lock_timeout)
        key = (f"chdb:{path}", database)
        if key not in _clients:
            path.mkdir(parents=True, exist_ok=True)
            bootstrap = clickhouse_connect.get_client(interface="chdb", path=str(path))
            bootstrap.command(f"CREATE DATABASE IF NOT EXISTS {database}")
            _clients[key] = clickhouse_connect.get_client(
                interface="chdb", path=str(path), database=database
            )
    else:
        key = (settings.clickhouse_url, database)
        if key not in _clients:
            bootstrap = clickhouse_connect.get_client(dsn=settings.clickhouse_url)
            bootstrap.command(f"CREATE DATABASE IF NOT EXISTS {database}")
            _clients[key] = clickhouse_connect.get_client(dsn=settings.clickhouse_url, database=database)
    return Warehouse(_clients[key], database, settings.clickhouse_cluster)
