"""Checked drafts -> the editors' review queue.

After the content DAG's ``write_drafts``, every draft of the date has its final status
(``checked_ok`` or ``checked_failed``) and a row per check in ``draft_checks``. This
module reads them in one query (``warehouse/sql/review_candidates.sql``), turns each
draft into a :class:`~nightdesk.review.views.NewItem` and hands them to
:meth:`ReviewQueue.enqueue`, which is idempotent on the draft id: a rerun adds nothing,
a regenerated draft that nobody has decided on yet is refreshed, and a decided one is
kept as the editor left it. The queue writes in one transaction, so a task killed
mid-enqueue leaves the queue as it was, and one killed after it commits is finished by a
rerun that finds every draft unchanged.

A draft that failed its checks is enqueued too, marked ``qc_passed=False`` with the
findings, so an editor can see and fix it; the queue refuses to approve it as is.

Each item also carries the draft's earlier attempts (``warehouse/sql/review_attempts.sql``):
the model's texts that failed their checks, or calls that raised, before the current text
was written, each with the checks it failed. The review UI never reads the warehouse, so
they travel with the item as canonical JSON (:func:`attempts_to_json`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nightdesk import faults
from nightdesk.checks.result import results_json
from nightdesk.content.covers import cover_alt_text
from nightdesk.warehouse.clickhouse import Warehouse
from nightdesk.settings import WAREHOUSE_DIR
from nightdesk.stories.catalog import COVER_KIND, Catalog, load_catalog
from nightdesk.stories.factsheet import FactSheet

if TYPE_CHECKING:
    from nightdesk.review.queue import EnqueueReport, ReviewQueue
    from nightdesk.review.views import NewItem

CANDIDATES_SQL = WAREHOUSE_DIR / "sql" / "review_candidates.sql"
ATTEMPTS_SQL = WAREHOUSE_DIR / "sql" / "review_attempts.sql"
#: Characters kept of an earlier attempt's text. The longest kind (a summary) is a few
#: hundred words, well under this; a runaway model output is cut here, and the cut marked.
ATTEMPT_TEXT_CHARS = 2000
CHECKED_STATUSES = ("checked_ok", "checked_failed")


def enqueue_date(wh: Warehouse, logical_date: dt.date, queue: ReviewQueue | None = None,
                 *, actor: str = "pipeline") -> EnqueueReport:
    """Enqueue every checked draft of ``logical_date``; returns the queue's report.

    :param queue: the review queue; default the one ``NIGHTDESK_REVIEW_DB_URL`` names.
    :param actor: who the audit trail records as enqueuing.
    """
    from nightdesk.review.queue import ReviewQueue

    items = review_items(wh, logical_date)
    report = (queue or ReviewQueue()).enqueue(items, actor=actor)
    faults.point("after_enqueue")
    return report


def review_items(wh: Warehouse, logical_date: dt.date, catalog: Catalog | None = None) -> list[NewItem]:
    """The date's checked drafts as queue items, with their earlier attempts, in draft id order."""
    rows = wh.query_df(CANDIDATES_SQL.read_text(), {"d": logical_date}).to_dict("records")
    earlier = earlier_attempts(wh, logical_date)
    catalog = catalog or load_catalog()
    return [to_new_item(row, logical_date, catalog, attempts_json=earlier.get(row["draft_id"], "[]"))
            for row in rows]


def earlier_attempts(wh: Warehouse, logical_date: dt.date) -> dict[str, str]:
    """``draft_id -> attempts JSON`` for every checked draft of the date that had earlier attempts."""
    rows = wh.query_df(ATTEMPTS_SQL.read_text(), {"d": logical_date, "max_chars": ATTEMPT_TEXT_CHARS})
    by_draft: dict[str, list[dict[str, Any]]] = {}
    for row in rows.to_dict("records"):
        by_draft.setdefault(row["draft_id"], []).append(row)
    return {draft_id: attempts_to_json(found) for draft_id, found in by_draft.items()}


