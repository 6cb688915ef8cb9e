"""A small JSON API for scripts and tests, with the same sessions as the pages.

    POST /api/login            {"username", "password"} -> {"csrf_token", ...} and the session cookie
    GET  /api/session          who is signed in, and the CSRF token
    POST /api/logout           ends this session: every copy of its cookie is refused afterwards
    GET  /api/drafts           ?date=&story_type=&kind=&state=&qc=passed|unverified|failed&limit=&offset=
    GET  /api/drafts/{id}      one draft, its checks, facts and audit trail
    POST /api/drafts/{id}/claim     {"expected_version"}: keep other editors off it for the
                                    claim's time (claiming again renews it); answers the draft
                                    with ``claimed_by`` and ``claim_expires_at``
    POST /api/drafts/{id}/release   {"expected_version"}: give your claim back
    POST /api/drafts/{id}/approve   {"expected_version"}
    POST /api/drafts/{id}/reject    {"expected_version", "reason"}
    POST /api/drafts/{id}/reopen    {"expected_version", "reason"}: a rejected draft goes back
                                    to ``queued``; audited as ``reopen``
    POST /api/drafts/{id}/withdraw  {"expected_version", "reason"}: an approved or published
                                    draft; the next publish run takes it off the site
    POST /api/drafts/{id}/edit      {"expected_version", "text"}: re-checked, saved, result returned

A draft's ``verdict`` is ``passed`` only when its checks passed and verified something
(``verified``: "4 of 4 figures bound", ...); ``unverified`` when they passed but verified
nothing (``qc_passed`` alone only says that no check failed). ``writer``, ``fallback``,
``failed_attempts`` and ``written_by`` say who wrote it.

Every POST but login needs the ``X-CSRF-Token`` header. Login takes JSON only (anything
else answers 415): a page on another site cannot send a JSON body without the browser
asking this server first, so it cannot sign a victim in. Refusals answer 409 (conflict,
claim held, invalid transition), 422 (checks failed, or a body that is not the expected
JSON) or 404 with ``{"error", "message"}``; a request on a version the draft has moved
past is told what happened since ("ann claimed it at 12:01 UTC, until 12:16 UTC"), and a
held claim names its ``holder`` and ``expires_at``. Login answers 429 with
``retry_after_s`` (and a ``Retry-After`` header) after too many failures: see :mod:`.throttle`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from nightdesk.review.errors import ItemNotFound, ReviewError
from nightdesk.review.views import ItemView
from nightdesk.review.web import auth, csrf
from nightdesk.review.web.app import authenticate, services, sign_in, sign_out
from nightdesk.review.web.errors import RequestRefused, api_error, explain_refusal
from nightdesk.review.web.pages import MAX_NOTE_CHARS, MAX_TEXT_CHARS, normalize_text, parse_filters
from nightdesk.review.web.session import current_editor
from nightdesk.review.web.throttle import TooManyLogins

public = APIRouter()
router = APIRouter(dependencies=[Depends(current_editor), Depends(csrf.csrf_protect)])
Editor = Annotated[auth.Editor, Depends(current_editor)]


class LoginBody(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


async def login_body(request: Request) -> LoginBody:
    """The login body, read by hand: FastAPI would parse a form as JSON and answer 422,
    where the truth is that the media type is wrong (415)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise RequestRefused(415, "unsupported_media_type",
                             f"send the credentials as application/json, not {media_type or 'no content type'}: "
                             '{"username": "...", "password": "..."}')
    try:
        return LoginBody.model_validate_json(await request.body())
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
        raise RequestRefused(422, "bad_request", "the login body must be JSON with a username "
                                                 f"and a password: {problems}") from None


class Decision(BaseModel):
    expected_version: int = Field(ge=0, description="the draft's version when you read it")


class ReasonedDecision(Decision):
    """A decision that needs a reason: reject, withdraw, reopen."""

    reason: str = Field(min_length=1, max_length=MAX_NOTE_CHARS)


class EditBody(Decision):
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)


def _session_json(request: Request, editor: auth.Editor) -> dict[str, Any]:
    """The session as a client sees it; ``expires_in_s`` counts down from the sign-in (a
    session just started has the whole lifetime)."""
    svc = services(request)
    expires_at = editor.session_expires_at
    left = svc.signer.max_age_s if expires_at is None else svc.sessions.seconds_left(expires_at)
    return {"username": editor.username, "role": editor.role, "csrf_token": request.state.session.csrf_token,
            "csrf_header": csrf.HEADER, "expires_in_s": left}


def item_json(item: ItemView) -> dict[str, Any]:
    data = jsonable_encoder(dataclasses.asdict(item))
    for raw, parsed in (("qc_json", "checks"), ("facts_json", "facts"), ("attempts_json", "previous_attempts"),
                        ("verified_json", "verified")):
        try:
            data[parsed] = json.loads(data.pop(raw))
        except json.JSONDecodeError:
            data[parsed] = None
    data |= {"edited": item.edited, "verdict": item.verdict, "written_by": item.written_by}
    return data


@public.post("/login")
def login(request: Request, body: Annotated[LoginBody, Depends(login_body)]) -> JSONResponse:
    try:
        user = authenticate(request, body.username, body.password)
    except TooManyLogins as exc:
        return JSONResponse({"error": "too_many_logins", "message": exc.message, "retry_after_s": exc.retry_after_s},
                            status_code=429, headers={"Retry-After": str(exc.retry_after_s)})
    if user is None:
        return JSONResponse({"error": "bad_credentials", "message": "wrong username or password"}, status_code=401)
    sign_in(request, user)
    return JSONResponse(_session_json(request, auth.Editor(user.username, user.role)))


