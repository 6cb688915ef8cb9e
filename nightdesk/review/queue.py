"""The review queue's operations: enqueue drafts, claim, edit, decide, publish, audit.

Every change is optimistic: the editor passes the ``version`` they read, and the row is
updated ``WHERE draft_id = :id AND version = :expected`` with ``version = version + 1``.
Of several editors acting on the same draft exactly one update matches; the others get
:class:`ConflictError`. Each attempt leaves one audit row in the same transaction as its
change -- and a refused one (stale version, wrong state, someone else's claim, failed
checks) a ``conflict`` row in a transaction of its own -- so the trail accounts for
every click, winning or not.

A claim is a lock that expires: once ``claim_expires_at`` has passed, the draft reads as
``queued`` again (:func:`~nightdesk.review.states.effective_state`) and anyone may claim or decide it.
"""

from __future__ import annotations

import builtins
import datetime as dt
import difflib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa

from nightdesk.review.errors import (
    ClaimHeldError,
    ConflictError,
    InvalidTransition,
    ItemNotFound,
    QCFailedError,
    ReviewError,
)
from nightdesk.review import verdict
from nightdesk.review.models import WRITERS, AuditEvent, ReviewItem
from nightdesk.review.states import (
    APPROVED,
    APPROVED_STATES,
    CLAIMED,
    EDITED_APPROVED,
    PUBLISHED,
    QUEUED,
    REJECTED,
    STATES,
    TRANSITIONS,
    UNDECIDED,
    WITHDRAWN,
    check_action,
    conflict,
    effective_state,
    not_allowed,
)
from nightdesk.review.store import Store, serialize_audit
from nightdesk.review.views import AuditEventView, ItemView, NewItem
from nightdesk.stories.catalog import CONTENT_KINDS, COVER_KIND

# Annotations say ``builtins.list``: inside ReviewQueue, ``list`` is the method of that name.
ITEMS = ReviewItem.__table__
AUDIT = AuditEvent.__table__
# Fields whose change makes a rerun of the pipeline refresh an undecided draft. Not the
# generation id alone: a retried task that wrote the same draft again (same text, same
# sheet) must leave an editor's edit in place; the row then takes the new id in place.
_GENERATED = ("facts_json", "media_relpath", "media_sha256", "attempts_json", "writer", "fallback", "failed_attempts")
# The pipeline's verdict on the generated text; an edit replaces it with the re-check of
# the edited text, so it is compared only while the text is the generated one.
_VERDICT = ("qc_passed", "qc_json", "verified_json")
# Why an attempt was refused, as recorded in its conflict row.
_REFUSALS: dict[type[ReviewError], str] = {
    ConflictError: "stale_version", InvalidTransition: "invalid_transition",
    ClaimHeldError: "claim_held", QCFailedError: "qc_failed",
}
_KIND_ORDER = sa.case({k: i for i, k in enumerate(CONTENT_KINDS)}, value=ITEMS.c.kind)


@dataclass(frozen=True)
class QueueFilter:
    """Which drafts to list or count; ``None`` fields do not filter. ``state`` is the
    effective state (an expired claim counts as ``queued``); ``verdict`` is one of
    :data:`~nightdesk.review.verdict.VERDICTS` (``unverified``: the checks passed but
    verified nothing); ``writer`` one of :data:`~nightdesk.review.models.WRITERS`;
    ``fallback`` selects drafts a template or chart card wrote after the model failed
    (``True``) or the others (``False``)."""

    logical_date: dt.date | None = None
    story_type: str | None = None
    kind: str | None = None
    state: str | None = None
    qc_passed: bool | None = None
    verdict: str | None = None
    writer: str | None = None
    fallback: bool | None = None

    def __post_init__(self) -> None:
        if self.verdict is not None and self.verdict not in verdict.VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}; known: {list(verdict.VERDICTS)}")
        if self.writer is not None and self.writer not in WRITERS:
            raise ValueError(f"unknown writer {self.writer!r}; known: {list(WRITERS)}")


