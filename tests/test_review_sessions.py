"""Sessions that end: a cookie copied before logout, a password change, disabling the account
or an admin's "end sessions" is refused afterwards, on the pages and the JSON API, over
real HTTP to the app served by uvicorn. Also: the account commands of ``nightdesk review``,
the login throttle's counters shared by two app instances (SQLite file and PostgreSQL) and
kept across a restart, and a store at revision 0002 upgraded with its rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import sqlalchemy as sa
from browser import serve_app
from fastapi.testclient import TestClient

from generators.media_store import MediaStore
from nightdesk import cli
from nightdesk.review import schema
from nightdesk.review.queue import ReviewQueue
from nightdesk.review.sessions import SessionStore
from nightdesk.review.users import UserStore
from nightdesk.review.views import NewItem
from nightdesk.review.web import create_app
from nightdesk.review.web.auth import COOKIE_NAME
from nightdesk.review.web.csrf import HEADER
from nightdesk.review.web.throttle import LoginThrottle

SECRET = "sessions-test-" + "s" * 40
PASSWORD = "correct horse battery"
NEW_PASSWORD = "another horse battery"
DRAFT = "carrier_spotlight/2013-03-01/UA/headline"
HOSTILE_AGENT = "<script>alert('agent')</script>" + "\u05e9\u05dc\u05d5\u05dd \U0001f600" * 40


def _item() -> NewItem:
    return NewItem(draft_id=DRAFT, logical_date=dt.date(2013, 3, 1), story_id=DRAFT.rsplit("/", 1)[0],
                   story_type="carrier_spotlight", kind="headline", text="United ran 83.8% of flights on time",
                   facts_json="{}", qc_passed=True, qc_json="[]", attempts=1, generator="template", model_id="",
                   writer="template", fallback=False, failed_attempts=0)


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, str, ReviewQueue]]:
    """The review UI on 127.0.0.1:<ephemeral port>; yields its base URL, store URL and queue."""
    root = tmp_path_factory.mktemp("sessions")
    url = f"sqlite:///{root / 'review.sqlite'}"
    queue, users = ReviewQueue(url), UserStore(url)
    users.add("root", PASSWORD, "admin")
    queue.enqueue([_item()])
    app = create_app(queue=queue, users=users, media=MediaStore(str(root / "media")), secret_key=SECRET)
    try:
        with serve_app(app, "review-ui") as base:
            yield base, url, queue
    finally:
        queue.close()
        users.close()


def _browser(base: str, username: str, password: str = PASSWORD,
             headers: dict[str, bytes] | None = None) -> tuple[httpx.Client, str]:
    """A client signed in through the login form; returns it and its CSRF token."""
    client = httpx.Client(base_url=base, follow_redirects=False, headers=headers)
    token = _csrf(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code == 303, response.text
    return client, _csrf(client.get("/").text)


def _copy(base: str, client: httpx.Client) -> httpx.Client:
    """Another client holding a copy of ``client``'s cookie (as a thief would)."""
    return httpx.Client(base_url=base, follow_redirects=False, cookies={COOKIE_NAME: client.cookies[COOKIE_NAME]})


def _run_cli(url: str, monkeypatch: pytest.MonkeyPatch, *argv: str, stdin: str = "") -> int:
    monkeypatch.setenv("NIGHTDESK_REVIEW_DB_URL", url)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return cli.main(["review", *argv])


def _logout(base: str, url: str, mp: pytest.MonkeyPatch, victim: httpx.Client, token: str, name: str) -> None:
    assert victim.post("/logout", data={"csrf_token": token}).headers["location"] == "/login"


def _api_logout(base: str, url: str, mp: pytest.MonkeyPatch, victim: httpx.Client, token: str, name: str) -> None:
    assert victim.post("/api/logout", headers={HEADER: token}).json() == {"ok": True}


