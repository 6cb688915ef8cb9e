"""CSRF protection: a per-session token every state-changing request must echo back.

The token lives in the signed session cookie (see :mod:`.auth`); forms carry it in a
hidden ``csrf_token`` field and scripts send it in the ``X-CSRF-Token`` header. A page
on another site can make the browser send the cookie but cannot read the token, so its
forged request fails. Checked once, as a dependency of every router, for every method
that is not GET, HEAD or OPTIONS, so a new route cannot forget it.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request

HEADER = "X-CSRF-Token"
FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CSRFError(Exception):
    """A state-changing request came without the session's CSRF token."""


def new_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_match(expected: str, given: str | None) -> bool:
    """Constant-time comparison; an empty or missing token never matches."""
    return bool(expected) and bool(given) and hmac.compare_digest(expected.encode(), str(given).encode())


async def csrf_protect(request: Request) -> None:
    """FastAPI dependency: refuse an unsafe request whose token is not the session's."""
    if request.method in SAFE_METHODS:
        return
    given = request.headers.get(HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        # FastAPI parses the body once and Starlette caches it: the route sees the same form.
        value = (await request.form()).get(FIELD)
        given = value if isinstance(value, str) else None
    if not tokens_match(request.state.session.csrf_token, given):
        raise CSRFError("missing or wrong CSRF token")
