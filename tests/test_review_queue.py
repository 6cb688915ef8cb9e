"""The review queue on a real store, SQLite and PostgreSQL alike (``review_url``).

Every transition and every refusal, claim expiry under a fake clock, the edit diff, bulk
approval, enqueue idempotency, and races: many editors acting on the same drafts at the
same instant (threads, and separate processes) must produce exactly one winner per draft
and one audit row per attempt.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import sqlite3
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from queue import Empty

import pytest
import sqlalchemy as sa

from nightdesk.review.errors import (
    ClaimHeldError,
    ConflictError,
    InvalidTransition,
    ItemNotFound,
    QCFailedError,
    StoreBusyError,
)
from nightdesk.review.models import AuditEvent
from nightdesk.review.queue import EnqueueReport, QueueFilter, ReviewQueue
from nightdesk.review.recheck import recheck
from nightdesk.review.states import STATES
from nightdesk.review.store import Store, serialize_audit
from nightdesk.review.views import ItemView, NewItem
from nightdesk.stories.factsheet import Fact, FactKind, FactSheet, format_value

DAY = dt.date(2013, 3, 1)


def _fact(name: str, kind: FactKind, value: object, unit: str | None = None, decimals: int | None = None) -> Fact:
    return Fact(name, kind, value, format_value(kind, value, decimals, unit), unit, decimals, name)


UNITED = FactSheet(
    story_id="carrier_spotlight/2013-03-01/UA", story_type="carrier_spotlight", logical_date="2013-03-01",
    title="United Air Lines Inc. on March 1, 2013",
    facts=(_fact("flight_date", "date", "2013-03-01"), _fact("carrier_name", "entity", "United Air Lines Inc."),
           _fact("flights", "count", 167, "flights"), _fact("on_time_pct", "percent", 83.8, decimals=1)),
)
HEADLINE = "United Air Lines Inc. ran 83.8% of 167 flights on time"
ALT_TEXT = "A chart of the 167 flights of United Air Lines Inc. on March 1, 2013"


class Clock:
    """A settable clock for the queue."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


def item(story: str = "UA", kind: str = "headline", *, text: str = HEADLINE, qc_passed: bool = True,
         day: dt.date = DAY, story_type: str = "carrier_spotlight") -> NewItem:
    story_id = f"{story_type}/{day.isoformat()}/{story}"
    return NewItem(draft_id=f"{story_id}/{kind}", logical_date=day, story_id=story_id, story_type=story_type,
                   kind=kind, text=text, facts_json=UNITED.to_json(), qc_passed=qc_passed,
                   qc_json=json.dumps([{"name": "facts", "passed": qc_passed, "findings": []}]), attempts=1,
                   generator="template", model_id="", writer="template", fallback=False, failed_attempts=0)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def queue(review_url: str, clock: Clock):
    q = ReviewQueue(review_url, clock=clock, claim_ttl=dt.timedelta(minutes=15))
    yield q
    q.close()


def queued(q: ReviewQueue, *items: NewItem) -> list[ItemView]:
    q.enqueue(items or [item()])
    return [q.get(i.draft_id) for i in items or [item()]]


def actions(q: ReviewQueue, draft_id: str) -> list[str]:
    return [e.action for e in q.history(draft_id)]


# -- enqueue -----------------------------------------------------------------------------

def test_enqueue_adds_queued_drafts_with_an_audit_row(queue, clock):
    report = queue.enqueue([item("UA"), item("UA", "brief", text="A brief."), item("DL")])
    assert report == EnqueueReport(added=3, refreshed=0, kept=0, unchanged=0)
    draft = queue.get(item("UA").draft_id)
    assert (draft.state, draft.version, draft.text, draft.original_text, draft.edited) == ("queued", 1, HEADLINE,
                                                                                          HEADLINE, False)
    assert draft.created_at == clock.now
    [event] = queue.history(draft.draft_id)
    assert (event.action, event.actor, event.from_state, event.to_state) == ("enqueue", "pipeline", None, "queued")


def test_enqueue_rerun_adds_nothing_and_keeps_decided_drafts(queue):
    first, second = item("UA"), item("DL")
    queue.enqueue([first, second])
    queue.approve(first.draft_id, "ann", 1)
    events = len(queue.events_since(0))

    report = queue.enqueue([first, second])
    assert report == EnqueueReport(added=0, refreshed=0, kept=1, unchanged=1)
    # A decided draft is kept even when the rerun generated something else.
    report = queue.enqueue([replace(first, text="A different headline", qc_passed=False)])
    assert report == EnqueueReport(added=0, refreshed=0, kept=1, unchanged=0)
    kept = queue.get(first.draft_id)
    assert (kept.state, kept.version, kept.text, kept.qc_passed) == ("approved", 2, HEADLINE, True)
    assert len(queue.events_since(0)) == events