def _change_password(base: str, url: str, mp: pytest.MonkeyPatch, victim: httpx.Client, token: str,
                     name: str) -> None:
    response = victim.post("/account/password", data={
        "csrf_token": token, "current_password": PASSWORD, "new_password": NEW_PASSWORD,
        "new_password_again": NEW_PASSWORD})
    assert response.status_code == 303 and response.headers["location"] == "/account?done=password"
    page = victim.get("/account?done=password")  # this browser was signed in anew
    assert page.status_code == 200 and "Password changed" in page.text


def _reset_password_cli(base: str, url: str, mp: pytest.MonkeyPatch, victim: httpx.Client, token: str,
                        name: str) -> None:
    assert _run_cli(url, mp, "reset-password", name, "--password-stdin", stdin=NEW_PASSWORD + "\n") == 0


def _admin_ui(verb: str) -> Callable[..., None]:
    def act(base: str, url: str, mp: pytest.MonkeyPatch, victim: httpx.Client, token: str, name: str) -> None:
        admin, admin_token = _browser(base, "root")
        response = admin.post(f"/account/users/{name}/{verb}", data={"csrf_token": admin_token})
        assert response.status_code == 303, response.text
        assert admin.get("/account").status_code == 200  # the admin's own session goes on
    return act


def _cli(command: str) -> Callable[..., None]:
    def act(base: str, url: str, mp: pytest.MonkeyPatch, victim: httpx.Client, token: str, name: str) -> None:
        assert _run_cli(url, mp, command, name) == 0
    return act


REVOCATIONS = {
    "logout": _logout, "api-logout": _api_logout, "password-change": _change_password,
    "reset-password-cli": _reset_password_cli, "disable-ui": _admin_ui("disable"), "disable-cli": _cli("disable-user"),
    "end-sessions-ui": _admin_ui("end-sessions"), "end-sessions-cli": _cli("end-sessions"),
}


@pytest.mark.parametrize("how", REVOCATIONS)
def test_a_copied_cookie_is_refused_after(served, monkeypatch, how):
    base, url, queue = served
    name = f"ed-{how}"
    UserStore(url).add(name, PASSWORD, "editor")
    victim, token = _browser(base, name)
    thief = _copy(base, victim)
    assert thief.get("/").status_code == 200 and thief.get("/api/session").json()["username"] == name
    REVOCATIONS[how](base, url, monkeypatch, victim, token, name)
    assert thief.get("/").headers["location"] == "/login"
    assert thief.get(f"/draft/{DRAFT}").status_code == 303
    assert thief.get("/api/session").status_code == 401
    comment = thief.post(f"/draft/{DRAFT}/comment", data={"csrf_token": token, "text": f"posted by a thief ({how})"})
    assert comment.status_code == 303 and comment.headers["location"].startswith("/login")
    api = thief.post(f"/api/drafts/{DRAFT}/approve", json={"expected_version": queue.get(DRAFT).version},
                     headers={HEADER: token})
    assert api.status_code == 401
    assert all(e.actor != name for e in queue.history(DRAFT))  # nothing the copy sent was saved
    still_in = how == "password-change"  # the browser that changed it was signed in anew
    assert (victim.get("/api/session").status_code == 200) is still_in


