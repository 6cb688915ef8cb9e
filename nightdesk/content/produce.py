"""The content tasks' work: choose stories, then produce every draft that is not done yet.

Production is resumable: work is written to the warehouse batch by batch, as each batch
finishes, and a restarted task (a worker lost mid-run, a retry) first writes the drafts
of generations it logged but died before recording, then skips every generation already
logged as ``ok`` for the same story, kind, facts and attempt. So a crash loses at most
the batch in flight, and a rerun adds no drafts and no log rows.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence

from nightdesk.warehouse.clickhouse import Warehouse
from nightdesk.content import records
from nightdesk.content.records import Generation, RunContext, WorkItem
from nightdesk.content.writers import Writer, cover_writer, text_writer
from nightdesk.settings import Settings, get_settings
from nightdesk.stories import store
from nightdesk.stories.catalog import COVER_KIND, TEXT_KINDS, load_catalog
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


def produce(wh: Warehouse, run: RunContext, kinds: Sequence[str], settings: Settings | None = None) -> dict[str, int]:
    """Generate every pending draft of ``kinds`` for the run's date; returns counts."""
    settings = settings or get_settings()
    catalog = load_catalog()
    sheets = store.load(wh, run.logical_date)
    records.restore_lost_drafts(wh, run, sheets, kinds)
    done = records.done_keys(wh, run.logical_date, kinds)
    items = [WorkItem(sheet, kind) for sheet in sheets for kind in kinds]
    pending = [item for item in items if item.key not in done]
    if not pending:
        return {"stories": len(sheets), "generated": 0, "already_done": len(items)}
    is_text = set(kinds) <= set(TEXT_KINDS)
    writer = text_writer(catalog, settings) if is_text else cover_writer(catalog, settings)
    generated = write_items(wh, run, writer, pending, settings)
    return {"stories": len(sheets), "generated": generated, "already_done": len(items) - len(pending)}


def write_items(wh: Warehouse, run: RunContext, writer: Writer, items: Sequence[WorkItem], settings: Settings) -> int:
    """Write ``items`` batch by batch, saving each batch before starting the next."""
    generated = 0
    for batch in batches(items, settings):
        generated += records.save(wh, run, _write(wh, run, writer, batch))
    return generated


def batches(items: Sequence[WorkItem], settings: Settings) -> Iterator[list[WorkItem]]:
    """``items`` in the writer's batches: one kind at one attempt, up to its batch size.

    A text model batches prompts of one kind and seed (the seed follows the attempt), so
    each of these is one ``generate`` call: saved as soon as it returns, a crash loses at
    most the batch in flight and no batch is split across two calls.
    """
    groups: dict[tuple[str, int], list[WorkItem]] = {}
    for item in items:
        groups.setdefault((item.kind, item.attempt), []).append(item)
    for (kind, _), group in groups.items():
        size = settings.image_batch_size if kind == COVER_KIND else settings.text_batch_size
        for start in range(0, len(group), size):
            yield group[start : start + size]


def _write(wh: Warehouse, run: RunContext, writer: Writer, items: Sequence[WorkItem]) -> list[Generation]:
    """Run the writer on a chunk; on failure log an ``error`` row per item, then raise.

    Every generation is stamped with when its chunk was handed to the writer and the
    writer's model load time (measured by its first call, so read after it).
    """
    enqueued = time.time()

    def stamped(generations: list[Generation]) -> list[Generation]:
        for g in generations:
            g.enqueued_at, g.load_time_ms = enqueued, writer.load_time_ms
        return generations

    try:
        return stamped(writer.write(items))
    except Exception as exc:
        log.exception("generation failed for %d items", len(items))
        batch_id = uuid.uuid4().hex
        records.save(wh, run, stamped([records.failure(item, writer.generator, writer.model_id, exc, batch_id=batch_id)
                                       for item in items]))
        raise GenerationFailed(items, exc) from exc


class GenerationFailed(RuntimeError):
    """A writer failed on a chunk; the message names the stories and kinds it held."""

    def __init__(self, items: Sequence[WorkItem], cause: Exception) -> None:
        names = ", ".join(f"{i.sheet.story_id}:{i.kind}" for i in items[:5])
        super().__init__(f"generation failed for {len(items)} drafts ({names}...): {type(cause).__name__}: {cause}")

