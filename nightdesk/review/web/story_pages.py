"""One story on one page: its drafts as readers will meet them, its fact sheet, and
approval of the whole story or kind by kind.

A story is what the public site publishes as one page (headline over the cover, brief,
summary) plus a marketing line for the newsletter and social posts. Reviewed as five
unrelated queue rows, nobody saw whether they read well together; here they are laid out
the way the site lays them out (:mod:`nightdesk.publish.pages` splits the paragraphs and
dates them; :mod:`nightdesk.publish.layout` names the page), beside each draft's verdict
and writer.

"Approve the story" approves each undecided draft whose verdict is ``passed`` through
the queue's own :meth:`~nightdesk.review.queue.ReviewQueue.approve`, at the version the
editor saw: one audit row per draft, exactly the approvals they could have clicked one
by one. A draft that changed meanwhile or fails its checks is refused and named; the
others are approved all the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from nightdesk.publish.layout import page_path
from nightdesk.publish.pages import paragraphs
from nightdesk.review.errors import ItemNotFound, ReviewError
from nightdesk.review.states import APPROVED_STATES, PUBLISHED, UNDECIDED
from nightdesk.review.verdict import PASSED
from nightdesk.review.views import ItemView
from nightdesk.review.web import auth, csrf, render
from nightdesk.review.web.app import render as render_page
from nightdesk.review.web.app import services, url
from nightdesk.review.web.errors import explain_refusal
from nightdesk.review.web.flash import Flash
from nightdesk.review.web.session import current_editor
from nightdesk.review_flow.release import REQUIRED_KINDS
from nightdesk.stories.catalog import CONTENT_KINDS, COVER_KIND
from nightdesk.stories.factsheet import format_value

router = APIRouter(dependencies=[Depends(current_editor), Depends(csrf.csrf_protect)])
Editor = Annotated[auth.Editor, Depends(current_editor)]


@dataclass(frozen=True)
class StoryDraft:
    """One draft of the story with what its card shows."""

    item: ItemView
    failing: list[str]
    refusal: str | None
    paragraphs: list[str]

    @property
    def undecided(self) -> bool:
        return self.item.state in UNDECIDED

    @property
    def selection(self) -> str:
        """The approval form's value for this draft: ``<version>:<kind>``."""
        return f"{self.item.version}:{self.item.kind}"


@dataclass(frozen=True)
class StoryView:
    """A story's drafts (``kind -> draft``, in kind order) and its fact sheet.

    :param other_sheets: kinds whose fact sheet is not the headline's (a rerun refreshed
        undecided drafts from changed data while decided ones kept theirs).
    """

    story_id: str
    title: str
    story_type: str
    date_text: str
    drafts: dict[str, StoryDraft]
    facts: list[render.FactRow]
    sheet_error: str
    other_sheets: list[str] = field(default_factory=list)

    @property
    def missing(self) -> list[str]:
        return [kind for kind in CONTENT_KINDS if kind not in self.drafts]

    @property
    def ready(self) -> list[StoryDraft]:
        """What "Approve the story" approves: undecided drafts that passed with something verified."""
        return [d for d in self.drafts.values() if d.undecided and d.item.verdict == PASSED]

    @property
    def approve_fields(self) -> list[tuple[str, str]]:
        return [("draft", d.selection) for d in self.ready]

    @property
    def approve_label(self) -> str:
        """``"Approve the story (headline, brief, cover)"``: what one click will approve."""
        kinds = ", ".join(d.item.kind for d in self.ready)
        return f"Approve the story ({kinds})" if kinds else "Approve the story"

    @property
    def refusal(self) -> str | None:
        """Why "Approve the story" is disabled, or ``None``."""
        if self.ready:
            return None
        if not any(d.undecided for d in self.drafts.values()):
            return "Approve is disabled: every draft of this story is already decided."
        return ("Approve is disabled: no undecided draft of this story passed its checks with something verified. "
                "Fix the failing ones on their draft pages; an unverified one is approved on its own, once read "
                "against the fact sheet.")

    @property
    def waiting_for(self) -> list[str]:
        """Kinds the site needs before it publishes the story that are not approved yet."""
        approved = {kind for kind, d in self.drafts.items() if d.item.state in APPROVED_STATES | {PUBLISHED}}
        return [kind for kind in REQUIRED_KINDS if kind not in approved]

    @property
    def page_path(self) -> str:
        return page_path(self.story_id)