def test_enqueue_rerun_after_an_edit_keeps_the_edit(queue):
    """A retried or cleared pipeline task enqueues the same generation again: the editor's
    edit (and the re-check that replaced the pipeline's verdict) must survive it."""
    draft = item()
    queue.enqueue([draft])
    queue.edit(draft.draft_id, "ann", 1, "Ann's headline", qc_passed=True, qc_json='[{"name": "facts"}]')

    report = queue.enqueue([draft])

    assert report == EnqueueReport(added=0, refreshed=0, kept=0, unchanged=1)
    kept = queue.get(draft.draft_id)
    assert (kept.version, kept.text, kept.qc_json) == (2, "Ann's headline", '[{"name": "facts"}]')
    assert actions(queue, draft.draft_id) == ["enqueue", "edit"]


def test_the_same_draft_written_again_by_a_new_generation_keeps_the_edit(queue):
    """A task cleared and run again writes the same text under a new generation id: the
    edit survives, and the draft now names the generation it comes from."""
    draft = replace(item(), generation_id="gen-1")
    queue.enqueue([draft])
    queue.edit(draft.draft_id, "ann", 1, "Ann's headline", qc_passed=True, qc_json="[]")

    report = queue.enqueue([replace(draft, generation_id="gen-2")])

    assert report == EnqueueReport(added=0, refreshed=0, kept=0, unchanged=1)
    kept = queue.get(draft.draft_id)
    assert (kept.version, kept.text, kept.generation_id) == (2, "Ann's headline", "gen-2")
    assert actions(queue, draft.draft_id) == ["enqueue", "edit"]


def test_enqueue_refreshes_an_undecided_draft_whose_generation_changed(queue):
    draft = item()
    queue.enqueue([draft])
    queue.edit(draft.draft_id, "ann", 1, "Ann's headline", qc_passed=True, qc_json="[]")

    report = queue.enqueue([replace(draft, text="Regenerated headline", qc_passed=False)])
    assert report == EnqueueReport(added=0, refreshed=1, kept=0, unchanged=0)
    fresh = queue.get(draft.draft_id)
    assert (fresh.version, fresh.text, fresh.original_text, fresh.qc_passed) == (3, "Regenerated headline",
                                                                                 "Regenerated headline", False)
    refresh = queue.history(draft.draft_id)[-1]
    assert refresh.action == "enqueue" and refresh.details["refreshed"] and refresh.details["edit_replaced"]
    assert "-Ann's headline" in refresh.details["diff"] and "+Regenerated headline" in refresh.details["diff"]
    # Ann's approval of the text she saw no longer applies.
    with pytest.raises(ConflictError):
        queue.approve(draft.draft_id, "ann", 2)


def _attempt_rows() -> list[dict]:
    """``review_attempts.sql`` rows of one draft, as the warehouse returns them (arrays, timestamps)."""
    import numpy as np
    import pandas as pd

    base = {"draft_id": item().draft_id, "generator": "transformers", "model_id": "tiny-lm", "status": "ok",
            "error": ""}
    return [
        {**base, "generation_id": "g2", "attempt": 2, "output": "United flew 999 flights", "output_chars": 23,
         "created_at": pd.Timestamp("2026-01-05 02:01:00.5"),
         "failed_checks": np.array(["facts", "claims"]), "failed_findings": np.array([
             json.dumps([{"message": "999 is not in the fact sheet", "span": [12, 15], "severity": "fail"},
                         {"message": "a warning", "span": None, "severity": "warn"}]),
             json.dumps([{"message": "'record' needs a source", "span": None, "severity": "fail"}])])},
        {**base, "generation_id": "g1", "attempt": 1, "output": "x" * 2000, "output_chars": 5000,
         "created_at": pd.Timestamp("2026-01-05 02:00:00", tz="UTC"),
         "failed_checks": np.array(["form"]), "failed_findings": np.array(["[]"])},
    ]


def test_attempts_json_is_canonical_and_ordered_by_attempt():
    from nightdesk.review_flow.enqueue import attempts_to_json

    rows = _attempt_rows()
    text = attempts_to_json(rows)
    assert attempts_to_json(rows[::-1]) == text  # the warehouse's row order does not matter
    first, second = json.loads(text)
    assert (first["attempt"], first["truncated"]) == (1, True)
    assert first["failed_checks"] == [{"name": "form", "messages": []}]
    assert first["created_at"] == "2026-01-05T02:00:00.000+00:00"
    assert (second["attempt"], second["generator"], second["model_id"], second["truncated"]) == (
        2, "transformers", "tiny-lm", False)
    # Checks by name; only the blocking findings explain a failure.
    assert second["failed_checks"] == [{"name": "claims", "messages": ["'record' needs a source"]},
                                       {"name": "facts", "messages": ["999 is not in the fact sheet"]}]


