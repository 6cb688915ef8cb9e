"""Settings resolved from the environment, with embedded defaults that run on a laptop.

Everything a deployment changes is one environment variable; nothing here does I/O
at import time, so DAG files may import it while being parsed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
WAREHOUSE_DIR = PROJECT_ROOT / "warehouse"


@dataclass(frozen=True)
class Settings:
    """Where Nightdesk keeps its state and which services it talks to.

    :param data_dir: root of every embedded store (chDB warehouse, demo databases,
        reports, media). ``NIGHTDESK_DATA_DIR``; default ``<project>/var``.
    :param clickhouse_url: a ClickHouse server (``http(s)://user:pass@host:port``).
        Empty means the embedded chDB engine under ``data_dir/clickhouse``.
        ``CLICKHOUSE_URL``.
    :param clickhouse_database: database holding every Nightdesk table.
        ``NIGHTDESK_CH_DATABASE``; default ``nightdesk``.
    :param ops_db_url: SQLAlchemy URL of the operational database the flights source
        reads. ``NIGHTDESK_OPS_DB_URL``; default a SQLite file seeded by ``nightdesk init``.
    :param warehouse_lock_timeout: seconds to wait for the embedded warehouse lock
        before failing with the holder's name. ``NIGHTDESK_WAREHOUSE_LOCK_TIMEOUT``.
    """

    data_dir: Path
    clickhouse_url: str
    clickhouse_database: str
    ops_db_url: str
    warehouse_lock_timeout: float

    @property
    def embedded(self) -> bool:
        """True when the warehouse is the in-process chDB engine."""
        return not self.clickhouse_url

    @property
    def chdb_path(self) -> Path:
        return self.data_dir / "clickhouse"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"


def get_settings() -> Settings:
    """Read settings from the environment now (not cached: tests and tasks change it)."""
    data_dir = Path(os.environ.get("NIGHTDESK_DATA_DIR", PROJECT_ROOT / "var")).resolve()
    return Settings(
        data_dir=data_dir,
        clickhouse_url=os.environ.get("CLICKHOUSE_URL", ""),
        clickhouse_database=os.environ.get("NIGHTDESK_CH_DATABASE", "nightdesk"),
        ops_db_url=os.environ.get("NIGHTDESK_OPS_DB_URL", f"sqlite:///{data_dir / 'ops.sqlite'}"),
        warehouse_lock_timeout=float(os.environ.get("NIGHTDESK_WAREHOUSE_LOCK_TIMEOUT", "600")),
    )
