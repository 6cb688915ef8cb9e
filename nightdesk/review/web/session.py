"""Who is asking: the FastAPI dependency every protected route runs first."""

from __future__ import annotations

from fastapi import Request

from nightdesk.review.web.app import services
from nightdesk.review.web.auth import Editor, LoginRequired


def current_editor(request: Request) -> Editor:
    """The signed-in editor; :class:`LoginRequired` when there is none or the account is gone.

    The account is read again on every request (one indexed lookup), so a disabled
    editor is out at once, not when the cookie expires.
    """
    username = request.state.session.username
    user = services(request).users.get(username) if username else None
    if user is None:
        raise LoginRequired()
    editor = Editor(username=user.username, role=user.role)
    request.state.editor = editor
    return editor
