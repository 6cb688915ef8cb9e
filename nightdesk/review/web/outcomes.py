"""What happened to a draft, in the editor's words.

Two uses: the notice an editor reads after their own action ("You claimed this draft
until 12:16 UTC ..."), and the explanation an editor gets when another one got there
first ("While you were reading version 3, ann claimed it at 12:01 UTC, until 12:16
UTC"). The second is read from the audit trail, which records every change with who and
when, so the loser of a race hears exactly what the winner did rather than a generic
"someone decided".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from nightdesk.review.views import AuditEventView, ItemView

#: A reason quoted inside a message is cut here: messages travel in a cookie (see
#: :mod:`.flash`) and the full reason is one click away in the draft's history.
QUOTE_CHARS = 200
#: Changes named in a refusal (the latest ones); the history lists them all.
LISTED = 3
#: Audit actions that change a draft's version (a comment or a refusal does not).
_CHANGES = frozenset({"enqueue", "claim", "release", "edit", "approve", "reject", "reopen", "publish", "withdraw"})


def at(moment: dt.datetime | str | None) -> str:
    """``12:01 UTC`` (stored times are UTC); ``?`` when unknown."""
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return f"{moment.astimezone(dt.UTC):%H:%M} UTC" if moment else "?"


def quote(text: str | None) -> str:
    text = " ".join((text or "").split())
    return f"“{text[:QUOTE_CHARS]}…”" if len(text) > QUOTE_CHARS else f"“{text}”"


def describe(event: AuditEventView) -> str:
    """One change of a draft from its audit row: ``ann approved it at 12:03 UTC``."""
    who, when, details = event.actor, at(event.at), event.details
    reason = f": {quote(details.get('reason'))}" if details.get("reason") else ""
    return {
        "claim": f"{who} claimed it at {when}, until {at(details.get('expires_at'))}",
        "release": f"{who} released their claim at {when}",
        "edit": f"{who} edited its text at {when}",
        "approve": f"{who} approved it{' with an edit' if details.get('edited') else ''} at {when}",
        "reject": f"{who} rejected it at {when}{reason}",
        "reopen": f"{who} reopened it at {when}{reason}",
        "withdraw": f"{who} withdrew it at {when}{reason}",
        "publish": f"{who} published it at {when}",
        "enqueue": (f"the pipeline ({who}) wrote it again at {when}" if details.get("refreshed")
                    else f"{who} queued it at {when}"),
    }.get(event.action, f"{who} did {event.action} at {when}")


def changes_since(history: Sequence[AuditEventView], version: int) -> list[AuditEventView]:
    """The audit rows that moved the draft past ``version``, oldest first."""
    def made(event: AuditEventView) -> int:
        if event.action == "enqueue":
            return int(event.details.get("version", 1))
        return int(event.details.get("expected_version", 0)) + 1

    return [e for e in history if e.action in _CHANGES and made(e) > version]


def stale_message(history: Sequence[AuditEventView], expected_version: int, current: ItemView) -> str:
    """What an editor acting on version ``expected_version`` of a draft that moved on is told."""
    changes = [describe(e) for e in changes_since(history, expected_version)]
    earlier = len(changes) - LISTED
    what = "; then ".join(changes[-LISTED:]) if changes else "it changed"
    if earlier > 0:
        what = f"{earlier} earlier changes were made; then {what}"
    return (f"Not saved: while you were reading version {expected_version}, {what}. It is now {current.state} "
            f"(version {current.version}); read it again and decide again.")


def claim_held(holder: str, expires_at: dt.datetime) -> str:
    return (f"Not saved: {holder} claimed this draft until {at(expires_at)}. Wait until they release it or the "
            "claim runs out, or ask them.")


def done(action: str, item: ItemView, editor: str, *, reason: str = "") -> str:
    """The notice after ``editor``'s successful ``action``; ``item`` is the draft after it."""
    when = at(item.updated_at)
    why = f": {quote(reason)}" if reason else ""
    return {
        "claim": f"You ({editor}) claimed this draft until {at(item.claim_expires_at)}: other editors cannot "
                 "change it until then, or until you release it.",
        "release": f"You ({editor}) released your claim at {when}: any editor can take the draft now.",
        "approve": f"Approved by you ({editor}) at {when}{' with your edit' if item.edited else ''}; "
                   "it goes out with its story at the next publish run.",
        "reject": f"Rejected by you ({editor}) at {when}{why}. Reopen it below if that was a mistake.",
        "reopen": f"Reopened by you ({editor}) at {when}{why}. It is queued again.",
        "withdraw": f"Withdrawn by you ({editor}) at {when}{why}: the next publish run takes it off the site.",
    }[action]
