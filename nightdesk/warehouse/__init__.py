"""Warehouse access: the one module that talks to ClickHouse or chDB (clickhouse) and the
numbered SQL migrations it applies (migrations)."""