def attempts_to_json(rows: Sequence[dict[str, Any]]) -> str:
    """``review_attempts.sql`` rows of one draft in the queue's shape, as canonical JSON.

    One entry per earlier generation, ordered by attempt (then time and id):
    ``{"attempt", "generation_id", "generator", "model_id", "status", "error", "text",
    "truncated", "created_at", "failed_checks": [{"name", "messages"}]}``, checks by name.
    Sorted keys and a fixed order make the same attempts always the same text, so a rerun
    does not count as a change of the draft.
    """
    entries = []
    for row in rows:
        text = row["output"] or ""
        failed = sorted(zip(_as_list(row.get("failed_checks")), _as_list(row.get("failed_findings")), strict=True),
                        key=lambda r: r[0])
        entries.append({
            "attempt": int(row["attempt"]),
            "generation_id": row["generation_id"],
            "generator": row["generator"],
            "model_id": row["model_id"] or "",
            "status": row["status"],
            "error": row["error"] or "",
            "text": text,
            "truncated": int(row["output_chars"]) > len(text),
            "created_at": _iso_utc(row["created_at"]),
            "failed_checks": [{"name": name, "messages": _failure_messages(found)} for name, found in failed],
        })
    entries.sort(key=lambda e: (e["attempt"], e["created_at"], e["generation_id"]))
    return json.dumps(entries, ensure_ascii=False, sort_keys=True)


def _failure_messages(findings_json: str) -> list[str]:
    """Why a check failed: its blocking findings' messages (all of them if none is marked)."""
    findings = [f for f in json.loads(findings_json or "[]") if isinstance(f, dict)]
    blocking = [f for f in findings if f.get("severity", "fail") == "fail"] or findings
    return [str(f.get("message", "")) for f in blocking]


def _iso_utc(value: Any) -> str:
    import pandas as pd

    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.isoformat(timespec="milliseconds")


def to_new_item(row: dict[str, Any], logical_date: dt.date, catalog: Catalog, *,
                attempts_json: str = "[]") -> NewItem:
    """One ``review_candidates.sql`` row -> a queue item (covers get alt text and a media name).

    :param attempts_json: the draft's earlier attempts (:func:`attempts_to_json`).
    """
    from nightdesk.review.views import NewItem

    kind = row["content_kind"]
    status = row["status"]
    if status not in CHECKED_STATUSES:
        raise ValueError(f"draft {row['draft_id']}: status {status!r} is not one of {CHECKED_STATUSES}; "
                         "only checked drafts are enqueued")
    sheet = FactSheet.from_json(row["facts_json"])
    media_relpath = media_sha256 = ""
    text = row["text"]
    if kind == COVER_KIND:
        media_relpath = media_name(row["media_url"], row["media_sha256"], draft_id=row["draft_id"])
        media_sha256 = row["media_sha256"]
        text = cover_alt_text(sheet, row["generator"], catalog)
    return NewItem(
        draft_id=row["draft_id"],
        logical_date=logical_date,
        story_id=row["story_id"],
        story_type=row["story_type"],
        kind=kind,
        text=text,
        facts_json=row["facts_json"],
        qc_passed=status == "checked_ok",
        qc_json=qc_json(row),
        attempts=int(row["attempt"]),
        generator=row["generator"],
        model_id=row.get("model_id") or "",
        writer=row["writer"],
        fallback=bool(row["fallback"]),
        failed_attempts=int(row["failed_attempts"]),
        media_relpath=media_relpath,
        media_sha256=media_sha256,
        attempts_json=attempts_json,
        generation_id=row["generation_id"],
    )


def qc_json(row: dict[str, Any]) -> str:
    """The check results in the queue's shape: ``[{"name", "passed", "findings", "verified"}]``
    by name (``verified``: what the check verified, e.g. ``["4 of 4 figures bound"]``).

    The warehouse keeps no order of checks, so they are sorted by name: the same results
    always give the same text, which keeps a rerun from counting as a change.
    """
    names = _as_list(row.get("check_names"))
    passed = _as_list(row.get("check_passed"))
    findings = _as_list(row.get("check_findings"))
    verified = _as_list(row.get("check_verified"))
    return results_json(
        {"name": name, "passed": bool(ok), "findings": json.loads(found or "[]"), "verified": [str(v) for v in phrases]}
        for name, ok, found, phrases in zip(names, passed, findings, verified, strict=True)
    )


def media_name(media_url: str, sha256: str, *, draft_id: str = "") -> str:
    """The cover's path relative to the media store (``ab/<sha256>.png``) from its URL.

    The store names files by content, so the name is the URL's last two parts; it must
    carry the draft's recorded sha256, or the row points at some other image.
    """
    from generators.media_store import relpath_for, relpath_in

    relpath = relpath_in(media_url)
    if relpath is None or not relpath.startswith(relpath_for(sha256, suffix=".")):
        raise ValueError(f"draft {draft_id}: cover URL {media_url!r} is not a media store name for "
                         f"sha256 {sha256!r} (expected .../{relpath_for(sha256)})")
    return relpath


def _as_list(value: Any) -> Sequence[Any]:
    # A draft with no check rows comes back from the LEFT JOIN as an empty array or NULL.
    if value is None:
        return []
    try:
        return list(value)
    except TypeError:
        return []