def test_enqueue_carries_earlier_attempts_and_an_identical_rerun_changes_nothing(queue):
    from nightdesk.review_flow.enqueue import attempts_to_json

    attempts = attempts_to_json(_attempt_rows())
    draft, plain = replace(item(), attempts_json=attempts), item("DL")
    queue.enqueue([draft, plain])
    stored = queue.get(draft.draft_id)
    assert stored.attempts_json == attempts and json.loads(stored.attempts_json)[1]["text"] == "United flew 999 flights"
    assert queue.get(plain.draft_id).attempts_json == "[]"
    assert {i.draft_id: i.attempts_json for i in queue.list()}[draft.draft_id] == attempts
    events = len(queue.events_since(0))

    # The pipeline's rerun rebuilds the same JSON from the same rows: nothing to refresh.
    rerun = replace(item(), attempts_json=attempts_to_json(_attempt_rows()[::-1]))
    assert queue.enqueue([rerun, plain]) == EnqueueReport(added=0, refreshed=0, kept=0, unchanged=2)
    assert queue.get(draft.draft_id).version == 1 and len(queue.events_since(0)) == events
    # Other earlier attempts (the draft was regenerated from scratch) are a change.
    fewer = attempts_to_json(_attempt_rows()[1:])
    assert queue.enqueue([replace(draft, attempts_json=fewer)]).refreshed == 1
    assert queue.get(draft.draft_id).attempts_json == fewer


@pytest.mark.parametrize("bad, message", [
    (replace(item(), kind="poem", draft_id="carrier_spotlight/2013-03-01/UA/poem"), "unknown kind 'poem'"),
    (replace(item(), draft_id="UA/headline"), "<story_id>/<kind>"),
    (replace(item(), attempts_json='{"attempt": 1}'), "attempts_json must be a JSON list"),
])
def test_enqueue_refuses_a_malformed_batch_before_writing(queue, bad, message):
    with pytest.raises(ValueError, match=message):
        queue.enqueue([item("DL"), bad])
    assert queue.list() == []


def test_enqueue_refuses_a_draft_twice_in_one_batch(queue):
    with pytest.raises(ValueError, match="appears twice"):
        queue.enqueue([item(), item()])


# -- claims ------------------------------------------------------------------------------

def test_claim_keeps_other_editors_off_until_released(queue, clock):
    [draft] = queued(queue)
    claimed = queue.claim(draft.draft_id, "ann", 1)
    assert (claimed.state, claimed.claimed_by, claimed.version) == ("claimed", "ann", 2)
    assert claimed.claim_expires_at == clock.now + dt.timedelta(minutes=15)

    for attempt in (lambda: queue.claim(draft.draft_id, "bob", 2), lambda: queue.approve(draft.draft_id, "bob", 2),
                    lambda: queue.reject(draft.draft_id, "bob", 2, "dull"),
                    lambda: queue.edit(draft.draft_id, "bob", 2, "x", qc_passed=True, qc_json="[]"),
                    lambda: queue.release(draft.draft_id, "bob", 2)):
        with pytest.raises(ClaimHeldError, match="ann has claimed it") as refused:
            attempt()
        assert refused.value.holder == "ann"
    refusals = [e for e in queue.history(draft.draft_id) if e.action == "conflict"]
    assert [(e.actor, e.details["attempted"], e.details["refusal"]) for e in refusals] == [
        ("bob", a, "claim_held") for a in ("claim", "approve", "reject", "edit", "release")]
    assert queue.get(draft.draft_id).version == 2

    clock.advance(minutes=10)
    renewed = queue.claim(draft.draft_id, "ann", 2)
    assert renewed.claim_expires_at == clock.now + dt.timedelta(minutes=15)
    released = queue.release(draft.draft_id, "ann", 3)
    assert (released.state, released.claimed_by, released.version) == ("queued", None, 4)
    assert queue.claim(draft.draft_id, "bob", 4).claimed_by == "bob"