@dataclass(frozen=True)
class EnqueueReport:
    """What :meth:`ReviewQueue.enqueue` did: ``kept`` drafts were already decided and left
    as they were; ``unchanged`` ones were undecided and enqueued again identically."""

    added: int
    refreshed: int
    kept: int
    unchanged: int = 0


@dataclass(frozen=True)
class BulkReport:
    """Drafts approved, and why each of the others was refused (``draft_id -> message``)."""

    approved: builtins.list[str]
    refused: dict[str, str]


class ReviewQueue:
    """The review queue on a transactional store.

    :param url: SQLAlchemy URL (``sqlite:////path/review.sqlite`` or ``postgresql://...``);
        ``None`` reads ``NIGHTDESK_REVIEW_DB_URL`` or uses ``<data_dir>/review.sqlite``.
        Nothing is opened until the first call, which creates the tables if missing.
    :param lock_timeout: seconds a write waits for other writers before it gives up with
        :class:`StoreBusyError` (nothing written).
    :param claim_ttl: how long a claim keeps other editors off a draft.
    :param clock: returns the current timezone-aware time; tests pass a fake one.
    """

    def __init__(self, url: str | None = None, *, lock_timeout: float = 10.0,
                 claim_ttl: dt.timedelta = dt.timedelta(minutes=15),
                 clock: Callable[[], dt.datetime] | None = None) -> None:
        if claim_ttl <= dt.timedelta(0):
            raise ValueError(f"claim_ttl must be positive, got {claim_ttl}")
        self._store = Store(url, lock_timeout)
        self._claim_ttl = claim_ttl
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))

    def close(self) -> None:
        """Close the store's connections (a later call reopens them)."""
        self._store.close()

    # -- the pipeline's side ---------------------------------------------------------

    def enqueue(self, items: Sequence[NewItem], actor: str = "pipeline") -> EnqueueReport:
        """Add the night's drafts; safe to rerun.

        New drafts become ``queued``. An undecided draft whose generated text, facts,
        checks, image, earlier attempts or generation changed is refreshed: everything generated is replaced, the
        version bumped (so an editor's pending decision on the old text conflicts) and the
        audit row keeps the diff, including an editor's edit that the new text replaced.
        Decided drafts are kept as they are. An undecided draft enqueued before the store
        kept generation ids only gains the id (it is the same draft). One transaction: all
        or nothing.
        """
        _validate_new(items)
        now = self._now()
        added = refreshed = kept = unchanged = 0
        events: builtins.list[dict[str, Any]] = []
        # Assumed size: a night's batch is hundreds of drafts (top stories x 5 kinds), fine
        # for one IN list and one transaction.
        with self._store.write(f"enqueue {len(items)} drafts") as conn:
            # FOR NO KEY UPDATE (PostgreSQL): editors' decisions on these rows wait for this
            # transaction, and still let audit inserts reference them.
            found = conn.execute(sa.select(ITEMS).where(ITEMS.c.draft_id.in_([i.draft_id for i in items]))
                                 .with_for_update(key_share=True))
            existing = {row.draft_id: row for row in found}
            for item in items:
                row = existing.get(item.draft_id)
                if row is None:
                    conn.execute(sa.insert(ITEMS).values(_new_row(item, now)))
                    events.append(_event(item.draft_id, actor, "enqueue", None, QUEUED, now, {"version": 1},
                                         generation_id=item.generation_id))
                    added += 1
                elif row.state not in UNDECIDED:
                    kept += 1
                elif _generated_changed(row, item):
                    state = effective_state(row._mapping, now)
                    values = {**_generated(item), "original_text": item.text, "version": row.version + 1,
                              "updated_at": now}
                    conn.execute(sa.update(ITEMS).where(ITEMS.c.draft_id == item.draft_id).values(values))
                    events.append(_event(item.draft_id, actor, "enqueue", state, state, now, {
                        "refreshed": True, "version": row.version + 1, "edit_replaced": row.text != row.original_text,
                        "diff": _diff(item.draft_id, row.version, row.text, item.text),
                        "replaced_generation_id": row.generation_id}, generation_id=item.generation_id))
                    refreshed += 1
                else:
                    if row.generation_id != item.generation_id:  # the same draft, written again (or
                        # enqueued before the store kept ids): it now comes from that generation
                        conn.execute(sa.update(ITEMS).where(ITEMS.c.draft_id == item.draft_id)
                                     .values(generation_id=item.generation_id))
                    unchanged += 1
            _insert_audit(conn, events)
        return EnqueueReport(added, refreshed, kept, unchanged)

    def publish(self, draft_ids: Sequence[str], actor: str = "publisher") -> builtins.list[ItemView]:
        """Mark approved drafts published, in one transaction; returns them in the order given.

        Drafts already published are returned unchanged (publishing again is a no-op). A
        draft that is no longer approved (withdrawn or rejected meanwhile) is left out of
        the result and its refusal audited, so a batch is not failed by one late decision.

        :raises ItemNotFound: an id is not in the queue (nothing is written).
        """
        now = self._now()
        ids = builtins.list(dict.fromkeys(draft_ids))
        views: builtins.list[ItemView] = []
        events: builtins.list[dict[str, Any]] = []
        with self._store.write(f"publish {len(ids)} drafts") as conn:
            rows = {r.draft_id: r for r in conn.execute(
                sa.select(ITEMS).where(ITEMS.c.draft_id.in_(ids)).with_for_update(key_share=True))}
            for draft_id in ids:
                row = rows.get(draft_id)
                if row is None:
                    raise ItemNotFound(f"publish {draft_id}: no such draft in the review queue")
                state = effective_state(row._mapping, now)
                if state == PUBLISHED:
                    views.append(_view(row, now))
                elif state in TRANSITIONS["publish"].allowed_from:
                    values = {"state": PUBLISHED, "published_at": now, "version": row.version + 1, "updated_at": now}
                    conn.execute(sa.update(ITEMS).where(ITEMS.c.draft_id == draft_id).values(values))
                    events.append(_event(draft_id, actor, "publish", state, PUBLISHED, now,
                                         {"expected_version": row.version}, generation_id=row.generation_id))
                    views.append(_view(row, now, values))
                else:
                    refusal = not_allowed("publish", draft_id, state)
                    events.append(_refusal_event(draft_id, actor, "publish", row, state, row.version, refusal, now))
            _insert_audit(conn, events)
        return views

    # -- reading ---------------------------------------------------------------------

    def get(self, draft_id: str) -> ItemView:
        """The draft as stored now. :raises ItemNotFound: no such draft."""
        now = self._now()
        with self._store.read() as conn:
            return _view(_row(conn, draft_id, "get"), now)

    def story(self, story_id: str) -> builtins.list[ItemView]:
        """Every draft of one story, in kind order (empty for an unknown story).

        Looked up by primary key: a draft id is always ``<story_id>/<kind>`` (checked at enqueue).
        """
        now = self._now()
        ids = [f"{story_id}/{kind}" for kind in CONTENT_KINDS]
        query = sa.select(ITEMS).where(ITEMS.c.draft_id.in_(ids)).order_by(_KIND_ORDER)
        with self._store.read() as conn:
            return [_view(row, now) for row in conn.execute(query)]

    def list(self, f: QueueFilter = QueueFilter(), *, limit: int = 200, offset: int = 0) -> builtins.list[ItemView]:
        """Drafts matching ``f``: newest logical date first, then by story and kind."""
        if limit < 1 or offset < 0:
            raise ValueError(f"limit must be >= 1 and offset >= 0, got limit={limit}, offset={offset}")
        now = self._now()
        query = (sa.select(ITEMS).where(*_conditions(f, now))
                 .order_by(ITEMS.c.logical_date.desc(), ITEMS.c.story_id, _KIND_ORDER, ITEMS.c.draft_id)
                 .limit(limit).offset(offset))
        with self._store.read() as conn:
            return [_view(row, now) for row in conn.execute(query)]

    def counts(self, f: QueueFilter = QueueFilter()) -> dict[str, int]:
        """Number of drafts matching ``f`` per effective state; every state is present."""
        now = self._now()
        # Grouped through a subquery: the CASE appears once, so its bound time cannot differ
        # between SELECT and GROUP BY under server-side parameter binding.
        states = sa.select(_state_sql(now).label("state")).where(*_conditions(f, now)).subquery()
        query = sa.select(states.c.state, sa.func.count()).group_by(states.c.state)
        with self._store.read() as conn:
            found: dict[str, int] = dict(conn.execute(query).all())
        return {s: found.get(s, 0) for s in STATES}

    def facets(self) -> dict[str, builtins.list[str]]:
        """Distinct logical dates (ISO, newest first), story types and kinds, for filter menus."""
        with self._store.read() as conn:
            def distinct(column: sa.Column, *order: sa.ColumnElement[Any]) -> builtins.list[Any]:
                return builtins.list(conn.execute(sa.select(column).distinct().order_by(*order)).scalars())

            return {
                "logical_date": [d.isoformat() for d in distinct(ITEMS.c.logical_date, ITEMS.c.logical_date.desc())],
                "story_type": distinct(ITEMS.c.story_type, ITEMS.c.story_type),
                "kind": sorted(distinct(ITEMS.c.kind, ITEMS.c.kind), key=CONTENT_KINDS.index),
            }

    def publishable(self, logical_date: dt.date | None = None) -> builtins.list[ItemView]:
        """Drafts that belong on the site: approved, edited-and-approved or published."""
        now = self._now()
        query = sa.select(ITEMS).where(ITEMS.c.state.in_([*APPROVED_STATES, PUBLISHED]))
        if logical_date is not None:
            query = query.where(ITEMS.c.logical_date == logical_date)
        query = query.order_by(ITEMS.c.logical_date, ITEMS.c.story_id, _KIND_ORDER)
        with self._store.read() as conn:
            return [_view(row, now) for row in conn.execute(query)]

    def history(self, draft_id: str) -> builtins.list[AuditEventView]:
        """Every audit row of a draft, oldest first (empty for an unknown draft)."""
        return self._events(sa.select(AUDIT).where(AUDIT.c.draft_id == draft_id).order_by(AUDIT.c.id))

    def approvals(self, draft_ids: Sequence[str]) -> dict[str, AuditEventView]:
        """The last ``approve`` event of each of ``draft_ids`` that has one (one query)."""
        events = self._events(sa.select(AUDIT).where(AUDIT.c.action == "approve", AUDIT.c.draft_id.in_(draft_ids))
                              .order_by(AUDIT.c.id))
        return {event.draft_id: event for event in events}  # later events overwrite earlier ones

    def editor_history(self, editor: str, *, limit: int = 200) -> builtins.list[AuditEventView]:
        """What ``editor`` did (conflicts included), newest first."""
        return self._events(sa.select(AUDIT).where(AUDIT.c.actor == editor).order_by(AUDIT.c.id.desc()).limit(limit))

    def events_since(self, after_id: int, *, limit: int = 10_000) -> builtins.list[AuditEventView]:
        """Audit rows with ``id > after_id`` in id order, for the ClickHouse export. Ids
        become visible in id order (:func:`nightdesk.review.store.serialize_audit`), so
        resuming from the highest id copied misses nothing."""
        return self._events(sa.select(AUDIT).where(AUDIT.c.id > after_id).order_by(AUDIT.c.id).limit(limit))

    # -- editors' actions --------------------------------------------------------------

    def claim(self, draft_id: str, editor: str, expected_version: int) -> ItemView:
        """Take the draft for ``claim_ttl`` (renewed when the holder claims again)."""
        def values(row: sa.Row, now: dt.datetime) -> tuple[dict[str, Any], dict[str, Any]]:
            expires = now + self._claim_ttl
            return {"state": CLAIMED, "claimed_by": editor, "claim_expires_at": expires}, {"expires_at": expires.isoformat()}

        return self._act("claim", draft_id, editor, expected_version, values)

    def release(self, draft_id: str, editor: str, expected_version: int) -> ItemView:
        """Give a claimed draft back to the queue."""
        return self._act("release", draft_id, editor, expected_version,
                         lambda row, now: ({"state": QUEUED, "claimed_by": None, "claim_expires_at": None}, {}))

    def edit(self, draft_id: str, editor: str, expected_version: int, text: str, *, qc_passed: bool,
             qc_json: str) -> ItemView:
        """Replace the text; the state is kept (approval is a separate, explicit step).

        :param qc_passed: the verdict of :func:`nightdesk.review.recheck.recheck` on ``text``.
        :param qc_json: its results (stored with the draft and shown to editors).

        The audit row holds a unified diff from the previous text.
        """
        if not text.strip():
            raise ValueError(f"edit {draft_id}: the text is empty")
        if not isinstance(json.loads(qc_json), builtins.list):
            raise ValueError(f"edit {draft_id}: qc_json must be a JSON list of check results")

        def values(row: sa.Row, now: dt.datetime) -> tuple[dict[str, Any], dict[str, Any]]:
            return ({"text": text, "qc_passed": qc_passed, "qc_json": qc_json,
                     "verified_json": verdict.verified_json(qc_json)},
                    {"diff": _diff(draft_id, row.version, row.text, text), "qc_passed": qc_passed})

        # A refused edit keeps the text the editor wrote in its conflict row, so the page
        # can give it back to them however long it is.
        return self._act("edit", draft_id, editor, expected_version, values, attempted={"text": text})

    def approve(self, draft_id: str, editor: str, expected_version: int, *, batch: str | None = None) -> ItemView:
        """Approve the draft: ``edited_approved`` when its text is not the generated one.

        :param batch: the bulk approval this is part of, recorded on the audit row (or on
            the refusal's) so :meth:`batch_report` can find the outcome again.
        :raises QCFailedError: the current text failed the checks.
        """
        def values(row: sa.Row, now: dt.datetime) -> tuple[dict[str, Any], dict[str, Any]]:
            if not row.qc_passed:
                raise QCFailedError(f"approve {draft_id}: the current text fails the quality checks; "
                                    "edit it until the checks pass, or reject it")
            edited = row.text != row.original_text
            return ({"state": EDITED_APPROVED if edited else APPROVED, **_decision(editor, now)}, {"edited": edited})

        return self._act("approve", draft_id, editor, expected_version, values,
                         noted={"batch": batch} if batch else None)

    def bulk_approve(self, versions: Mapping[str, int], editor: str, *, batch: str | None = None) -> BulkReport:
        """Approve each ``draft_id -> expected_version`` on its own: one refusal (a
        conflict, a failed check) does not hold back the others.

        :param batch: names this bulk approval in every audit row it writes (see :meth:`approve`).
        """
        approved: builtins.list[str] = []
        refused: dict[str, str] = {}
        for draft_id, version in versions.items():
            try:
                self.approve(draft_id, editor, version, batch=batch)
            except ReviewError as exc:
                refused[draft_id] = str(exc)
            else:
                approved.append(draft_id)
        return BulkReport(approved, refused)

    def batch_report(self, editor: str, batch: str) -> BulkReport:
        """What the bulk approval ``batch`` by ``editor`` did, read back from the audit trail
        (so the page reporting it can be reloaded). Empty for an unknown batch."""
        query = (sa.select(AUDIT).where(AUDIT.c.actor == editor, AUDIT.c.action.in_(["approve", "conflict"]),
                                        AUDIT.c.details.contains(json.dumps(batch)))
                 .order_by(AUDIT.c.id))
        approved: builtins.list[str] = []
        refused: dict[str, str] = {}
        for event in self._events(query):
            if event.details.get("batch") != batch:
                continue  # the id appeared elsewhere in the details
            if event.action == "approve":
                approved.append(event.draft_id)
            else:
                refused[event.draft_id] = str(event.details.get("message", ""))
        return BulkReport(approved, refused)

    def reject(self, draft_id: str, editor: str, expected_version: int, reason: str) -> ItemView:
        """Reject the draft; ``reason`` is required and shown with it."""
        if not reason.strip():
            raise ValueError(f"reject {draft_id}: give a reason")
        return self._act("reject", draft_id, editor, expected_version, lambda row, now: (
            {"state": REJECTED, "reject_reason": reason, **_decision(editor, now)}, {"reason": reason}))

    def reopen(self, draft_id: str, editor: str, expected_version: int, reason: str) -> ItemView:
        """Take a rejection back: the draft returns to ``queued`` with its text as it was
        (an edit included), free for anyone to claim and decide again.

        The draft no longer carries the rejection (``decided_by``, ``decided_at``,
        ``reject_reason`` are cleared); the audit row keeps who rejected it and why, next
        to why it was reopened. A rejected draft was never published, so nothing public
        changes; the publish DAG's export copies the ``reopen`` row like any other.
        Two editors reopening at once: one wins, the other's stale version conflicts.
        """
        if not reason.strip():
            raise ValueError(f"reopen {draft_id}: give a reason")
        return self._act("reopen", draft_id, editor, expected_version, lambda row, now: (
            {"state": QUEUED, "reject_reason": None, "decided_by": None, "decided_at": None},
            {"reason": reason, "rejected_by": row.decided_by, "rejected_because": row.reject_reason}))

    def withdraw(self, draft_id: str, editor: str, expected_version: int, reason: str) -> ItemView:
        """Take an approved or published draft off the site. The approval (``decided_by``,
        ``decided_at``) stays on the draft; the withdrawal and its reason are in the audit."""
        if not reason.strip():
            raise ValueError(f"withdraw {draft_id}: give a reason")
        return self._act("withdraw", draft_id, editor, expected_version,
                         lambda row, now: ({"state": WITHDRAWN}, {"reason": reason}))

    def comment(self, draft_id: str, editor: str, text: str) -> None:
        """Leave a note on the draft's history; changes nothing else, so needs no version."""
        if not text.strip():
            raise ValueError(f"comment on {draft_id}: the comment is empty")
        now = self._now()
        with self._store.write(f"comment on {draft_id}") as conn:
            row = _row(conn, draft_id, "comment")
            state = effective_state(row._mapping, now)
            _insert_audit(conn, [_event(draft_id, editor, "comment", state, state, now, {"comment": text},
                                        generation_id=row.generation_id)])

    # -- internals ---------------------------------------------------------------------

    def _act(self, action: str, draft_id: str, actor: str, expected_version: int,
             values: Callable[[sa.Row, dt.datetime], tuple[dict[str, Any], dict[str, Any]]], *,
             noted: Mapping[str, Any] | None = None, attempted: Mapping[str, Any] | None = None) -> ItemView:
        """Apply one versioned action: check, conditional update and audit row in one
        transaction; a refusal is audited in a transaction of its own, then raised.

        ``values(row, now)`` returns the columns to set and the audit details; it may raise
        a refusal of its own (approval of a failing draft). ``noted`` goes into the audit
        row either way, ``attempted`` into a refusal's only.
        """
        noted = dict(noted or {})
        now = self._now()
        try:
            with self._store.write(f"{action} {draft_id}") as conn:
                row = _row(conn, draft_id, action)
                state = check_action(action, row._mapping, actor, expected_version, now)
                changes, details = values(row, now)
                changes.update(version=expected_version + 1, updated_at=now)
                updated = conn.execute(sa.update(ITEMS).values(changes).where(
                    ITEMS.c.draft_id == draft_id, ITEMS.c.version == expected_version))
                if updated.rowcount != 1:
                    # PostgreSQL: another transaction committed after our read.
                    raise conflict(action, _row(conn, draft_id, action)._mapping, expected_version, now)
                to_state = changes.get("state", state)
                _insert_audit(conn, [_event(draft_id, actor, action, state, to_state, now,
                                            {"expected_version": expected_version, **details, **noted},
                                            generation_id=row.generation_id)])
                return _view(row, now, changes)
        except (ConflictError, InvalidTransition, ClaimHeldError, QCFailedError) as refusal:
            self._record_refusal(action, draft_id, actor, expected_version, refusal, now,
                                 {**noted, **(attempted or {})})
            raise

    def _record_refusal(self, action: str, draft_id: str, actor: str, expected_version: int,
                        refusal: ReviewError, now: dt.datetime, noted: Mapping[str, Any]) -> None:
        with self._store.write(f"record the refused {action} of {draft_id}") as conn:
            row = _row(conn, draft_id, action)
            state = effective_state(row._mapping, now)
            _insert_audit(conn, [_refusal_event(draft_id, actor, action, row, state, expected_version, refusal, now,
                                                noted)])

    def _events(self, query: sa.Select[Any]) -> builtins.list[AuditEventView]:
        with self._store.read() as conn:
            return [AuditEventView(**{**row._asdict(), "details": json.loads(row.details)})
                    for row in conn.execute(query)]

    def _now(self) -> dt.datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError(f"the review queue's clock returned a naive time {now.isoformat()}; it must be timezone-aware")
        return now


