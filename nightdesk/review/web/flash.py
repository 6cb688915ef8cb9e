"""One-time messages across a redirect (post/redirect/get).

Every form post ends in a redirect to the page it came from, so a reload never repeats
an action and the browser never stays at an action URL. What the post did travels to
that page in a short-lived cookie of its own, signed (a forged cookie could put words
in the desk's mouth) and deleted by the page that shows it, so the message is read once.

A flash names the page it is for (a draft id, or ``bulk``); another page leaves it alone.
The cookie holds messages, never a draft's text: a refused edit names its ``conflict``
audit row (``restore``), where the queue kept the text the editor wrote.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Literal

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE_NAME = "nightdesk_review_flash"
_SALT = "nightdesk-review-flash"
#: Long enough for a slow redirect on a loaded desk, short enough that a message never
#: turns up on a later, unrelated visit.
MAX_AGE_S = 120
#: Browsers drop a cookie over 4,096 bytes (name and attributes included) without a word;
#: a longer message is cut to fit rather than lost.
MAX_VALUE_CHARS = 3_800

Level = Literal["notice", "warn", "error"]


@dataclass(frozen=True)
class Flash:
    """A message for one page: ``conflict`` adds a reload link; ``restore`` is the audit
    id of a refused edit whose text goes back into the edit box."""

    page: str
    message: str
    level: Level = "notice"
    conflict: bool = False
    restore: int | None = None


class FlashSigner:
    """Signs flashes with the review UI's secret key (a salt of their own, so a flash is
    never accepted as a session or the other way round)."""

    def __init__(self, secret_key: str, *, secure: bool = False) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt=_SALT)
        self._secure = secure

    def redirect(self, request: Request, target: str, flash: Flash) -> RedirectResponse:
        """A 303 to ``target`` carrying ``flash``."""
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE_NAME, self._fitted(flash), max_age=MAX_AGE_S,
                            path=_path(request), httponly=True, samesite="lax",
                            secure=self._secure)
        return response

    def _fitted(self, flash: Flash) -> str:
        """The signed cookie value, the message shortened until it fits in a cookie."""
        value = self._serializer.dumps(asdict(flash))
        while len(value) > MAX_VALUE_CHARS:
            shorter = flash.message[:len(flash.message) * 3 // 4].rstrip() + "…"
            if len(shorter) >= len(flash.message):
                break
            flash = replace(flash, message=shorter)
            value = self._serializer.dumps(asdict(flash))
        if len(value) > MAX_VALUE_CHARS:  # the page name alone is too long: say less rather than loop
            value = self._serializer.dumps(asdict(replace(flash, page="", message="")))
        return value

    def peek(self, request: Request, page: str) -> Flash | None:
        """The flash for ``page``, if the request carries a valid one."""
        try:
            data = self._serializer.loads(request.cookies.get(COOKIE_NAME, ""), max_age=MAX_AGE_S)
            flash = Flash(**data)
        except (BadSignature, TypeError):
            return None
        return flash if flash.page == page else None

    @staticmethod
    def consume(request: Request, response: Response) -> Response:
        """Delete the cookie on ``response`` (the page showed the flash)."""
        response.delete_cookie(COOKIE_NAME, path=_path(request), httponly=True, samesite="lax")
        return response


def _path(request: Request) -> str:
    return request.scope.get("root_path") or "/"
