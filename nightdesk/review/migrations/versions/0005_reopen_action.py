"""The audit trail may record ``reopen``: a rejected draft taken back into the queue.

Only the check constraint on ``review_audit.action`` changes (no column, no row). Its name
is spelled as the baseline created it (``ck_%(table_name)s_action``, the token not filled
in), wrapped in ``conv`` so no naming convention rewrites it. SQLite cannot alter a
constraint, so there the table is rebuilt by Alembic's batch mode with its rows.

Downgrading refuses while any ``reopen`` row exists: the older schema cannot hold it, and
deleting audit rows would lose the trail.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.sql.elements import conv

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = conv("ck_%(table_name)s_action")
_BEFORE = ("enqueue", "claim", "release", "approve", "edit", "reject", "comment", "publish", "withdraw", "conflict")
_AFTER = (*_BEFORE, "reopen")


def _replace_check(actions: tuple[str, ...]) -> None:
    allowed = ", ".join(f"'{a}'" for a in actions)
    with op.batch_alter_table("review_audit") as batch:
        batch.drop_constraint(_NAME, type_="check")
        batch.create_check_constraint(_NAME, f"action IN ({allowed})")


def upgrade() -> None:
    _replace_check(_AFTER)


def downgrade() -> None:
    reopened = op.get_bind().execute(sa.text("SELECT count(*) FROM review_audit WHERE action = 'reopen'")).scalar()
    if reopened:
        raise RuntimeError(f"review store: cannot downgrade below revision 0005: {reopened} audit rows record a "
                           "'reopen', which the older schema cannot hold; keep the store at 0005 or later")
    _replace_check(_BEFORE)