def test_password_change_needs_the_current_password_and_matching_new_ones(served):
    base, url, _ = served
    UserStore(url).add("ed-careful", PASSWORD, "editor")
    client, token = _browser(base, "ed-careful")
    for form, status, message in (
            ({"current_password": "wrong password", "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD},
             401, "current password was wrong"),
            ({"current_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD + "!"},
             400, "new passwords differ"),
            ({"current_password": PASSWORD, "new_password": "short", "new_password_again": "short"},
             400, "password too short")):
        response = client.post("/account/password", data={"csrf_token": token, **form})
        assert response.status_code == status and message in response.text
    assert client.get("/").status_code == 200  # still signed in, old password still good
    _browser(base, "ed-careful")  # the old password still logs in


def test_account_page_lists_sessions_escaped_and_only_admins_manage_accounts(served):
    base, url, _ = served
    UserStore(url).add("ed-agent", PASSWORD, "editor")
    client, token = _browser(base, "ed-agent", headers={"user-agent": HOSTILE_AGENT.encode()})
    page = client.get("/account").text
    assert "&lt;script&gt;alert(&#39;agent&#39;)&lt;/script&gt;" in page and "<script>alert" not in page
    assert "(this one)" in page and 'id="accounts"' not in page
    [session] = SessionStore(url).active("ed-agent")
    assert len(session.user_agent) == 300  # truncated, not refused
    refused = client.post("/account/users/root/end-sessions", data={"csrf_token": token})
    assert refused.status_code == 403 and "Only admins" in refused.text
    admin, admin_token = _browser(base, "root")
    accounts = admin.get("/account").text
    assert 'id="accounts"' in accounts and "ed-agent" in accounts
    assert "no user &#39;nobody&#39;" in admin.post("/account/users/nobody/disable",
                                                    data={"csrf_token": admin_token}).text
    assert "cannot disable your own account" in admin.post("/account/users/root/disable",
                                                           data={"csrf_token": admin_token}).text


def test_account_commands(served, monkeypatch, capsys):
    _, url, _ = served
    assert _run_cli(url, monkeypatch, "add-user", "ed-cli", "--password-stdin", stdin=PASSWORD + "\n") == 0
    users, sessions = UserStore(url), SessionStore(url)
    for _ in range(2):
        sessions.start("ed-cli", lifetime_s=60, client_address="10.0.0.1", user_agent="test")
    capsys.readouterr()
    assert _run_cli(url, monkeypatch, "list-users") == 0
    assert re.search(r"^ed-cli\s+editor\s+enabled\s+2$", capsys.readouterr().out, re.M)
    assert _run_cli(url, monkeypatch, "disable-user", "ed-cli") == 0
    assert capsys.readouterr().out == "disabled ed-cli; 2 sessions ended\n"
    assert users.authenticate("ed-cli", PASSWORD) is None
    assert _run_cli(url, monkeypatch, "list-users") == 0
    assert re.search(r"^ed-cli\s+editor\s+disabled\s+0$", capsys.readouterr().out, re.M)
    assert _run_cli(url, monkeypatch, "enable-user", "ed-cli") == 0
    assert users.authenticate("ed-cli", PASSWORD) is not None
    assert _run_cli(url, monkeypatch, "reset-password", "ed-cli", "--password-stdin", stdin=NEW_PASSWORD + "\n") == 0
    assert capsys.readouterr().out.endswith("password of ed-cli reset; 0 sessions ended\n")
    assert users.authenticate("ed-cli", PASSWORD) is None and users.authenticate("ed-cli", NEW_PASSWORD) is not None
    assert _run_cli(url, monkeypatch, "reset-password", "ed-cli", "--password-stdin", stdin="short\n") == 2
    assert "password too short" in capsys.readouterr().err
    for command in ("reset-password", "disable-user", "enable-user", "end-sessions"):
        argv = [command, "no-such-editor", *(["--password-stdin"] if command == "reset-password" else [])]
        assert _run_cli(url, monkeypatch, *argv, stdin=PASSWORD + "\n") == 2, command
        err = capsys.readouterr().err
        assert f"nightdesk review {command}: nothing changed: no user 'no-such-editor'" in err, err


def test_sessions_end_one_by_one_all_at_once_and_when_they_expire(review_url):
    users = UserStore(review_url)
    users.add("ann", PASSWORD, "editor")
    now = [dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)]
    sessions = SessionStore(review_url, clock=lambda: now[0])
    desk, home, phone = (sessions.start("ann", lifetime_s=60, client_address="10.0.0.1", user_agent=agent)
                         for agent in ("desk", "home", "phone"))
    assert sessions.resolve(desk).session.username == "ann" and sessions.resolve(desk).role == "editor"
    sessions.end(desk)
    assert sessions.resolve(desk) is None and sessions.resolve(home) is not None  # logout ends one
    assert sessions.end_all("ann") == 2 and sessions.resolve(home) is None and sessions.resolve(phone) is None
    with pytest.raises(ValueError, match="no user 'nobody'"):
        sessions.end_all("nobody")
    late = sessions.start("ann", lifetime_s=60, client_address="10.0.0.1", user_agent="late")
    now[0] += dt.timedelta(seconds=60)
    assert sessions.resolve(late) is None and sessions.active() == []
    assert users.disable("ann") == 0  # an expired session is not counted as ended
    sessions.close()
    users.close()


def test_the_api_counts_a_session_down_to_its_expiry(review_url):
    users = UserStore(review_url)
    users.add("ann", PASSWORD, "editor")
    now = [dt.datetime(2026, 12, 3, 20, 0, tzinfo=dt.UTC)]
    sessions = SessionStore(review_url, clock=lambda: now[0])
    queue, throttle = ReviewQueue(review_url), LoginThrottle(review_url)
    app = create_app(queue=queue, users=users, sessions=sessions, media=MediaStore("/nonexistent"),
                     secret_key=SECRET, session_max_age_s=3600, login_throttle=throttle)
    try:
        client = TestClient(app)
        assert client.post("/api/login", json={"username": "ann", "password": PASSWORD}).json()["expires_in_s"] == 3600
        now[0] += dt.timedelta(minutes=50)
        assert client.get("/api/session").json()["expires_in_s"] == 600
        now[0] += dt.timedelta(minutes=10)
        assert client.get("/api/session").status_code == 401
    finally:
        for store in (sessions, queue, throttle, users):
            store.close()


def test_rows_of_long_expired_sessions_go_as_new_ones_start(review_url):
    users = UserStore(review_url)
    users.add("ann", PASSWORD, "editor")
    users.close()
    now = [dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC)]
    sessions = SessionStore(review_url, clock=lambda: now[0], keep_for=dt.timedelta(days=90))

    def rows() -> list[str]:
        engine = sa.create_engine(review_url)
        try:
            with engine.connect() as conn:
                return [r.user_agent for r in conn.execute(sa.text("SELECT user_agent FROM review_sessions ORDER BY id"))]
        finally:
            engine.dispose()

    sessions.end(sessions.start("ann", lifetime_s=3600, client_address="10.0.0.1", user_agent="ended"))
    sessions.start("ann", lifetime_s=3600, client_address="10.0.0.1", user_agent="expired")
    now[0] += dt.timedelta(days=90)  # both expired 90 days ago less an hour: kept
    live = sessions.start("ann", lifetime_s=3600, client_address="10.0.0.1", user_agent="kept")
    assert rows() == ["ended", "expired", "kept"]
    now[0] += dt.timedelta(hours=1, seconds=1)  # now more than 90 days past their expiry
    sessions.start("ann", lifetime_s=3600, client_address="10.0.0.1", user_agent="new")
    assert rows() == ["kept", "new"]
    assert sessions.resolve(live) is None  # expired, but kept: it says who was signed in
    sessions.close()


