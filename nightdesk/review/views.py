"""Plain, frozen records the queue hands out: detached from any database session, so the
UI, the publisher and event hooks can keep them after the transaction is gone."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nightdesk.review import verdict
from nightdesk.stories.catalog import COVER_KIND


@dataclass(frozen=True)
class NewItem:
    """A generated draft and its quality-check outcome, as the pipeline enqueues it.

    :param draft_id: ``<story_id>/<kind>``, e.g. ``stock_movers/2013-03-01/AAPL/headline``.
    :param text: the generated text; for a cover, its alt text.
    :param media_relpath: the cover image's path in the media store; ``""`` for text.
    :param qc_json: the check results as JSON text (shown to editors as is).
    :param attempts_json: the earlier attempts at this draft as a JSON list, oldest first:
        ``{"attempt", "generator", "model_id", "text", "status", "error", "failed_checks":
        [{"name", "messages"}], ...}`` (:func:`nightdesk.review_flow.enqueue.attempts_to_json`).
    :param writer: who wrote the text or image: one of
        :data:`~nightdesk.review.models.WRITERS` (model, template, chart, diffusion).
    :param fallback: a template or chart card wrote it because the model's attempts failed.
    :param failed_attempts: how many attempts before this one failed.
    :param generation_id: the warehouse generation the text or image comes from.

    What the checks verified is read from ``qc_json`` (each result's ``verified`` list).
    """

    draft_id: str
    logical_date: dt.date
    story_id: str
    story_type: str
    kind: str
    text: str
    facts_json: str
    qc_passed: bool
    qc_json: str
    attempts: int
    generator: str
    model_id: str
    writer: str
    fallback: bool
    failed_attempts: int
    media_relpath: str = ""
    media_sha256: str = ""
    attempts_json: str = "[]"
    generation_id: str = ""


@dataclass(frozen=True)
class ItemView:
    """A draft as stored; ``version`` is what an editor passes back as ``expected_version``."""

    draft_id: str
    logical_date: dt.date
    story_id: str
    story_type: str
    kind: str
    text: str
    original_text: str
    media_relpath: str
    media_sha256: str
    facts_json: str
    qc_passed: bool
    qc_json: str
    attempts: int
    generator: str
    model_id: str
    state: str
    version: int
    claimed_by: str | None
    claim_expires_at: dt.datetime | None
    decided_by: str | None
    decided_at: dt.datetime | None
    reject_reason: str | None
    published_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    writer: str
    fallback: bool
    failed_attempts: int
    verified_json: str
    attempts_json: str = "[]"
    generation_id: str = ""

    @property
    def edited(self) -> bool:
        """True when an editor's text replaced the generated one."""
        return self.text != self.original_text

    @property
    def verified(self) -> tuple[str, ...]:
        """What the checks of the current text verified ("4 of 4 figures bound", ...)."""
        return tuple(json.loads(self.verified_json))

    @property
    def verdict(self) -> str:
        """``passed``, ``unverified`` (passed checks that verified nothing) or ``failed``."""
        return verdict.verdict(self.kind, self.qc_passed, self.verified)

    @property
    def nothing_verified(self) -> bool:
        """A text whose checks verified nothing (shown prominently; a cover has no text facts)."""
        return not self.verified and self.kind != COVER_KIND

    @property
    def verified_summary(self) -> str:
        return verdict.verified_summary(self.kind, self.verified)

    @property
    def written_by(self) -> str:
        """``"the model (SmolLM2) on attempt 2"``, ``"template fallback after 3 failed attempts"``."""
        return verdict.written_by(self.writer, fallback=self.fallback, failed_attempts=self.failed_attempts,
                                  attempt=self.attempts, model_id=self.model_id)

    @property
    def writer_badge(self) -> str:
        """``"model, attempt 2"``, ``"template fallback"``: the queue's badge for :attr:`written_by`."""
        return verdict.writer_badge(self.writer, fallback=self.fallback, attempt=self.attempts)

    def claim_holder(self, now: dt.datetime) -> str | None:
        """The editor whose claim is still running at ``now``; expired claims count as none."""
        if self.claimed_by and self.claim_expires_at and self.claim_expires_at > now:
            return self.claimed_by
        return None


@dataclass(frozen=True)
class AuditEventView:
    """One audit row; ``details`` is its parsed JSON (reason, comment, diff, version seen)."""

    id: int
    draft_id: str
    actor: str
    action: str
    from_state: str | None
    to_state: str
    at: dt.datetime
    details: Mapping[str, Any]
    generation_id: str = ""


@dataclass(frozen=True)
class UserView:
    """An account of the review UI, without its password hash."""

    username: str
    role: str
    disabled: bool = False
