"""Login throttling: a few wrong passwords per account and per client address, then a pause.

After :data:`MAX_FAILURES` failed logins for one username, or
:data:`MAX_FAILURES_PER_ADDRESS` from one client address (across usernames), within
:data:`WINDOW_S`, further attempts are refused (HTTP 429) until the oldest of those
failures is older than the window. A refused attempt is answered before the password is
looked at, and is not counted itself: the throttle cannot be used to test passwords, and
hammering a blocked account does not lengthen its pause.

A successful login clears that username's failures, not the address's earlier ones:
otherwise an attacker holding one account could sign into it between guesses at another.

The counters live in this process's memory. Each API-server process (each worker of
Airflow's API server, each ``nightdesk review serve``) keeps its own, and a restart forgets
them, so with N workers an attacker gets up to N x 5 guesses per window; move them into
the review database if that is ever too many.

Behind a reverse proxy or an office NAT many editors share one address, which is why the
per-address limit is several times the per-account one: it stops one address spraying
guesses over many accounts without locking a newsroom out over a few typos. Tell uvicorn
to trust ``X-Forwarded-For`` from the proxy (``--proxy-headers --forwarded-allow-ips``) so
that addresses are the editors' own.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

#: Assumption (chosen, not yet measured against our login logs): an editor who mistypes
#: gets in within five tries, or gives up and asks an admin; guessing a password online
#: needs thousands. 5 failures per 15 minutes holds a guesser to 480 tries a day per
#: account and per address (per process: see above).
MAX_FAILURES = 5
#: Failures per client address (all usernames together): a desk of editors behind one
#: address makes a few typos a morning; a spray over accounts makes hundreds.
MAX_FAILURES_PER_ADDRESS = 30
WINDOW_S = 15 * 60
#: Forget stale keys once the table holds this many (a spray over many usernames).
_SWEEP_AT = 10_000


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

    def __init__(self, throttle: LoginThrottle, username: str, address: str, at: float) -> None:
        self._throttle, self._username, self._address, self._at = throttle, username, address, at

    def succeeded(self) -> None:
        self._throttle._succeeded(self._username, self._address, self._at)


class LoginThrottle:
    """Counts failed logins per username and per client address in a sliding window.

    An attempt is counted as a failure when it is admitted (:meth:`begin`), before the
    password is checked, and taken back when it succeeds: concurrent attempts cannot slip
    past the limit between the check and the count.

    :param max_failures: failures allowed per username within the window; the next attempt is refused.
    :param max_failures_per_address: failures allowed per client address within the window.
    :param window_s: seconds a failure counts for.
    :param clock: seconds on a monotonic scale; tests pass a fake one. Default ``time.monotonic``
        (wall-clock changes do not shorten or stretch a pause).
    """

    def __init__(self, *, max_failures: int = MAX_FAILURES,
                 max_failures_per_address: int = MAX_FAILURES_PER_ADDRESS, window_s: float = WINDOW_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if min(max_failures, max_failures_per_address) < 1 or window_s <= 0:
            raise ValueError(f"login throttle: max_failures and max_failures_per_address must be >= 1 and "
                             f"window_s > 0, got {max_failures}, {max_failures_per_address} and {window_s}")
        self._limits = {"user": max_failures, "addr": max_failures_per_address}
        self._window = window_s
        self._clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def begin(self, username: str, address: str) -> LoginAttempt:
        """Admit an attempt and count it as failed until :meth:`LoginAttempt.succeeded`.

        :raises TooManyLogins: the username or the address has used up its failures in
            the window (nothing is counted).
        """
        with self._lock:
            now = self._clock()
            wait = max(self._wait(_user(username), now), self._wait(_addr(address), now))
            if wait > 0:
                raise TooManyLogins(math.ceil(wait))
            if len(self._failures) >= _SWEEP_AT:
                self._sweep(now)
            for key in (_user(username), _addr(address)):
                self._failures.setdefault(key, deque(maxlen=self._limits[key[0]])).append(now)
        return LoginAttempt(self, username, address, now)

    def _succeeded(self, username: str, address: str, at: float) -> None:
        """Clear the username's failures and take this attempt off the address's."""
        with self._lock:
            self._failures.pop(_user(username), None)
            times = self._failures.get(_addr(address))
            if times is not None:
                if at in times:
                    times.remove(at)
                if not times:
                    del self._failures[_addr(address)]

    def _wait(self, key: tuple[str, str], now: float) -> float:
        """Seconds until ``key`` may try again; 0 when it may now."""
        times = self._failures.get(key)
        if not times or len(times) < self._limits[key[0]]:
            return 0.0
        return max(0.0, times[0] + self._window - now)

    def _sweep(self, now: float) -> None:
        stale = [k for k, times in self._failures.items() if not times or times[-1] + self._window <= now]
        for key in stale:
            del self._failures[key]


def _user(username: str) -> tuple[str, str]:
    return ("user", username)


def _addr(address: str) -> tuple[str, str]:
    return ("addr", address)