# -- the login throttle, shared ------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _app(url: str, clock: FakeClock) -> tuple[object, LoginThrottle]:
    """One UI process: its own stores and engines on the shared review store."""
    throttle = LoginThrottle(url, clock=clock)
    return create_app(queue=ReviewQueue(url), users=UserStore(url), media=MediaStore("/nonexistent"),
                      secret_key=SECRET, login_throttle=throttle), throttle


def _api_login(app: object, password: str, address: str = "10.0.0.1") -> int:
    client = TestClient(app, client=(address, 50000))
    return client.post("/api/login", json={"username": "ann", "password": password}).status_code


def test_failures_are_counted_across_processes_and_restarts(review_url):
    UserStore(review_url).add("ann", PASSWORD, "editor")
    clock = FakeClock()
    (first, first_throttle), (second, _) = _app(review_url, clock), _app(review_url, clock)
    assert [_api_login(first, "guess") for _ in range(3)] == [401] * 3
    assert [_api_login(second, "guess", "10.0.0.2") for _ in range(2)] == [401] * 2
    assert _api_login(first, PASSWORD, "10.0.0.3") == 429  # five failures between the two
    first_throttle.close()
    restarted, _ = _app(review_url, clock)
    assert _api_login(restarted, PASSWORD, "10.0.0.3") == 429
    clock.now += 15 * 60
    assert _api_login(restarted, PASSWORD, "10.0.0.3") == 200


