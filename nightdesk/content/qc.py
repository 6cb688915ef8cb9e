"""The quality stage: check every draft, regenerate the failures, fall back to the facts.

For each draft of the date that has not been checked: run the automatic checks (facts,
form, claims, PII, markup, near-duplicates, images), store every result in
``draft_checks``, and mark the draft ``checked_ok`` or ``checked_failed``. A failed text
is regenerated with the model under a new seed, up to :data:`MODEL_ATTEMPTS` attempts in
all, then written by the data-to-text templates; a failed cover falls back to the chart
card. Every attempt stays in ``generation_log`` with its check results; a draft that
still fails is never queued as passing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import asdict

from nightdesk.clickhouse import Warehouse
from nightdesk.content.produce import write_items
from nightdesk.content.records import RunContext, WorkItem
from nightdesk.content.writers import ChartCoverWriter, TemplateTextWriter, Writer, text_writer
from nightdesk.settings import WAREHOUSE_DIR, Settings, get_settings
from nightdesk.stories.catalog import COVER_KIND, Catalog, load_catalog
from nightdesk.stories.factsheet import FactSheet

#: Model attempts per text draft before the template takes over. Each retry costs one
#: more batched generate call; three keeps a bad night to minutes on a CPU.
MODEL_ATTEMPTS = 3
_SQL = WAREHOUSE_DIR / "sql"


def check_and_repair(wh: Warehouse, run: RunContext, settings: Settings | None = None) -> dict[str, int]:
    """Check, regenerate and fall back until every draft is checked; returns counts."""
    settings = settings or get_settings()
    catalog = load_catalog()
    counts = {"checked": 0, "failed_attempts": 0, "regenerated": 0, "fallbacks": 0}
    # Each round checks what the previous one regenerated; the template/chart fallback
    # makes the last round final, so MODEL_ATTEMPTS + 1 rounds always suffice.
    for _ in range(MODEL_ATTEMPTS + 1):
        pending = wh.query_df((_SQL / "drafts_to_check.sql").read_text(), {"d": run.logical_date})
        if pending.empty:
            break
        failed: list[WorkItem] = []
        outcome: dict[str, list[str]] = {"checked_ok": [], "checked_failed": []}
        rows = []
        for draft in pending.to_dict("records"):
            sheet = FactSheet.from_json(draft["facts_json"])
            results = _check(wh, settings, draft, sheet, run.logical_date)
            ok = all(r["passed"] for r in results)
            rows += [_check_row(run.logical_date, draft, r) for r in results]
            outcome["checked_ok" if ok else "checked_failed"].append(draft["draft_id"])
            if not ok and draft["generator"] not in ("template", "chart"):
                failed.append(WorkItem(sheet, draft["content_kind"], int(draft["attempt"]) + 1))
        _save_checks(wh, rows)
        for status, ids in outcome.items():
            if ids:
                wh.command((_SQL / "draft_status_update.sql").read_text(),
                           {"d": run.logical_date, "ids": ids, "status": status})
        counts["checked"] += len(pending)
        counts["failed_attempts"] += len(outcome["checked_failed"])
        for writer, items in _repairs(catalog, settings, failed):
            write_items(wh, run, writer, items, settings)
            key = "fallbacks" if writer.generator in ("template", "chart") else "regenerated"
            counts[key] += len(items)
    return counts


def _repairs(catalog: Catalog, settings: Settings, failed: Sequence[WorkItem]) -> list[tuple[Writer, list[WorkItem]]]:
    """Who rewrites each failed draft: the model again while attempts remain, else the facts."""
    retry = [i for i in failed if i.kind != COVER_KIND and i.attempt <= MODEL_ATTEMPTS and settings.text_model != "template"]
    fallback_text = [i for i in failed if i.kind != COVER_KIND and i not in retry]
    covers = [i for i in failed if i.kind == COVER_KIND]
    plan: list[tuple[Writer, list[WorkItem]]] = []
    if retry:
        plan.append((text_writer(catalog, settings), retry))
    if fallback_text:
        plan.append((TemplateTextWriter(catalog), fallback_text))
    if covers:
        plan.append((ChartCoverWriter(catalog, settings), covers))
    return plan


def _check(wh: Warehouse, settings: Settings, draft: dict, sheet: FactSheet, day: dt.date) -> list[dict]:
    from nightdesk import checks

    kind = draft["content_kind"]
    if kind == COVER_KIND:
        results = _check_cover(wh, settings, draft)
    else:
        recent = [t for (t,) in wh.query_rows((_SQL / "recent_published_texts.sql").read_text(), {"d": day, "kind": kind})]
        results = checks.run_text_checks(kind, draft["text"], sheet, recent_texts=recent)
    return [{"name": r.name, "passed": r.passed, "findings": [asdict(f) for f in r.details]} for r in results]


def _check_cover(wh: Warehouse, settings: Settings, draft: dict):
    from generators.media_store import MediaStore

    from nightdesk import checks

    sha = draft["media_sha256"]
    params = dict(wh.query_rows(
        "SELECT params FROM generation_log WHERE generation_id = {g:String} LIMIT 1", {"g": draft["generation_id"]}
    )[0][0])
    size = params.get("size", "1200x630").split("x")
    nsfw = {"True": True, "False": False}.get(params.get("nsfw", "None"))
    published = {h for (h,) in wh.query_rows(
        "SELECT DISTINCT media_sha256 FROM drafts FINAL WHERE content_kind = 'cover' AND status = 'checked_ok' "
        "AND draft_id != {id:String} AND media_sha256 != ''", {"id": draft["draft_id"]})}
    data = MediaStore(settings.media_url).open(f"{sha[:2]}/{sha}.png")
    return checks.run_image_checks(data, expected_size=(int(size[0]), int(size[1])), nsfw=nsfw,
                                   published_hashes=published)


def _check_row(day: dt.date, draft: dict, result: dict) -> dict:
    import pandas as pd

    return {
        "logical_date": day, "draft_id": draft["draft_id"], "generation_id": draft["generation_id"],
        "attempt": int(draft["attempt"]), "content_kind": draft["content_kind"], "check_name": result["name"],
        "passed": int(result["passed"]), "findings_json": json.dumps(result["findings"]),
        "checked_at": pd.Timestamp.now(tz="UTC"),
    }


def _save_checks(wh: Warehouse, rows: list[dict]) -> None:
    import pandas as pd

    if rows:
        wh.insert_df("draft_checks", pd.DataFrame(rows))
