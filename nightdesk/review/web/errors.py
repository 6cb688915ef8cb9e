"""Refusals of the review queue as an HTTP status and a sentence for the editor."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from nightdesk.review.errors import (
    ClaimHeldError,
    ConflictError,
    InvalidTransition,
    ItemNotFound,
    QCFailedError,
    ReviewError,
    StoreBusyError,
)

CONFLICT_MESSAGE = "Someone else decided this draft"


def stale_message(state: str, version: int, decided_by: str | None = None) -> str:
    """What an editor acting on an out-of-date page is told."""
    by = f" by {decided_by}" if decided_by else ""
    return (f"{CONFLICT_MESSAGE} (or changed it) while you were reading it: it is now {state}{by}, "
            f"version {version}. Your change was not saved; reload the draft and decide again.")


def explain(exc: ReviewError) -> tuple[int, str]:
    """``(status, message)``: what happened and what to do next, in the editor's words."""
    if isinstance(exc, ConflictError):
        return 409, stale_message(exc.current_state, exc.current_version)
    if isinstance(exc, ClaimHeldError):
        return 409, (f"{exc.holder} is working on this draft until {exc.expires_at:%H:%M} UTC; "
                     "nothing was changed. Try again after that, or ask them.")
    if isinstance(exc, InvalidTransition):
        return 409, f"That is not possible any more: {exc}"
    if isinstance(exc, QCFailedError):
        return 422, f"This text failed the quality checks, so it cannot be approved: {exc}"
    if isinstance(exc, ItemNotFound):
        return 404, str(exc)
    if isinstance(exc, StoreBusyError):
        return 503, str(exc)
    return 400, str(exc)


def api_error(exc: ReviewError) -> JSONResponse:
    """The JSON body scripts get: a stable ``error`` code plus the editor's message."""
    status, message = explain(exc)
    body: dict[str, object] = {"error": type(exc).__name__, "message": message}
    if isinstance(exc, ConflictError):
        body |= {"current_state": exc.current_state, "current_version": exc.current_version}
    if isinstance(exc, ClaimHeldError):
        body |= {"holder": exc.holder, "expires_at": exc.expires_at.isoformat()}
    return JSONResponse(body, status_code=status)


async def review_error_handler(request: Request, exc: Exception) -> Response:
    """App-wide fallback for refusals a route did not handle itself."""
    from nightdesk.review.web.app import is_api, render, url

    assert isinstance(exc, ReviewError)
    if is_api(request):
        return api_error(exc)
    status, message = explain(exc)
    title = "Not found" if status == 404 else "Not done"
    return render(request, "error.html", status_code=status, title=title, message=message,
                  back=url(request, "queue"))
