"""The editors' pages: login, the queue, a draft with its facts and checks, history.

Every form posts back with the session's CSRF token and, where it decides something, the
draft ``expected_version`` the editor saw; a decision taken on a stale page is refused
with what happened meanwhile ("ann approved it at 12:03 UTC") instead of overwriting the
other decision. Every post, refused or not, redirects back to its page (post/redirect/get)
with a one-time message (:mod:`.flash`), so a reload never repeats an action.

Bulk approval is two steps: the queue's selection opens a confirmation page (a GET: it
changes nothing) listing what will be approved, by kind and by story, with a hash of the
exact set; the approval posts that hash back and is refused whole if the set changed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from nightdesk.review.errors import ClaimHeldError, ConflictError, ItemNotFound, ReviewError
from nightdesk.review.models import WRITERS
from nightdesk.review.queue import QueueFilter
from nightdesk.review.states import REJECTED, STATES, TRANSITIONS, UNDECIDED
from nightdesk.review.verdict import FAILED, PASSED, VERDICTS, verdict, verified_of
from nightdesk.review.views import AuditEventView, ItemView
from nightdesk.review.web import auth, bulk, csrf, outcomes, render
from nightdesk.review.web.app import render as render_page
from nightdesk.review.web.app import authenticate, services, sign_in, sign_out, url
from nightdesk.review.web.errors import explain_refusal
from nightdesk.review.web.flash import Flash, Level
from nightdesk.review.web.session import current_editor
from nightdesk.review.web.throttle import TooManyLogins
from nightdesk.stories.catalog import COVER_KIND

#: Rows per queue page: a night's drafts for one story type fit on one or two pages.
PAGE_SIZE = 100
#: The longest text an edit may submit (a summary is a few hundred words).
MAX_TEXT_CHARS = 20_000
MAX_NOTE_CHARS = 2_000

public = APIRouter(dependencies=[Depends(csrf.csrf_protect)])
router = APIRouter(dependencies=[Depends(current_editor), Depends(csrf.csrf_protect)])

Editor = Annotated[auth.Editor, Depends(current_editor)]
Version = Annotated[int, Form()]

#: What an edit's re-check means for the editor, by verdict; a failed or unverified edit is a warning.
EDIT_OUTCOMES: dict[str, tuple[str, Level]] = {
    PASSED: ("it passed every check: approve it when you are ready.", "notice"),
    FAILED: ("it failed the checks below, so it cannot be approved yet: fix it first.", "warn"),
    "unverified": ("it broke no check, but nothing in it was verified against the fact sheet: it does not count "
                   "as passed.", "warn"),
}


def _safe_next(request: Request, target: str | None) -> str:
    """Where to go after login: a path inside this app, never another site."""
    if (not target or not target.startswith("/") or target.startswith("//") or "\\" in target
            or any(c.isspace() or not c.isprintable() for c in target)):  # browsers drop tabs: "/\t/evil"
        return url(request, "queue")
    return request.scope.get("root_path", "") + target


def _redirect(target: str) -> RedirectResponse:
    return RedirectResponse(target, status_code=303)


# -- login ---------------------------------------------------------------------------


@public.get("/login", name="login_form")
def login_form(request: Request, next: str = "") -> Response:  # noqa: A002 - the usual name
    session = request.state.session
    if session.token and services(request).sessions.resolve(session.token):
        return _redirect(_safe_next(request, next))
    return render_page(request, "login.html", next=next, username="")


@public.post("/login", name="login")
def login(request: Request, username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "") -> Response:  # noqa: A002
    try:
        user = authenticate(request, username.strip(), password) if username and password else None
    except TooManyLogins as exc:
        return render_page(request, "login.html", status_code=429, next=next, username=username,
                           error=exc.message, headers={"Retry-After": str(exc.retry_after_s)})
    if user is None:
        return render_page(request, "login.html", status_code=401, next=next, username=username,
                           error="Wrong username or password.")
    sign_in(request, user)
    return _redirect(_safe_next(request, next))


@public.post("/logout", name="logout")
def logout(request: Request) -> Response:
    sign_out(request)
    return _redirect(url(request, "login_form"))


# -- queue ---------------------------------------------------------------------------


#: The writer filter's choices: who wrote a draft, or any fallback (a template or chart
#: card that stood in after the model's attempts failed).
FALLBACK = "fallback"
WRITER_CHOICES = (*WRITERS, FALLBACK)


@dataclasses.dataclass(frozen=True)
class Filters:
    """The queue filters as the form sends them (strings; empty means any)."""

    date: str = ""
    story_type: str = ""
    kind: str = ""
    state: str = ""
    qc: str = ""
    writer: str = ""

    def to_queue_filter(self) -> QueueFilter:
        fallback = self.writer == FALLBACK
        return QueueFilter(
            logical_date=dt.date.fromisoformat(self.date) if self.date else None,
            story_type=self.story_type or None,
            kind=self.kind or None,
            state=self.state or None,
            verdict=self.qc or None,
            writer=None if fallback else self.writer or None,
            fallback=True if fallback else None,
        )

    def query(self, **changes: str) -> str:
        """The filters as a query string, with ``changes`` applied (for links)."""
        values = {k: v for k, v in dataclasses.asdict(dataclasses.replace(self, **changes)).items() if v}
        return "?" + urlencode(values) if values else "?"


def parse_filters(date: str, story_type: str, kind: str, state: str, qc: str, *,
                  writer: str = "") -> tuple[Filters, list[str]]:
    """Validated filters; a value that cannot be right is dropped and reported."""
    problems = []
    if date:
        try:
            dt.date.fromisoformat(date)
        except ValueError:
            problems.append(f"{date!r} is not a date like 2013-03-01; showing every date")
            date = ""
    if state and state not in STATES:
        problems.append(f"unknown state {state!r}; known: {', '.join(STATES)}")
        state = ""
    if qc and qc not in VERDICTS:
        problems.append(f"unknown QC filter {qc!r}; use {', '.join(VERDICTS)}")
        qc = ""
    if writer and writer not in WRITER_CHOICES:
        problems.append(f"unknown writer {writer!r}; use {', '.join(WRITER_CHOICES)}")
        writer = ""
    return Filters(date, story_type, kind, state, qc, writer), problems


@router.get("/", name="queue")
def queue_page(request: Request, editor: Editor, date: str = "", story_type: str = "", kind: str = "",
               state: str = "", qc: str = "", writer: str = "", page: Annotated[int, Query(ge=0)] = 0) -> Response:
    filters, problems = parse_filters(date, story_type, kind, state, qc, writer=writer)
    queue = services(request).queue
    qf = filters.to_queue_filter()
    items = queue.list(qf, limit=PAGE_SIZE + 1, offset=page * PAGE_SIZE)
    counts = queue.counts(dataclasses.replace(qf, state=None))
    return render_page(
        request, "queue.html", filters=filters, groups=group_by_story(items[:PAGE_SIZE]),
        has_next=len(items) > PAGE_SIZE, page=page, counts=counts, total=sum(counts.values()),
        facets=queue.facets(), states=STATES, undecided=UNDECIDED, verdicts=VERDICTS, writers=WRITER_CHOICES,
        passed=PASSED, error="; ".join(problems) or None,
    )


@router.get("/bulk-approve", name="bulk_confirm")
def bulk_confirm(request: Request, editor: Editor,
                 selected: Annotated[list[str] | None, Query()] = None) -> Response:
    """Step 1: what the selection would approve, by kind and by story, and the form that confirms it."""
    svc = services(request)
    plan = bulk.plan(svc.queue, bulk.parse_selection(selected or ()))
    shown = svc.flash.peek(request, bulk.FLASH_PAGE)
    error = shown.message if shown else None
    if not plan.included and not error:
        error = "Nothing to approve: select undecided drafts that passed their checks in the queue."
    response = render_page(request, "bulk_confirm.html", status_code=200 if plan.included else 400, plan=plan,
                           error=error)
    return svc.flash.consume(request, response) if shown else response


@dataclasses.dataclass(frozen=True)
class StoryGroup:
    """The queue rows of one story, in kind order, under the story's title."""

    story_id: str
    title: str
    items: list[ItemView]

    def count(self, outcome: str) -> int:
        return sum(item.verdict == outcome for item in self.items)


