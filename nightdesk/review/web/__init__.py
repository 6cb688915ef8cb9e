"""The editors' review web UI: server-rendered pages plus a small JSON API.

:func:`create_app` builds it; ``plugins/nightdesk_review.py`` mounts it in Airflow's API
server and ``nightdesk review serve`` runs it alone. See :mod:`.app`.
"""

from nightdesk.review.web.app import create_app

__all__ = ["create_app"]
