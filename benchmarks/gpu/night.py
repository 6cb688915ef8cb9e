"""Night-path rows: synthetic stories through the content DAG's own functions.

For each story the night writes four texts and one cover and checks every draft:
``produce.write_items`` with the writers ``produce`` would choose (the model text writer
and the diffusion cover writer, loaded from the benchmark's random models), then the
quality stage's checker (``qc.DraftChecker``) on every draft, as its first round does.
Regeneration of failed drafts is not in the figure: random weights fail every check, so
the repair rounds would measure the model's prose, not the path.

The warehouse writes go where the machine allows:

- **chDB**: a fresh embedded warehouse, migrated, the real inserts (``records.save``);
  needs the chdb package (its engine wheel is 181 MB, over the GPU worker's 64 MiB
  wheel budget, so this row runs on machines that have it, such as CI's CPU);
- **local file**: the same ``records.save`` calls hand the same DataFrames to
  :class:`InsertFile`, which appends them as JSONEachRow (a ClickHouse input format) to
  one file per table; it answers the warehouse's look-ups (known prompt versions, the
  day's sibling texts and cover hashes) with no rows, so each batch re-registers its
  prompt versions and the checks see no siblings.

Both rows say how long the inserts took within the total.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from benchmarks.gpu.report import Phase, Row, Skip
from benchmarks.gpu.timing import timed
from benchmarks.gpu.workload import Shape

PHASE = "night"
DAY = dt.date(2013, 3, 1)
_ENTITIES = ("EWR", "JFK", "LGA", "UA", "AA", "DL", "AAPL", "MSFT")


def settings_of(shape: Shape, stories: int) -> str:
    return (f"{stories} stories x (4 texts + 1 cover), text slots {max(shape.text_batches)}, "
            f"cover batch {shape.cover_batch}, {shape.cover_size}x{shape.cover_size}, {shape.cover_steps} step(s), "
            "locked decoding, kinds' own token limits")


def run(shape: Shape, text_dir: Path, cover_dir: Path, workdir: Path, phase: Phase) -> None:
    """Append the chDB row and the local-file row to ``phase``."""
    from nightdesk.settings import get_settings

    settings = dataclasses.replace(
        get_settings(), data_dir=workdir / "night", media_url=str(workdir / "night" / "media"),
        text_model=str(text_dir), image_model=str(cover_dir), text_decoding="locked",
        text_batch_size=max(shape.text_batches), image_batch_size=shape.cover_batch,
        image_size=shape.cover_size, image_steps=shape.cover_steps,
    )
    sheets = synthetic_sheets(shape.night_stories)
    warm = synthetic_sheets(max(shape.cover_batch, 2), prefix="warm")
    described = settings_of(shape, len(sheets))
    phase.run("night path, warehouse writes to chDB", described, lambda: _night(sheets, warm, settings, _chdb(settings)))
    phase.run("night path, warehouse rows to a local file (JSONEachRow)", described,
              lambda: _night(sheets, warm, settings, InsertFile(workdir / "night" / "inserts")))


def synthetic_sheets(n: int, prefix: str = "s") -> list[Any]:
    """``n`` fact sheets, cycling through the catalog's story types, built by the selection's own code."""
    from nightdesk.stories import select
    from nightdesk.stories.catalog import load_catalog

    stories = list(load_catalog().story_types.values())
    sheets = []
    for i in range(n):
        story = stories[i % len(stories)]
        row = {f.column: _value(f.kind, i) for f in story.facts} | {"story_key": f"{prefix}{i}", "score": 1.0}
        sheets += select.sheets_from_rows(story, [row], DAY)
    return sheets


def _value(kind: str, i: int) -> Any:
    """A plausible value of each fact kind, different per story."""
    return {"count": 100 + 7 * i, "number": 10.5 + i % 9, "percent": 40.3 + i % 50, "currency": 120.25 + 3 * i,
            "date": DAY.isoformat(), "entity": _ENTITIES[i % len(_ENTITIES)], "text": ("rose", "fell")[i % 2]}[kind]


def _chdb(settings: Any) -> Any:
    try:
        import chdb  # noqa: F401
    except ImportError as exc:
        raise Skip(f"chdb is not installed here ({exc}); its 181 MB engine wheel is over the 64 MiB "
                   "budget of a GPU worker: see the local-file row, and this row on a CPU") from exc
    from nightdesk.warehouse import clickhouse, migrations

    wh = clickhouse.connect(settings)
    migrations.migrate(wh)
    return wh


def _night(sheets: Sequence[Any], warm: Sequence[Any], settings: Any, warehouse: Any) -> Row:
    from nightdesk.content.produce import write_items
    from nightdesk.content.records import RunContext, WorkItem
    from nightdesk.content.writers import cover_writer, text_writer
    from nightdesk.stories.catalog import COVER_KIND, TEXT_KINDS, load_catalog

    catalog = load_catalog()
    run = RunContext(DAY, "gpu_throughput_benchmark", f"bench-{uuid.uuid4().hex[:8]}")
    wh = _TimedInserts(warehouse)
    texts, covers = Recording(text_writer(catalog, settings)), Recording(cover_writer(catalog, settings))

    def night(of: Sequence[Any]) -> dict[str, float]:
        spent = {}
        spent["texts"], _ = timed(lambda: write_items(
            wh, run, texts, [WorkItem(sheet, kind) for sheet in of for kind in TEXT_KINDS]))
        spent["covers"], _ = timed(lambda: write_items(
            wh, run, covers, [WorkItem(sheet, COVER_KIND) for sheet in of]))
        spent["checks"], _ = timed(lambda: _check(wh, settings, catalog, texts.generations + covers.generations))
        return spent

    night(warm)  # loads both models, compiles, fills caches: a long night pays this once
    load_s = (texts.load_time_ms + covers.load_time_ms) / 1000
    for recording in (texts, covers):
        recording.generations.clear()
    wh.reset()
    spent = night(sheets)
    total = sum(spent.values())
    made = texts.generations + covers.generations
    errors = sum(g.status != "ok" for g in made)
    if errors:
        raise RuntimeError(f"{errors} of {len(made)} generations failed: {next(g.error for g in made if g.status != 'ok')}")
    notes = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in spent.items())
    notes += (f"; of which warehouse inserts {wh.insert_s:.2f} s ({wh.rows} rows); "
              f"{len(made)} generations; model loads {load_s:.1f} s (not in the figure)")
    return Row(PHASE, "", "", len(sheets) / total * 3600, "stories/hour", notes=notes)


def _check(wh: Any, settings: Any, catalog: Any, generations: Sequence[Any]) -> None:
    """The quality stage's first round on every draft: its checker, on the draft as stored."""
    from nightdesk.content.qc import DraftChecker

    checker = DraftChecker(wh, settings, DAY, catalog)
    checker.start_round()
    for g in generations:
        draft = {"draft_id": f"{g.item.sheet.story_id}/{g.item.kind}", "story_id": g.item.sheet.story_id,
                 "content_kind": g.item.kind, "text": g.output, "generator": g.generator,
                 "media_sha256": g.media_sha256, "params": {k: str(v) for k, v in g.params.items()}}
        if not checker.check(draft, g.item.sheet):
            raise RuntimeError(f"the checks returned no result for {draft['draft_id']}")


