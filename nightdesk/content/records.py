"""One place that writes generations: a ``generation_log`` row for every model call and a
``drafts`` row for every successful one, and answers which generations are already done.

The two rows are two inserts with no transaction across tables. The log row is written
first and carries everything its draft needs, so a task killed between the two leaves
work that the next try finishes with :func:`restore_lost_drafts` instead of redoing it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from nightdesk import faults
from nightdesk.warehouse.clickhouse import Warehouse
from nightdesk.content.prompts import Prompt
from nightdesk.settings import WAREHOUSE_DIR
from nightdesk.stories.factsheet import FactSheet

Key = tuple[str, str, str, int]  # story_id, content_kind, facts_digest, attempt
DONE_SQL = WAREHOUSE_DIR / "sql" / "generations_done.sql"
#: generator (as logged) -> writer, the ``writer`` column of generation_log and drafts.
WRITERS = {"transformers": "model", "template": "template", "chart": "chart", "diffusers": "diffusion"}
LOST_DRAFTS_SQL = WAREHOUSE_DIR / "sql" / "generations_without_draft.sql"


@dataclass(frozen=True)
class WorkItem:
    """One draft to produce: a story's fact sheet, a content kind and the attempt number."""

    sheet: FactSheet
    kind: str
    attempt: int = 1

    @property
    def key(self) -> Key:
        return (self.sheet.story_id, self.kind, self.sheet.digest, self.attempt)


@dataclass
class Generation:
    """The outcome of one model (or template, or chart) call for one work item."""

    item: WorkItem
    prompt: Prompt
    generator: str
    model_id: str
    model_revision: str
    output: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float = 0.0
    time_to_first_token_ms: float | None = None
    device: str = "cpu"
    batch_size: int = 1
    seed: int = 0
    status: str = "ok"
    error: str = ""
    media_url: str = ""
    media_sha256: str = ""
    media_bytes: int = 0
    generation_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    #: Written by the template or chart card because the model's attempts failed (set by
    #: the quality stage's fallback, :mod:`nightdesk.content.qc`).
    fallback: bool = False


@dataclass(frozen=True)
class RunContext:
    """Which DAG run, and which try of its task, the rows belong to.

    :param try_number: the Airflow task instance's try (1 for the first). A retry shares
        the DAG run id with the try it replaces; this tells their rows apart.
    """

    logical_date: dt.date
    dag_id: str
    dag_run_id: str
    try_number: int = 1


def done_keys(wh: Warehouse, logical_date: dt.date, kinds: Sequence[str]) -> set[Key]:
    """Keys already generated successfully for the date: these are never generated again."""
    rows = wh.query_rows(DONE_SQL.read_text(), {"d": logical_date, "k": list(kinds)})
    return {(s, k, d, int(a)) for s, k, d, a in rows}


def restore_lost_drafts(wh: Warehouse, run: RunContext, sheets: Sequence[FactSheet],
                        kinds: Sequence[str]) -> int:
    """Write the draft row of every generation logged ``ok`` whose draft was never written.

    Only a generation newer than its draft's current attempt, from the story's current
    fact sheet, is restored (as ``generated``: the checks have not seen it). Returns the
    drafts written.
    """
    import pandas as pd

    by_story = {sheet.story_id: sheet for sheet in sheets}
    lost: dict[tuple[str, str], dict[str, Any]] = {}
    for row in wh.query_df(LOST_DRAFTS_SQL.read_text(), {"d": run.logical_date, "k": list(kinds)}).to_dict("records"):
        sheet = by_story.get(row["story_id"])
        if sheet is not None and sheet.digest == row["facts_digest"]:
            lost[(row["story_id"], row["content_kind"])] = row  # rows come by attempt: the newest wins
    if not lost:
        return 0
    now = pd.Timestamp.now(tz="UTC")
    drafts = [_draft_row(_from_log_row(row, by_story[row["story_id"]]), run, now) for row in lost.values()]
    wh.insert_df("drafts", pd.DataFrame(drafts))
    return len(drafts)


