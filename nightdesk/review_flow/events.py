"""Copy the review queue's audit trail into the warehouse (``review_events``) for analysts.

Write disposition: append, deduplicated on ``(review_store, event_id)`` by the table's
ReplacingMergeTree. Cursor: the highest ``event_id`` already stored for this review
store; each run continues after it, in batches, so a rerun copies nothing twice and an
interrupted run resumes where it stopped.

Runs only inside Airflow (the publish DAG's ``export_review_events``, or ``nightdesk
publish``): the web UI must not open the embedded warehouse, which admits one process.

Do not reset or replace the review store behind an existing warehouse: its event ids
would start again at 1, below the cursor, and the new events would not be exported.
Point ``NIGHTDESK_REVIEW_DB_URL`` at the new store instead (a new ``review_store`` name
gets its own cursor).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from nightdesk.warehouse.clickhouse import Warehouse
from nightdesk.settings import WAREHOUSE_DIR

if TYPE_CHECKING:
    import pandas as pd

    from nightdesk.review.queue import ReviewQueue
    from nightdesk.review.views import AuditEventView

CURSOR_SQL = WAREHOUSE_DIR / "sql" / "review_events_cursor.sql"
#: Events per warehouse insert. A day of review is a few hundred events (five drafts per
#: story, ~20 stories, 2-4 events each); 5,000 keeps a backfill to a few inserts while a
#: batch (diffs included) stays well under 50 MB of memory.
BATCH_SIZE = 5_000


def store_name(url: str | None = None) -> str:
    """The review store's name in ``review_events``: its URL with any password masked."""
    from nightdesk.review.store import review_db_url, safe_url

    return safe_url(url or review_db_url())


def export_events(wh: Warehouse, queue: ReviewQueue | None = None, *, url: str | None = None,
                  batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Append the audit events not yet in ``review_events``; returns counts and the cursor.

    :param queue: the review queue; default the one ``url`` (or ``NIGHTDESK_REVIEW_DB_URL``) names.
    """
    from nightdesk.review.queue import ReviewQueue

    if batch_size < 1:
        raise ValueError(f"export_events: batch_size must be at least 1, got {batch_size}")
    queue = queue or ReviewQueue(url)
    store = store_name(url)
    after = int(wh.scalar(CURSOR_SQL.read_text(), {"store": store}) or 0)
    first = after
    exported = 0
    stories: dict[str, tuple[str, str, str, dt.date]] = {}
    while True:
        events = queue.events_since(after, limit=batch_size)
        if not events:
            break
        exported += wh.insert_df("review_events", event_rows(store, events, queue, stories))
        after = max(e.id for e in events)
        if len(events) < batch_size:
            break
    return {"exported": exported, "after_id": first, "last_id": after}


def event_rows(store: str, events: Sequence[AuditEventView], queue: ReviewQueue,
               cache: dict[str, tuple[str, str, str, dt.date]] | None = None) -> pd.DataFrame:
    """``review_events`` rows for ``events``; the draft's story, type, kind and date come from the queue."""
    import pandas as pd

    cache = {} if cache is None else cache
    now = pd.Timestamp.now(tz="UTC")
    rows = []
    for event in events:
        if event.draft_id not in cache:
            item = queue.get(event.draft_id)
            cache[event.draft_id] = (item.story_id, item.story_type, item.kind, item.logical_date)
        story_id, story_type, kind, logical_date = cache[event.draft_id]
        rows.append({
            "review_store": store,
            "event_id": event.id,
            "at": pd.Timestamp(event.at).tz_convert("UTC"),
            "action": event.action,
            "actor": event.actor,
            "draft_id": event.draft_id,
            "story_id": story_id,
            "story_type": story_type,
            "content_kind": kind,
            "logical_date": logical_date,
            "from_state": event.from_state or "",
            "to_state": event.to_state,
            "details_json": json.dumps(dict(event.details), ensure_ascii=False, sort_keys=True, default=str),
            "generation_id": event.generation_id,
            "exported_at": now,
        })
    return pd.DataFrame(rows)
