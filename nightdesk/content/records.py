"""One place that writes generations: a ``generation_log`` row for every model call and a
``drafts`` row for every successful one, and answers which generations are already done.

The two rows are two inserts with no transaction across tables. The log row is written
first and carries everything its draft needs, so a task killed between the two leaves
work that the next try finishes with :func:`restore_lost_drafts` instead of redoing it.
"""

from __future__ import annotations

import datetime as dt
import time
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
TRIED_SQL = WAREHOUSE_DIR / "sql" / "drafts_tried.sql"
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
    #: The model call (batch) that made it; rows sharing it share ``latency_ms``.
    batch_id: str = ""
    #: Seconds since the epoch: handed to the writer, first token ready (models that
    #: stream tokens only), model call returned. Migration 0010 says what each means.
    enqueued_at: float = 0.0
    first_token_at: float | None = None
    finished_at: float = 0.0
    #: Time the writer spent loading its model in this task try (0: it loads none).
    load_time_ms: float = 0.0

    @property
    def call_id(self) -> str:
        """The request to the generator: one request makes one generation, so its id."""
        return self.generation_id

    @property
    def device_seconds(self) -> float:
        """This request's equal share of its batch's wall time."""
        return self.latency_ms / 1000 / max(self.batch_size, 1)


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


def tried_drafts(wh: Warehouse, logical_date: dt.date, kinds: Sequence[str]) -> set[tuple[str, str, str]]:
    """(story, kind, facts digest) of every draft the date has a generation of, ok or failed
    alone: its first attempt is written, and any later one is the quality stage's to write."""
    return set(wh.query_rows(TRIED_SQL.read_text(), {"d": logical_date, "k": list(kinds)}))


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


def failure(item: WorkItem, generator: str, model_id: str, exc: Exception, *, batch_id: str) -> Generation:
    """The log entry of a call that raised: which generator and model, and the error.

    :param batch_id: names the failed call; the items it held share it.
    """
    return Generation(
        item=item, prompt=Prompt("", "", f"{item.kind}@{item.sheet.story_type}", ""), generator=generator,
        model_id=model_id, model_revision="", status="error", error=f"{type(exc).__name__}: {exc}",
        batch_id=batch_id, finished_at=time.time(),
    )


def save(wh: Warehouse, run: RunContext, generations: Iterable[Generation]) -> int:
    """Log every generation and record a draft for each successful one; returns rows logged."""
    import pandas as pd

    generations = list(generations)
    if not generations:
        return 0
    now = pd.Timestamp.now(tz="UTC")
    register_prompts(wh, [g.prompt for g in generations if g.status == "ok"], now)
    wh.insert_df("generation_log", pd.DataFrame([_log_row(g, run, now) for g in generations]))
    faults.point("after_generation_log_insert")
    drafts = [_draft_row(g, run, now) for g in generations if g.status == "ok"]
    if drafts:
        wh.insert_df("drafts", pd.DataFrame(drafts))
    return len(generations)


def register_prompts(wh: Warehouse, prompts: Sequence[Prompt], now) -> int:
    """Add to ``prompt_registry`` each prompt version not in it yet; returns versions added."""
    import pandas as pd

    by_version = {p.version: p for p in prompts if p.version}
    if not by_version:
        return 0
    known = {v for (v,) in wh.query_rows("SELECT DISTINCT prompt_version FROM prompt_registry "
                                         "WHERE prompt_version IN {v:Array(String)}", {"v": list(by_version)})}
    new = [{"prompt_version": v, "prompt_name": p.name or p.template, "prompt_text": p.source, "first_seen_at": now}
           for v, p in by_version.items() if v not in known]
    return wh.insert_df("prompt_registry", pd.DataFrame(new))


def _timestamp(seconds: float | None, default):
    """Epoch seconds as a UTC timestamp (``default`` when not measured)."""
    import pandas as pd

    return pd.Timestamp(seconds, unit="s", tz="UTC") if seconds else default


def _log_row(g: Generation, run: RunContext, now) -> dict[str, Any]:
    finished = _timestamp(g.finished_at, now)
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
        "call_id": g.call_id,
        "batch_id": g.batch_id or g.generation_id,
        "enqueued_at": _timestamp(g.enqueued_at, finished),
        "first_token_at": _timestamp(g.first_token_at, None),
        "finished_at": finished,
        "device_seconds": g.device_seconds,
        "prompt_name": g.prompt.name or g.prompt.template,
        "load_time_ms": g.load_time_ms,
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
