"""The quality stage: check every draft, regenerate the failures, fall back to the facts.

For each draft of the date that has not been checked: run the automatic checks (facts,
form, claims, PII, markup, near-duplicates; for a cover its image, its alt text and every
string its chart card drew), store every result in
``draft_checks``, and mark the draft ``checked_ok`` or ``checked_failed``. A failed text
is regenerated with the model under a new seed, up to :data:`MODEL_ATTEMPTS` attempts in
all, then written by the data-to-text templates; a failed cover falls back to the chart
card. Every attempt stays in ``generation_log`` with its check results; a draft that
still fails is never queued as passing.

The stage keeps no state of its own between writes: what is left to do is read from the
warehouse each round. A draft still ``generated`` is to be checked (reusing the results
already stored for its generation, if a crash came between storing them and the status);
a draft ``checked_failed`` whose writer was not a fallback is owed its next attempt. So a
task killed at any point is finished by its next try, with nothing done twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from nightdesk import faults
from nightdesk.warehouse.clickhouse import Warehouse
from nightdesk.content import records
from nightdesk.content.produce import write_items
from nightdesk.content.records import Generation, RunContext, WorkItem
from nightdesk.content.writers import ChartCoverWriter, TemplateTextWriter, Writer, Writers
from nightdesk.settings import WAREHOUSE_DIR, Settings, get_settings
from nightdesk.stories import store
from nightdesk.stories.catalog import CONTENT_KINDS, COVER_KIND, Catalog, load_catalog
from nightdesk.stories.factsheet import FactSheet

if TYPE_CHECKING:
    import pandas as pd

#: Model attempts per text draft before the template takes over. Each retry costs one
#: more batched generate call; three keeps a bad night to minutes on a CPU.
MODEL_ATTEMPTS = 3
#: The writers of last resort: a draft they wrote that fails its checks stays failed.
FALLBACK_GENERATORS = (TemplateTextWriter.generator, ChartCoverWriter.generator)
_SQL = WAREHOUSE_DIR / "sql"


def check_and_repair(wh: Warehouse, run: RunContext, settings: Settings | None = None,
                     writers: Writers | None = None) -> dict[str, int]:
    """Rewrite failed drafts, check unchecked ones, until every draft is final; returns counts.

    :param writers: the task's writers: regeneration then reuses the model its generation
        loaded; by default a set of its own. A draft that failed alone (logged as an
        error) is owed its next attempt like one that failed its checks; ``failed`` counts
        those even a writer of last resort could not write.
    """
    settings = settings or get_settings()
    records.restore_lost_drafts(wh, run, store.load(wh, run.logical_date), CONTENT_KINDS)
    catalog = load_catalog()
    repairs = _Repairs(writers or Writers(catalog, settings), settings)
    checker = DraftChecker(wh, settings, run.logical_date, catalog)
    counts = {"checked": 0, "failed_attempts": 0, "regenerated": 0, "fallbacks": 0}
    # Each round rewrites what the previous one failed, then checks what is unchecked.
    # Attempts only grow and a fallback is final, so a fresh run is done after
    # MODEL_ATTEMPTS + 1 rounds (the last writes the fallbacks) and sees so in the next.
    for _ in range(MODEL_ATTEMPTS + 2):
        repaired = _repair(wh, run, repairs, counts)
        pending = wh.query_df((_SQL / "drafts_to_check.sql").read_text(), {"d": run.logical_date})
        if not repaired and pending.empty:
            break
        _check(wh, run, checker, pending, counts)
    return {**counts, "failed": len(_failed_alone(wh, run.logical_date))}


def _failed_alone(wh: Warehouse, day: dt.date) -> list[tuple[FactSheet, str, int, str]]:
    """(fact sheet, kind, latest attempt, its generator) of every draft of the date's
    current stories whose latest try failed alone and that no later draft of the same
    facts replaced. Tries of facts the story no longer has are history, not work."""
    rows = wh.query_rows((_SQL / "items_failed_alone.sql").read_text(), {"d": day})
    if not rows:
        return []
    sheets = {sheet.story_id: sheet for sheet in store.load(wh, day)}
    return [(sheets[story_id], kind, int(attempt), generator) for story_id, kind, digest, attempt, generator in rows
            if story_id in sheets and sheets[story_id].digest == digest]


def _repair(wh: Warehouse, run: RunContext, repairs: _Repairs, counts: dict[str, int]) -> int:
    """Write the next attempt of every draft that failed its checks or failed alone and is
    owed one; returns how many."""
    owed = wh.query_df((_SQL / "drafts_to_repair.sql").read_text(),
                       {"d": run.logical_date, "final": list(FALLBACK_GENERATORS)})
    items = {(item.sheet.story_id, item.kind): item for item in (
        WorkItem(FactSheet.from_json(d["facts_json"]), d["content_kind"], int(d["attempt"]) + 1)
        for d in owed.to_dict("records"))}
    # A draft that failed alone (no draft, or none as recent as its latest try) is owed the
    # attempt after that try; where both apply, the later attempt wins.
    for sheet, kind, attempt, generator in _failed_alone(wh, run.logical_date):
        known = items.get((sheet.story_id, kind))
        if generator not in FALLBACK_GENERATORS and (known is None or known.attempt <= attempt):
            items[(sheet.story_id, kind)] = WorkItem(sheet, kind, attempt + 1)
    failed = list(items.values())
    for writer, items in repairs.plan(failed):
        written = write_items(wh, run, writer, items)
        counts["fallbacks" if writer.generator in FALLBACK_GENERATORS else "regenerated"] += written.ok
    return len(failed)


def _check(wh: Warehouse, run: RunContext, checker: DraftChecker, pending: pd.DataFrame, counts: dict[str, int]) -> None:
    """Check ``pending`` drafts, store the results, then mark each draft ok or failed.

    A draft whose generation already has stored results (its try died before the status
    was written) takes its verdict from them: checked once, stored once.
    """
    checker.start_round()
    outcome: dict[str, list[str]] = {"checked_ok": [], "checked_failed": []}
    rows = []
    for draft in pending.to_dict("records"):
        if draft["stored_checks"]:
            ok = bool(draft["stored_passed"])
        else:
            started = time.perf_counter()
            results = checker.check(draft, FactSheet.from_json(draft["facts_json"]))
            check_ms = 1000 * (time.perf_counter() - started)
            ok = all(r["passed"] for r in results)
            rows += [_check_row(run, draft, r, check_ms) for r in results]
        outcome["checked_ok" if ok else "checked_failed"].append(draft["draft_id"])
    _save_checks(wh, rows)
    faults.point("after_checks_saved")
    for status, ids in outcome.items():
        if ids:
            wh.command((_SQL / "draft_status_update.sql").read_text(),
                       {"d": run.logical_date, "ids": ids, "status": status, "try_number": run.try_number})
    faults.point("after_status_update")
    counts["checked"] += len(pending)
    counts["failed_attempts"] += len(outcome["checked_failed"])


class _Repairs:
    """Who rewrites each failed draft: the model again while attempts remain, else the facts.

    The writers are the task's, so the model generation loaded serves every round of
    regeneration too.
    """

    def __init__(self, writers: Writers, settings: Settings) -> None:
        self.model_retries = settings.text_model != "template"
        self.model = writers.text
        self.template = writers.template
        self.chart = writers.chart

    def plan(self, failed: Sequence[WorkItem]) -> list[tuple[Writer, list[WorkItem]]]:
        text = [i for i in failed if i.kind != COVER_KIND]
        retry = [i for i in text if self.model_retries and i.attempt <= MODEL_ATTEMPTS]
        groups = [(self.model, retry), (_Fallback(self.template), [i for i in text if i not in retry]),
                  (_Fallback(self.chart), [i for i in failed if i.kind == COVER_KIND])]
        return [(writer, items) for writer, items in groups if items]


class _Fallback:
    """A writer whose drafts are recorded as fallbacks: written because the model's failed."""

    def __init__(self, writer: Writer) -> None:
        self.writer, self.generator, self.model_id = writer, writer.generator, writer.model_id

    @property
    def load_time_ms(self) -> float:
        return self.writer.load_time_ms

    def stream(self, items: Sequence[WorkItem]) -> Iterator[list[Generation]]:
        for group in self.writer.stream(items):
            yield [dataclasses.replace(g, fallback=True) for g in group]