class Recording:
    """A writer that keeps what the wrapped writer made, so the checks can read it back."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer
        self.generator, self.model_id = writer.generator, writer.model_id
        self.generations: list[Any] = []

    @property
    def load_time_ms(self) -> float:
        return self.writer.load_time_ms

    def write(self, items: Sequence[Any]) -> list[Any]:
        made = self.writer.write(items)
        self.generations.extend(made)
        return made

    def stream(self, items: Sequence[Any]) -> Iterator[list[Any]]:
        """The wrapped writer's groups; one group of all items from a writer that cannot stream."""
        groups = self.writer.stream(items) if hasattr(self.writer, "stream") else [self.writer.write(items)]
        for group in groups:
            self.generations.extend(group)
            yield group


class _TimedInserts:
    """The warehouse, with the time spent in its inserts added up."""

    def __init__(self, warehouse: Any) -> None:
        self.warehouse = warehouse
        self.reset()

    def reset(self) -> None:
        self.insert_s, self.rows = 0.0, 0

    def insert_df(self, table: str, df: Any) -> int:
        started = time.perf_counter()
        rows = self.warehouse.insert_df(table, df)
        self.insert_s += time.perf_counter() - started
        self.rows += rows
        return rows

    def __getattr__(self, name: str) -> Any:
        return getattr(self.warehouse, name)


class InsertFile:
    """Where a worker without chDB writes the warehouse's rows: one JSONEachRow file per table."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def insert_df(self, table: str, df: Any) -> int:
        if df.empty:
            return 0
        with (self.folder / f"{table}.jsonl").open("a", encoding="utf-8") as out:
            out.write(df.to_json(orient="records", lines=True, date_format="iso", default_handler=str))
        return len(df)

    def query_rows(self, sql: str, params: Any = None) -> list[tuple]:
        return []