def test_claim_expires_with_the_clock(queue, clock):
    [draft] = queued(queue)
    queue.claim(draft.draft_id, "ann", 1)
    clock.advance(minutes=14, seconds=59)
    assert queue.get(draft.draft_id).state == "claimed"
    assert queue.counts()["claimed"] == 1

    clock.advance(seconds=1)
    expired = queue.get(draft.draft_id)
    assert (expired.state, expired.claim_holder(clock.now)) == ("queued", None)
    assert queue.counts()["queued"] == 1 and queue.counts()["claimed"] == 0
    assert [d.draft_id for d in queue.list(QueueFilter(state="queued"))] == [draft.draft_id]
    # Anyone may now decide it, and ann's release comes too late.
    with pytest.raises(InvalidTransition, match="not possible while it is queued"):
        queue.release(draft.draft_id, "ann", 2)
    assert queue.approve(draft.draft_id, "bob", 2).state == "approved"


# -- edits and decisions -------------------------------------------------------------------

def test_edit_keeps_the_state_and_audits_a_unified_diff(queue):
    [draft] = queued(queue, item(text="Line one\nLine two\nLine three"))
    queue.claim(draft.draft_id, "ann", 1)
    edited = queue.edit(draft.draft_id, "ann", 2, "Line one\nLine 2\nLine three", qc_passed=True, qc_json="[]")
    assert (edited.state, edited.version, edited.edited) == ("claimed", 3, True)
    assert edited.original_text == "Line one\nLine two\nLine three"
    event = queue.history(draft.draft_id)[-1]
    assert (event.action, event.from_state, event.to_state) == ("edit", "claimed", "claimed")
    assert event.details["diff"].splitlines() == [
        f"--- {draft.draft_id} v2", f"+++ {draft.draft_id} v3", "@@ -1,3 +1,3 @@",
        " Line one", "-Line two", "+Line 2", " Line three"]
    with pytest.raises(ValueError, match="text is empty"):
        queue.edit(draft.draft_id, "ann", 3, "  ", qc_passed=True, qc_json="[]")
    with pytest.raises(ValueError, match="JSON list"):
        queue.edit(draft.draft_id, "ann", 3, "ok", qc_passed=True, qc_json="{}")


def test_approve_records_whether_a_human_changed_the_text(queue, clock):
    plain, changed = queued(queue, item("UA"), item("DL"))
    approved = queue.approve(plain.draft_id, "ann", 1)
    assert (approved.state, approved.decided_by, approved.decided_at) == ("approved", "ann", clock.now)

    queue.edit(changed.draft_id, "bob", 1, "Delta's better headline", qc_passed=True, qc_json="[]")
    assert queue.approve(changed.draft_id, "bob", 2).state == "edited_approved"
    assert queue.history(changed.draft_id)[-1].details["edited"] is True


def test_approve_refuses_a_draft_that_fails_the_checks(queue):
    [draft] = queued(queue, item(qc_passed=False))
    with pytest.raises(QCFailedError, match="fails the quality checks"):
        queue.approve(draft.draft_id, "ann", 1)
    refusal = queue.history(draft.draft_id)[-1]
    assert (refusal.action, refusal.details["refusal"], refusal.details["attempted"]) == ("conflict", "qc_failed",
                                                                                        "approve")
    assert queue.get(draft.draft_id).version == 1
    queue.edit(draft.draft_id, "ann", 1, "A headline that passes", qc_passed=True, qc_json="[]")
    assert queue.approve(draft.draft_id, "ann", 2).state == "edited_approved"


def test_a_stale_version_conflicts_and_the_attempt_is_audited(queue):
    [draft] = queued(queue)
    queue.reject(draft.draft_id, "ann", 1, "not news")
    with pytest.raises(ConflictError) as lost:
        queue.approve(draft.draft_id, "bob", 1)
    assert (lost.value.expected_version, lost.value.current_version, lost.value.current_state) == (1, 2, "rejected")
    assert queue.get(draft.draft_id).state == "rejected"
    conflict = queue.history(draft.draft_id)[-1]
    assert (conflict.action, conflict.actor, conflict.from_state, conflict.to_state) == ("conflict", "bob",
                                                                                         "rejected", "rejected")
    assert conflict.details == {"attempted": "approve", "refusal": "stale_version", "expected_version": 1,
                                "current_version": 2, "message": str(lost.value)}


def test_reject_needs_a_reason_and_keeps_it(queue):
    [draft] = queued(queue)
    with pytest.raises(ValueError, match="give a reason"):
        queue.reject(draft.draft_id, "ann", 1, " ")
    rejected = queue.reject(draft.draft_id, "ann", 1, "figures are stale")
    assert (rejected.state, rejected.reject_reason, rejected.decided_by) == ("rejected", "figures are stale", "ann")


