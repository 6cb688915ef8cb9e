"""Sessions for the review UI: a signed, expiring cookie that names a server-side session.

The cookie holds a random session token (once signed in) and the session's CSRF token,
signed with itsdangerous (HMAC) and stamped with its issue time; a cookie older than the
session lifetime, or one whose signature does not verify, is no session at all. The token
names a row of the review store (:mod:`nightdesk.review.sessions`), looked up on every
request: logging out, a password change, disabling the account or an admin's
``end-sessions`` ends the row, and every copy of the cookie stops working at once.

Logging in issues a new cookie with a new token and CSRF token (no session fixation);
logging out ends the row and replaces the cookie. Every visitor, signed in or not, gets a
cookie so the login form can carry a CSRF token too; only a sign-in writes a row.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer

log = logging.getLogger(__name__)

COOKIE_NAME = "nightdesk_review_session"
SECRET_ENV = "NIGHTDESK_REVIEW_SECRET_KEY"
MAX_AGE_ENV = "NIGHTDESK_REVIEW_SESSION_SECONDS"
SECURE_ENV = "NIGHTDESK_REVIEW_SECURE_COOKIE"
#: One editing shift: an editor signs in once a night, and a cookie copied off a shared
#: desk stops working by the next one.
DEFAULT_MAX_AGE_S = 8 * 3600
_SALT = "nightdesk-review-session"
#: Below this an HMAC key is guessable in practice (128 bits of entropy as text).
_MIN_SECRET_CHARS = 32


@dataclass(frozen=True)
class Session:
    """What a verified cookie says: the session token (``None`` before login) and the CSRF token."""

    token: str | None
    csrf_token: str


@dataclass(frozen=True)
class Editor:
    """The signed-in, still-enabled user a request acts as, and the id and expiry of their
    session (``None`` before the store was asked: at login)."""

    username: str
    role: str
    session_id: int | None = None
    session_expires_at: dt.datetime | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class LoginRequired(Exception):
    """No valid session: pages redirect to the login form, the API answers 401."""


class SessionSigner:
    """Turns :class:`Session` into cookie values and back, refusing stale or forged ones.

    :param secret_key: HMAC key, at least 32 characters.
    :param max_age_s: seconds a cookie stays valid after it was issued (absolute, not
        sliding: signing in again is the only way to extend a session).
    """

    def __init__(self, secret_key: str, max_age_s: int = DEFAULT_MAX_AGE_S) -> None:
        if len(secret_key) < _MIN_SECRET_CHARS:
            raise ValueError(f"review UI secret key: need at least {_MIN_SECRET_CHARS} characters, "
                             f"got {len(secret_key)}; generate one with `python -c 'import secrets; "
                             f"print(secrets.token_urlsafe(48))'`")
        if max_age_s <= 0:
            raise ValueError(f"review UI session lifetime must be positive seconds, got {max_age_s}")
        self.max_age_s = max_age_s
        self._serializer = URLSafeTimedSerializer(secret_key, salt=_SALT)

    def dumps(self, session: Session) -> str:
        return self._serializer.dumps({"s": session.token, "c": session.csrf_token})

    def loads(self, value: str | None) -> Session | None:
        """The session in ``value``; ``None`` when missing, expired, forged or malformed."""
        if not value:
            return None
        try:
            data = self._serializer.loads(value, max_age=self.max_age_s)
        except BadSignature:  # SignatureExpired is a subclass
            return None
        if not isinstance(data, dict) or not isinstance(data.get("c"), str) or not data["c"]:
            return None
        token = data.get("s")
        if token is not None and not isinstance(token, str):
            return None
        return Session(token=token, csrf_token=data["c"])


def resolve_secret_key(data_dir: Path) -> str:
    """``NIGHTDESK_REVIEW_SECRET_KEY``, else a key generated once and kept in the data dir.

    The file (mode 0600) lets every worker of the Airflow API server, and restarts, share
    one key without any set-up; a deployment with several hosts must set the variable.
    """
    key = os.environ.get(SECRET_ENV, "")
    if key:
        return key
    path = data_dir / "review_secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write aside, then link into place: a concurrent worker sees either no file or a
        # complete one, and exactly one key wins.
        partial = path.with_name(f"{path.name}.{secrets.token_hex(8)}.partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
        try:
            os.link(partial, path)
        except FileExistsError:
            pass  # another worker won the race; use its key
        else:
            log.warning("review UI: %s is not set; generated a session key in %s (set the variable "
                        "when the UI runs on more than one host)", SECRET_ENV, path)
        finally:
            partial.unlink()
    return path.read_text().strip()


def max_age_from_env() -> int:
    text = os.environ.get(MAX_AGE_ENV, "")
    if not text:
        return DEFAULT_MAX_AGE_S
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{MAX_AGE_ENV}={text!r}: expected whole seconds, e.g. {DEFAULT_MAX_AGE_S}") from None


def secure_from_env() -> bool:
    return os.environ.get(SECURE_ENV, "").lower() in ("1", "true", "yes")
