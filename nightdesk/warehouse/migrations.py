"""Apply the numbered SQL migrations under ``warehouse/migrations`` exactly once each.

A migration is ``NNNN_description.sql``: DDL statements separated by ``;``, written with
``IF NOT EXISTS`` so a half-applied file can be re-run. Applied versions are recorded in
``schema_migrations`` with a checksum; a shipped migration that was edited afterwards is
refused, because the warehouses that already ran it would silently differ from new ones.

Migrations are read from ``warehouse/migrations`` and the folders named by
``NIGHTDESK_EXTRA_MIGRATIONS``, in one version sequence: a deployment's own migrations
take numbers the project does not use (e.g. from 1000), and a clash is an error naming
both files.

On a ClickHouse cluster (``NIGHTDESK_CLICKHOUSE_CLUSTER``) each file is rendered for the
cluster by :mod:`nightdesk.warehouse.topology` before it runs; the ledger's checksum is
always the file's own text, so the same files are recorded the same way on every shape.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from nightdesk.warehouse.clickhouse import Warehouse, WarehouseError
from nightdesk.warehouse.topology import Topology, render
from nightdesk.settings import DECLARATION_DIRS, WAREHOUSE_DIR, get_settings

MIGRATIONS_DIR = DECLARATION_DIRS["migrations"]
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
LEDGER_SQL = WAREHOUSE_DIR / "sql" / "schema_migrations.sql"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text()

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(*directories: Path) -> list[Migration]:
    """Every migration file (of ``directories``, default the project's and the extra
    folders) in version order; a misnamed or duplicate file is an error."""
    found: dict[int, Migration] = {}
    paths = [p for d in directories or get_settings().declaration_dirs("migrations") for p in sorted(d.glob("*.sql"))]
    for path in paths:
        match = _NAME.match(path.name)
        if not match:
            raise WarehouseError(f"migration file {path} is not named NNNN_lowercase_name.sql")
        version = int(match.group(1))
        if version in found:
            raise WarehouseError(f"migrations {found[version].path} and {path} share version {version}")
        found[version] = Migration(version, match.group(2), path)
    return [found[v] for v in sorted(found)]


def topology() -> Topology:
    """The topology the settings name: one server unless a cluster is configured."""
    return Topology(get_settings().clickhouse_cluster)


def applied(wh: Warehouse) -> dict[int, str]:
    """Version -> checksum of every migration recorded in this warehouse."""
    wh.run_script(render(LEDGER_SQL.read_text(), topology(), source=LEDGER_SQL.name))
    rows = wh.query_rows("SELECT version, checksum FROM schema_migrations FINAL")
    return {int(v): c for v, c in rows}


def migrate(wh: Warehouse, *directories: Path) -> list[Migration]:
    """Apply pending migrations in order; return the ones applied now."""
    done = applied(wh)
    shape = topology()
    newly: list[Migration] = []
    for migration in discover(*directories):
        if migration.version in done:
            if done[migration.version] != migration.checksum:
                raise WarehouseError(
                    f"migration {migration.path.name} changed after it was applied to database "
                    f"{wh.database!r}. Shipped migrations are never edited: add a new one."
                )
            continue
        wh.run_script(render(migration.sql, shape, source=migration.path.name))
        wh.insert_df("schema_migrations", _ledger_row(migration))
        newly.append(migration)
    return newly


def _ledger_row(migration: Migration):  # -> pd.DataFrame
    import pandas as pd

    return pd.DataFrame(
        {
            "version": [migration.version],
            "name": [migration.name],
            "checksum": [migration.checksum],
            "applied_at": [pd.Timestamp.now(tz="UTC")],
        }
    )
