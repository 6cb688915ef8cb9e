"""The review state machine as one table, so every operation and message agrees on it.

A draft is *undecided* while queued or claimed (a claim is a lock that expires: past
its expiry the draft reads as queued again); approval, rejection, publishing and
withdrawal are decisions. Editing changes the text but never the state: an edited draft
still needs an explicit approval, which then records that a human changed it.

A rejection is the one decision an editor can take back: ``reopen`` returns a rejected
draft to ``queued`` (a rejected draft was never published, so nothing public changes;
the audit keeps both the rejection and the reopening, with their reasons).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nightdesk.review.errors import ClaimHeldError, ConflictError, InvalidTransition

QUEUED = "queued"
CLAIMED = "claimed"
APPROVED = "approved"
EDITED_APPROVED = "edited_approved"
REJECTED = "rejected"
PUBLISHED = "published"
WITHDRAWN = "withdrawn"

STATES = (QUEUED, CLAIMED, APPROVED, EDITED_APPROVED, REJECTED, PUBLISHED, WITHDRAWN)
UNDECIDED = frozenset({QUEUED, CLAIMED})
APPROVED_STATES = frozenset({APPROVED, EDITED_APPROVED})

ACTIONS = ("enqueue", "claim", "release", "approve", "edit", "reject", "comment", "publish", "withdraw", "conflict",
           "reopen")


@dataclass(frozen=True)
class Transition:
    """Which states an action may start from and where it leads.

    :param to_state: the state after the action; ``None`` when the state does not change
        (an edit). Approval leads to ``approved``, or ``edited_approved`` when the text
        differs from what was generated.
    """

    allowed_from: frozenset[str]
    to_state: str | None

    def describe(self) -> str:
        """``queued|claimed -> approved``: for error messages."""
        return f"{'|'.join(sorted(self.allowed_from))} -> {self.to_state or '(state kept)'}"


TRANSITIONS: dict[str, Transition] = {
    "claim": Transition(UNDECIDED, CLAIMED),
    "release": Transition(frozenset({CLAIMED}), QUEUED),
    "edit": Transition(UNDECIDED, None),
    "approve": Transition(UNDECIDED, APPROVED),
    "reject": Transition(UNDECIDED, REJECTED),
    "publish": Transition(APPROVED_STATES, PUBLISHED),
    "withdraw": Transition(APPROVED_STATES | {PUBLISHED}, WITHDRAWN),
    # Back to the queue rather than to a claim: whoever claimed it before the rejection
    # may be gone, and a reopened draft should be free for anyone to take.
    "reopen": Transition(frozenset({REJECTED}), QUEUED),
}

# Actions an unexpired claim by another editor blocks (publishing and withdrawal act on
# approved drafts, which hold no claim).
CLAIM_GUARDED = frozenset({"claim", "release", "edit", "approve", "reject"})


def effective_state(item: Mapping[str, Any], now: dt.datetime) -> str:
    """The stored state, except that a claim past its expiry reads as ``queued``.

    :param item: a draft's columns (``state``, ``claim_expires_at``).
    """
    if item["state"] == CLAIMED and (item["claim_expires_at"] is None or item["claim_expires_at"] <= now):
        return QUEUED
    return item["state"]


def check_action(action: str, item: Mapping[str, Any], actor: str, expected_version: int, now: dt.datetime) -> str:
    """Refuse ``action`` unless the draft is still at ``expected_version``, the action is
    allowed from its state and no one else holds an unexpired claim on it, in that order
    (a stale editor hears "reload" first). Returns the effective state.

    :raises ConflictError, InvalidTransition, ClaimHeldError: why the action is refused.
    """
    state = effective_state(item, now)
    if item["version"] != expected_version:
        raise conflict(action, item, expected_version, now)
    if state not in TRANSITIONS[action].allowed_from:
        raise not_allowed(action, item["draft_id"], state)
    if action in CLAIM_GUARDED and state == CLAIMED and item["claimed_by"] != actor:
        raise ClaimHeldError(
            f"{action} {item['draft_id']}: {item['claimed_by']} has claimed it until "
            f"{item['claim_expires_at'].isoformat()}; wait for them to release it or for the claim to expire",
            holder=item["claimed_by"], expires_at=item["claim_expires_at"])
    return state


def conflict(action: str, item: Mapping[str, Any], expected_version: int, now: dt.datetime) -> ConflictError:
    """The refusal of an action on a draft that changed since the editor read it."""
    state = effective_state(item, now)
    return ConflictError(
        f"{action} {item['draft_id']}: the draft changed since you read it (version {expected_version}, now "
        f"{item['version']}, {state}); nothing was written, reload it and decide again",
        draft_id=item["draft_id"], expected_version=expected_version, current_state=state,
        current_version=item["version"])


def not_allowed(action: str, draft_id: str, state: str) -> InvalidTransition:
    """The refusal of an action that the draft's state does not allow."""
    transition = TRANSITIONS[action]
    return InvalidTransition(f"{action} {draft_id}: not possible while it is {state} (allowed: {transition.describe()})",
                             from_state=state, to_state=transition.to_state)