def _state_sql(now: dt.datetime) -> sa.ColumnElement[str]:
    """:func:`~nightdesk.review.states.effective_state` as SQL, for filters and counts."""
    expired = sa.and_(ITEMS.c.state == CLAIMED, ITEMS.c.claim_expires_at <= now)
    return sa.case((expired, QUEUED), else_=ITEMS.c.state)


def _conditions(f: QueueFilter, now: dt.datetime) -> builtins.list[sa.ColumnElement[bool]]:
    conditions = [column == value for column, value in (
        (ITEMS.c.logical_date, f.logical_date), (ITEMS.c.story_type, f.story_type), (ITEMS.c.kind, f.kind),
        (ITEMS.c.qc_passed, f.qc_passed), (ITEMS.c.writer, f.writer),
        (ITEMS.c.fallback, f.fallback)) if value is not None]
    if f.state is not None:
        conditions.append(_state_sql(now) == f.state)
    if f.verdict is not None:
        conditions.append(_verdict_sql() == f.verdict)
    return conditions


def _verdict_sql() -> sa.ColumnElement[str]:
    """:func:`~nightdesk.review.verdict.verdict` as SQL, for filters."""
    verified = sa.or_(ITEMS.c.kind == COVER_KIND, ITEMS.c.verified_json != "[]")
    return sa.case((~ITEMS.c.qc_passed, verdict.FAILED), (verified, verdict.PASSED), else_=verdict.UNVERIFIED)


