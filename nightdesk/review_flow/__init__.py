"""The editorial flow around the review queue, run by Airflow (never by the web UI).

* :mod:`~nightdesk.review_flow.enqueue`: the content DAG hands each date's checked
  drafts, with their check results, to the queue (``enqueue_for_review``).
* :mod:`~nightdesk.review_flow.events`: the publish DAG copies the queue's audit trail
  into the warehouse's ``review_events`` table for analysts.
* :mod:`~nightdesk.review_flow.release`: the publish DAG turns the approved drafts into
  stories, writes the static site, marks the drafts published and logs every change of
  the site in ``publications``.

Why the split between processes: the embedded chDB warehouse admits one process per
data directory, and that process is Airflow's task. The review UI only talks to the
review store (SQLite/PostgreSQL); everything that reaches ClickHouse happens here, in a
task of the ``warehouse`` pool (or in ``nightdesk publish``, which runs the same DAG).
"""
