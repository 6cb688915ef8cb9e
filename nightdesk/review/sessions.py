"""Sign-ins of the review UI, recorded in the review store so they can be ended.

Each login starts a row in ``review_sessions`` and hands the browser a random token (in
the signed cookie); only the token's SHA-256 is stored. A request is signed in while its
row is neither ended nor expired and the account is enabled, checked in one indexed query.
Ending the row refuses every copy of the cookie at once: logout ends the browser's own
session; a password change, a disabled account and an admin's ``end-sessions`` end all of
the account's (:func:`end_sessions`, run in the same transaction as the change).

Why records rather than a per-user "session epoch" stamped into cookies: an epoch ends all
of an account's sessions or none, so logging out on a shared desk would sign the editor
out at home too, and it cannot say who is signed in where. A record per login costs one
row (a desk of 20 editors signing in nightly keeps about 1,800, a quarter's: rows go
:data:`KEEP_FOR` after their expiry) and one lookup per request, which the account check
did already.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from nightdesk.review.models import LoginSession, User
from nightdesk.review.store import Store

_SESSIONS = LoginSession.__table__
_USERS = User.__table__
#: ``end_reason`` values.
LOGOUT = "logout"
PASSWORD_CHANGED = "password changed"
DISABLED = "account disabled"
ENDED_BY_ADMIN = "ended by an admin"
#: How long a sign-in's row stays after it expired: long enough to say who was signed in
#: where over a quarter, short enough that the table does not grow for ever.
KEEP_FOR = dt.timedelta(days=90)
_TOKEN_BYTES = 32
_MAX_AGENT_CHARS = 300
_MAX_ADDRESS_CHARS = 100


@dataclass(frozen=True)
class SessionView:
    """One sign-in as stored (never its token)."""

    id: int
    username: str
    created_at: dt.datetime
    expires_at: dt.datetime
    ended_at: dt.datetime | None
    end_reason: str | None
    client_address: str
    user_agent: str


@dataclass(frozen=True)
class ActiveSession:
    """A live session and the enabled account it signs in."""

    session: SessionView
    role: str


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class SessionStore:
    """Start, look up, list and end review UI sessions.

    :param url: SQLAlchemy URL of the review store; ``None`` reads ``NIGHTDESK_REVIEW_DB_URL``
        or falls back to the SQLite file in the data directory.
    :param lock_timeout: seconds a write waits for other writers before giving up.
    :param clock: the current time, timezone-aware; tests pass a fake one.
    :param keep_for: how long a row stays after its session expired (ended ones too);
        older rows are deleted as new sign-ins come in.
    """

    def __init__(self, url: str | None = None, *, lock_timeout: float = 10.0,
                 clock: Callable[[], dt.datetime] = _now, keep_for: dt.timedelta = KEEP_FOR) -> None:
        self._store = Store(url, lock_timeout)
        self._clock = clock
        self._keep_for = keep_for

    def close(self) -> None:
        """Close the store's connections (a later call reopens them)."""
        self._store.close()

    def start(self, username: str, *, lifetime_s: int, client_address: str, user_agent: str) -> str:
        """Record a sign-in of ``username`` valid for ``lifetime_s`` seconds; returns the
        token for the cookie (shown once, stored only hashed). Rows that expired more than
        ``keep_for`` ago go in the same transaction (a session ends by its expiry at the
        latest, so none of them can sign anyone in)."""
        token = secrets.token_urlsafe(_TOKEN_BYTES)
        now = self._clock()
        row = {"token_sha256": _digest(token), "username": username, "created_at": now,
               "expires_at": now + dt.timedelta(seconds=lifetime_s), "ended_at": None, "end_reason": None,
               "client_address": client_address[:_MAX_ADDRESS_CHARS], "user_agent": user_agent[:_MAX_AGENT_CHARS]}
        with self._store.write(f"start a session of {username}") as conn:
            conn.execute(sa.delete(_SESSIONS).where(_SESSIONS.c.expires_at < now - self._keep_for))
            conn.execute(sa.insert(_SESSIONS).values(row))
        return token

    def seconds_left(self, expires_at: dt.datetime) -> int:
        """Whole seconds until ``expires_at`` by this store's clock (0 once it has passed)."""
        return max(0, math.ceil((expires_at - self._clock()).total_seconds()))

    def resolve(self, token: str) -> ActiveSession | None:
        """The session ``token`` names while it is live and its account enabled, else ``None``."""
        query = (sa.select(_SESSIONS, _USERS.c.role)
                 .join(_USERS, _USERS.c.username == _SESSIONS.c.username)
                 .where(_SESSIONS.c.token_sha256 == _digest(token), _SESSIONS.c.ended_at.is_(None),
                        _SESSIONS.c.expires_at > self._clock(), _USERS.c.disabled.is_(False)))
        with self._store.read() as conn:
            row = conn.execute(query).one_or_none()
        return None if row is None else ActiveSession(_view(row), row.role)

    def end(self, token: str, reason: str = LOGOUT) -> None:
        """End the session ``token`` names (nothing happens if it has ended already)."""
        with self._store.write("end a session") as conn:
            conn.execute(sa.update(_SESSIONS)
                         .where(_SESSIONS.c.token_sha256 == _digest(token), _SESSIONS.c.ended_at.is_(None))
                         .values(ended_at=self._clock(), end_reason=reason))

    def end_all(self, username: str, reason: str = ENDED_BY_ADMIN) -> int:
        """End every live session of ``username``; returns how many.

        :raises ValueError: no such user.
        """
        with self._store.write(f"end the sessions of {username}") as conn:
            if conn.execute(sa.select(_USERS.c.id).where(_USERS.c.username == username)).first() is None:
                raise ValueError(f"no user {username!r}")
            return end_sessions(conn, username, reason, self._clock())

    def active(self, username: str | None = None) -> list[SessionView]:
        """Live sessions (of ``username``, or of everyone), newest first."""
        query = (sa.select(_SESSIONS)
                 .where(_SESSIONS.c.ended_at.is_(None), _SESSIONS.c.expires_at > self._clock())
                 .order_by(_SESSIONS.c.id.desc()))
        if username is not None:
            query = query.where(_SESSIONS.c.username == username)
        with self._store.read() as conn:
            return [_view(r) for r in conn.execute(query)]


def end_sessions(conn: sa.Connection, username: str, reason: str, now: dt.datetime) -> int:
    """End every live session of ``username`` in the caller's transaction; returns how many.

    The account stores call it in the transaction that changes the password or disables
    the account, so no request can slip in between the change and the sign-out.
    """
    result = conn.execute(sa.update(_SESSIONS)
                          .where(_SESSIONS.c.username == username, _SESSIONS.c.ended_at.is_(None),
                                 _SESSIONS.c.expires_at > now)
                          .values(ended_at=now, end_reason=reason))
    return result.rowcount


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _view(row: sa.Row) -> SessionView:
    return SessionView(row.id, row.username, row.created_at, row.expires_at, row.ended_at, row.end_reason,
                       row.client_address, row.user_agent)