def _row(conn: sa.Connection, draft_id: str, action: str) -> sa.Row:
    row = conn.execute(sa.select(ITEMS).where(ITEMS.c.draft_id == draft_id)).one_or_none()
    if row is None:
        raise ItemNotFound(f"{action} {draft_id}: no such draft in the review queue")
    return row


def _view(row: sa.Row, now: dt.datetime, changes: Mapping[str, Any] | None = None) -> ItemView:
    """The row as a view, after ``changes`` (what an update just wrote to it)."""
    data = {**row._asdict(), **(changes or {})}
    return ItemView(**{**data, "state": effective_state(data, now)})


def _decision(editor: str, now: dt.datetime) -> dict[str, Any]:
    return {"decided_by": editor, "decided_at": now, "claimed_by": None, "claim_expires_at": None}


def _diff(draft_id: str, version: int, old: str, new: str) -> str:
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), f"{draft_id} v{version}",
                                 f"{draft_id} v{version + 1}", lineterm="")
    return "\n".join(lines)


def _event(draft_id: str, actor: str, action: str, from_state: str | None, to_state: str, at: dt.datetime,
           details: Mapping[str, Any], *, generation_id: str) -> dict[str, Any]:
    """An audit row; ``generation_id`` is the generation the draft held when it happened
    (for a decision, the one decided on; for an enqueue, the one enqueued)."""
    return {"draft_id": draft_id, "actor": actor, "action": action, "from_state": from_state, "to_state": to_state,
            "at": at, "details": json.dumps(details, sort_keys=True, ensure_ascii=False),
            "generation_id": generation_id}


