"""The review UI's application factory.

``create_app()`` builds the FastAPI app without touching any store: the review queue,
the user store, the media store and the session key are set up on the first request
(:class:`Services`), so Airflow can import the plugin that mounts this app while it
parses, and tests can pass their own stores.

Served two ways, same app:

- inside Airflow's API server, mounted at ``/nightdesk-review`` by
  ``plugins/nightdesk_review.py`` (Airflow does no authentication for plugin apps: this
  app does its own, so every page but the login form needs a session);
- on its own: ``nightdesk review serve --port 8090``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from nightdesk.review.errors import ReviewError
from nightdesk.review.web import auth, csrf, flash, throttle
from nightdesk.review.web.errors import RequestRefused, request_refused_handler, review_error_handler

if TYPE_CHECKING:
    from generators.media_store import MediaStore
    from nightdesk.review.queue import ReviewQueue
    from nightdesk.review.sessions import SessionStore
    from nightdesk.review.users import UserStore
    from nightdesk.review.views import UserView

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
API_PREFIX = "/api"

# Kept on every response: no framing by other sites, no sniffing, no referrer leaking
# draft ids, and only this app's own stylesheet, images and scripts. Scripts are files
# under static/ (the queue's keyboard shortcuts), never inline: text a model wrote that
# slipped past escaping still could not run. Every page works without them.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                                "form-action 'self'; frame-ancestors 'self'; base-uri 'none'"),
}


@dataclass
class Services:
    """The stores one app instance works with."""

    queue: ReviewQueue
    users: UserStore
    sessions: SessionStore
    media: MediaStore
    signer: auth.SessionSigner
    secure_cookie: bool
    login_throttle: throttle.LoginThrottle
    flash: flash.FlashSigner


class _LazyServices:
    """Builds :class:`Services` once, on first use, from what ``create_app`` was given."""

    def __init__(self, factory: Callable[[], Services]) -> None:
        self._factory = factory
        self._services: Services | None = None
        self._lock = threading.Lock()

    def get(self) -> Services:
        if self._services is None:
            with self._lock:
                if self._services is None:
                    self._services = self._factory()
        return self._services


def create_app(
    *,
    queue: ReviewQueue | None = None,
    users: UserStore | None = None,
    sessions: SessionStore | None = None,
    media: MediaStore | None = None,
    secret_key: str | None = None,
    session_max_age_s: int | None = None,
    secure_cookie: bool | None = None,
    login_throttle: throttle.LoginThrottle | None = None,
) -> FastAPI:
    """The review UI as a FastAPI app.

    Every argument defaults to the environment, resolved at the first request:

    :param queue: the review queue; default ``ReviewQueue()`` (``NIGHTDESK_REVIEW_DB_URL``,
        else ``<data_dir>/review.sqlite``).
    :param users: editor accounts; default ``UserStore()`` on the same database.
    :param sessions: sign-ins; default a ``SessionStore`` on the accounts' database.
    :param media: where cover images are read; default ``MediaStore()`` (``NIGHTDESK_MEDIA_URL``).
    :param secret_key: session signing key; default ``NIGHTDESK_REVIEW_SECRET_KEY``, else a
        key generated once into ``<data_dir>/review_secret_key``. Never log it.
    :param session_max_age_s: session lifetime; default ``NIGHTDESK_REVIEW_SESSION_SECONDS``
        or 8 hours.
    :param secure_cookie: send the cookie over HTTPS only; default
        ``NIGHTDESK_REVIEW_SECURE_COOKIE``. Turn it on wherever the UI is served over HTTPS.
    :param login_throttle: counts failed logins; default a
        :class:`~nightdesk.review.web.throttle.LoginThrottle` (5 per 15 minutes) on the
        accounts' database, shared by every process. Tests pass one with a fake clock.
    """

    def build() -> Services:
        from generators.media_store import MediaStore
        from nightdesk.review.queue import ReviewQueue
        from nightdesk.review.sessions import SessionStore
        from nightdesk.review.users import UserStore
        from nightdesk.settings import get_settings

        key = secret_key or auth.resolve_secret_key(get_settings().data_dir)
        max_age = session_max_age_s if session_max_age_s is not None else auth.max_age_from_env()
        secure = auth.secure_from_env() if secure_cookie is None else secure_cookie
        accounts = users if users is not None else UserStore()
        return Services(
            queue=queue if queue is not None else ReviewQueue(),
            users=accounts,
            sessions=sessions if sessions is not None else SessionStore(accounts.url),
            media=media if media is not None else MediaStore(),
            signer=auth.SessionSigner(key, max_age),
            secure_cookie=secure,
            login_throttle=login_throttle if login_throttle is not None else throttle.LoginThrottle(accounts.url),
            flash=flash.FlashSigner(key, secure=secure),
        )

    app = FastAPI(title="Nightdesk review", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.services = _LazyServices(build)
    app.state.templates = make_templates()
    app.middleware("http")(_session_middleware)
    app.add_exception_handler(auth.LoginRequired, _login_required)
    app.add_exception_handler(csrf.CSRFError, _csrf_failed)
    app.add_exception_handler(ReviewError, review_error_handler)
    app.add_exception_handler(RequestRefused, request_refused_handler)

    from nightdesk.review.web import account_pages, api, pages, story_pages

    app.include_router(pages.public)
    app.include_router(pages.router)
    app.include_router(story_pages.router)
    app.include_router(account_pages.router)
    app.include_router(api.public, prefix=API_PREFIX)
    app.include_router(api.router, prefix=API_PREFIX)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def services(request: Request) -> Services:
    return request.app.state.services.get()


def authenticate(request: Request, username: str, password: str) -> UserView | None:
    """The account when the password is right, through the login throttle.

    :raises throttle.TooManyLogins: too many recent failures for ``username`` or from this
        client address; the password was not checked.
    """
    svc = services(request)
    username = username.strip()  # one account, one throttle counter, however the form or API sent it
    attempt = svc.login_throttle.begin(username, client_address(request))
    user = svc.users.authenticate(username, password)
    if user is not None:
        attempt.succeeded()
    return user


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def sign_in(request: Request, user: UserView) -> None:
    """Start a server-side session for ``user`` and send its cookie (new token, new CSRF
    token: a token planted before sign-in is worthless afterwards)."""
    svc = services(request)
    token = svc.sessions.start(user.username, lifetime_s=svc.signer.max_age_s, client_address=client_address(request),
                               user_agent=request.headers.get("user-agent", ""))
    set_session(request, auth.Session(token=token, csrf_token=csrf.new_token()))


def sign_out(request: Request) -> None:
    """End this browser's session in the store, so every copy of its cookie is refused."""
    token = request.state.session.token
    if token:
        services(request).sessions.end(token)
    set_session(request, auth.Session(token=None, csrf_token=csrf.new_token()))


