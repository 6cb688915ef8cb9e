"""Prepare Airflow's metadata database and the pools Nightdesk's DAGs use."""

from __future__ import annotations

from nightdesk.assets import GPU_POOL, WAREHOUSE_POOL


def init_airflow(*, warehouse_slots: int = 1, gpu_slots: int = 1) -> None:
    """Migrate Airflow's metadata DB and create or update Nightdesk's pools.

    One warehouse slot is required for the embedded chDB warehouse (one process per data
    directory); with a ClickHouse server the warehouse tasks use Airflow's ``default_pool``
    (:func:`nightdesk.assets.warehouse_pool`). One GPU slot per GPU worker.
    """
    from airflow.models.pool import Pool
    from airflow.utils.db import initdb

    initdb()
    Pool.create_or_update_pool(
        WAREHOUSE_POOL, warehouse_slots,
        "Warehouse tasks; 1 slot for the embedded chDB warehouse", include_deferred=False,
    )
    Pool.create_or_update_pool(GPU_POOL, gpu_slots, "Model inference on GPU workers", include_deferred=False)
