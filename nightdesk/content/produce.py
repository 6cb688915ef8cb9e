"""The content tasks' work: choose stories, then produce every draft that is not done yet.

Production is resumable: work is written to the warehouse chunk by chunk, and a restarted
task (a worker lost mid-run, a retry) skips every generation already logged as ``ok`` for
the same story, kind, facts and attempt. So a rerun adds no drafts and no log rows.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Sequence

from nightdesk.clickhouse import Warehouse
from nightdesk.content import records
from nightdesk.content.records import Generation, RunContext, WorkItem
from nightdesk.content.writers import Writer, cover_writer, text_writer
from nightdesk.settings import Settings, get_settings
from nightdesk.stories import store
from nightdesk.stories.catalog import TEXT_KINDS, load_catalog
from nightdesk.stories.select import select_day

log = logging.getLogger(__name__)


def choose_stories(wh: Warehouse, logical_date: dt.date) -> dict[str, int]:
    """Select the date's stories from the marts and store their fact sheets.

    Returns stories per story type; a type with no story that day counts 0 (its reason is
    logged by the selection).
    """
    selection = select_day(wh, load_catalog(), logical_date)
    store.save(wh, logical_date, selection.sheets)
    return {**dict.fromkeys(selection.no_story, 0), **Counter(sheet.story_type for sheet in selection.sheets)}


def produce(wh: Warehouse, run: RunContext, kinds: Sequence[str], settings: Settings | None = None) -> dict[str, int]:
    """Generate every pending draft of ``kinds`` for the run's date; returns counts."""
    settings = settings or get_settings()
    catalog = load_catalog()
    sheets = store.load(wh, run.logical_date)
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
    """Write ``items`` chunk by chunk, saving each chunk before starting the next."""
    # Chunks of a few batches: large enough to keep batches full, small enough that a
    # restart loses little work.
    chunk = 4 * max(settings.text_batch_size, settings.image_batch_size)
    generated = 0
    for start in range(0, len(items), chunk):
        generated += records.save(wh, run, _write(wh, run, writer, items[start : start + chunk]))
    return generated


def _write(wh: Warehouse, run: RunContext, writer: Writer, items: Sequence[WorkItem]) -> list[Generation]:
    """Run the writer on a chunk; on failure log an ``error`` row per item, then raise."""
    try:
        return writer.write(items)
    except Exception as exc:
        log.exception("generation failed for %d items", len(items))
        records.save(wh, run, [records.failure(item, writer.generator, writer.model_id, exc) for item in items])
        raise GenerationFailed(items, exc) from exc


class GenerationFailed(RuntimeError):
    """A writer failed on a chunk; the message names the stories and kinds it held."""

    def __init__(self, items: Sequence[WorkItem], cause: Exception) -> None:
        names = ", ".join(f"{i.sheet.story_id}:{i.kind}" for i in items[:5])
        super().__init__(f"generation failed for {len(items)} drafts ({names}...): {type(cause).__name__}: {cause}")

