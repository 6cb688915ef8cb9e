"""Airflow Assets that connect Nightdesk's DAGs (light: safe to import while parsing)."""

from airflow.sdk import Asset

#: Updated when a logical date's marts are rebuilt *and* passed their quality gate.
#: The event's ``extra`` carries ``{"logical_date": "YYYY-MM-DD"}``.
MARTS = Asset("nightdesk://warehouse/marts", group="nightdesk")

#: Updated when a logical date's drafts have been generated and checked.
DRAFTS = Asset("nightdesk://content/drafts", group="nightdesk")

#: Airflow pool serialising embedded-warehouse tasks: chDB allows one process per data
#: directory. With a ClickHouse server, raise its slots (``nightdesk init --warehouse-slots``).
WAREHOUSE_POOL = "warehouse"

#: Pool (and, with Celery, queue) for tasks that load models onto the GPU.
GPU_POOL = "gpu"
