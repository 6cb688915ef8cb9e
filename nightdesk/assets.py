"""Airflow Assets that connect Nightdesk's DAGs (light: safe to import while parsing)."""

from airflow.sdk import Asset

from nightdesk.settings import get_settings

#: Updated when a logical date's marts are rebuilt *and* passed their quality gate.
#: The event's ``extra`` carries ``{"logical_date": "YYYY-MM-DD"}``.
MARTS = Asset("nightdesk://warehouse/marts", group="nightdesk")

#: Updated when a logical date's drafts have been generated and checked.
DRAFTS = Asset("nightdesk://content/drafts", group="nightdesk")

#: Airflow pool serialising embedded-warehouse tasks: chDB allows one process per data
#: directory.
WAREHOUSE_POOL = "warehouse"

#: Airflow's own pool, used by warehouse tasks when the warehouse is a ClickHouse server:
#: a server takes concurrent clients, so nothing needs serialising.
SERVER_WAREHOUSE_POOL = "default_pool"

#: Pool (and, with Celery, queue) for tasks that load models onto the GPU.
GPU_POOL = "gpu"


def warehouse_pool() -> str:
    """The pool of tasks that touch the warehouse, following the settings (read when a
    DAG file is parsed): the one-slot ``warehouse`` pool for the embedded engine,
    Airflow's ``default_pool`` with a ClickHouse server or cluster."""
    return WAREHOUSE_POOL if get_settings().embedded else SERVER_WAREHOUSE_POOL
