"""Who wrote each draft and what its checks verified.

``writer`` (model, template, chart, diffusion), ``fallback`` (a template or chart card
wrote it after the model's attempts failed) and ``failed_attempts`` come from the
warehouse's drafts (migration 0009); ``verified_json`` is the list of what the checks
verified (``["4 of 4 figures bound", "direction agrees"]``), kept beside ``qc_json`` so
the queue can filter on it.

Existing rows are filled from what they already record: the generator names the writer,
a template or chart draft past attempt 1 was a fallback, and every attempt before the
current one failed. Their check results predate the ``verified`` lists, so their
``verified_json`` is empty: they read as "nothing verified" until checked again.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("writer", "fallback", "failed_attempts", "verified_json")
# generator (as logged) -> writer, frozen here as it was when this revision was written.
_WRITERS = {"transformers": "model", "template": "template", "chart": "chart", "diffusers": "diffusion"}


def upgrade() -> None:
    op.add_column("review_items", sa.Column("writer", sa.String(20), server_default="model", nullable=False))
    op.add_column("review_items", sa.Column("fallback", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("review_items", sa.Column("failed_attempts", sa.Integer(), server_default="0", nullable=False))
    op.add_column("review_items", sa.Column("verified_json", sa.Text(), server_default="[]", nullable=False))
    items = sa.table("review_items", sa.column("generator", sa.String), sa.column("attempts", sa.Integer),
                     sa.column("writer", sa.String), sa.column("fallback", sa.Boolean),
                     sa.column("failed_attempts", sa.Integer))
    op.execute(sa.update(items).values(
        writer=sa.case(_WRITERS, value=items.c.generator, else_="model"),
        fallback=sa.and_(items.c.generator.in_(["template", "chart"]), items.c.attempts > 1),
        failed_attempts=items.c.attempts - 1,
    ))


def downgrade() -> None:
    with op.batch_alter_table("review_items") as batch:
        for column in reversed(_COLUMNS):
            batch.drop_column(column)