@pytest.mark.parametrize("decide", ["approve", "reject"])
@pytest.mark.parametrize("then", ["approve", "reject", "claim", "edit", "release"])
def test_a_decided_draft_refuses_further_review(queue, decide, then):
    [draft] = queued(queue)
    if decide == "approve":
        queue.approve(draft.draft_id, "ann", 1)
    else:
        queue.reject(draft.draft_id, "ann", 1, "no")
    attempt = {
        "approve": lambda: queue.approve(draft.draft_id, "bob", 2),
        "reject": lambda: queue.reject(draft.draft_id, "bob", 2, "no"),
        "claim": lambda: queue.claim(draft.draft_id, "bob", 2),
        "edit": lambda: queue.edit(draft.draft_id, "bob", 2, "x", qc_passed=True, qc_json="[]"),
        "release": lambda: queue.release(draft.draft_id, "bob", 2),
    }[then]
    with pytest.raises(InvalidTransition) as refused:
        attempt()
    assert refused.value.from_state == ("approved" if decide == "approve" else "rejected")
    assert queue.get(draft.draft_id).version == 2
    refusal = queue.history(draft.draft_id)[-1]
    assert (refusal.action, refusal.details["attempted"], refusal.details["refusal"]) == (
        "conflict", then, "invalid_transition")


def test_a_rejected_draft_cannot_be_withdrawn_or_published(queue):
    [draft] = queued(queue)
    queue.reject(draft.draft_id, "ann", 1, "no")
    with pytest.raises(InvalidTransition, match="not possible while it is rejected"):
        queue.withdraw(draft.draft_id, "ann", 2, "why")
    assert queue.publish([draft.draft_id]) == []
    assert queue.get(draft.draft_id).state == "rejected"


def test_publish_and_withdraw(queue, clock):
    plain, edited, waiting = queued(queue, item("UA"), item("DL"), item("AA"))
    queue.approve(plain.draft_id, "ann", 1)
    queue.edit(edited.draft_id, "ann", 1, "Delta, edited", qc_passed=True, qc_json="[]")
    queue.approve(edited.draft_id, "ann", 2)
    assert [d.draft_id for d in queue.publishable(DAY)] == [edited.draft_id, plain.draft_id]
    assert queue.publishable(DAY + dt.timedelta(days=1)) == []

    published = queue.publish([plain.draft_id, edited.draft_id, waiting.draft_id])
    assert [(d.draft_id, d.state, d.published_at) for d in published] == [
        (plain.draft_id, "published", clock.now), (edited.draft_id, "published", clock.now)]
    assert queue.history(waiting.draft_id)[-1].details["refusal"] == "invalid_transition"
    assert queue.get(waiting.draft_id).state == "queued"

    events = len(queue.events_since(0))
    clock.advance(hours=1)
    again = queue.publish([plain.draft_id])
    assert (again[0].version, again[0].published_at) == (3, clock.now - dt.timedelta(hours=1))
    assert len(queue.events_since(0)) == events
    with pytest.raises(ItemNotFound):
        queue.publish([plain.draft_id, "no/such/headline"])

    with pytest.raises(ValueError, match="give a reason"):
        queue.withdraw(plain.draft_id, "ann", 3, "")
    withdrawn = queue.withdraw(plain.draft_id, "ann", 3, "source corrected")
    assert (withdrawn.state, withdrawn.decided_by) == ("withdrawn", "ann")
    assert queue.history(plain.draft_id)[-1].details["reason"] == "source corrected"
    assert [d.draft_id for d in queue.publishable()] == [edited.draft_id]
    assert queue.publish([plain.draft_id]) == []
    with pytest.raises(InvalidTransition):
        queue.withdraw(waiting.draft_id, "ann", 1, "never approved")


def test_bulk_approve_decides_each_draft_on_its_own(queue):
    good, stale, failing, claimed = queued(queue, item("UA"), item("DL"), item("AA", qc_passed=False), item("B6"))
    queue.edit(stale.draft_id, "bob", 1, "Bob's text", qc_passed=True, qc_json="[]")
    queue.claim(claimed.draft_id, "bob", 1)

    report = queue.bulk_approve({good.draft_id: 1, stale.draft_id: 1, failing.draft_id: 1, claimed.draft_id: 2,
                                 "no/such/headline": 1}, "ann")
    assert report.approved == [good.draft_id]
    assert set(report.refused) == {stale.draft_id, failing.draft_id, claimed.draft_id, "no/such/headline"}
    assert "changed since you read it" in report.refused[stale.draft_id]
    assert "quality checks" in report.refused[failing.draft_id]
    assert "bob has claimed it" in report.refused[claimed.draft_id]
    assert "no such draft" in report.refused["no/such/headline"]
    assert queue.counts()["approved"] == 1


