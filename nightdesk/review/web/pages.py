"""The editors' pages: login, the queue, a draft with its facts and checks, history.

Every form posts back with the session's CSRF token and, where it decides something, the
draft ``expected_version`` the editor saw; a decision taken on a stale page fails with
"someone else decided this draft" instead of overwriting the other decision. Successful
posts redirect (post/redirect/get) so a reload never repeats an action.
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
from nightdesk.review.queue import QueueFilter
from nightdesk.review.states import STATES, TRANSITIONS, UNDECIDED
from nightdesk.review.verdict import FAILED, PASSED, VERDICTS, verdict, verified_of
from nightdesk.review.web import auth, csrf, render
from nightdesk.review.web.app import render as render_page
from nightdesk.review.web.app import authenticate, services, sign_in, sign_out, url
from nightdesk.review.web.errors import explain, stale_message
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

NOTICES = {
    "claimed": "You claimed this draft; other editors cannot change it while your claim runs.",
    "released": "You released your claim.",
    "approved": "Approved.",
    "rejected": "Rejected.",
    "withdrawn": "Withdrawn: the next publish run takes it off the site.",
    "edited": "Your edit was saved and passed every check: approve it when you are ready.",
    "edited_failed": "Your edit was saved but failed the checks below, so it cannot be approved yet: fix it first.",
    "edited_unverified": "Your edit was saved and broke no check, but nothing in it was verified against the fact "
                         "sheet: it does not count as passed.",
    "unchanged": "The text is unchanged; nothing was saved.",
    "commented": "Comment added.",
}
WARNING_NOTICES = frozenset({"edited_failed", "edited_unverified"})


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


@dataclasses.dataclass(frozen=True)
class Filters:
    """The queue filters as the form sends them (strings; empty means any)."""

    date: str = ""
    story_type: str = ""
    kind: str = ""
    state: str = ""
    qc: str = ""

    def to_queue_filter(self) -> QueueFilter:
        return QueueFilter(
            logical_date=dt.date.fromisoformat(self.date) if self.date else None,
            story_type=self.story_type or None,
            kind=self.kind or None,
            state=self.state or None,
            verdict=self.qc or None,
        )

    def query(self, **changes: str) -> str:
        """The filters as a query string, with ``changes`` applied (for links)."""
        values = {k: v for k, v in dataclasses.asdict(dataclasses.replace(self, **changes)).items() if v}
        return "?" + urlencode(values) if values else "?"


def parse_filters(date: str, story_type: str, kind: str, state: str, qc: str) -> tuple[Filters, list[str]]:
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
    return Filters(date, story_type, kind, state, qc), problems


@router.get("/", name="queue")
def queue_page(request: Request, editor: Editor, date: str = "", story_type: str = "", kind: str = "",
               state: str = "", qc: str = "", page: Annotated[int, Query(ge=0)] = 0) -> Response:
    filters, problems = parse_filters(date, story_type, kind, state, qc)
    queue = services(request).queue
    qf = filters.to_queue_filter()
    items = queue.list(qf, limit=PAGE_SIZE + 1, offset=page * PAGE_SIZE)
    counts = queue.counts(dataclasses.replace(qf, state=None))
    return render_page(
        request, "queue.html", filters=filters, items=items[:PAGE_SIZE], has_next=len(items) > PAGE_SIZE,
        page=page, counts=counts, total=sum(counts.values()), facets=queue.facets(), states=STATES,
        undecided=UNDECIDED, verdicts=VERDICTS, passed=PASSED, error="; ".join(problems) or None,
    )


@router.post("/bulk-approve", name="bulk_approve")
def bulk_approve(request: Request, editor: Editor,
                 selected: Annotated[list[str] | None, Form()] = None) -> Response:
    versions: dict[str, int] = {}
    malformed = []
    for value in selected or ():
        version, _, draft_id = value.partition(":")
        if version.isdigit() and draft_id:
            versions[draft_id] = int(version)
        else:
            malformed.append(value)
    if not versions:
        return render_page(request, "bulk_result.html", status_code=400, approved=[], refused={},
                           error="Select at least one draft to approve.")
    report = services(request).queue.bulk_approve(versions, editor.username)
    refused = dict(report.refused) | {v: "not a draft selection" for v in malformed}
    return render_page(request, "bulk_result.html", approved=report.approved, refused=refused)


# -- one draft -----------------------------------------------------------------------


def draft_page(request: Request, editor: auth.Editor, draft_id: str, *, notice: str | None = None,
               error: str | None = None, conflict: bool = False, status_code: int = 200,
               edit_text: str | None = None, notice_warns: bool = False) -> Response:
    """The draft beside its fact sheet, its checks, cover, earlier attempts, history and the
    decision forms."""
    queue = services(request).queue
    item = queue.get(draft_id)
    checks = render.parse_checks(item.qc_json, item.text)
    sheet, sheet_error = render.parse_facts(item.facts_json)
    now = dt.datetime.now(dt.UTC)
    holder = item.claim_holder(now)
    history = [(event, *render.audit_summary(event.details)) for event in queue.history(draft_id)]
    return render_page(
        request, "draft.html", status_code=status_code, item=item, checks=checks,
        segments=render.highlight(item.text, checks), failing=render.failing_messages(checks),
        sheet=sheet, sheet_error=sheet_error, history=history, holder=holder,
        attempts=render.parse_attempts(item.attempts_json), passed=PASSED,
        held_by_other=bool(holder and holder != editor.username), undecided=item.state in UNDECIDED,
        withdrawable=item.state in TRANSITIONS["withdraw"].allowed_from,
        is_cover=item.kind == COVER_KIND, edit_text=item.text if edit_text is None else edit_text,
        notice=notice, notice_warns=notice_warns, error=error, conflict=conflict,
    )


@router.get("/draft/{draft_id:path}", name="draft")
def draft_view(request: Request, editor: Editor, draft_id: str, done: str = "") -> Response:
    return draft_page(request, editor, draft_id, notice=NOTICES.get(done), notice_warns=done in WARNING_NOTICES)


def _act(request: Request, editor: auth.Editor, draft_id: str, done: str, action: Callable[[], object], *,
         expected_version: int | None = None, edit_text: str | None = None) -> Response:
    """Run ``action`` and show the draft with notice ``done`` (or the NOTICES key ``action``
    returned); a refusal re-renders the draft with the reason and the matching status.

    A refusal of a decision taken on a page that is out of date (the draft's version moved
    on since ``expected_version``) is reported as what it is, someone else's decision,
    whichever check the queue tripped first.
    """
    try:
        result = action()
    except ItemNotFound:
        raise
    except ReviewError as exc:
        status, message = explain(exc)
        conflict = isinstance(exc, ConflictError)
        if not conflict and not isinstance(exc, ClaimHeldError) and expected_version is not None:
            current = services(request).queue.get(draft_id)
            if current.version != expected_version:
                status, message, conflict = 409, stale_message(current.state, current.version, current.decided_by), True
        return draft_page(request, editor, draft_id, error=message, conflict=conflict,
                          status_code=status, edit_text=edit_text)
    done = result if isinstance(result, str) else done
    return _redirect(url(request, "draft", draft_id=draft_id) + f"?done={done}")


def _refuse(request: Request, editor: auth.Editor, draft_id: str, message: str, **kw) -> Response:
    return draft_page(request, editor, draft_id, error=message, status_code=400, **kw)


@router.post("/draft/{draft_id:path}/claim", name="draft_claim")
def claim(request: Request, editor: Editor, draft_id: str, expected_version: Version) -> Response:
    queue = services(request).queue
    return _act(request, editor, draft_id, "claimed",
                lambda: queue.claim(draft_id, editor.username, expected_version), expected_version=expected_version)


@router.post("/draft/{draft_id:path}/release", name="draft_release")
def release(request: Request, editor: Editor, draft_id: str, expected_version: Version) -> Response:
    queue = services(request).queue
    return _act(request, editor, draft_id, "released",
                lambda: queue.release(draft_id, editor.username, expected_version), expected_version=expected_version)


@router.post("/draft/{draft_id:path}/approve", name="draft_approve")
def approve(request: Request, editor: Editor, draft_id: str, expected_version: Version) -> Response:
    queue = services(request).queue
    return _act(request, editor, draft_id, "approved",
                lambda: queue.approve(draft_id, editor.username, expected_version), expected_version=expected_version)


def _act_with_reason(request: Request, editor: auth.Editor, draft_id: str, verb: str, done: str,
                     expected_version: int, reason: str, action: Callable[[str], object]) -> Response:
    """:func:`_act` for a decision that needs a reason (reject, withdraw): ``action(reason)``
    runs only when the stripped reason is 1 to ``MAX_NOTE_CHARS`` characters."""
    reason = reason.strip()
    if not reason or len(reason) > MAX_NOTE_CHARS:
        return _refuse(request, editor, draft_id, f"Say why you {verb} this draft (1 to {MAX_NOTE_CHARS} characters).")
    return _act(request, editor, draft_id, done, lambda: action(reason), expected_version=expected_version)


@router.post("/draft/{draft_id:path}/reject", name="draft_reject")
def reject(request: Request, editor: Editor, draft_id: str, expected_version: Version,
           reason: Annotated[str, Form()] = "") -> Response:
    queue = services(request).queue
    return _act_with_reason(request, editor, draft_id, "reject", "rejected", expected_version, reason,
                            lambda why: queue.reject(draft_id, editor.username, expected_version, why))


@router.post("/draft/{draft_id:path}/withdraw", name="draft_withdraw")
def withdraw(request: Request, editor: Editor, draft_id: str, expected_version: Version,
             reason: Annotated[str, Form()] = "") -> Response:
    """Take an approved or published draft back; the next publish run removes it from the site."""
    queue = services(request).queue
    return _act_with_reason(request, editor, draft_id, "withdraw", "withdrawn", expected_version, reason,
                            lambda why: queue.withdraw(draft_id, editor.username, expected_version, why))


@router.post("/draft/{draft_id:path}/edit", name="draft_edit")
def edit(request: Request, editor: Editor, draft_id: str, expected_version: Version,
         text: Annotated[str, Form()] = "") -> Response:
    from nightdesk.review.recheck import recheck, sibling_texts

    text = normalize_text(text)
    queue = services(request).queue
    item = queue.get(draft_id)
    if not text.strip() or len(text) > MAX_TEXT_CHARS:
        return _refuse(request, editor, draft_id, f"The text must be 1 to {MAX_TEXT_CHARS:,} characters.",
                       edit_text=text)
    if text == item.text and expected_version == item.version:
        return _redirect(url(request, "draft", draft_id=draft_id) + "?done=unchanged")

    def save() -> str:
        passed, qc_json = recheck(item, text, sibling_texts(queue, item))
        queue.edit(draft_id, editor.username, expected_version, text, qc_passed=passed, qc_json=qc_json)
        outcome = verdict(item.kind, passed, verified_of(json.loads(qc_json)))
        return {PASSED: "edited", FAILED: "edited_failed"}.get(outcome, "edited_unverified")

    return _act(request, editor, draft_id, "edited", save, expected_version=expected_version, edit_text=text)


@router.post("/draft/{draft_id:path}/comment", name="draft_comment")
def comment(request: Request, editor: Editor, draft_id: str, text: Annotated[str, Form()] = "") -> Response:
    text = normalize_text(text).strip()
    if not text or len(text) > MAX_NOTE_CHARS:
        return _refuse(request, editor, draft_id, f"A comment is 1 to {MAX_NOTE_CHARS} characters.")
    queue = services(request).queue
    return _act(request, editor, draft_id, "commented", lambda: queue.comment(draft_id, editor.username, text))


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

