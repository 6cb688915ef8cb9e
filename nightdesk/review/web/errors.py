"""Refusals of the review queue as an HTTP status and a sentence for the editor."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
from nightdesk.review.web.outcomes import claim_held, stale_message

if TYPE_CHECKING:
    from nightdesk.review.queue import ReviewQueue


class RequestRefused(Exception):
    """A JSON API request refused before it reached a route (wrong content type, bad
    body): answered as ``{"error", "message"}`` like every other API refusal."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message


async def request_refused_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestRefused)
    return JSONResponse({"error": exc.error, "message": exc.message}, status_code=exc.status)


def explain(exc: ReviewError) -> tuple[int, str]:
    """``(status, message)``: what happened and what to do next, in the editor's words.

    A stale decision gets a better message where the draft's history is at hand
    (:func:`nightdesk.review.web.outcomes.stale_message`); this one is the fallback.
    """
    if isinstance(exc, ConflictError):
        return 409, (f"Not saved: the draft changed while you were reading version {exc.expected_version}; it is "
                     f"now {exc.current_state} (version {exc.current_version}). Read it again and decide again.")
    if isinstance(exc, ClaimHeldError):
        return 409, claim_held(exc.holder, exc.expires_at)
    if isinstance(exc, InvalidTransition):
        return 409, f"Not possible: {exc}."
    if isinstance(exc, QCFailedError):
        return 422, "Not approved: the text fails the quality checks. Edit it until they pass, or reject it."
    if isinstance(exc, ItemNotFound):
        return 404, str(exc)
    if isinstance(exc, StoreBusyError):
        return 503, str(exc)
    return 400, str(exc)


def explain_refusal(queue: ReviewQueue, draft_id: str, expected_version: int | None,
                    exc: ReviewError) -> tuple[int, str, bool]:
    """:func:`explain`, plus whether the refusal is a conflict: a request made on a
    version the draft has moved past is told what happened since (from the audit trail),
    whichever check the queue tripped first."""
    if expected_version is not None and not isinstance(exc, ClaimHeldError | ItemNotFound | StoreBusyError):
        current = queue.get(draft_id)
        if current.version != expected_version:
            return 409, stale_message(queue.history(draft_id), expected_version, current), True
    status, message = explain(exc)
    return status, message, isinstance(exc, ConflictError)


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