def test_approvals_gives_each_drafts_last_approval(queue):
    approved, queued = item("UA"), item("DL")
    queue.enqueue([approved, queued])
    queue.approve(approved.draft_id, "ann", 1)
    queue.publish([approved.draft_id])

    found = queue.approvals([approved.draft_id, queued.draft_id, "no/such/draft"])

    assert list(found) == [approved.draft_id]
    assert (found[approved.draft_id].action, found[approved.draft_id].actor) == ("approve", "ann")


def test_comments_go_to_the_history_only(queue):
    [draft] = queued(queue)
    queue.comment(draft.draft_id, "ann", "check the on-time figure")
    event = queue.history(draft.draft_id)[-1]
    assert (event.action, event.details, event.from_state, event.to_state) == (
        "comment", {"comment": "check the on-time figure"}, "queued", "queued")
    assert queue.get(draft.draft_id).version == 1
    with pytest.raises(ValueError):
        queue.comment(draft.draft_id, "ann", "")
    with pytest.raises(ItemNotFound):
        queue.comment("no/such/headline", "ann", "hello")


def test_unknown_drafts_are_not_found(queue):
    with pytest.raises(ItemNotFound, match="no such draft"):
        queue.get("no/such/headline")
    with pytest.raises(ItemNotFound):
        queue.approve("no/such/headline", "ann", 1)
    assert queue.history("no/such/headline") == []


# -- reading -------------------------------------------------------------------------------

def test_list_filters_counts_and_facets(queue):
    later = DAY + dt.timedelta(days=1)
    queue.enqueue([item("UA"), item("UA", "summary", text="S."), item("UA", "brief", text="B.", qc_passed=False),
                   item("AAPL", "headline", story_type="stock_movers"), item("UA", day=later)])
    queue.approve(item("AAPL", story_type="stock_movers").draft_id, "ann", 1)

    everything = queue.list()
    assert [d.draft_id for d in everything] == [
        item("UA", day=later).draft_id, item("UA").draft_id, item("UA", "brief").draft_id,
        item("UA", "summary").draft_id, item("AAPL", story_type="stock_movers").draft_id]
    assert [d.draft_id for d in queue.list(limit=2, offset=1)] == [d.draft_id for d in everything[1:3]]
    assert {d.kind for d in queue.list(QueueFilter(logical_date=DAY, story_type="carrier_spotlight"))} == {
        "headline", "brief", "summary"}
    assert [d.kind for d in queue.list(QueueFilter(qc_passed=False))] == ["brief"]
    assert [d.story_type for d in queue.list(QueueFilter(state="approved"))] == ["stock_movers"]
    assert len(queue.list(QueueFilter(kind="headline", state="queued"))) == 2

    assert queue.counts() == {**dict.fromkeys(STATES, 0), "queued": 4, "approved": 1}
    assert queue.counts(QueueFilter(story_type="stock_movers")) == {**dict.fromkeys(STATES, 0), "approved": 1}
    assert queue.facets() == {"logical_date": [later.isoformat(), DAY.isoformat()],
                              "story_type": ["carrier_spotlight", "stock_movers"],
                              "kind": ["headline", "brief", "summary"]}
    with pytest.raises(ValueError, match="limit"):
        queue.list(limit=0)


def test_histories_and_the_export_feed(queue, clock):
    first, second = queued(queue, item("UA"), item("DL"))
    clock.advance(minutes=1)
    queue.claim(first.draft_id, "ann", 1)
    queue.approve(second.draft_id, "ann", 1)
    queue.reject(first.draft_id, "ann", 2, "dull")
    with pytest.raises(ConflictError):
        queue.approve(second.draft_id, "bob", 1)

    assert actions(queue, first.draft_id) == ["enqueue", "claim", "reject"]
    assert [(e.action, e.draft_id) for e in queue.editor_history("ann")] == [
        ("reject", first.draft_id), ("approve", second.draft_id), ("claim", first.draft_id)]
    assert len(queue.editor_history("ann", limit=1)) == 1
    feed = queue.events_since(0)
    assert [e.id for e in feed] == sorted(e.id for e in feed) and len(feed) == 6
    assert [e.action for e in queue.events_since(feed[2].id, limit=2)] == ["approve", "reject"]
    assert feed[-1].actor == "bob" and feed[-1].at == clock.now


# -- the store -------------------------------------------------------------------------------

def test_the_schema_is_created_once_and_shared(review_url, clock):
    one, two = ReviewQueue(review_url, clock=clock), ReviewQueue(review_url, clock=clock)
    try:
        one.enqueue([item()])
        assert two.get(item().draft_id).version == 1
    finally:
        one.close()
        two.close()


