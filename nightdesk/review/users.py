"""Accounts of the review UI: editors decide on drafts, admins also manage accounts.

Accounts live in the review store next to the drafts, so one database backs the whole
review workflow. Only scrypt hashes are stored (:mod:`nightdesk.review.passwords`).
Changing a password or disabling an account ends the account's sessions in the same
transaction (:mod:`nightdesk.review.sessions`): a cookie copied before is refused after.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache

import sqlalchemy as sa

from nightdesk.review.models import ROLES, User
from nightdesk.review.passwords import hash_password, verify_password
from nightdesk.review.sessions import DISABLED, PASSWORD_CHANGED, end_sessions
from nightdesk.review.store import Store
from nightdesk.review.views import UserView

#: Shortest accepted password. Length is what makes a password hard to guess (NIST
#: SP 800-63B asks for at least 8 characters and no composition rules).
MIN_PASSWORD_LENGTH = 8
_USERNAME = re.compile(r"^[A-Za-z0-9._@-]{1,100}$")
_USERS = User.__table__


class UserStore:
    """Create, authenticate and manage review accounts.

    :param url: SQLAlchemy URL of the review store; ``None`` reads ``NIGHTDESK_REVIEW_DB_URL``
        or falls back to the SQLite file in the data directory. Nothing is opened until
        the first call.
    :param lock_timeout: seconds a write waits for other writers before giving up.
    """

    def __init__(self, url: str | None = None, *, lock_timeout: float = 10.0) -> None:
        self._store = Store(url, lock_timeout)

    @property
    def url(self) -> str:
        """The review store's URL (the sessions and the login throttle live beside the accounts)."""
        return self._store.url

    def close(self) -> None:
        """Close the store's connections (a later call reopens them)."""
        self._store.close()

    def add(self, username: str, password: str, role: str) -> None:
        """Create an account.

        :raises ValueError: the username is taken or malformed, the password too short,
            or the role not one of ``editor``, ``admin``.
        """
        _validate_username(username)
        _validate_password(password)
        if role not in ROLES:
            raise ValueError(f"role {role!r} for {username!r}: must be one of {list(ROLES)}")
        row = {"username": username, "password_hash": hash_password(password), "role": role,
               "created_at": dt.datetime.now(dt.UTC), "disabled": False}
        try:
            with self._store.write(f"add user {username}") as conn:
                conn.execute(sa.insert(_USERS).values(row))
        except sa.exc.IntegrityError as exc:
            raise ValueError(f"user {username!r} already exists") from exc

    def authenticate(self, username: str, password: str) -> UserView | None:
        """The account when ``password`` is right and the account enabled, else ``None``."""
        row = self._row(username)
        if row is None or row.disabled:
            verify_password(password, _dummy_hash())
            return None
        return _view(row) if verify_password(password, row.password_hash) else None

    def get(self, username: str) -> UserView | None:
        """The enabled account named ``username``; ``None`` when unknown or disabled."""
        row = self._row(username)
        return None if row is None or row.disabled else _view(row)

    def list_users(self) -> list[UserView]:
        """Every account, disabled ones included, by username."""
        with self._store.read() as conn:
            return [_view(r) for r in conn.execute(sa.select(_USERS).order_by(_USERS.c.username))]

    def set_password(self, username: str, password: str) -> int:
        """Replace the account's password and end its sessions; returns how many ended.

        :raises ValueError: unknown user or short password.
        """
        _validate_password(password)
        return self._update(username, PASSWORD_CHANGED, password_hash=hash_password(password))

    def disable(self, username: str) -> int:
        """Stop the account from logging in and end its sessions (returns how many); its
        audit trail stays. :raises ValueError: unknown user."""
        return self._update(username, DISABLED, disabled=True)

    def enable(self, username: str) -> None:
        """Let a disabled account log in again (with its old password). :raises ValueError: unknown user."""
        self._update(username, None, disabled=False)

    def _update(self, username: str, end_reason: str | None, **values: object) -> int:
        """Update the account; with ``end_reason``, end its sessions in the same transaction."""
        with self._store.write(f"update user {username}") as conn:
            if conn.execute(sa.update(_USERS).where(_USERS.c.username == username).values(values)).rowcount != 1:
                raise ValueError(f"no user {username!r}")
            return 0 if end_reason is None else end_sessions(conn, username, end_reason, dt.datetime.now(dt.UTC))

    def _row(self, username: str) -> sa.Row | None:
        with self._store.read() as conn:
            return conn.execute(sa.select(_USERS).where(_USERS.c.username == username)).one_or_none()


@cache
def _dummy_hash() -> str:
    """Checked against when the account is unknown or disabled, so a login takes as long
    either way (no finding out which usernames exist by timing)."""
    return hash_password("nightdesk-no-such-user")


def _view(row: sa.Row) -> UserView:
    return UserView(row.username, row.role, bool(row.disabled))


def _validate_username(username: str) -> None:
    if not _USERNAME.match(username):
        raise ValueError(f"username {username!r}: use 1-100 letters, digits or . _ @ -")


def _validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password too short: at least {MIN_PASSWORD_LENGTH} characters")
