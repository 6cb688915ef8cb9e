"""Baseline: the review store as ``create_all`` made it before Alembic kept its schema.

Frozen copy of the tables of ``nightdesk.review.models`` at that time (``attempts_json``
included), written out rather than imported, so later model changes cannot change what
this revision creates. Stores created without Alembic are stamped at this revision
(:func:`nightdesk.review.schema.upgrade`). The check constraints' names are kept exactly
as ``create_all`` spelled them (``ck_%(table_name)s_state``, the token not filled in).

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATES = "'queued', 'claimed', 'approved', 'edited_approved', 'rejected', 'published', 'withdrawn'"
_KINDS = "'headline', 'brief', 'summary', 'marketing', 'cover'"
_ACTIONS = "'enqueue', 'claim', 'release', 'approve', 'edit', 'reject', 'comment', 'publish', 'withdraw', 'conflict'"


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "review_items",
        sa.Column("draft_id", sa.String(400), nullable=False),
        sa.Column("logical_date", sa.Date(), nullable=False),
        sa.Column("story_id", sa.String(300), nullable=False),
        sa.Column("story_type", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("original_text", sa.Text(), nullable=False),
        sa.Column("media_relpath", sa.String(500), nullable=False),
        sa.Column("media_sha256", sa.String(64), nullable=False),
        sa.Column("facts_json", sa.Text(), nullable=False),
        sa.Column("qc_passed", sa.Boolean(), nullable=False),
        sa.Column("qc_json", sa.Text(), nullable=False),
        sa.Column("attempts_json", sa.Text(), server_default="[]", nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("generator", sa.String(100), nullable=False),
        sa.Column("model_id", sa.String(300), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(100), nullable=True),
        sa.Column("claim_expires_at", _utc(), nullable=True),
        sa.Column("decided_by", sa.String(100), nullable=True),
        sa.Column("decided_at", _utc(), nullable=True),
        sa.Column("reject_reason", sa.Text(), nullable=True),
        sa.Column("published_at", _utc(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.CheckConstraint(f"state IN ({_STATES})", name="ck_%(table_name)s_state"),
        sa.CheckConstraint(f"kind IN ({_KINDS})", name="ck_%(table_name)s_kind"),
        sa.PrimaryKeyConstraint("draft_id", name="pk_review_items"),
    )
    op.create_index("ix_review_items_logical_date_state", "review_items", ["logical_date", "state"])
    op.create_index("ix_review_items_story_type", "review_items", ["story_type"])
    op.create_index("ix_review_items_kind", "review_items", ["kind"])
    op.create_index("ix_review_items_state", "review_items", ["state"])
    op.create_index("ix_review_items_qc_passed", "review_items", ["qc_passed"])
    op.create_table(
        "review_users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.String(300), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.CheckConstraint("role IN ('editor', 'admin')", name="ck_%(table_name)s_role"),
        sa.PrimaryKeyConstraint("id", name="pk_review_users"),
        sa.UniqueConstraint("username", name="uq_review_users_username"),
    )
    op.create_table(
        "review_audit",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("draft_id", sa.String(400), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("from_state", sa.String(20), nullable=True),
        sa.Column("to_state", sa.String(20), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.CheckConstraint(f"action IN ({_ACTIONS})", name="ck_%(table_name)s_action"),
        sa.ForeignKeyConstraint(["draft_id"], ["review_items.draft_id"], name="fk_review_audit_draft_id"),
        sa.PrimaryKeyConstraint("id", name="pk_review_audit"),
    )
    op.create_index("ix_review_audit_draft_id_id", "review_audit", ["draft_id", "id"])
    op.create_index("ix_review_audit_actor_id", "review_audit", ["actor", "id"])


def downgrade() -> None:
    op.drop_table("review_audit")
    op.drop_table("review_users")
    op.drop_table("review_items")