def group_by_story(items: list[ItemView]) -> list[StoryGroup]:
    """Consecutive rows of the same story as one group (the queue lists a story's drafts
    together, so a story is split only where a page of results ends)."""
    groups: list[StoryGroup] = []
    for item in items:
        if not groups or groups[-1].story_id != item.story_id:
            sheet, _ = render.parse_facts(item.facts_json)
            groups.append(StoryGroup(item.story_id, sheet.title if sheet else item.story_id, []))
        groups[-1].items.append(item)
    return groups


@router.post("/bulk-approve", name="bulk_approve")
def bulk_approve(request: Request, editor: Editor, selected: Annotated[list[str] | None, Form()] = None,
                 confirm: Annotated[str, Form()] = "") -> Response:
    """Step 2: approve the confirmed set, or refuse it whole if it changed since step 1."""
    svc = services(request)
    selection = bulk.parse_selection(selected or ())
    plan = bulk.plan(svc.queue, selection)
    back = url(request, "bulk_confirm") + "?" + urlencode({"selected": selected or []}, doseq=True)
    if not plan.included or plan.excluded or plan.token != confirm:
        message = bulk.changed_message(plan, confirm)
        return svc.flash.redirect(request, back, Flash(bulk.FLASH_PAGE, message, "error"))
    batch = bulk.batch_id(plan.token)
    svc.queue.bulk_approve(plan.versions, editor.username, batch=batch)
    return _redirect(url(request, "bulk_report", batch=batch))