@router.get("/session")
def session(request: Request, editor: Editor) -> dict[str, Any]:
    return _session_json(request, editor)


@router.post("/logout")
def logout(request: Request) -> dict[str, Any]:
    sign_out(request)
    return {"ok": True}


@router.get("/drafts")
def list_drafts(request: Request, editor: Editor, date: str = "", story_type: str = "", kind: str = "",
                state: str = "", qc: str = "", writer: str = "", limit: Annotated[int, Query(ge=1, le=1000)] = 200,
                offset: Annotated[int, Query(ge=0)] = 0) -> JSONResponse:
    filters, problems = parse_filters(date, story_type, kind, state, qc, writer=writer)
    if problems:
        return JSONResponse({"error": "bad_filter", "message": "; ".join(problems)}, status_code=400)
    queue = services(request).queue
    qf = filters.to_queue_filter()
    items = queue.list(qf, limit=limit, offset=offset)
    return JSONResponse({"items": [item_json(i) for i in items],
                         "counts": queue.counts(dataclasses.replace(qf, state=None))})


@router.get("/drafts/{draft_id:path}")
def get_draft(request: Request, editor: Editor, draft_id: str) -> JSONResponse:
    queue = services(request).queue
    item = queue.get(draft_id)
    history = jsonable_encoder([dataclasses.asdict(e) for e in queue.history(draft_id)])
    return JSONResponse(item_json(item) | {"history": history})


def _decide(request: Request, draft_id: str, expected_version: int, action: Callable[[], ItemView]) -> JSONResponse:
    """The draft after ``action``; a refusal of a stale request is a 409 conflict that says
    what happened since, whichever check the queue tripped first (the same rule as the pages)."""
    queue = services(request).queue
    try:
        return JSONResponse(item_json(action()))
    except ItemNotFound:
        raise
    except ReviewError as exc:
        status, message, conflict = explain_refusal(queue, draft_id, expected_version, exc)
        if not conflict:
            return api_error(exc)
        current = queue.get(draft_id)
        return JSONResponse({"error": "ConflictError", "message": message, "current_state": current.state,
                             "current_version": current.version}, status_code=status)


@router.post("/drafts/{draft_id:path}/claim")
def claim(request: Request, editor: Editor, draft_id: str, body: Decision) -> JSONResponse:
    queue = services(request).queue
    return _decide(request, draft_id, body.expected_version,
                   lambda: queue.claim(draft_id, editor.username, body.expected_version))


@router.post("/drafts/{draft_id:path}/release")
def release(request: Request, editor: Editor, draft_id: str, body: Decision) -> JSONResponse:
    queue = services(request).queue
    return _decide(request, draft_id, body.expected_version,
                   lambda: queue.release(draft_id, editor.username, body.expected_version))


@router.post("/drafts/{draft_id:path}/approve")
def approve(request: Request, editor: Editor, draft_id: str, body: Decision) -> JSONResponse:
    queue = services(request).queue
    return _decide(request, draft_id, body.expected_version,
                   lambda: queue.approve(draft_id, editor.username, body.expected_version))


def _decide_with_reason(request: Request, draft_id: str, verb: str, body: ReasonedDecision,
                        action: Callable[[str], ItemView]) -> JSONResponse:
    """:func:`_decide` for a decision that needs a reason: ``action(reason)`` runs only
    when the reason is more than blanks."""
    reason = body.reason.strip()
    if not reason:
        return JSONResponse({"error": "bad_request", "message": f"say why you {verb} it"}, status_code=400)
    return _decide(request, draft_id, body.expected_version, lambda: action(reason))


@router.post("/drafts/{draft_id:path}/reject")
def reject(request: Request, editor: Editor, draft_id: str, body: ReasonedDecision) -> JSONResponse:
    queue = services(request).queue
    return _decide_with_reason(request, draft_id, "reject", body,
                               lambda why: queue.reject(draft_id, editor.username, body.expected_version, why))


@router.post("/drafts/{draft_id:path}/reopen")
def reopen(request: Request, editor: Editor, draft_id: str, body: ReasonedDecision) -> JSONResponse:
    queue = services(request).queue
    return _decide_with_reason(request, draft_id, "reopen", body,
                               lambda why: queue.reopen(draft_id, editor.username, body.expected_version, why))


@router.post("/drafts/{draft_id:path}/withdraw")
def withdraw(request: Request, editor: Editor, draft_id: str, body: ReasonedDecision) -> JSONResponse:
    queue = services(request).queue
    return _decide_with_reason(request, draft_id, "withdraw", body,
                               lambda why: queue.withdraw(draft_id, editor.username, body.expected_version, why))


@router.post("/drafts/{draft_id:path}/edit")
def edit(request: Request, editor: Editor, draft_id: str, body: EditBody) -> JSONResponse:
    from nightdesk.review.recheck import recheck, sibling_texts

    queue = services(request).queue
    item = queue.get(draft_id)
    text = normalize_text(body.text)
    passed, qc_json = recheck(item, text, sibling_texts(queue, item))
    return _decide(request, draft_id, body.expected_version, lambda: queue.edit(
        draft_id, editor.username, body.expected_version, text, qc_passed=passed, qc_json=qc_json))
