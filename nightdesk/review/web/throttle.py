"""Login throttling: a few wrong passwords per account and per client address, then a pause.

After :data:`MAX_FAILURES` failed logins for one username, or
:data:`MAX_FAILURES_PER_ADDRESS` from one client address (across usernames), within
:data:`WINDOW_S`, further attempts are refused (HTTP 429) until the oldest of those
failures is older than the window. A refused attempt is answered before the password is
looked at, and is not counted itself: the throttle cannot be used to test passwords, and
hammering a blocked account does not lengthen its pause.

A successful login clears that username's failures, not the address's earlier ones:
otherwise an attacker holding one account could sign into it between guesses at another.

The counters live in the review store (``review_login_failures``), so every UI process
(each worker of Airflow's API server, each ``nightdesk review serve``) counts the same
failures and a restart forgets none. Counting and admitting is one transaction that holds
the store's write lock (SQLite) or a dedicated advisory lock (PostgreSQL): two processes
failing at once cannot both slip under the limit. Rows older than the window are deleted
as new attempts come in.

Behind a reverse proxy or an office NAT many editors share one address, which is why the
per-address limit is several times the per-account one: it stops one address spraying
guesses over many accounts without locking a newsroom out over a few typos. Tell uvicorn
to trust ``X-Forwarded-For`` from the proxy (``--proxy-headers --forwarded-allow-ips``) so
that addresses are the editors' own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import time
from collections.abc import Callable

import sqlalchemy as sa

from nightdesk.review.models import LoginFailure
from nightdesk.review.store import Store

#: Assumption (chosen, not yet measured against our login logs): an editor who mistypes
#: gets in within five tries, or gives up and asks an admin; guessing a password online
#: needs thousands. 5 failures per 15 minutes holds a guesser to 480 tries a day per
#: account and per address, however many UI processes serve the login form.
MAX_FAILURES = 5
#: Failures per client address (all usernames together): a desk of editors behind one
#: address makes a few typos a morning; a spray over accounts makes hundreds.
MAX_FAILURES_PER_ADDRESS = 30
WINDOW_S = 15 * 60
_FAILURES = LoginFailure.__table__
# Key of the PostgreSQL advisory lock that makes count-then-insert atomic across processes
# ("NDTH" in ASCII; the audit lock in nightdesk.review.store is "NDRV"). One lock for all
# accounts: logins are rare and each transaction takes milliseconds.
_PG_THROTTLE_LOCK = 0x4E445448


class TooManyLogins(Exception):
    """Login refused without checking the password; ``retry_after_s`` until it is allowed."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s

    @property
    def message(self) -> str:
        minutes = max(1, math.ceil(self.retry_after_s / 60))
        return (f"Too many failed logins for this account or from this address. Try again in {minutes} "
                f"minute{'s' if minutes != 1 else ''}, or ask an admin to reset your password.")


class LoginAttempt:
    """One admitted login attempt, already counted as a failure; :meth:`succeeded` takes it back."""

    def __init__(self, throttle: LoginThrottle, username: str, address_row: int) -> None:
        self._throttle, self._username, self._address_row = throttle, username, address_row

    def succeeded(self) -> None:
        self._throttle._succeeded(self._username, self._address_row)


class LoginThrottle:
    """Counts failed logins per username and per client address in a sliding window.

    An attempt is counted as a failure when it is admitted (:meth:`begin`), before the
    password is checked, and taken back when it succeeds: concurrent attempts, in this
    process or another, cannot slip past the limit between the check and the count.

    :param url: SQLAlchemy URL of the review store holding the counters; ``None`` reads
        ``NIGHTDESK_REVIEW_DB_URL`` or falls back to the SQLite file in the data directory.
    :param max_failures: failures allowed per username within the window; the next attempt is refused.
    :param max_failures_per_address: failures allowed per client address within the window.
    :param window_s: seconds a failure counts for.
    :param clock: wall-clock seconds since the epoch (``time.time``): the counters are
        shared between processes and outlive them, so a per-process monotonic clock cannot
        order them. Tests pass a fake one.
    :param lock_timeout: seconds counting waits for other writers before giving up.
    """

    def __init__(self, url: str | None = None, *, max_failures: int = MAX_FAILURES,
                 max_failures_per_address: int = MAX_FAILURES_PER_ADDRESS, window_s: float = WINDOW_S,
                 clock: Callable[[], float] = time.time, lock_timeout: float = 10.0) -> None:
        if min(max_failures, max_failures_per_address) < 1 or window_s <= 0:
            raise ValueError(f"login throttle: max_failures and max_failures_per_address must be >= 1 and "
                             f"window_s > 0, got {max_failures}, {max_failures_per_address} and {window_s}")
        self._limits = {"user": max_failures, "addr": max_failures_per_address}
        self._window = dt.timedelta(seconds=window_s)
        self._clock = clock
        self._store = Store(url, lock_timeout)

    def close(self) -> None:
        """Close the store's connections (a later call reopens them)."""
        self._store.close()

    def begin(self, username: str, address: str) -> LoginAttempt:
        """Admit an attempt and count it as failed until :meth:`LoginAttempt.succeeded`.

        :raises TooManyLogins: the username or the address has used up its failures in
            the window (nothing is counted).
        """
        subjects = {"user": _digest(username), "addr": _digest(address)}
        with self._store.write("count a login attempt") as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_THROTTLE_LOCK})
            now = dt.datetime.fromtimestamp(self._clock(), dt.UTC)
            wait = max(self._wait(conn, scope, subject, now) for scope, subject in subjects.items())
            if wait > 0:
                raise TooManyLogins(math.ceil(wait))
            conn.execute(sa.delete(_FAILURES).where(_FAILURES.c.at <= now - self._window))
            rows = {scope: conn.execute(sa.insert(_FAILURES).values(scope=scope, subject_sha256=subject, at=now))
                    .inserted_primary_key[0] for scope, subject in subjects.items()}
        return LoginAttempt(self, username, rows["addr"])

    def _succeeded(self, username: str, address_row: int) -> None:
        """Clear the username's failures and take this attempt off the address's."""
        with self._store.write("clear failed logins") as conn:
            conn.execute(sa.delete(_FAILURES).where(
                sa.or_(sa.and_(_FAILURES.c.scope == "user", _FAILURES.c.subject_sha256 == _digest(username)),
                       _FAILURES.c.id == address_row)))

    def _wait(self, conn: sa.Connection, scope: str, subject: str, now: dt.datetime) -> float:
        """Seconds until ``subject`` may try again; 0 when it may now."""
        limit = self._limits[scope]
        recent = conn.execute(
            sa.select(_FAILURES.c.at)
            .where(_FAILURES.c.scope == scope, _FAILURES.c.subject_sha256 == subject,
                   _FAILURES.c.at > now - self._window)
            .order_by(_FAILURES.c.at.desc()).limit(limit)).scalars().all()
        if len(recent) < limit:
            return 0.0
        return max(0.0, (recent[-1] + self._window - now).total_seconds())


def _digest(subject: str) -> str:
    """What is stored of a username or address tried: people sometimes type a password
    into the username field, and it should not sit in the database in clear."""
    return hashlib.sha256(subject.encode()).hexdigest()
