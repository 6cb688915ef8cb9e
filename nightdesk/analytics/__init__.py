"""What analysts take out of the warehouse and the review store: the ``analyst_*`` views
as DataFrames, comparisons, the cookbook, the HTML report and training data.

In a notebook::

    from nightdesk.analytics import frame
    daily = frame("daily_model_prompt", start="2013-02-25", end="2013-03-01")

The embedded warehouse admits one process: open it from a notebook while no pipeline
runs, or point ``CLICKHOUSE_URL`` at a ClickHouse server.
"""

from nightdesk.analytics.views import analyst_views, frame

__all__ = ["analyst_views", "frame"]