def test_a_locked_store_gives_up_with_store_busy_and_writes_nothing(review_url, queue):
    [draft] = queued(queue)
    impatient = ReviewQueue(review_url, lock_timeout=0.3)
    if review_url.startswith("sqlite"):
        holder = sqlite3.connect(sa.make_url(review_url).database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    else:
        holder = sa.create_engine(review_url).connect()
        holder.execute(sa.text("SELECT 1 FROM review_items FOR UPDATE"))
    try:
        with pytest.raises(StoreBusyError, match="nothing was changed"):
            impatient.approve(draft.draft_id, "ann", 1)
    finally:
        holder.rollback()
        holder.close()
        impatient.close()
    assert queue.get(draft.draft_id).version == 1
    assert actions(queue, draft.draft_id) == ["enqueue"]


def test_audit_ids_become_visible_in_id_order(review_url, queue, clock):
    """The export resumes after the highest id it copied: a later id must never commit
    before an earlier one (on PostgreSQL, concurrent transactions could do just that)."""
    [draft] = queued(queue)
    last = queue.events_since(0)[-1].id
    slow = Store(review_url, lock_timeout=10)
    commenter = ThreadPoolExecutor(max_workers=1)
    try:
        with slow.write("a slow transaction") as conn:
            serialize_audit(conn)
            conn.execute(sa.insert(AuditEvent.__table__).values(
                draft_id=draft.draft_id, actor="slow", action="comment", from_state="queued", to_state="queued",
                at=clock.now, details="{}"))
            comment = commenter.submit(queue.comment, draft.draft_id, "ann", "quick note")
            time.sleep(0.5)
            assert queue.events_since(last) == [], "a later audit row committed while an earlier one was open"
        comment.result(timeout=30)
    finally:
        commenter.shutdown()
        slow.close()
    assert [e.actor for e in queue.events_since(last)] == ["slow", "ann"]


def test_a_naive_clock_is_refused(review_url):
    q = ReviewQueue(review_url, clock=lambda: dt.datetime(2026, 1, 5, 9, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        q.enqueue([item()])


# -- races ------------------------------------------------------------------------------------

RACE_ACTIONS = ("approve", "reject", "edit", "claim")


def _attempt(q: ReviewQueue, draft_id: str, editor: str, action: str, barrier) -> str:
    """One editor's click on a draft they read at version 1: ``won`` or ``conflict``.
    Anything else fails the test, and breaks the barrier so the other racers stop at once."""
    try:
        if action == "approve":
            q.approve(draft_id, editor, 1)
        elif action == "reject":
            q.reject(draft_id, editor, 1, f"rejected by {editor}")
        elif action == "edit":
            q.edit(draft_id, editor, 1, f"text by {editor}", qc_passed=True, qc_json="[]")
        else:
            q.claim(draft_id, editor, 1)
    except ConflictError:
        return "conflict"
    except BaseException:
        barrier.abort()
        raise
    return "won"


def _race_plan(workers: int, drafts: list[str]) -> dict[tuple[int, str], str]:
    """Which action each worker tries on each draft: every draft sees every action."""
    return {(w, d): RACE_ACTIONS[(w + i) % len(RACE_ACTIONS)] for w in range(workers) for i, d in enumerate(drafts)}


def _assert_one_winner_each(q: ReviewQueue, plan: dict[tuple[int, str], str], outcomes: dict[tuple[int, str], str]):
    assert outcomes.keys() == plan.keys()
    for draft_id in {d for _, d in plan}:
        attempts = {w: (plan[w, d], outcomes[w, d]) for w, d in plan if d == draft_id}
        winners = [w for w, (_, outcome) in attempts.items() if outcome == "won"]
        assert len(winners) == 1, f"{draft_id}: winners {winners}"
        winner, action = f"editor{winners[0]}", attempts[winners[0]][0]
        final = q.get(draft_id)
        expected_state = {"approve": "approved", "reject": "rejected", "edit": "queued", "claim": "claimed"}[action]
        assert (final.version, final.state) == (2, expected_state)
        if action == "edit":
            assert final.text == f"text by {winner}"
        if action == "claim":
            assert final.claimed_by == winner
        history = q.history(draft_id)
        assert len(history) == 1 + len(attempts), "one audit row per attempt, plus the enqueue"
        assert [(e.action, e.actor) for e in history[:2]] == [("enqueue", "pipeline"), (action, winner)]
        losers = Counter((f"editor{w}", a) for w, (a, outcome) in attempts.items() if outcome == "conflict")
        assert Counter((e.actor, e.details["attempted"]) for e in history[2:]) == losers
        assert {(e.action, e.details["refusal"]) for e in history[2:]} == {("conflict", "stale_version")}


def test_simultaneous_decisions_on_the_same_drafts_have_one_winner_each(queue):
    workers, drafts = 12, [item(s).draft_id for s in ("UA", "DL", "AA", "B6", "WN")]
    queue.enqueue([item(s) for s in ("UA", "DL", "AA", "B6", "WN")])
    plan = _race_plan(workers, drafts)
    barrier = threading.Barrier(workers)

    def worker(w: int) -> dict[tuple[int, str], str]:
        outcomes = {}
        for draft_id in drafts:
            barrier.wait(timeout=60)
            outcomes[w, draft_id] = _attempt(queue, draft_id, f"editor{w}", plan[w, draft_id], barrier)
        return outcomes

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = [f.result() for f in [pool.submit(worker, w) for w in range(workers)]]
    _assert_one_winner_each(queue, plan, {k: v for r in results for k, v in r.items()})


def _race_in_process(url: str, worker: int, drafts: list[str], plan: dict, barrier, results) -> None:
    q = ReviewQueue(url)
    try:
        for draft_id in drafts:
            barrier.wait(timeout=120)
            results.put((worker, draft_id, _attempt(q, draft_id, f"editor{worker}", plan[worker, draft_id], barrier)))
    finally:
        q.close()


def test_simultaneous_decisions_from_separate_processes_have_one_winner_each(tmp_path):
    url = f"sqlite:///{tmp_path / 'review.sqlite'}"
    queue = ReviewQueue(url)
    stories = ("UA", "DL", "AA")
    queue.enqueue([item(s) for s in stories])
    workers, drafts = 6, [item(s).draft_id for s in stories]
    plan = _race_plan(workers, drafts)
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(workers), ctx.Queue()
    processes = [ctx.Process(target=_race_in_process, args=(url, w, drafts, plan, barrier, results))
                 for w in range(workers)]
    for p in processes:
        p.start()
    outcomes = {}
    try:
        while len(outcomes) < len(plan):
            try:
                w, draft_id, outcome = results.get(timeout=1)
            except Empty:
                if not any(p.is_alive() for p in processes):
                    break
            else:
                outcomes[w, draft_id] = outcome
    finally:
        for p in processes:
            p.join(timeout=60)
    assert [p.exitcode for p in processes] == [0] * workers
    _assert_one_winner_each(queue, plan, outcomes)
    queue.close()


# -- recheck -----------------------------------------------------------------------------------

def test_recheck_runs_the_text_checks_on_the_editors_text(queue):
    [draft] = queued(queue)
    ok, qc_json = recheck(draft, HEADLINE)
    results = json.loads(qc_json)
    assert ok and {r["name"] for r in results} >= {"facts", "form", "pii", "near_duplicate"}
    assert all(set(r) == {"name", "passed", "findings", "verified"} for r in results)

    ok, qc_json = recheck(draft, HEADLINE.replace("167", "170"))
    [facts] = [r for r in json.loads(qc_json) if r["name"] == "facts"]
    assert not ok and not facts["passed"]
    [finding] = facts["findings"]
    assert finding["severity"] == "fail" and finding["span"] == [HEADLINE.index("167"), HEADLINE.index("167") + 3] and "170" in finding["message"]
    edited = queue.edit(draft.draft_id, "ann", 1, HEADLINE.replace("167", "170"), qc_passed=ok, qc_json=qc_json)
    with pytest.raises(QCFailedError):
        queue.approve(draft.draft_id, "ann", edited.version)


def test_recheck_of_a_cover_checks_the_alt_text_and_keeps_the_image_results(queue):
    image_results = [{"name": "decodes", "passed": True, "findings": []},
                     {"name": "size", "passed": False, "findings": [{"message": "800x600, expected 1200x630",
                                                                      "span": None, "severity": "fail"}]}]
    cover = replace(item(kind="cover", text=ALT_TEXT), qc_json=json.dumps(image_results))
    [draft] = queued(queue, cover)
    ok, qc_json = recheck(draft, ALT_TEXT)
    results = {r["name"]: r for r in json.loads(qc_json)}
    assert not ok, "the image still fails its size check"
    assert results["size"] == image_results[1] and results["facts"]["passed"]
    ok, _ = recheck(replace(draft, qc_json=json.dumps(image_results[:1])), ALT_TEXT)
    assert ok
    ok, qc_json = recheck(replace(draft, qc_json=json.dumps(image_results[:1])), ALT_TEXT.replace("167", "176"))
    assert not ok and not {r["name"]: r for r in json.loads(qc_json)}["facts"]["passed"]
