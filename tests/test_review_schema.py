"""The review store's schema under Alembic: stores made by earlier code are upgraded with
their rows intact, on SQLite and PostgreSQL (``review_url``)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from nightdesk.review import schema
from nightdesk.review.models import Base
from nightdesk.review.queue import QueueFilter, ReviewQueue
from nightdesk.review.users import UserStore

BEFORE_ALEMBIC = Path(__file__).parent / "data" / "review_store_before_alembic.sql"
NOW = dt.datetime(2026, 12, 1, 23, 0, tzinfo=dt.UTC)
DAY = dt.date(2013, 3, 1)
NEW_COLUMNS = {"writer", "fallback", "failed_attempts", "verified_json"}
QC = json.dumps([{"name": "facts", "passed": True, "findings": []}])


def _row(story: str, kind: str, *, generator: str, attempts: int, state: str = "queued") -> dict:
    """A review_items row with exactly the columns of the baseline schema."""
    story_id = f"carrier_spotlight/2013-03-01/{story}"
    return {"draft_id": f"{story_id}/{kind}", "logical_date": DAY, "story_id": story_id,
            "story_type": "carrier_spotlight", "kind": kind, "text": f"{story} {kind}", "original_text": f"{story} {kind}",
            "media_relpath": "", "media_sha256": "", "facts_json": "{}", "qc_passed": True, "qc_json": QC,
            "attempts_json": "[]", "attempts": attempts, "generator": generator, "model_id": "", "state": state,
            "version": 1, "claimed_by": None, "claim_expires_at": None, "decided_by": None, "decided_at": None,
            "reject_reason": None, "published_at": None, "created_at": NOW, "updated_at": NOW}


ROWS = [_row("UA", "headline", generator="transformers", attempts=2),
        _row("UA", "brief", generator="template", attempts=4, state="approved"),
        _row("DL", "headline", generator="template", attempts=1),
        _row("DL", "cover", generator="chart", attempts=2)]


def _fill_old_store(conn: sa.Connection, *, attempts_json: bool = True) -> None:
    """Rows as the code before Alembic wrote them: drafts, an audit event, an account."""
    items = sa.table("review_items", *(sa.column(k) for k in ROWS[0] if attempts_json or k != "attempts_json"))
    conn.execute(sa.insert(items), [{k: v for k, v in r.items() if attempts_json or k != "attempts_json"}
                                    for r in ROWS])
    audit = sa.table("review_audit", *(sa.column(c) for c in ("draft_id", "actor", "action", "from_state",
                                                               "to_state", "at", "details")))
    conn.execute(sa.insert(audit).values(draft_id=ROWS[1]["draft_id"], actor="ann", action="approve",
                                         from_state="queued", to_state="approved", at=NOW, details='{"edited": false}'))


def _check_upgraded(url: str) -> None:
    """Every old row survives, with writer and fallback filled from what it recorded."""
    queue = ReviewQueue(url, clock=lambda: NOW)
    try:
        got = {i.draft_id: i for i in queue.list()}
        assert sorted(got) == sorted(r["draft_id"] for r in ROWS)
        who = {d: (i.writer, i.fallback, i.failed_attempts) for d, i in got.items()}
        assert who == {ROWS[0]["draft_id"]: ("model", False, 1), ROWS[1]["draft_id"]: ("template", True, 3),
                       ROWS[2]["draft_id"]: ("template", False, 0), ROWS[3]["draft_id"]: ("chart", True, 1)}
        assert got[ROWS[1]["draft_id"]].written_by == "template fallback after 3 failed attempts"
        assert got[ROWS[1]["draft_id"]].state == "approved"
        # Results stored before the checks listed what they verified: nothing verified,
        # so no old text shows as passed; the cover is judged by its image checks.
        assert {d: i.verdict for d, i in got.items()} == {
            ROWS[0]["draft_id"]: "unverified", ROWS[1]["draft_id"]: "unverified",
            ROWS[2]["draft_id"]: "unverified", ROWS[3]["draft_id"]: "passed"}
        assert [i.draft_id for i in queue.list(QueueFilter(verdict="passed"))] == [ROWS[3]["draft_id"]]
        [event] = queue.history(ROWS[1]["draft_id"])
        assert (event.actor, event.action, event.details) == ("ann", "approve", {"edited": False})
    finally:
        queue.close()
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert schema.current(conn) == schema.head()
        assert NEW_COLUMNS <= {c["name"] for c in sa.inspect(conn).get_columns("review_items")}
    engine.dispose()


def test_a_store_at_the_baseline_is_upgraded_with_its_rows(review_url):
    engine = sa.create_engine(review_url)
    with engine.begin() as conn:
        schema.upgrade(conn, schema.BASELINE)
        assert not NEW_COLUMNS & {c["name"] for c in sa.inspect(conn).get_columns("review_items")}
        _fill_old_store(conn)
    engine.dispose()
    _check_upgraded(review_url)


@pytest.mark.parametrize("attempts_json", [True, False], ids=["today", "before-attempts_json"])
def test_a_store_made_without_alembic_is_adopted_and_upgraded(review_url, attempts_json):
    """No version table: stamped at the baseline (adding attempts_json to a store older
    still), then upgraded like any other."""
    engine = sa.create_engine(review_url)
    with engine.begin() as conn:
        schema.upgrade(conn, schema.BASELINE)
        conn.execute(sa.text(f"DROP TABLE {schema.VERSION_TABLE}"))
        if not attempts_json:
            conn.execute(sa.text("ALTER TABLE review_items DROP COLUMN attempts_json"))
        _fill_old_store(conn, attempts_json=attempts_json)
        assert schema.current(conn) is None
    engine.dispose()
    _check_upgraded(review_url)


def test_a_sqlite_store_made_by_create_all_before_alembic_is_upgraded(tmp_path):
    """The tables exactly as ``create_all`` made them before Alembic (dumped DDL)."""
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for statement in BEFORE_ALEMBIC.read_text().split(";"):
            if statement.strip("\n -").strip():
                conn.exec_driver_sql(statement)
        _fill_old_store(conn)
    engine.dispose()
    _check_upgraded(url)
    UserStore(url).add("ann", "correct horse battery", "editor")  # the accounts table works too


def test_the_revisions_build_exactly_the_models(review_url):
    """A model change without a revision (or a revision the models lack) fails here."""
    ReviewQueue(review_url).counts()  # opening migrates to the head
    engine = sa.create_engine(review_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"version_table": schema.VERSION_TABLE}),
                                Base.metadata)
    engine.dispose()
    assert diff == []


def test_downgrade_to_the_baseline_and_back_keeps_the_rows(review_url):
    engine = sa.create_engine(review_url)
    with engine.begin() as conn:
        schema.upgrade(conn, schema.BASELINE)
        _fill_old_store(conn)
        schema.upgrade(conn)
    with engine.begin() as conn:
        from alembic import command

        command.downgrade(schema.alembic_config(conn), schema.BASELINE)
        assert not NEW_COLUMNS & {c["name"] for c in sa.inspect(conn).get_columns("review_items")}
    engine.dispose()
    _check_upgraded(review_url)