@router.get("/bulk-approve/{batch}", name="bulk_report")
def bulk_report(request: Request, editor: Editor, batch: str) -> Response:
    """What a confirmed bulk approval did, read back from the audit trail (reloadable)."""
    report = services(request).queue.batch_report(editor.username, batch)
    if not report.approved and not report.refused:
        return render_page(request, "error.html", status_code=404, title="Not found",
                           message=f"You made no bulk approval {batch!r}.", back=url(request, "queue"))
    return render_page(request, "bulk_result.html", approved=report.approved, refused=report.refused)


# -- one draft -----------------------------------------------------------------------


def draft_page(request: Request, editor: auth.Editor, draft_id: str, shown: Flash | None = None) -> Response:
    """The draft beside its fact sheet, its checks, cover, earlier attempts, history and the
    decision forms, with the message of the action that brought the editor here."""
    queue = services(request).queue
    item = queue.get(draft_id)
    checks = render.parse_checks(item.qc_json, item.text)
    sheet, sheet_error = render.parse_facts(item.facts_json)
    now = dt.datetime.now(dt.UTC)
    holder = item.claim_holder(now)
    events = queue.history(draft_id)
    history = [(event, *render.audit_summary(event.details)) for event in events]
    edit_text = _refused_edit(events, shown, editor.username)
    return render_page(
        request, "draft.html", item=item, checks=checks,
        segments=render.highlight(item.text, checks), failing=render.failing_messages(checks),
        facts=render.fact_rows(sheet), sheet=sheet, sheet_error=sheet_error, history=history, holder=holder,
        approve_refusal=render.approve_refusal(item, checks),
        attempts=render.parse_attempts(item.attempts_json), passed=PASSED,
        held_by_other=bool(holder and holder != editor.username), undecided=item.state in UNDECIDED,
        withdrawable=item.state in TRANSITIONS["withdraw"].allowed_from, reopenable=item.state == REJECTED,
        is_cover=item.kind == COVER_KIND, edit_text=item.text if edit_text is None else edit_text,
        notice=shown.message if shown and shown.level != "error" else None,
        notice_warns=bool(shown and shown.level == "warn"),
        error=shown.message if shown and shown.level == "error" else None, conflict=bool(shown and shown.conflict),
        max_text_chars=MAX_TEXT_CHARS,
    )


def _refused_edit(events: list[AuditEventView], shown: Flash | None, editor: str) -> str | None:
    """The text of the editor's refused edit that ``shown`` points at, to put back in the edit box."""
    if shown is None or shown.restore is None:
        return None
    for event in events:
        if event.id == shown.restore and event.actor == editor and event.action == "conflict":
            text = event.details.get("text")
            return text if isinstance(text, str) else None
    return None


@router.get("/draft/{draft_id:path}", name="draft")
def draft_view(request: Request, editor: Editor, draft_id: str) -> Response:
    flash = services(request).flash
    shown = flash.peek(request, draft_id)
    response = draft_page(request, editor, draft_id, shown)
    return flash.consume(request, response) if shown else response


def _back(request: Request, draft_id: str, message: str, level: Level = "notice", *, conflict: bool = False,
          restore: int | None = None) -> Response:
    """Redirect to the draft page, which shows ``message`` once."""
    return services(request).flash.redirect(request, url(request, "draft", draft_id=draft_id),
                                            Flash(draft_id, message, level, conflict, restore))