class DraftChecker:
    """Runs the checks on drafts of one date, reading what they are compared with once.

    Recent texts (per kind) do not change during the stage; the covers already passed
    and the sibling texts of each story change only between rounds.
    """

    def __init__(self, wh: Warehouse, settings: Settings, day: dt.date, catalog: Catalog) -> None:
        from generators.media_store import MediaStore
        from nightdesk.checks import NearDuplicateChecker

        self.wh, self.day, self.catalog = wh, day, catalog
        self.media = MediaStore(settings.media_url)
        self.near_duplicates = NearDuplicateChecker()
        self._recent: dict[str, list[str]] = {}
        self._covers: list[tuple[str, str]] = []
        self._siblings: dict[str, dict[str, str]] = {}

    def start_round(self) -> None:
        self._covers = self.wh.query_rows((_SQL / "checked_cover_hashes.sql").read_text())
        self._siblings = {}
        for story_id, kind, text in self.wh.query_rows((_SQL / "story_texts.sql").read_text(), {"d": self.day}):
            self._siblings.setdefault(story_id, {})[kind] = text

    def check(self, draft: dict, sheet: FactSheet) -> list[dict]:
        from nightdesk import checks

        kind = draft["content_kind"]
        if kind == COVER_KIND:
            results = self._check_cover(draft, sheet)
        else:
            results = checks.run_text_checks(kind, draft["text"], sheet, recent_texts=self._recent_texts(kind),
                                             near_duplicates=self.near_duplicates,
                                             siblings=self._siblings.get(draft["story_id"], {}))
        return [r.to_dict() for r in results]

    def _recent_texts(self, kind: str) -> list[str]:
        if kind not in self._recent:
            rows = self.wh.query_rows((_SQL / "recent_published_texts.sql").read_text(), {"d": self.day, "kind": kind})
            self._recent[kind] = [text for (text,) in rows]
        return self._recent[kind]

    def _check_cover(self, draft: dict, sheet: FactSheet):
        """The image, the alt text the queue will show with it, and every string a chart card drew."""
        from generators.media_store import relpath_for
        from nightdesk import checks
        from nightdesk.content.covers import card_from_params, cover_alt_text

        sha = draft["media_sha256"]
        params = dict(draft["params"] or {})
        width, height = params.get("size", "1200x630").split("x")
        nsfw = {"True": True, "False": False}.get(params.get("nsfw", "None"))
        others = {h for draft_id, h in self._covers if draft_id != draft["draft_id"]}
        data = self.media.open(relpath_for(sha))
        return checks.run_cover_checks(data, expected_size=(int(width), int(height)), nsfw=nsfw,
                                       published_hashes=others, factsheet=sheet,
                                       alt_text=cover_alt_text(sheet, draft["generator"], self.catalog),
                                       card=card_from_params(params))


def _check_row(run: RunContext, draft: dict, result: dict, check_ms: float) -> dict:
    """One ``draft_checks`` row; ``check_ms`` is the time all checks of the draft took together."""
    import pandas as pd

    return {
        "logical_date": run.logical_date, "try_number": run.try_number, "draft_id": draft["draft_id"],
        "generation_id": draft["generation_id"],
        "attempt": int(draft["attempt"]), "content_kind": draft["content_kind"], "check_name": result["name"],
        "passed": int(result["passed"]), "findings_json": json.dumps(result["findings"]),
        "verified": list(result.get("verified", [])),
        "check_ms": check_ms,
        "checked_at": pd.Timestamp.now(tz="UTC"),
    }


def _save_checks(wh: Warehouse, rows: list[dict]) -> None:
    import pandas as pd

    if rows:
        wh.insert_df("draft_checks", pd.DataFrame(rows))
