"""Migrations apply once, refuse edits, and the transform runner guards its partitions."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from nightdesk.warehouse import migrations
from nightdesk.elt import transform
from nightdesk.warehouse.clickhouse import WarehouseError


def test_migrations_are_recorded_and_idempotent(warehouse):
    assert migrations.migrate(warehouse) == []
    recorded = [v for (v,) in warehouse.query_rows("SELECT version FROM schema_migrations FINAL ORDER BY version")]
    assert recorded == [m.version for m in migrations.discover()]


def test_an_edited_migration_is_refused(warehouse, tmp_path):
    copy = tmp_path / "migrations"
    shutil.copytree(migrations.MIGRATIONS_DIR, copy)
    first = sorted(copy.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited after shipping\n")
    with pytest.raises(WarehouseError, match="changed after it was applied"):
        migrations.migrate(warehouse, copy)


def test_a_misnamed_migration_is_refused(tmp_path):
    (tmp_path / "2_add_things.sql").write_text("SELECT 1")
    with pytest.raises(WarehouseError, match="NNNN_lowercase_name.sql"):
        migrations.discover(tmp_path)


def test_models_run_after_their_dependencies():
    models = transform.discover()
    order = [m.name for m in models]
    edges = [(dep, m.name) for m in models for dep in m.depends_on if dep in order]
    assert edges, "no model depends on another: nothing to order"
    for dep, name in edges:
        assert order.index(dep) < order.index(name)


def test_a_cycle_between_models_is_an_error(tmp_path):
    (tmp_path / "marts").mkdir()
    (tmp_path / "marts" / "a.sql").write_text("-- model: a\n-- depends_on: b\nSELECT 1")
    (tmp_path / "marts" / "b.sql").write_text("-- model: b\n-- depends_on: a\nSELECT 1")
    with pytest.raises(WarehouseError, match="cycle"):
        transform.discover(tmp_path)


def test_a_model_writing_outside_its_date_is_refused(warehouse, tmp_path):
    path = tmp_path / "marts" / "stg_stock_prices.sql"
    path.parent.mkdir()
    path.write_text(
        "-- model: stg_stock_prices\nSELECT toDate('2001-01-01') AS trade_date, 'X' AS ticker, "
        "1.0 AS open, 1.0 AS high, 1.0 AS low, 1.0 AS close, toUInt64(1) AS volume"
    )
    with pytest.raises(WarehouseError, match="outside 2013-05-01"):
        transform.run_model(warehouse, transform.parse_model(path), dt.date(2013, 5, 1))