def route_path(request: Request) -> str:
    """The request's path inside this app (without the prefix it is mounted at)."""
    path, root = request.scope["path"], request.scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def is_api(request: Request) -> bool:
    return route_path(request).startswith(API_PREFIX + "/")


def url(request: Request, name: str, /, **params: Any) -> str:
    """Root-relative path of route ``name`` (prefix included), path parameters URL-quoted."""
    # This app's own router, not ``request.url_for``: mounted in Airflow, the scope's router
    # is Airflow's, which would resolve the name against the wrong routes.
    quoted = {k: quote(str(v), safe="/") for k, v in params.items()}
    return request.scope.get("root_path", "") + str(request.app.url_path_for(name, **quoted))


def make_templates() -> jinja2.Environment:
    """Jinja with autoescaping always on (whatever the file name) and undefined names as errors."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )

    @jinja2.pass_context
    def _url(context: Any, name: str, /, **params: Any) -> str:
        return url(context["request"], name, **params)

    env.globals["url"] = _url
    return env


def render(request: Request, template: str, status_code: int = 200, *, headers: dict[str, str] | None = None,
           **context: Any) -> Response:
    """An HTML page; ``editor`` and the CSRF token are always in the context."""
    context.setdefault("editor", getattr(request.state, "editor", None))
    context.setdefault("error", None)
    context.setdefault("notice", None)
    context.setdefault("notice_warns", False)
    context["request"] = request
    context["csrf_token"] = request.state.session.csrf_token
    html = request.app.state.templates.get_template(template).render(context)
    return Response(html, status_code=status_code, media_type="text/html; charset=utf-8",
                    headers={"Cache-Control": "no-store", **(headers or {})})


def set_session(request: Request, session: auth.Session) -> None:
    """Replace the request's session; the middleware writes the new cookie."""
    request.state.session = session
    request.state.session_changed = True


async def _session_middleware(request: Request, call_next: Callable[[Request], Any]) -> Response:
    svc = services(request)
    session = svc.signer.loads(request.cookies.get(auth.COOKIE_NAME))
    request.state.session_changed = session is None
    request.state.session = session or auth.Session(token=None, csrf_token=csrf.new_token())
    request.state.editor = None
    response: Response = await call_next(request)
    if request.state.session_changed:
        response.set_cookie(
            auth.COOKIE_NAME, svc.signer.dumps(request.state.session), max_age=svc.signer.max_age_s,
            path=request.scope.get("root_path") or "/", httponly=True, samesite="lax", secure=svc.secure_cookie,
        )
    for header, value in SECURITY_HEADERS.items():
        response.headers.setdefault(header, value)
    return response


async def _login_required(request: Request, exc: Exception) -> Response:
    if is_api(request):
        return JSONResponse({"error": "login_required", "message": "sign in first: POST /api/login"},
                            status_code=401)
    target = route_path(request) if request.method == "GET" else _referring_page(request)
    if request.method == "GET" and request.url.query:
        target += "?" + request.url.query
    login = url(request, "login_form")
    return RedirectResponse(f"{login}?next={quote(target, safe='')}" if target not in ("", "/") else login,
                            status_code=303)


def _referring_page(request: Request) -> str:
    """Where a form posted without a live session came from, inside this app ("/" if unknown).

    The POST path is an action (``/draft/<id>/approve``), not a page to come back to after
    signing in again; the page holding the form is.
    """
    referer = urlsplit(request.headers.get("referer", ""))
    root = request.scope.get("root_path", "")
    if referer.netloc != request.url.netloc or not referer.path.startswith(root or "/"):
        return "/"
    return referer.path[len(root):] + (f"?{referer.query}" if referer.query else "")


async def _csrf_failed(request: Request, exc: Exception) -> Response:
    message = ("The form was out of date or did not come from this site (CSRF check failed). "
               "Reload the page and try again.")
    if is_api(request):
        return JSONResponse({"error": "csrf", "message": f"missing or wrong {csrf.HEADER} header; "
                                                         "get the token from POST /api/login or GET /api/session"},
                            status_code=403)
    return render(request, "error.html", status_code=403, title="Form expired", message=message, back=None)
