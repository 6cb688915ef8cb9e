"""Tables of the review store: one row per draft, the editors, and an append-only audit trail.

``review_items.version`` is bumped by every change; operations update a row only where
the version is the one the editor saw (see :mod:`nightdesk.review.queue`), so a decision
made on stale information fails instead of overwriting someone else's. JSON payloads are
stored as text so the same schema works on SQLite and PostgreSQL.

Alembic keeps the schema (:mod:`nightdesk.review.schema`): a change here needs a new
revision under ``nightdesk/review/migrations/versions``, and a test checks that the
revisions build exactly these tables.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from nightdesk.review.states import ACTIONS, STATES
from nightdesk.stories.catalog import CONTENT_KINDS

ROLES = ("editor", "admin")
#: Who wrote a draft, as the warehouse's ``drafts.writer`` records it (migration 0009).
WRITERS = ("model", "template", "chart", "diffusion")


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    SQLite keeps no offset, so values written aware would come back naive; normalising on
    both sides lets claim expiry compare times the same way on every backend.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} for the review store: pass a timezone-aware time")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _one_of(column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=f"ck_%(table_name)s_{column}")


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    })


class ReviewItem(Base):
    """One draft (text or cover) and where it stands in review."""

    __tablename__ = "review_items"
    __table_args__ = (
        _one_of("state", STATES),
        _one_of("kind", CONTENT_KINDS),
        sa.Index(None, "logical_date", "state"),
        sa.Index(None, "story_type"),
        sa.Index(None, "kind"),
        sa.Index(None, "state"),
        sa.Index(None, "qc_passed"),
    )

    draft_id: Mapped[str] = mapped_column(sa.String(400), primary_key=True)
    logical_date: Mapped[dt.date] = mapped_column(sa.Date)
    story_id: Mapped[str] = mapped_column(sa.String(300))
    story_type: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(20))
    text: Mapped[str] = mapped_column(sa.Text, doc="current text; a cover's alt text")
    original_text: Mapped[str] = mapped_column(sa.Text, doc="text as generated")
    media_relpath: Mapped[str] = mapped_column(sa.String(500), default="")
    media_sha256: Mapped[str] = mapped_column(sa.String(64), default="")
    facts_json: Mapped[str] = mapped_column(sa.Text)
    qc_passed: Mapped[bool] = mapped_column(sa.Boolean)
    qc_json: Mapped[str] = mapped_column(sa.Text)
    attempts_json: Mapped[str] = mapped_column(sa.Text, default="[]", server_default="[]",
                                               doc="earlier attempts as a JSON list, oldest first")
    attempts: Mapped[int] = mapped_column(sa.Integer)
    generator: Mapped[str] = mapped_column(sa.String(100))
    model_id: Mapped[str] = mapped_column(sa.String(300))
    writer: Mapped[str] = mapped_column(sa.String(20), server_default="model", doc="one of WRITERS")
    fallback: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false(),
                                           doc="a template or chart card wrote it after the model's attempts failed")
    failed_attempts: Mapped[int] = mapped_column(sa.Integer, server_default="0",
                                                 doc="attempts before the current one that failed")
    verified_json: Mapped[str] = mapped_column(sa.Text, server_default="[]",
                                               doc="what the checks of the current text verified, a JSON list")
    generation_id: Mapped[str] = mapped_column(sa.String(64), server_default="",
                                               doc="the warehouse generation the current draft comes from")
    state: Mapped[str] = mapped_column(sa.String(20))
    version: Mapped[int] = mapped_column(sa.Integer)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(100))
    claim_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(sa.String(100))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reject_reason: Mapped[str | None] = mapped_column(sa.Text)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class User(Base):
    """An editor or admin of the review UI."""

    __tablename__ = "review_users"
    __table_args__ = (_one_of("role", ROLES),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(sa.String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(300))
    role: Mapped[str] = mapped_column(sa.String(20))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    disabled: Mapped[bool] = mapped_column(sa.Boolean, default=False)


class AuditEvent(Base):
    """One attempt on a draft, successful or not: rows are only ever inserted."""

    __tablename__ = "review_audit"
    __table_args__ = (
        _one_of("action", ACTIONS),
        sa.Index(None, "draft_id", "id"),
        sa.Index(None, "actor", "id"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True)
    draft_id: Mapped[str] = mapped_column(sa.ForeignKey(ReviewItem.draft_id))
    actor: Mapped[str] = mapped_column(sa.String(100))
    action: Mapped[str] = mapped_column(sa.String(20))
    from_state: Mapped[str | None] = mapped_column(sa.String(20), doc="None for the first enqueue")
    to_state: Mapped[str] = mapped_column(sa.String(20), doc="state after the event (unchanged for comments and conflicts)")
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    details: Mapped[str] = mapped_column(sa.Text, doc="JSON: reason, comment, diff, version seen")
    generation_id: Mapped[str] = mapped_column(sa.String(64), server_default="",
                                               doc="the generation the draft held at the event (the one decided on)")


class LoginSession(Base):
    """One sign-in: the cookie names it by a random token, stored here only as its SHA-256.

    A request's session is valid while its row is neither ended nor expired, so ending the
    row (logout, password change, disabled account, an admin's "end sessions") refuses every
    copy of the cookie at once. Rows stay after they end, for ``sessions.KEEP_FOR`` past their
    expiry: they say who was signed in when.
    """

    __tablename__ = "review_sessions"
    __table_args__ = (sa.Index(None, "username", "ended_at"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True,
                                    doc="public handle for listing and ending one session")
    token_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True,
                                              doc="hash of the cookie's token: a copy of this table signs nobody in")
    username: Mapped[str] = mapped_column(sa.ForeignKey(User.username))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(sa.String(40), doc="logout, password changed, disabled, ...")
    client_address: Mapped[str] = mapped_column(sa.String(100), doc="where the login came from")
    user_agent: Mapped[str] = mapped_column(sa.String(300), doc="the browser or script that logged in (truncated)")


class LoginFailure(Base):
    """One failed (or still running) login attempt, counted by the login throttle.

    Kept in the review store so every UI process counts the same failures and a restart
    forgets none. ``subject_sha256`` hashes the username or client address tried: what
    people type into a username field (sometimes their password) is not kept in clear.
    """

    __tablename__ = "review_login_failures"
    __table_args__ = (
        sa.CheckConstraint("scope IN ('user', 'addr')", name="ck_review_login_failures_scope"),
        sa.Index(None, "scope", "subject_sha256", "at"),
        sa.Index(None, "at"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(sa.String(4), doc="user: per username; addr: per client address")
    subject_sha256: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
