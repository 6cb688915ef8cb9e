"""Reopening a rejected draft, on SQLite and PostgreSQL (``review_url``): the transition and
its audit row, races between editors reopening and deciding at once, the schema revision
that lets the audit hold ``reopen``, and the export that carries it to the warehouse."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from alembic import command

from nightdesk.review import schema
from nightdesk.review.errors import ConflictError, InvalidTransition
from nightdesk.review.queue import ReviewQueue
from test_review_queue import Clock, item  # pytest puts tests/ on sys.path

EDITED = "United Air Lines Inc. ran 83.8% of its 167 flights on time"
#: Hostile reasons are stored and shown as text, never run (the pages escape them).
REASON = "wrong call <script>alert(1)</script> — תקין 👍"


@pytest.fixture
def queue(review_url: str):
    q = ReviewQueue(review_url, clock=Clock())
    yield q
    q.close()


def _rejected(q: ReviewQueue, *, edit: bool = False) -> int:
    """Enqueue the UA headline (edited if asked), reject it as ann; returns its version."""
    draft_id = item().draft_id
    q.enqueue([item()])
    version = 1
    if edit:
        version = q.edit(draft_id, "ann", version, EDITED, qc_passed=True, qc_json="[]").version
    return q.reject(draft_id, "ann", version, "figure looks off").version


def test_a_rejected_draft_is_reopened_as_it_was_and_audited(queue):
    draft_id = item().draft_id
    version = _rejected(queue, edit=True)
    with pytest.raises(ValueError, match="give a reason"):
        queue.reopen(draft_id, "bob", version, "  ")

    reopened = queue.reopen(draft_id, "bob", version, REASON)
    assert (reopened.state, reopened.version, reopened.text) == ("queued", version + 1, EDITED)
    assert (reopened.decided_by, reopened.decided_at, reopened.reject_reason) == (None, None, None)
    assert queue.get(draft_id) == reopened
    last = queue.history(draft_id)[-1]
    assert (last.action, last.actor, last.from_state, last.to_state) == ("reopen", "bob", "rejected", "queued")
    assert last.details == {"expected_version": version, "reason": REASON, "rejected_by": "ann",
                            "rejected_because": "figure looks off"}

    # Undecided again: anyone may decide it, and its edit still counts as one.
    approved = queue.approve(draft_id, "cy", reopened.version)
    assert (approved.state, approved.decided_by) == ("edited_approved", "cy")
    assert [e.action for e in queue.history(draft_id)] == ["enqueue", "edit", "reject", "reopen", "approve"]


def test_only_a_rejected_draft_can_be_reopened(queue):
    draft_id = item().draft_id
    queue.enqueue([item()])
    with pytest.raises(InvalidTransition, match="reopen .*: not possible while it is queued"):
        queue.reopen(draft_id, "bob", 1, "why not")
    approved = queue.approve(draft_id, "ann", 1)
    with pytest.raises(InvalidTransition, match="while it is approved"):
        queue.reopen(draft_id, "bob", approved.version, "second thoughts")
    refusals = [e.details["refusal"] for e in queue.history(draft_id) if e.action == "conflict"]
    assert refusals == ["invalid_transition", "invalid_transition"]
    assert queue.get(draft_id).state == "approved"


def _race(q: ReviewQueue, jobs: list[tuple[str, str]], version: int) -> dict[str, str]:
    """Every ``(editor, action)`` at once on the headline read at ``version``: ``won`` or the refusal's class."""
    draft_id = item().draft_id
    barrier = threading.Barrier(len(jobs))

    def attempt(editor: str, action: str) -> str:
        barrier.wait(timeout=60)
        try:
            if action == "reopen":
                q.reopen(draft_id, editor, version, f"{editor} thinks it was fine")
            else:
                q.approve(draft_id, editor, version)
        except (ConflictError, InvalidTransition) as exc:
            return type(exc).__name__
        return "won"

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {editor: pool.submit(attempt, editor, action) for editor, action in jobs}
        return {editor: f.result() for editor, f in futures.items()}