def _act(request: Request, editor: auth.Editor, draft_id: str, action: Callable[[], tuple[str, Level]], *,
         expected_version: int | None = None, keeps_text: bool = False) -> Response:
    """Run ``action`` (it returns the notice and its level) and go back to the draft; a
    refusal goes back with what happened instead (:func:`.errors.explain_refusal`).

    :param keeps_text: the action was an edit: a refused one points the page at its
        ``conflict`` audit row, which holds the text, so the editor's words are not lost.
    """
    queue = services(request).queue
    try:
        message, level = action()
    except ItemNotFound:
        raise
    except ReviewError as exc:
        _, message, conflict = explain_refusal(queue, draft_id, expected_version, exc)
        restore = None
        if keeps_text:
            refusals = [e for e in queue.history(draft_id) if e.action == "conflict" and e.actor == editor.username]
            restore = refusals[-1].id if refusals else None
        return _back(request, draft_id, message, "error", conflict=conflict, restore=restore)
    return _back(request, draft_id, message, level)


def _refuse(request: Request, draft_id: str, message: str) -> Response:
    return _back(request, draft_id, message, "error")


def _notice(action: str, item_of: Callable[[], ItemView], editor: auth.Editor, reason: str = "") -> Callable[
        [], tuple[str, Level]]:
    """An ``_act`` action: run ``item_of`` and say what it did."""
    return lambda: (outcomes.done(action, item_of(), editor.username, reason=reason), "notice")


@router.post("/draft/{draft_id:path}/claim", name="draft_claim")
def claim(request: Request, editor: Editor, draft_id: str, expected_version: Version) -> Response:
    queue = services(request).queue
    return _act(request, editor, draft_id, _notice("claim", lambda: queue.claim(
        draft_id, editor.username, expected_version), editor), expected_version=expected_version)


@router.post("/draft/{draft_id:path}/release", name="draft_release")
def release(request: Request, editor: Editor, draft_id: str, expected_version: Version) -> Response:
    queue = services(request).queue
    return _act(request, editor, draft_id, _notice("release", lambda: queue.release(
        draft_id, editor.username, expected_version), editor), expected_version=expected_version)


@router.post("/draft/{draft_id:path}/approve", name="draft_approve")
def approve(request: Request, editor: Editor, draft_id: str, expected_version: Version) -> Response:
    queue = services(request).queue
    return _act(request, editor, draft_id, _notice("approve", lambda: queue.approve(
        draft_id, editor.username, expected_version), editor), expected_version=expected_version)


def _act_with_reason(request: Request, editor: auth.Editor, draft_id: str, action: str,
                     expected_version: int, reason: str, act: Callable[[str], ItemView]) -> Response:
    """:func:`_act` for a decision that needs a reason (reject, withdraw, reopen): ``act(reason)``
    runs only when the stripped reason is 1 to ``MAX_NOTE_CHARS`` characters."""
    reason = reason.strip()
    if not reason or len(reason) > MAX_NOTE_CHARS:
        return _refuse(request, draft_id, f"Nothing was changed: say why you {action} this draft "
                                          f"(1 to {MAX_NOTE_CHARS} characters).")
    return _act(request, editor, draft_id, _notice(action, lambda: act(reason), editor, reason),
                expected_version=expected_version)


@router.post("/draft/{draft_id:path}/reject", name="draft_reject")
def reject(request: Request, editor: Editor, draft_id: str, expected_version: Version,
           reason: Annotated[str, Form()] = "") -> Response:
    queue = services(request).queue
    return _act_with_reason(request, editor, draft_id, "reject", expected_version, reason,
                            lambda why: queue.reject(draft_id, editor.username, expected_version, why))


@router.post("/draft/{draft_id:path}/reopen", name="draft_reopen")
def reopen(request: Request, editor: Editor, draft_id: str, expected_version: Version,
           reason: Annotated[str, Form()] = "") -> Response:
    """Take a rejection back: the draft is queued again, the reason in the history."""
    queue = services(request).queue
    return _act_with_reason(request, editor, draft_id, "reopen", expected_version, reason,
                            lambda why: queue.reopen(draft_id, editor.username, expected_version, why))


