"""Who is asking: the FastAPI dependency every protected route runs first."""

from __future__ import annotations

from fastapi import Request

from nightdesk.review.web.app import services
from nightdesk.review.web.auth import Editor, LoginRequired


def current_editor(request: Request) -> Editor:
    """The signed-in editor; :class:`LoginRequired` when there is none, or the session ended.

    The session and its account are read on every request (one indexed lookup), so an
    ended session or a disabled editor is out at once, not when the cookie expires.
    """
    token = request.state.session.token
    active = services(request).sessions.resolve(token) if token else None
    if active is None:
        raise LoginRequired()
    editor = Editor(username=active.session.username, role=active.role, session_id=active.session.id,
                    session_expires_at=active.session.expires_at)
    request.state.editor = editor
    return editor
