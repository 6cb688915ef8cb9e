"""Server-side sessions and the login throttle's counters.

``review_sessions`` holds one row per sign-in; the cookie carries a random token whose
SHA-256 names the row, so ending the row ends every copy of the cookie (logout, password
change, disabled account, an admin's ``end-sessions``). ``review_login_failures`` holds the
failed logins the throttle counts, shared by every UI process and kept across restarts.

Both tables start empty: cookies issued before this revision named only a user, cannot
be revoked, and are no longer accepted (editors sign in once more).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "review_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("expires_at", _utc(), nullable=False),
        sa.Column("ended_at", _utc(), nullable=True),
        sa.Column("end_reason", sa.String(40), nullable=True),
        sa.Column("client_address", sa.String(100), nullable=False),
        sa.Column("user_agent", sa.String(300), nullable=False),
        sa.ForeignKeyConstraint(["username"], ["review_users.username"], name="fk_review_sessions_username"),
        sa.PrimaryKeyConstraint("id", name="pk_review_sessions"),
        sa.UniqueConstraint("token_sha256", name="uq_review_sessions_token_sha256"),
    )
    op.create_index("ix_review_sessions_username_ended_at", "review_sessions", ["username", "ended_at"])
    op.create_table(
        "review_login_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(4), nullable=False),
        sa.Column("subject_sha256", sa.String(64), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.CheckConstraint("scope IN ('user', 'addr')", name="ck_review_login_failures_scope"),
        sa.PrimaryKeyConstraint("id", name="pk_review_login_failures"),
    )
    op.create_index("ix_review_login_failures_scope_subject_sha256_at", "review_login_failures",
                    ["scope", "subject_sha256", "at"])
    op.create_index("ix_review_login_failures_at", "review_login_failures", ["at"])


def downgrade() -> None:
    op.drop_table("review_login_failures")
    op.drop_table("review_sessions")