@router.post("/draft/{draft_id:path}/withdraw", name="draft_withdraw")
def withdraw(request: Request, editor: Editor, draft_id: str, expected_version: Version,
             reason: Annotated[str, Form()] = "") -> Response:
    """Take an approved or published draft back; the next publish run removes it from the site."""
    queue = services(request).queue
    return _act_with_reason(request, editor, draft_id, "withdraw", expected_version, reason,
                            lambda why: queue.withdraw(draft_id, editor.username, expected_version, why))


@router.post("/draft/{draft_id:path}/edit", name="draft_edit")
def edit(request: Request, editor: Editor, draft_id: str, expected_version: Version,
         text: Annotated[str, Form()] = "") -> Response:
    from nightdesk.review.recheck import recheck, sibling_texts

    text = normalize_text(text)
    queue = services(request).queue
    item = queue.get(draft_id)
    if not text.strip() or len(text) > MAX_TEXT_CHARS:
        # The edit box allows no more than this, so only a hand-made request gets here.
        return _refuse(request, draft_id, f"Not saved: the text must be 1 to {MAX_TEXT_CHARS:,} characters.")
    if text == item.text and expected_version == item.version:
        return _back(request, draft_id, "The text is unchanged; nothing was saved.")

    def save() -> tuple[str, Level]:
        passed, qc_json = recheck(item, text, sibling_texts(queue, item))
        saved = queue.edit(draft_id, editor.username, expected_version, text, qc_passed=passed, qc_json=qc_json)
        meaning, level = EDIT_OUTCOMES[verdict(item.kind, passed, verified_of(json.loads(qc_json)))]
        return f"Edited by you ({editor.username}) at {outcomes.at(saved.updated_at)} and checked again: {meaning}", level

    return _act(request, editor, draft_id, save, expected_version=expected_version, keeps_text=True)


@router.post("/draft/{draft_id:path}/comment", name="draft_comment")
def comment(request: Request, editor: Editor, draft_id: str, text: Annotated[str, Form()] = "") -> Response:
    text = normalize_text(text).strip()
    if not text or len(text) > MAX_NOTE_CHARS:
        return _refuse(request, draft_id, f"Not added: a comment is 1 to {MAX_NOTE_CHARS} characters.")
    queue = services(request).queue

    def add() -> tuple[str, Level]:
        queue.comment(draft_id, editor.username, text)
        return "Your comment was added to the history.", "notice"

    return _act(request, editor, draft_id, add)


def normalize_text(text: str) -> str:
    """Browsers send textarea line breaks as CRLF; the drafts use LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


_MEDIA_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}


@router.get("/cover/{draft_id:path}", name="cover")
def cover(request: Request, editor: Editor, draft_id: str) -> Response:
    """The draft's cover, looked up by draft id: the path comes from the queue, never the request."""
    item = services(request).queue.get(draft_id)
    if not item.media_relpath:
        return Response("this draft has no image", status_code=404, media_type="text/plain")
    try:
        data = services(request).media.open(item.media_relpath)
    except (ValueError, FileNotFoundError):
        return Response("the image is missing from the media store", status_code=404, media_type="text/plain")
    if item.media_sha256 and hashlib.sha256(data).hexdigest() != item.media_sha256:
        return Response("the stored image does not match the hash recorded with the draft", status_code=409,
                        media_type="text/plain")
    suffix = item.media_relpath.rsplit(".", 1)[-1].lower()
    return Response(data, media_type=_MEDIA_TYPES.get(suffix, "application/octet-stream"),
                    headers={"Cache-Control": "private, no-cache"})  # same URL after a refresh: revalidate


# -- history -------------------------------------------------------------------------


@router.get("/history", name="my_history")
def my_history(request: Request, editor: Editor) -> Response:
    return _history(request, editor, editor.username)


@router.get("/history/{username}", name="editor_history")
def editor_history(request: Request, editor: Editor, username: str) -> Response:
    if username != editor.username and not editor.is_admin:
        return render_page(request, "error.html", status_code=403, title="Not allowed",
                           message="Only admins can read another editor's history.", back=url(request, "my_history"))
    return _history(request, editor, username)


def _history(request: Request, editor: auth.Editor, username: str) -> Response:
    events = services(request).queue.editor_history(username, limit=500)
    rows = [(event, *render.audit_summary(event.details)) for event in events]
    return render_page(request, "history.html", username=username, rows=rows)