def _refusal_event(draft_id: str, actor: str, action: str, row: sa.Row, state: str, expected_version: int,
                   refusal: ReviewError, now: dt.datetime, noted: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return _event(draft_id, actor, "conflict", state, state, now, {
        **(noted or {}), "attempted": action, "refusal": _REFUSALS[type(refusal)], "message": str(refusal),
        "expected_version": expected_version, "current_version": row.version}, generation_id=row.generation_id)


def _insert_audit(conn: sa.Connection, events: Sequence[dict[str, Any]]) -> None:
    """Insert audit rows as the last step of a transaction (after all its row locks)."""
    if events:
        serialize_audit(conn)
        conn.execute(sa.insert(AUDIT), builtins.list(events))


def _new_row(item: NewItem, now: dt.datetime) -> dict[str, Any]:
    return {"draft_id": item.draft_id, **_generated(item), "original_text": item.text, "state": QUEUED, "version": 1,
            "claimed_by": None, "claim_expires_at": None, "decided_by": None, "decided_at": None,
            "reject_reason": None, "published_at": None, "created_at": now, "updated_at": now}


def _generated(item: NewItem) -> dict[str, Any]:
    """The columns a pipeline rerun may replace (everything but the id and the review),
    with what the checks verified read from ``qc_json``."""
    values = {k: v for k, v in asdict(item).items() if k != "draft_id"}
    return values | {"verified_json": verdict.verified_json(item.qc_json)}


def _generated_changed(row: sa.Row, item: NewItem) -> bool:
    """Whether the pipeline produced something else than the row was enqueued with.

    An edited draft keeps the re-check of its edit, not the pipeline's verdict, so a rerun
    that generated the same text (a retried or cleared task) leaves the edit in place.
    """
    compared = _GENERATED if row.text != row.original_text else _GENERATED + _VERDICT
    generated = _generated(item)
    return row.original_text != item.text or any(getattr(row, k) != generated[k] for k in compared)


def _validate_new(items: Sequence[NewItem]) -> None:
    """Refuse a malformed batch before touching the store."""
    seen: set[str] = set()
    for item in items:
        if item.kind not in CONTENT_KINDS:
            raise ValueError(f"enqueue {item.draft_id}: unknown kind {item.kind!r}; known: {builtins.list(CONTENT_KINDS)}")
        if item.draft_id != f"{item.story_id}/{item.kind}":
            raise ValueError(f"enqueue {item.draft_id}: a draft id must be '<story_id>/<kind>', "
                             f"here {item.story_id}/{item.kind}")
        if not isinstance(json.loads(item.attempts_json), builtins.list):
            raise ValueError(f"enqueue {item.draft_id}: attempts_json must be a JSON list of earlier attempts")
        if not isinstance(json.loads(item.qc_json), builtins.list):
            raise ValueError(f"enqueue {item.draft_id}: qc_json must be a JSON list of check results")
        if item.writer not in WRITERS:
            raise ValueError(f"enqueue {item.draft_id}: unknown writer {item.writer!r}; known: {builtins.list(WRITERS)}")
        if item.failed_attempts < 0 or (item.fallback and item.writer not in ("template", "chart")):
            raise ValueError(f"enqueue {item.draft_id}: writer {item.writer!r}, fallback={item.fallback}, "
                             f"failed_attempts={item.failed_attempts}: only a template or chart card is a fallback, "
                             "and failed attempts cannot be negative")
        if item.draft_id in seen:
            raise ValueError(f"enqueue: {item.draft_id} appears twice in the batch")
        seen.add(item.draft_id)