def test_concurrent_failures_in_two_processes_never_pass_the_limit(review_url):
    """Twelve wrong passwords at once, split over two app instances: exactly five are
    checked, whatever the interleaving; the rest are refused unchecked."""
    UserStore(review_url).add("ann", PASSWORD, "editor")
    clock = FakeClock()
    apps = [_app(review_url, clock)[0] for _ in range(2)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda i: _api_login(apps[i % 2], "guess", f"10.0.1.{i}"), range(12)))
    assert sorted(answers) == [401] * 5 + [429] * 7
    engine = sa.create_engine(review_url)
    with engine.connect() as conn:
        counted = conn.execute(sa.text("SELECT scope, COUNT(*) FROM review_login_failures GROUP BY scope")).all()
    engine.dispose()
    assert sorted(counted) == [("addr", 5), ("user", 5)]


# -- the store at revision 0002 --------------------------------------------------------


def test_a_store_at_0002_with_rows_upgrades_to_head_and_keeps_them(review_url):
    """A store as today's code left it (revision 0002: drafts, an account, audit) gains the
    session and throttle tables, keeps every row, and its account can sign in."""
    now = dt.datetime(2026, 12, 1, 23, 0, tzinfo=dt.UTC)
    engine = sa.create_engine(review_url)
    with engine.begin() as conn:
        schema.upgrade(conn, "0002")
        assert not {"review_sessions", "review_login_failures"} & set(sa.inspect(conn).get_table_names())
        from nightdesk.review.passwords import hash_password

        conn.execute(sa.text("INSERT INTO review_users (username, password_hash, role, created_at, disabled) "
                             "VALUES ('ann', :h, 'editor', :t, false)"), {"h": hash_password(PASSWORD), "t": now})
        item = {**dataclasses.asdict(_item()), "original_text": _item().text, "state": "approved",
                "version": 2, "decided_by": "ann", "decided_at": now, "created_at": now, "updated_at": now,
                "verified_json": "[]"}
        at_0002 = {c["name"] for c in sa.inspect(conn).get_columns("review_items")}
        item = {k: v for k, v in item.items() if k in at_0002}  # fields later revisions added are not there yet
        conn.execute(sa.table("review_items", *(sa.column(k) for k in item)).insert().values(item))
        conn.execute(sa.text("INSERT INTO review_audit (draft_id, actor, action, from_state, to_state, at, details) "
                             "VALUES (:d, 'ann', 'approve', 'queued', 'approved', :t, '{}')"), {"d": DRAFT, "t": now})
    engine.dispose()
    queue, users = ReviewQueue(review_url), UserStore(review_url)
    try:
        got = queue.get(DRAFT)
        assert (got.state, got.version, got.decided_by, got.text) == ("approved", 2, "ann", _item().text)
        assert [(e.actor, e.action) for e in queue.history(DRAFT)] == [("ann", "approve")]
        assert users.authenticate("ann", PASSWORD) is not None
        app = create_app(queue=queue, users=users, media=MediaStore("/nonexistent"), secret_key=SECRET,
                         login_throttle=LoginThrottle(review_url))
        client = TestClient(app)
        assert client.post("/api/login", json={"username": "ann", "password": PASSWORD}).status_code == 200
        assert client.get("/api/session").json()["username"] == "ann"
        assert [s.username for s in SessionStore(review_url).active()] == ["ann"]
    finally:
        queue.close()
        users.close()
    engine = sa.create_engine(review_url)
    with engine.connect() as conn:
        assert schema.current(conn) == schema.head()
    engine.dispose()