def story_view(story_id: str, items: list[ItemView]) -> StoryView:
    """The story page's content from the story's drafts (``items``, at least one)."""
    drafts = {}
    for item in items:
        checks = render.parse_checks(item.qc_json, item.text)
        text = "" if item.kind == COVER_KIND else item.text
        drafts[item.kind] = StoryDraft(item, render.failing_messages(checks), render.approve_refusal(item, checks),
                                       paragraphs(text))
    # The headline's fact sheet is the one the site prints under the story.
    lead = drafts.get("headline", next(iter(drafts.values()))).item
    sheet, sheet_error = render.parse_facts(lead.facts_json)
    return StoryView(
        story_id=story_id, title=sheet.title if sheet else story_id, story_type=lead.story_type,
        date_text=format_value("date", lead.logical_date, None, None), drafts=drafts,
        facts=render.fact_rows(sheet), sheet_error=sheet_error,
        other_sheets=[kind for kind, d in drafts.items() if d.item.facts_json != lead.facts_json],
    )


def _story_page(request: Request, story_id: str, *, status_code: int = 200) -> Response:
    items = services(request).queue.story(story_id)
    if not items:
        raise ItemNotFound(f"story {story_id}: no drafts of it in the review queue")
    flash = services(request).flash
    shown = flash.peek(request, _flash_page(story_id))
    response = render_page(request, "story.html", status_code=status_code, story=story_view(story_id, items),
                           kinds=CONTENT_KINDS, passed=PASSED,
                           notice=shown.message if shown and shown.level != "error" else None,
                           error=shown.message if shown and shown.level == "error" else None)
    return flash.consume(request, response) if shown else response


def _flash_page(story_id: str) -> str:
    """The flash page name of a story (draft ids are ``<story_id>/<kind>``: no clash)."""
    return f"story:{story_id}"


# Declared before the page's route: ``{story_id:path}`` would swallow "/approve" otherwise.
@router.post("/stories/{story_id:path}/approve", name="story_approve")
def approve_story(request: Request, editor: Editor, story_id: str,
                  draft: Annotated[list[str] | None, Form()] = None) -> Response:
    """Approve the posted drafts of the story, each ``<version>:<kind>`` as the page showed
    it, then go back to the story page saying what was approved and what was refused and
    why (post/redirect/get: a reload never approves twice)."""
    svc = services(request)
    if not svc.queue.story(story_id):
        raise ItemNotFound(f"story {story_id}: no drafts of it in the review queue")
    back = url(request, "story", story_id=story_id)
    wanted: dict[str, int] = {}
    for value in draft or ():
        version, _, kind = value.partition(":")
        if not version.isdigit() or kind not in CONTENT_KINDS:
            return svc.flash.redirect(request, back, Flash(_flash_page(story_id),
                                                           f"{value!r} is not a draft of this page.", "error"))
        wanted[kind] = int(version)
    if not wanted:
        return svc.flash.redirect(request, back, Flash(_flash_page(story_id),
                                                       "Choose at least one draft to approve.", "error"))
    approved: list[str] = []
    refused: dict[str, str] = {}
    for kind, version in wanted.items():
        draft_id = f"{story_id}/{kind}"
        try:
            svc.queue.approve(draft_id, editor.username, version)
        except ReviewError as exc:
            refused[kind] = explain_refusal(svc.queue, draft_id, version, exc)[1]
        else:
            approved.append(kind)
    parts = [f"Approved by you ({editor.username}): {', '.join(approved)}."] if approved else []
    parts += [f"Not approved: {kind}: {message}" for kind, message in refused.items()]
    return svc.flash.redirect(request, back, Flash(_flash_page(story_id), " ".join(parts),
                                                   "error" if refused else "notice"))


@router.get("/stories/{story_id:path}", name="story")
def story_page(request: Request, editor: Editor, story_id: str) -> Response:
    return _story_page(request, story_id)