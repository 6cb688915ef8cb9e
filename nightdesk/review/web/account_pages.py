"""The account page: change your password, see where you are signed in; admins also end
other accounts' sessions and disable or enable them.

A password change asks for the current password (through the login throttle, so a stolen
cookie cannot be used to guess it), ends every session of the account, the one making
the change included, and signs this browser in again with a new session: a copy of the
old cookie is refused afterwards. Posts redirect back to the page (post/redirect/get).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from nightdesk.review.web import auth, csrf
from nightdesk.review.web.app import authenticate, render, services, sign_in, url
from nightdesk.review.web.session import current_editor
from nightdesk.review.web.throttle import TooManyLogins

router = APIRouter(dependencies=[Depends(current_editor), Depends(csrf.csrf_protect)])
Editor = Annotated[auth.Editor, Depends(current_editor)]

NOTICES = {
    "password": "Password changed. Every other session of your account has ended; this browser is signed in anew.",
    "ended": "Their sessions have ended: every copy of their cookies is refused from now on.",
    "disabled": "Account disabled and its sessions ended.",
    "enabled": "Account enabled: it can log in again with its old password.",
}


@router.get("/account", name="account")
def account(request: Request, editor: Editor, done: str = "") -> Response:
    return _page(request, editor, notice=NOTICES.get(done))


@router.post("/account/password", name="change_password")
def change_password(request: Request, editor: Editor, current_password: Annotated[str, Form()] = "",
                    new_password: Annotated[str, Form()] = "", new_password_again: Annotated[str, Form()] = "") -> Response:
    try:
        user = authenticate(request, editor.username, current_password) if current_password else None
    except TooManyLogins as exc:
        return _page(request, editor, status_code=429, error=exc.message,
                     headers={"Retry-After": str(exc.retry_after_s)})
    if user is None:
        return _page(request, editor, status_code=401, error="Your current password was wrong; nothing was changed.")
    if new_password != new_password_again:
        return _page(request, editor, status_code=400, error="The new passwords differ; nothing was changed.")
    try:
        services(request).users.set_password(editor.username, new_password)
    except ValueError as exc:
        return _page(request, editor, status_code=400, error=f"Not changed: {exc}.")
    sign_in(request, user)
    return _back(request, "password")


@router.post("/account/users/{username}/end-sessions", name="end_user_sessions")
def end_user_sessions(request: Request, editor: Editor, username: str) -> Response:
    return _admin(request, editor, username, "ended", lambda: services(request).sessions.end_all(username))


@router.post("/account/users/{username}/disable", name="disable_user")
def disable_user(request: Request, editor: Editor, username: str) -> Response:
    if username == editor.username:
        return _page(request, editor, status_code=400,
                     error="You cannot disable your own account: ask another admin, or use `nightdesk review disable-user`.")
    return _admin(request, editor, username, "disabled", lambda: services(request).users.disable(username))


@router.post("/account/users/{username}/enable", name="enable_user")
def enable_user(request: Request, editor: Editor, username: str) -> Response:
    return _admin(request, editor, username, "enabled", lambda: services(request).users.enable(username))


def _admin(request: Request, editor: auth.Editor, username: str, done: str,
           change: Callable[[], object]) -> Response:
    """Run an admin's ``change`` to another account, refusing editors and unknown users."""
    if not editor.is_admin:
        return render(request, "error.html", status_code=403, title="Not allowed",
                      message="Only admins can manage other accounts.", back=url(request, "account"))
    try:
        change()
    except ValueError as exc:
        return _page(request, editor, status_code=404, error=f"Nothing changed: {exc}.")
    return _back(request, done)


def _page(request: Request, editor: auth.Editor, status_code: int = 200, **context: object) -> Response:
    svc = services(request)
    everyone = svc.sessions.active() if editor.is_admin else []
    counts = Counter(s.username for s in everyone)
    users = [(u, counts[u.username]) for u in svc.users.list_users()] if editor.is_admin else []
    return render(request, "account.html", status_code=status_code, mine=svc.sessions.active(editor.username),
                  users=users, **context)


def _back(request: Request, done: str) -> RedirectResponse:
    return RedirectResponse(f"{url(request, 'account')}?done={done}", status_code=303)
