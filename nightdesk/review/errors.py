"""Why a review operation was refused. Each message names the draft and what to do next."""

from __future__ import annotations

import datetime as dt


class ReviewError(RuntimeError):
    """Base of every refusal by the review queue."""


class ItemNotFound(ReviewError, LookupError):
    """No draft with that id is in the queue."""


class ConflictError(ReviewError):
    """The draft changed since the editor read it (another decision won); nothing was written
    except a ``conflict`` audit row. Reload the draft and decide again."""

    def __init__(self, message: str, *, draft_id: str, expected_version: int, current_state: str,
                 current_version: int) -> None:
        super().__init__(message)
        self.draft_id = draft_id
        self.expected_version = expected_version
        self.current_state = current_state
        self.current_version = current_version


class InvalidTransition(ReviewError):
    """The action is not allowed from the draft's state (e.g. approving a rejected draft)."""

    def __init__(self, message: str, *, from_state: str, to_state: str | None) -> None:
        super().__init__(message)
        self.from_state = from_state
        self.to_state = to_state


class ClaimHeldError(ReviewError):
    """Another editor holds an unexpired claim on the draft."""

    def __init__(self, message: str, *, holder: str, expires_at: dt.datetime) -> None:
        super().__init__(message)
        self.holder = holder
        self.expires_at = expires_at


class QCFailedError(ReviewError):
    """The draft's current text failed the quality checks, so it cannot be approved."""


class StoreBusyError(ReviewError):
    """The store stayed locked by other writers past the lock timeout; nothing was changed."""