def _from_log_row(row: dict[str, Any], sheet: FactSheet) -> Generation:
    """The generation a ``generations_without_draft.sql`` row logged (what its draft needs)."""
    return Generation(
        item=WorkItem(sheet, row["content_kind"], int(row["attempt"])),
        prompt=Prompt("", "", row["prompt_template"], row["prompt_version"]),
        generator=row["generator"], model_id=row["model_id"], model_revision=row["model_revision"],
        output=row["output"], media_url=row["media_url"], media_sha256=row["media_sha256"],
        media_bytes=int(row["media_bytes"]), generation_id=row["generation_id"], fallback=bool(row["fallback"]),
    )


def failure(item: WorkItem, generator: str, model_id: str, exc: Exception) -> Generation:
    """The log entry of a call that raised: which generator and model, and the error."""
    return Generation(
        item=item, prompt=Prompt("", "", f"{item.kind}@{item.sheet.story_type}", ""), generator=generator,
        model_id=model_id, model_revision="", status="error", error=f"{type(exc).__name__}: {exc}",
    )


def save(wh: Warehouse, run: RunContext, generations: Iterable[Generation]) -> int:
    """Log every generation and record a draft for each successful one; returns rows logged."""
    import pandas as pd

    generations = list(generations)
    if not generations:
        return 0
    now = pd.Timestamp.now(tz="UTC")
    wh.insert_df("generation_log", pd.DataFrame([_log_row(g, run, now) for g in generations]))
    faults.point("after_generation_log_insert")
    drafts = [_draft_row(g, run, now) for g in generations if g.status == "ok"]
    if drafts:
        wh.insert_df("drafts", pd.DataFrame(drafts))
    return len(generations)


def _log_row(g: Generation, run: RunContext, now) -> dict[str, Any]:
    return {
        "generation_id": g.generation_id,
        "logical_date": run.logical_date,
        "dag_id": run.dag_id,
        "dag_run_id": run.dag_run_id,
        "try_number": run.try_number,
        "story_id": g.item.sheet.story_id,
        "story_type": g.item.sheet.story_type,
        "content_kind": g.item.kind,
        "facts_digest": g.item.sheet.digest,
        "attempt": g.item.attempt,
        "generator": g.generator,
        **_writer_columns(g),
        "model_id": g.model_id,
        "model_revision": g.model_revision,
        "prompt_template": g.prompt.template,
        "prompt_version": g.prompt.version,
        "params": {k: str(v) for k, v in g.params.items()},
        "prompt": f"{g.prompt.system}\n\n{g.prompt.user}".strip(),
        "output": g.output,
        "input_tokens": g.input_tokens,
        "output_tokens": g.output_tokens,
        "latency_ms": g.latency_ms,
        "time_to_first_token_ms": g.time_to_first_token_ms,
        "device": g.device,
        "batch_size": g.batch_size,
        "seed": g.seed,
        "status": g.status,
        "error": g.error[:2000],
        "media_url": g.media_url,
        "media_sha256": g.media_sha256,
        "media_bytes": g.media_bytes,
        "created_at": now,
    }


def _draft_row(g: Generation, run: RunContext, now) -> dict[str, Any]:
    return {
        "draft_id": f"{g.item.sheet.story_id}/{g.item.kind}",
        "logical_date": run.logical_date,
        "story_id": g.item.sheet.story_id,
        "story_type": g.item.sheet.story_type,
        "content_kind": g.item.kind,
        "facts_digest": g.item.sheet.digest,
        "attempt": g.item.attempt,
        "generation_id": g.generation_id,
        "generator": g.generator,
        **_writer_columns(g),
        "text": g.output,
        "media_url": g.media_url,
        "media_sha256": g.media_sha256,
        "media_bytes": g.media_bytes,
        "facts_json": g.item.sheet.to_json(),
        "status": "generated",
        "try_number": run.try_number,
        "created_at": now,
    }


def _writer_columns(g: Generation) -> dict[str, Any]:
    """Who wrote it (migration 0009): every attempt before this one failed."""
    if g.generator not in WRITERS:
        raise ValueError(f"generation {g.generation_id}: unknown generator {g.generator!r}; known: {list(WRITERS)}")
    return {"writer": WRITERS[g.generator], "fallback": int(g.fallback), "failed_attempts": g.item.attempt - 1}
