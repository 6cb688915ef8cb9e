"""The generation behind each draft and each audit event.

``review_items.generation_id`` is the warehouse generation (``generation_log`` /
``drafts.generation_id``) the draft's text or image currently comes from; a refresh by a
pipeline rerun replaces it. ``review_audit.generation_id`` is the generation the draft held
when the event happened: for a decision, the one the editor decided on, which stays on
that row when the draft is refreshed later. Rows from before this revision have ``""``
(the store did not know it).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("review_items", "review_audit")


def upgrade() -> None:
    for table in _TABLES:
        op.add_column(table, sa.Column("generation_id", sa.String(64), server_default="", nullable=False))


def downgrade() -> None:
    for table in reversed(_TABLES):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("generation_id")
