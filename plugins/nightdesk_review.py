"""Airflow plugin: the editors' review UI, served by Airflow's API server at ``/nightdesk-review``.

Airflow mounts plugin FastAPI apps without any authentication of its own; the review app
signs editors in itself (its own accounts, ``nightdesk review add-user``), so every page
but its login form needs a session. Importing this module is cheap and does no I/O: the
stores are opened on the first request (house rule 1: parsing stays light).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from nightdesk.review.web import create_app

URL_PREFIX = "/nightdesk-review"
review_app = create_app()


class NightdeskReviewPlugin(AirflowPlugin):
    """Mounts the review UI and links to it from Airflow's navigation."""

    name = "nightdesk_review"
    fastapi_apps = [{"app": review_app, "url_prefix": URL_PREFIX, "name": "Nightdesk review"}]
    external_views = [{
        "name": "Review queue",
        "href": URL_PREFIX.lstrip("/") + "/",
        "destination": "nav",
        "url_route": "nightdesk-review",
    }]
