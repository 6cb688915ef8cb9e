"""Bulk approval in two steps: what the selection would approve, then the approval of exactly that.

The queue page sends its selection (``version:draft_id`` per checked draft) to a
confirmation page that lists the drafts it would approve, counted by kind and by story,
with a hash of the exact set (ids and versions). Confirming posts the set and the hash
back; the set is read again and refused whole if anything in it moved on (a draft
decided, edited, claimed or refreshed by the pipeline in between), so an editor never
approves something they were not shown. Each draft is then approved on its own, versioned
as always, so a change in the last instant is refused for that draft alone and reported.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from nightdesk.review.errors import ItemNotFound
from nightdesk.review.queue import ReviewQueue
from nightdesk.review.states import UNDECIDED
from nightdesk.review.verdict import PASSED
from nightdesk.review.views import ItemView
from nightdesk.review.web.outcomes import changes_since, describe
from nightdesk.stories.catalog import CONTENT_KINDS

#: The flash page name of the confirmation page (see :mod:`.flash`).
FLASH_PAGE = "bulk"
#: Most drafts one bulk approval takes: a night is a few hundred drafts, the queue shows
#: 100 a page, and every draft is read once per step.
MAX_SELECTED = 500
#: Changed drafts named in the refusal message; the rest are listed on the page.
LISTED = 5


@dataclass(frozen=True)
class Plan:
    """What a selection would approve now: ``included`` drafts (as read), ``excluded`` ones
    with why, and ``token``, the hash of the included set."""

    included: list[ItemView]
    excluded: dict[str, str] = field(default_factory=dict)

    @property
    def versions(self) -> dict[str, int]:
        return {item.draft_id: item.version for item in self.included}

    @property
    def token(self) -> str:
        return set_hash(self.versions)

    @property
    def by_kind(self) -> list[tuple[str, int]]:
        counts = Counter(item.kind for item in self.included)
        return [(kind, counts[kind]) for kind in CONTENT_KINDS if counts[kind]]

    @property
    def by_story(self) -> list[tuple[str, int]]:
        return sorted(Counter(item.story_id for item in self.included).items())


def set_hash(versions: dict[str, int]) -> str:
    """SHA-256 of the sorted ``draft_id:version`` pairs: equal exactly when the set is."""
    text = "\n".join(f"{draft_id}:{version}" for draft_id, version in sorted(versions.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def batch_id(token: str) -> str:
    """A name for one confirmed approval (the set's hash plus a nonce: confirming the same
    set twice, after every draft was refused, makes two reports)."""
    return f"{token[:16]}-{secrets.token_hex(4)}"


def parse_selection(values: Iterable[str]) -> dict[str, int]:
    """``{"draft_id": version}`` from ``version:draft_id`` values; malformed ones are dropped
    (a browser only sends what the queue page wrote)."""
    selection: dict[str, int] = {}
    for value in list(values)[:MAX_SELECTED]:
        version, _, draft_id = value.partition(":")
        if version.isdigit() and draft_id:
            selection[draft_id] = int(version)
    return selection


def plan(queue: ReviewQueue, selection: dict[str, int]) -> Plan:
    """Read every selected draft now and sort it into what can be approved and what not."""
    included: list[ItemView] = []
    excluded: dict[str, str] = {}
    for draft_id, version in selection.items():
        try:
            item = queue.get(draft_id)
        except ItemNotFound:
            excluded[draft_id] = "no such draft"
            continue
        if item.version != version:
            changes = [describe(e) for e in changes_since(queue.history(draft_id), version)]
            excluded[draft_id] = f"changed since you selected it: {'; then '.join(changes) or 'it changed'}"
        elif item.state not in UNDECIDED:
            excluded[draft_id] = f"it is {item.state}, not waiting for a decision"
        elif item.verdict != PASSED:
            excluded[draft_id] = f"its checks did not pass ({item.verdict}): approve it on its own page"
        else:
            included.append(item)
    return Plan(included, excluded)


def changed_message(now: Plan, confirmed: str) -> str:
    """Why a confirmed approval was refused whole: the drafts that moved on since step 1."""
    if not confirmed:
        return "Nothing was approved: confirm the list below first."
    if not now.included:
        return "Nothing was approved: none of the drafts you confirmed can be approved any more. " + _listed(now)
    return ("Nothing was approved: the drafts changed after you confirmed them, so the list is not the one you "
            "saw. " + _listed(now) + " Check the list below again and confirm it.")


def _listed(now: Plan) -> str:
    """The first few excluded drafts and why (the page lists them all)."""
    shown = [f"{draft_id}: {why}." for draft_id, why in list(now.excluded.items())[:LISTED]]
    more = len(now.excluded) - len(shown)
    return " ".join(shown) + (f" And {more} more, listed below." if more > 0 else "")