def test_editors_reopening_at_once_have_one_winner(queue):
    draft_id = item().draft_id
    version = _rejected(queue)
    outcomes = _race(queue, [(f"editor{i}", "reopen") for i in range(8)], version)
    [winner] = [e for e, outcome in outcomes.items() if outcome == "won"]
    assert sorted(outcomes.values()) == ["ConflictError"] * 7 + ["won"]
    final = queue.get(draft_id)
    assert (final.state, final.version) == ("queued", version + 1)
    later = queue.history(draft_id)[2:]  # after the enqueue and the rejection
    assert [(e.action, e.actor) for e in later if e.action == "reopen"] == [("reopen", winner)]
    assert sorted(e.details["refusal"] for e in later if e.action == "conflict") == ["stale_version"] * 7


def test_a_reopen_racing_approvals_of_the_rejected_draft_lets_nothing_through_unseen(queue):
    """Editors still looking at the rejected version press Approve while one reopens: the
    approvals are refused (the draft was rejected when they read it, reopened after), so a
    reopened draft is only ever approved by someone who read it reopened."""
    draft_id = item().draft_id
    version = _rejected(queue)
    outcomes = _race(queue, [("opener", "reopen"), *((f"approver{i}", "approve") for i in range(5))], version)
    assert outcomes["opener"] == "won"
    assert {outcomes[f"approver{i}"] for i in range(5)} <= {"ConflictError", "InvalidTransition"}
    final = queue.get(draft_id)
    assert (final.state, final.version, final.decided_by) == ("queued", version + 1, None)
    assert sum(e.action == "approve" for e in queue.history(draft_id)) == 0


def test_a_store_from_before_the_reopen_revision_is_upgraded_with_its_trail(review_url):
    """At revision 0002 the audit refuses a ``reopen`` row; opening the store upgrades it
    (rebuilding the audit table on SQLite) and keeps every earlier row."""
    q = ReviewQueue(review_url, clock=Clock())
    version = _rejected(q, edit=True)
    q.close()
    engine = sa.create_engine(review_url)
    with engine.begin() as conn:
        command.downgrade(schema.alembic_config(conn), "0002")
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO review_audit (draft_id, actor, action, from_state, to_state, at, details) "
                             "VALUES (:d, 'bob', 'reopen', 'rejected', 'queued', :at, '{}')"),
                     {"d": item().draft_id, "at": Clock().now})
    engine.dispose()

    q = ReviewQueue(review_url, clock=Clock())
    q.reopen(item().draft_id, "bob", version, "it was fine")
    history = q.history(item().draft_id)
    assert [(e.id, e.action) for e in history[:3]] == [(1, "enqueue"), (2, "edit"), (3, "reject")]
    assert [e.action for e in history[3:]] == ["reopen"]  # its id: whatever the sequence gives after the refusal
    q.close()


def test_downgrading_below_the_reopen_revision_keeps_the_trail(review_url):
    q = ReviewQueue(review_url, clock=Clock())
    q.reopen(item().draft_id, "bob", _rejected(q), "it was fine")
    q.close()
    engine = sa.create_engine(review_url)
    with pytest.raises(RuntimeError, match="1 audit rows record a 'reopen'"), engine.begin() as conn:
        command.downgrade(schema.alembic_config(conn), "0002")
    with engine.connect() as conn:
        assert schema.current(conn) == schema.head()
        assert conn.execute(sa.text("SELECT count(*) FROM review_audit WHERE action = 'reopen'")).scalar() == 1
    engine.dispose()


def test_the_publish_export_carries_the_reopen_to_the_warehouse(warehouse, tmp_path):
    from nightdesk.review_flow.events import export_events, store_name

    url = f"sqlite:///{tmp_path / 'review.sqlite'}"
    q = ReviewQueue(url, clock=Clock())
    draft_id = item().draft_id
    q.reopen(draft_id, "bob", _rejected(q), REASON)
    assert export_events(warehouse, q, url=url)["exported"] == 3
    rows = warehouse.query_rows(
        "SELECT action, actor, from_state, to_state, JSONExtractString(details_json, 'reason') FROM review_events "
        "FINAL WHERE review_store = {s:String} AND draft_id = {d:String} ORDER BY event_id",
        {"s": store_name(url), "d": draft_id})
    assert rows == [("enqueue", "pipeline", "", "queued", ""), ("reject", "ann", "queued", "rejected", "figure looks off"),
                    ("reopen", "bob", "rejected", "queued", REASON)]
    q.close()
