"""The content tasks' work: choose stories, then produce every draft that is not done yet.

Production is resumable: every generation is written to the warehouse as soon as its
writer yields it (writers yield small groups as they finish), and a restarted task (a
worker lost mid-run, a retry) first writes the drafts of generations it logged but died
before recording, then skips every draft already tried for the same story, kind and
facts: one that failed alone is owed its next attempt by the quality stage
(:mod:`nightdesk.content.qc`), never its first again. So a crash loses at most the work
in flight, and a rerun adds no drafts and no log rows.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from nightdesk.warehouse.clickhouse import Warehouse
from nightdesk.content import records
from nightdesk.content.records import Generation, RunContext, WorkItem
from nightdesk.content.writers import Writer, Writers
from nightdesk.settings import Settings, get_settings
from nightdesk.stories import store
from nightdesk.stories.catalog import TEXT_KINDS, load_catalog
from nightdesk.stories.lineage import load_ids_by_story_type
from nightdesk.stories.select import select_day

log = logging.getLogger(__name__)


def choose_stories(wh: Warehouse, logical_date: dt.date) -> dict[str, int]:
    """Select the date's stories from the marts and store their fact sheets.

    Returns stories per story type; a type with no story that day counts 0 (its reason is
    logged by the selection).
    """
    catalog = load_catalog()
    selection = select_day(wh, catalog, logical_date)
    store.save(wh, logical_date, selection.sheets, load_ids_by_story_type(wh, catalog, logical_date))
    return {**dict.fromkeys(selection.no_story, 0), **Counter(sheet.story_type for sheet in selection.sheets)}


def produce(wh: Warehouse, run: RunContext, kinds: Sequence[str], settings: Settings | None = None,
            writers: Writers | None = None) -> dict[str, int]:
    """Generate every pending draft of ``kinds`` for the run's date; returns counts.

    :param writers: the task's writers, whose models stay loaded for its later stages;
        by default a set of its own.
    """
    settings = settings or get_settings()
    sheets = store.load(wh, run.logical_date)
    records.restore_lost_drafts(wh, run, sheets, kinds)
    tried = records.tried_drafts(wh, run.logical_date, kinds)
    items = [WorkItem(sheet, kind) for sheet in sheets for kind in kinds]
    pending = [item for item in items if (item.sheet.story_id, item.kind, item.sheet.digest) not in tried]
    if not pending:
        return {"stories": len(sheets), "generated": 0, "failed": 0, "already_done": len(items)}
    writers = writers or Writers(load_catalog(), settings)
    writer = writers.text if set(kinds) <= set(TEXT_KINDS) else writers.cover
    written = write_items(wh, run, writer, pending)
    return {"stories": len(sheets), "generated": written.ok, "failed": len(written.failed),
            "already_done": len(items) - len(pending)}


@dataclass(frozen=True)
class Written:
    """What :func:`write_items` logged: how many generations succeeded, and the items that failed alone."""

    ok: int
    failed: tuple[WorkItem, ...]


def write_items(wh: Warehouse, run: RunContext, writer: Writer, items: Sequence[WorkItem]) -> Written:
    """Write ``items`` with ``writer``, saving each group it yields before taking the next.

    An item that failed alone is logged as an ``error`` row and the others go on; when the
    writer itself fails, every item it had not yielded yet is logged as an ``error`` row and
    :class:`GenerationFailed` raises. Every row is stamped with when the items were handed
    to the writer and the writer's model load time (measured by its first group, so read
    after it).
    """
    enqueued = time.time()
    unsaved = {item.key: item for item in items}
    ok, failed = 0, []
    groups = writer.stream(items)
    while True:
        try:
            group = next(groups, None)
        except Exception as exc:
            log.exception("%s failed with %d of %d items not written", writer.generator, len(unsaved), len(items))
            batch_id = uuid.uuid4().hex
            records.save(wh, run, _stamped([records.failure(item, writer.generator, writer.model_id, exc,
                                                            batch_id=batch_id) for item in unsaved.values()],
                                           enqueued, writer))
            raise GenerationFailed(list(unsaved.values()), exc) from exc
        if group is None:
            return Written(ok, tuple(failed))
        records.save(wh, run, _stamped(group, enqueued, writer))
        for g in group:
            del unsaved[g.item.key]
        failed += [g.item for g in group if g.status == "error"]
        ok += sum(g.status == "ok" for g in group)


def _stamped(generations: list[Generation], enqueued: float, writer: Writer) -> list[Generation]:
    for g in generations:
        g.enqueued_at, g.load_time_ms = enqueued, writer.load_time_ms
    return generations


class GenerationFailed(RuntimeError):
    """A writer failed; the message names the stories and kinds it had not written."""

    def __init__(self, items: Sequence[WorkItem], cause: Exception) -> None:
        names = ", ".join(f"{i.sheet.story_id}:{i.kind}" for i in items[:5])
        super().__init__(f"generation failed for {len(items)} drafts ({names}...): {type(cause).__name__}: {cause}")
