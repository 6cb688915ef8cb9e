"""The editors' review UI over HTTP (FastAPI TestClient): who may see and change what.

The queue is seeded with drafts crafted the way the pipeline stores them (a real fact
sheet, the real checks' results) plus hostile ones: markup in the text and the facts, a
cover whose stored path tries to leave the media store. Each test gets its own SQLite
store and media directory.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from generators.media_store import MediaStore
from nightdesk.checks import passed, results_json, run_text_checks
from nightdesk.review.queue import ReviewQueue
from nightdesk.review.users import UserStore
from nightdesk.review.views import NewItem
from nightdesk.review.web import create_app
from nightdesk.review.web.auth import COOKIE_NAME
from nightdesk.review.web.csrf import HEADER
from nightdesk.review.web.throttle import LoginThrottle, TooManyLogins
from nightdesk.stories.factsheet import Fact, FactKind, FactSheet, format_value

PROJECT = Path(__file__).resolve().parent.parent
SECRET = "test-secret-key-" + "x" * 40
PASSWORD = "correct horse battery"
DAY = dt.date(2013, 3, 1)
STORY = "carrier_spotlight/2013-03-01/UA"
HEADLINE = f"{STORY}/headline"
BRIEF = f"{STORY}/brief"
COVER = f"{STORY}/cover"
FAILING = "carrier_spotlight/2013-03-01/AA/headline"
HOSTILE = "carrier_spotlight/2013-03-01/XSS/headline"
ESCAPE = "carrier_spotlight/2013-03-01/ESC/cover"
GOOD_HEADLINE = "United ran 83.8% of flights on time on March 1, 2013"
BAD_HEADLINE = "United ran 93.8% of flights on time on March 1, 2013"
BRIEF_TEXT = (
    "United Air Lines Inc. operated 167 flights from the New York airports on March 1, 2013, and 83.8% of "
    "them arrived on time, against 80.2% for all airlines. Departures left an average of 9.0 minutes late "
    "and 0 flights were cancelled. Its busiest route was EWR-IAH."
)
XSS = '<script>alert("owned")</script>'


def _fact(name: str, kind: FactKind, value: object, unit: str | None = None, decimals: int | None = None,
          label: str = "") -> Fact:
    return Fact(name, kind, value, format_value(kind, value, decimals, unit), unit, decimals, label or name)


def factsheet(story_id: str = STORY, *, title: str = "United Air Lines Inc. on March 1, 2013",
              label: str = "On-time rate") -> FactSheet:
    return FactSheet(
        story_id=story_id, story_type="carrier_spotlight", logical_date="2013-03-01", title=title,
        facts=(
            _fact("flight_date", "date", "2013-03-01"),
            _fact("carrier_name", "entity", "United Air Lines Inc."),
            _fact("flights", "count", 167, "flights"),
            _fact("cancelled", "count", 0, "flights"),
            _fact("on_time_pct", "percent", 83.8, decimals=1, label=label),
            _fact("overall_on_time_pct", "percent", 80.2, decimals=1),
            _fact("avg_dep_delay_min", "number", 9.0, "minutes", 1),
            _fact("busiest_route", "entity", "EWR-IAH"),
        ),
    )


def checked(story_id: str, kind: str, text: str, sheet: FactSheet | None = None, **extra) -> NewItem:
    """A draft as the pipeline enqueues it: text checked by the real checks."""
    sheet = sheet or factsheet(story_id)
    if kind == "cover":
        ok, qc = True, "[]"
    else:
        results = run_text_checks(kind, text, sheet)
        ok = passed(results)
        qc = results_json(r.to_dict() for r in results)
    return NewItem(draft_id=f"{story_id}/{kind}", logical_date=DAY, story_id=story_id,
                   story_type="carrier_spotlight", kind=kind, text=text, facts_json=sheet.to_json(),
                   qc_passed=ok, qc_json=qc, attempts=1, generator="template", model_id="", writer="template",
                   fallback=False, failed_attempts=0, **extra)


def png_bytes() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def stores(tmp_path):
    url = f"sqlite:///{tmp_path / 'review.sqlite'}"
    queue, users, media = ReviewQueue(url), UserStore(url), MediaStore(str(tmp_path / "media"))
    for name, role in (("alice", "editor"), ("bob", "editor"), ("root", "admin")):
        users.add(name, PASSWORD, role)
    cover = media.put(png_bytes(), ".png")
    (tmp_path / "secret.png").write_bytes(b"top secret")
    queue.enqueue([
        checked("carrier_spotlight/2013-03-01/UA", "headline", GOOD_HEADLINE),
        checked("carrier_spotlight/2013-03-01/UA", "brief", BRIEF_TEXT),
        checked("carrier_spotlight/2013-03-01/UA", "cover", "Bar chart of United's on-time rate",
                media_relpath=cover.relpath, media_sha256=cover.sha256),
        checked("carrier_spotlight/2013-03-01/AA", "headline", BAD_HEADLINE),
        checked("carrier_spotlight/2013-03-01/XSS", "headline", f"{XSS} 83.8% on time",
                factsheet("carrier_spotlight/2013-03-01/XSS", title='<img src=x onerror=alert(1)>',
                          label="<b>bold</b>")),
        checked("carrier_spotlight/2013-03-01/ESC", "cover", "a chart", media_relpath="../secret.png"),
    ])
    yield queue, users, media
    queue.close()
    users.close()


@pytest.fixture
def app(stores):
    queue, users, media = stores
    return create_app(queue=queue, users=users, media=media, secret_key=SECRET)


@pytest.fixture
def queue(stores) -> ReviewQueue:
    return stores[0]


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def login(app, username: str = "alice", *, prefix: str = "") -> tuple[TestClient, str]:
    """A client signed in through the login form; returns it and its CSRF token."""
    client = TestClient(app, follow_redirects=False)
    token = csrf_of(client.get(f"{prefix}/login").text)
    response = client.post(f"{prefix}/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303, response.text
    page = client.get(f"{prefix}/")
    assert page.status_code == 200
    return client, csrf_of(page.text)


def action(client: TestClient, token: str, draft_id: str, verb: str, **form) -> object:
    return client.post(f"/draft/{draft_id}/{verb}", data={"csrf_token": token, **form})


def followed(client: TestClient, response, draft_id: str) -> str:
    """The draft page a form post went back to (post/redirect/get), with its one-time message."""
    assert response.status_code == 303 and response.headers["location"] == f"/draft/{draft_id}", response.text
    return client.get(response.headers["location"]).text


# -- authentication ------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/", "/?kind=headline", f"/draft/{HEADLINE}", f"/cover/{COVER}", "/history", "/history/bob",
])
def test_pages_need_a_session(app, path):
    response = TestClient(app, follow_redirects=False).get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    if path != "/":
        assert "next=" in response.headers["location"]


def test_a_form_posted_after_the_session_ran_out_comes_back_to_its_page(app):
    client = TestClient(app, follow_redirects=False)
    response = client.post(f"/draft/{HEADLINE}/approve", data={"expected_version": "1"},
                           headers={"referer": f"http://testserver/draft/{HEADLINE}"})
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=" + quote(f"/draft/{HEADLINE}", safe="")
    foreign = client.post(f"/draft/{HEADLINE}/approve", headers={"referer": "http://evil.example/draft/x"})
    assert foreign.headers["location"] == "/login"


@pytest.mark.parametrize("path", ["/api/drafts", f"/api/drafts/{HEADLINE}", "/api/session"])
def test_api_needs_a_session(app, path):
    response = TestClient(app).get(path)
    assert response.status_code == 401
    assert response.json()["error"] == "login_required"


def test_login_page_and_stylesheet_are_public(app):
    client = TestClient(app)
    assert client.get("/login").status_code == 200
    css = client.get("/static/review.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]


def test_wrong_password_is_refused_without_saying_which_part(app):
    client = TestClient(app, follow_redirects=False)
    token = csrf_of(client.get("/login").text)
    for username, password in (("alice", "wrong password"), ("nobody", PASSWORD)):
        response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
        assert response.status_code == 401
        assert "Wrong username or password" in response.text
    assert client.get("/").status_code == 303


def test_login_sets_a_hardened_cookie_and_rotates_the_csrf_token(app):
    client = TestClient(app, follow_redirects=False)
    before = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": before})
    cookie = response.headers["set-cookie"].lower()
    assert COOKIE_NAME in cookie and "httponly" in cookie and "samesite=lax" in cookie and "max-age=28800" in cookie
    after = csrf_of(client.get("/").text)
    assert after != before


def test_login_form_needs_its_csrf_token(app):
    client = TestClient(app, follow_redirects=False)
    client.get("/login")
    response = client.post("/login", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 403
    assert client.get("/").status_code == 303


@pytest.mark.parametrize("target, expected", [
    ("/draft/" + HEADLINE, "/draft/" + HEADLINE), ("//evil.example/x", "/"), ("https://evil.example/", "/"),
    ("/\\evil.example", "/"), ("/\t/evil.example", "/"),
])
def test_login_redirects_only_inside_the_app(app, target, expected):
    client = TestClient(app, follow_redirects=False)
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token,
                                           "next": target})
    assert response.headers["location"] == expected


def _cookie(secret: str, payload: dict, *, age_s: int = 0) -> str:
    class Signer(TimestampSigner):
        def get_timestamp(self) -> int:
            return super().get_timestamp() - age_s

    return URLSafeTimedSerializer(secret, salt="nightdesk-review-session", signer=Signer).dumps(payload)


def test_expired_or_forged_sessions_are_no_sessions(app):
    def status(cookie: str) -> int:
        client = TestClient(app, follow_redirects=False, cookies={COOKIE_NAME: cookie})
        return client.get("/").status_code

    signed_in, _ = login(app)
    token = URLSafeTimedSerializer(SECRET, salt="nightdesk-review-session").loads(signed_in.cookies[COOKIE_NAME])["s"]
    fresh = _cookie(SECRET, {"s": token, "c": "t" * 20})
    assert status(fresh) == 200  # the crafted cookie has the real format
    assert status(_cookie(SECRET, {"s": token, "c": "t" * 20}, age_s=8 * 3600 - 60)) == 200
    for value in (_cookie(SECRET, {"s": token, "c": "t" * 20}, age_s=8 * 3600 + 5),
                  _cookie("another-key-" + "y" * 40, {"s": token, "c": "t" * 20}),
                  fresh[:-3] + "abc", _cookie(SECRET, {"s": token}), _cookie(SECRET, [token]),
                  _cookie(SECRET, {"s": token[:-1] + "x", "c": "t" * 20}),  # a token no login issued
                  _cookie(SECRET, {"u": "alice", "c": "t" * 20})):  # naming a user (before sessions were stored)
        assert status(value) == 303


def test_disabled_account_is_signed_out_at_its_next_request(app, stores):
    client, _ = login(app, "bob")
    stores[1].disable("bob")
    assert client.get("/").status_code == 303


def test_logout_ends_the_session(app):
    client, token = login(app)
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert client.get("/").status_code == 303


# -- login throttling ----------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def throttled(stores) -> tuple[FastAPI, FakeClock, list[str]]:
    """The app with a throttle on a fake clock; the list collects who the user store checked."""
    queue, users, media = stores
    clock, checked_for = FakeClock(), []
    authenticate = users.authenticate

    def counting(username: str, password: str):
        checked_for.append(username)
        return authenticate(username, password)

    users.authenticate = counting
    app = create_app(queue=queue, users=users, media=media, secret_key=SECRET,
                     login_throttle=LoginThrottle(users.url, clock=clock, max_failures_per_address=8))
    return app, clock, checked_for


def try_login(app, username: str, password: str, address: str = "10.0.0.1"):
    client = TestClient(app, follow_redirects=False, client=(address, 50000))
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def test_the_sixth_login_is_refused_even_with_the_right_password(throttled):
    app, clock, checked_for = throttled
    for _ in range(5):
        assert try_login(app, "alice", "guess").status_code == 401
    client = TestClient(app, follow_redirects=False, client=("10.0.0.1", 50000))
    token = csrf_of(client.get("/login").text)
    refused = client.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token})
    assert refused.status_code == 429 and "Too many failed logins" in refused.text
    assert refused.headers["retry-after"] == "900" and "Try again in 15 minutes" in refused.text
    assert client.get("/").status_code == 303  # not signed in
    assert checked_for == ["alice"] * 5  # the refused attempt never reached the password check
    api = TestClient(app, client=("10.0.0.9", 50000)).post("/api/login",
                                                          json={"username": "alice", "password": PASSWORD})
    assert api.status_code == 429 and api.json()["error"] == "too_many_logins" and api.json()["retry_after_s"] == 900
    # Waiting does not help before the window is over; after it, she is in.
    clock.now += 15 * 60 - 1
    assert try_login(app, "alice", PASSWORD).status_code == 429
    clock.now += 1
    assert try_login(app, "alice", PASSWORD).status_code == 303
    assert checked_for == ["alice"] * 6


def test_throttling_one_user_leaves_others_alone_but_not_the_same_address(throttled):
    app, _, _ = throttled
    for _ in range(5):
        assert try_login(app, "alice", "guess", "10.0.0.1").status_code == 401
    assert try_login(app, "alice", PASSWORD, "10.0.0.2").status_code == 429  # her account is paused
    assert try_login(app, "bob", PASSWORD, "10.0.0.1").status_code == 303  # a colleague behind the same address
    for _ in range(3):
        assert try_login(app, "carol", "guess", "10.0.0.1").status_code == 401
    assert try_login(app, "bob", PASSWORD, "10.0.0.1").status_code == 429  # eight failures from that address
    api = TestClient(app, client=("10.0.0.3", 50000)).post("/api/login",
                                                          json={"username": "root", "password": PASSWORD})
    assert api.status_code == 200


def test_a_successful_login_resets_the_username_count(throttled):
    app, _, _ = throttled
    for _ in range(4):
        assert try_login(app, "alice", "guess", "10.0.0.1").status_code == 401
    assert try_login(app, "alice", PASSWORD, "10.0.0.2").status_code == 303
    for _ in range(4):
        assert try_login(app, "alice", "guess", "10.0.0.3").status_code == 401
    assert try_login(app, "alice", PASSWORD, "10.0.0.3").status_code == 303  # 4 since the reset, not 8


def test_throttle_counts_in_flight_attempts_and_keeps_address_failures_after_a_success(tmp_path):
    clock = FakeClock()
    throttle = LoginThrottle(f"sqlite:///{tmp_path / 'review.sqlite'}", clock=clock, max_failures_per_address=5)
    attempts = [throttle.begin(f"user{i}", "10.0.0.1") for i in range(5)]  # none answered yet
    with pytest.raises(TooManyLogins) as refused:
        throttle.begin("alice", "10.0.0.1")
    assert refused.value.retry_after_s == 900
    attempts[0].succeeded()  # takes back its own count only
    throttle.begin("alice", "10.0.0.1")
    with pytest.raises(TooManyLogins):
        throttle.begin("bob", "10.0.0.1")
    with pytest.raises(ValueError, match="max_failures"):
        LoginThrottle(max_failures=0)
    with pytest.raises(ValueError, match="max_failures_per_address"):
        LoginThrottle(max_failures_per_address=0)


# -- CSRF ----------------------------------------------------------------------------


def _post_routes(app) -> list[str]:
    paths = []
    for route in app.routes:
        if "POST" in getattr(route, "methods", ()):
            paths.append(route.path.replace("{draft_id:path}", HEADLINE).replace("{username}", "alice"))
    return paths


def test_every_state_change_needs_the_csrf_token(app, queue):
    client, token = login(app)
    version = queue.get(HEADLINE).version
    checked_paths = []
    for path in _post_routes(app):
        if path == "/api/login":
            continue  # JSON only: tested below
        form = {"expected_version": str(version), "text": GOOD_HEADLINE + "!", "reason": "no",
                "selected": f"{version}:{HEADLINE}"}
        body = {"expected_version": version, "text": "x", "reason": "y"}
        for attempt in ({"data": form}, {"data": {**form, "csrf_token": "forged"}},
                        {"json": body, "headers": {HEADER: "forged"}}):
            response = client.post(path, **attempt)
            assert response.status_code == 403, (path, attempt, response.status_code)
        checked_paths.append(path)
    assert len(checked_paths) >= 14  # withdraw included, page and API
    item = queue.get(HEADLINE)
    assert (item.version, item.state, item.text) == (version, "queued", GOOD_HEADLINE)
    assert [e.action for e in queue.history(HEADLINE)] == ["enqueue"]
    assert client.get("/").status_code == 200  # the forged attempts did not log anyone out


def test_api_login_takes_json_only(app):
    client = TestClient(app)
    response = client.post("/api/login", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 415
    assert response.json() == {"error": "unsupported_media_type", "message": (
        "send the credentials as application/json, not application/x-www-form-urlencoded: "
        '{"username": "...", "password": "..."}')}
    bad = client.post("/api/login", content=b'{"username": "alice"}', headers={"content-type": "application/json"})
    assert bad.status_code == 422 and "password: Field required" in bad.json()["message"]
    assert client.get("/api/session").status_code == 401


# -- what editors see ----------------------------------------------------------------


def test_data_is_escaped_everywhere(app, queue):
    client, token = login(app)
    assert action(client, token, HOSTILE, "comment", text="<iframe src=//evil>").status_code == 303
    item = queue.get(HOSTILE)
    assert action(client, token, HOSTILE, "reject", expected_version=str(item.version),
                  reason="<img src=x onerror=alert(2)>").status_code == 303
    pages = [client.get("/").text, client.get(f"/draft/{HOSTILE}").text, client.get("/history").text,
             client.get(f"/draft/{HOSTILE}").text]
    for html in pages:
        assert "<script>alert" not in html
        assert "<img src=x" not in html and "<iframe" not in html and "<b>bold" not in html
    draft = pages[1]
    assert ">&lt;script&gt;</mark>alert(&#34;owned&#34;)<mark" in draft  # highlighted by the plain-text check
    assert "&lt;img src=x onerror=alert(1)&gt;" in draft  # the fact sheet title
    assert "&lt;b&gt;bold&lt;/b&gt;" in draft  # a fact label
    assert "&lt;img src=x onerror=alert(2)&gt;" in draft  # the reject reason
    assert "&lt;iframe src=//evil&gt;" in pages[2]  # the comment in the history
    response = client.get(f"/draft/{HOSTILE}")
    policy = [d.strip() for d in response.headers["content-security-policy"].split(";")]
    # Scripts only as files from this origin: no inline script, no eval, no other host.
    assert "default-src 'none'" in policy and [d for d in policy if d.startswith("script-src")] == ["script-src 'self'"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_queue_lists_filters_and_counts(app, queue):
    client, token = login(app)
    html = client.get("/").text
    for draft_id in (HEADLINE, BRIEF, COVER, FAILING):
        assert draft_id in html
    assert re.search(r'data-state="queued">queued <b>6</b>', html)
    html = client.get("/?kind=headline&qc=failed").text
    assert FAILING in html and BRIEF not in html and HEADLINE not in html
    html = client.get("/?kind=brief").text
    assert BRIEF in html and HEADLINE not in html
    html = client.get("/?date=not-a-date&state=bogus").text
    assert "not a date" in html and "unknown state" in html and HEADLINE in html
    # Only undecided drafts that passed their checks offer a checkbox.
    assert f'value="1:{HEADLINE}"' in html and f'value="1:{FAILING}"' not in html


def test_draft_page_shows_text_facts_checks_cover_and_history(app, queue):
    client, _ = login(app)
    html = client.get(f"/draft/{FAILING}").text
    assert '<mark class="fail"' in html and ">93.8%</mark>" in html  # the unbacked figure
    assert "nearest percent fact on_time_pct is 83.8%" in html
    assert "On-time rate" in html and "EWR-IAH" in html  # the fact sheet
    assert "enqueue" in html
    html = client.get(f"/draft/{COVER}").text
    assert f'src="/cover/{COVER}"' in html
    image = client.get(f"/cover/{COVER}")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content == png_bytes()


def test_draft_page_lists_previous_attempts_escaped_with_why_they_failed(app, queue):
    story = "carrier_spotlight/2013-03-01/RETRY"
    attempts = [
        {"attempt": 1, "generation_id": "g1", "generator": "transformers", "model_id": "tiny-lm", "status": "ok",
         "error": "", "text": f"{XSS} United ran 93.8% on time", "truncated": False,
         "created_at": "2013-03-02T02:00:00.000+00:00",
         "failed_checks": [{"name": "facts", "messages": ["93.8% is not in the fact sheet <i>nearest 83.8%</i>"]},
                           {"name": "markup", "messages": ["the text contains HTML"]}]},
        {"attempt": 2, "generation_id": "g2", "generator": "transformers", "model_id": "tiny-lm", "status": "error",
         "error": "RuntimeError: CUDA out of memory", "text": "", "truncated": False,
         "created_at": "2013-03-02T02:01:00.000+00:00", "failed_checks": []},
    ]
    queue.enqueue([checked(story, "headline", GOOD_HEADLINE, attempts_json=json.dumps(attempts))])
    client, _ = login(app)
    html = client.get(f"/draft/{story}/headline").text
    section = html[html.index('id="attempts"'):html.index("</section>", html.index('id="attempts"'))]
    assert "Previous attempts" in section
    first, second = section.split('id="attempt-2"')
    assert "attempt 1" in first and "transformers" in first and "tiny-lm" in first
    assert "<script>" not in html and "&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt; United ran 93.8%" in first
    assert "<b>facts</b>: 93.8% is not in the fact sheet &lt;i&gt;nearest 83.8%&lt;/i&gt;" in first
    assert "<b>markup</b>: the text contains HTML" in first
    assert "attempt 2" in second and "RuntimeError: CUDA out of memory" in second
    # The API hands the same attempts over parsed.
    api = client.get(f"/api/drafts/{story}/headline").json()
    assert [a["attempt"] for a in api["previous_attempts"]] == [1, 2]
    # A draft written at the first attempt shows no such section.
    assert 'id="attempts"' not in client.get(f"/draft/{HEADLINE}").text


# Literal "/../" segments are not listed: the HTTP client removes them before sending, so
# such a case would test the client. Percent-encoded dots reach the app as "..".
@pytest.mark.parametrize("path", [
    f"/cover/{ESCAPE}",                        # a stored path that leaves the media store
    f"/cover/{HEADLINE}",                      # a draft without an image
    "/cover/%2e%2e/%2e%2e/etc/passwd",
    "/cover/carrier_spotlight/..%2f..%2fsecret.png",
    "/static/%2e%2e/app.py",
    "/static/..%2fapp.py",
])
def test_images_come_only_from_the_media_store(app, path):
    client, _ = login(app)
    response = client.get(path)
    assert response.status_code == 404
    assert b"top secret" not in response.content and b"create_app" not in response.content


def test_unknown_draft_is_a_404_page(app):
    client, token = login(app)
    assert client.get("/draft/no/such/headline").status_code == 404
    assert action(client, token, "no/such/headline", "approve", expected_version="1").status_code == 404


# -- deciding ------------------------------------------------------------------------


def test_edit_is_rechecked_and_a_failing_edit_cannot_be_approved(app, queue):
    client, token = login(app)
    version = queue.get(HEADLINE).version
    response = action(client, token, HEADLINE, "edit", expected_version=str(version), text=BAD_HEADLINE)
    item = queue.get(HEADLINE)
    assert (item.text, item.qc_passed, item.state) == (BAD_HEADLINE, False, "queued")
    html = followed(client, response, HEADLINE)
    assert "Edited by you (alice) at" in html and "failed the checks below" in html and ">93.8%</mark>" in html

    refused = action(client, token, HEADLINE, "approve", expected_version=str(item.version))
    html = followed(client, refused, HEADLINE)
    alert = re.search(r'<p class="error" role="alert">(.*?)</p>', html).group(1)
    assert alert == "Not approved: the text fails the quality checks. Edit it until they pass, or reject it."
    assert queue.get(HEADLINE).state == "queued"

    fixed = action(client, token, HEADLINE, "edit", expected_version=str(item.version),
                   text=GOOD_HEADLINE.replace("United", "United Airlines").replace("\n", "\r\n"))
    assert "passed every check" in followed(client, fixed, HEADLINE)
    item = queue.get(HEADLINE)
    assert item.qc_passed
    assert action(client, token, HEADLINE, "approve", expected_version=str(item.version)).status_code == 303
    item = queue.get(HEADLINE)
    assert (item.state, item.decided_by) == ("edited_approved", "alice")
    actions = [(e.action, e.details.get("refusal")) for e in queue.history(HEADLINE)]
    assert actions == [("enqueue", None), ("edit", None), ("conflict", "qc_failed"), ("edit", None), ("approve", None)]
    assert "+United ran 93.8%" in queue.history(HEADLINE)[1].details["diff"]


def test_a_stale_decision_shows_someone_else_decided(app, queue):
    alice, alice_token = login(app, "alice")
    bob, bob_token = login(app, "bob")
    version = queue.get(BRIEF).version
    alice.get(f"/draft/{BRIEF}")
    assert action(bob, bob_token, BRIEF, "approve", expected_version=str(version)).status_code == 303
    response = action(alice, alice_token, BRIEF, "reject", expected_version=str(version), reason="too long")
    html = followed(alice, response, BRIEF)
    decided_at = queue.get(BRIEF).decided_at
    assert (f"Not saved: while you were reading version 1, bob approved it at {decided_at:%H:%M} UTC. "
            "It is now approved (version 2)") in html
    assert f'href="/draft/{BRIEF}" id="reload"' in html
    assert "Not saved" not in alice.get(f"/draft/{BRIEF}").text  # the message is shown once
    item = queue.get(BRIEF)
    assert (item.state, item.decided_by) == ("approved", "bob")
    assert queue.history(BRIEF)[-1].action == "conflict" and queue.history(BRIEF)[-1].actor == "alice"


def test_a_claim_keeps_others_off(app, queue):
    alice, alice_token = login(app, "alice")
    bob, bob_token = login(app, "bob")
    assert action(bob, bob_token, HEADLINE, "claim", expected_version="1").status_code == 303
    assert "Release claim" in bob.get(f"/draft/{HEADLINE}").text
    response = action(alice, alice_token, HEADLINE, "approve", expected_version="2")
    expires = queue.get(HEADLINE).claim_expires_at
    assert f"Not saved: bob claimed this draft until {expires:%H:%M} UTC" in followed(alice, response, HEADLINE)
    assert action(bob, bob_token, HEADLINE, "approve", expected_version="2").status_code == 303
    assert queue.get(HEADLINE).state == "approved"


def test_reject_needs_a_reason(app, queue):
    client, token = login(app)
    response = action(client, token, BRIEF, "reject", expected_version="1", reason="   ")
    assert "Nothing was changed: say why you reject this draft" in followed(client, response, BRIEF)
    assert action(client, token, BRIEF, "reject", expected_version="1", reason="repeats yesterday").status_code == 303
    item = queue.get(BRIEF)
    assert (item.state, item.reject_reason) == ("rejected", "repeats yesterday")


def _approved(queue: ReviewQueue, draft_id: str, state: str = "approved") -> int:
    """Bring a queued draft to ``state`` (approved or published) as bob; returns its version."""
    queue.approve(draft_id, "bob", queue.get(draft_id).version)
    if state == "published":
        queue.publish([draft_id])
    item = queue.get(draft_id)
    assert item.state == state
    return item.version


@pytest.mark.parametrize("state", ["approved", "published"])
def test_withdraw_takes_a_decided_draft_back_and_audits_why(app, queue, state):
    client, token = login(app)
    version = _approved(queue, HEADLINE, state)
    page = client.get(f"/draft/{HEADLINE}").text
    assert f'action="/draft/{HEADLINE}/withdraw"' in page and 'id="approve-form"' not in page
    response = action(client, token, HEADLINE, "withdraw", expected_version=str(version), reason="figures revised")
    item = queue.get(HEADLINE)
    assert (item.state, item.version, item.decided_by) == ("withdrawn", version + 1, "bob")
    assert HEADLINE not in {i.draft_id for i in queue.publishable()}  # so the next publish run drops it
    last = queue.history(HEADLINE)[-1]
    assert (last.action, last.actor, last.from_state, last.to_state) == ("withdraw", "alice", state, "withdrawn")
    assert last.details["reason"] == "figures revised"
    html = followed(client, response, HEADLINE)
    assert "Withdrawn by you (alice) at" in html and "next publish run takes it off the site" in html
    assert re.search(r'<tr class="action-withdraw">.*?figures revised', html, re.S)
    assert 'id="withdraw-form"' not in html  # nothing left to withdraw


def test_withdraw_is_refused_without_reason_csrf_or_a_decided_draft(app, queue):
    client, token = login(app)
    version = _approved(queue, HEADLINE)
    response = action(client, token, HEADLINE, "withdraw", expected_version=str(version), reason="  ")
    assert "say why you withdraw" in followed(client, response, HEADLINE)
    forged = client.post(f"/draft/{HEADLINE}/withdraw", data={"expected_version": str(version), "reason": "x"})
    assert forged.status_code == 403
    assert (queue.get(HEADLINE).state, queue.get(HEADLINE).version) == ("approved", version)

    assert 'id="withdraw-form"' not in client.get(f"/draft/{BRIEF}").text  # a queued draft offers none
    response = action(client, token, BRIEF, "withdraw", expected_version="1", reason="changed my mind")
    assert "not possible while it is queued" in followed(client, response, BRIEF)
    assert queue.get(BRIEF).state == "queued"
    assert queue.history(BRIEF)[-1].details["refusal"] == "invalid_transition"


def test_a_stale_withdraw_shows_someone_else_decided(app, queue):
    client, token = login(app)
    version = _approved(queue, HEADLINE)
    queue.withdraw(HEADLINE, "bob", version, "wrong date")
    response = action(client, token, HEADLINE, "withdraw", expected_version=str(version), reason="typo")
    assert "bob withdrew it at" in followed(client, response, HEADLINE)
    assert [(e.action, e.actor) for e in queue.history(HEADLINE)][-2:] == [("withdraw", "bob"), ("conflict", "alice")]


def test_bulk_approve_confirms_the_exact_set_then_approves_it(app, queue):
    client, token = login(app)
    confirm = client.get("/bulk-approve", params={"selected": [
        f"1:{HEADLINE}", f"1:{BRIEF}", f"1:{FAILING}", f"7:{COVER}", "garbage"]})
    assert confirm.status_code == 200 and queue.get(HEADLINE).state == "queued"  # asking changes nothing
    assert "You are about to approve <b>2</b> drafts from <b>1</b> story" in confirm.text
    assert "its checks did not pass (failed)" in confirm.text and "changed since you selected it" in confirm.text
    hidden = re.findall(r'name="selected" value="([^"]+)"', confirm.text)
    assert hidden == [f"1:{HEADLINE}", f"1:{BRIEF}"]
    digest = re.search(r'name="confirm" value="([0-9a-f]{64})"', confirm.text).group(1)

    tampered = client.post("/bulk-approve", data={"csrf_token": token, "confirm": digest,
                                                  "selected": [*hidden, f"1:{FAILING}"]})
    assert tampered.status_code == 303 and queue.get(HEADLINE).state == "queued"
    assert "Nothing was approved" in client.get(tampered.headers["location"]).text

    done = client.post("/bulk-approve", data={"csrf_token": token, "confirm": digest, "selected": hidden})
    assert done.status_code == 303 and done.headers["location"].startswith("/bulk-approve/")
    assert {queue.get(d).state for d in (HEADLINE, BRIEF)} == {"approved"}
    report = client.get(done.headers["location"])
    assert "Approved (2)" in report.text and client.get(done.headers["location"]).text == report.text
    again = client.post("/bulk-approve", data={"csrf_token": token, "confirm": digest, "selected": hidden})
    page = client.get(again.headers["location"]).text
    assert "Nothing was approved" in page and "alice approved it at" in page
    assert [e.action for e in queue.history(HEADLINE)] == ["enqueue", "approve"]


def test_history_pages(app, queue):
    alice, token = login(app, "alice")
    action(alice, token, BRIEF, "comment", text="checked with the desk")
    assert "checked with the desk" in alice.get("/history").text
    assert alice.get("/history/bob").status_code == 403
    root, _ = login(app, "root")
    assert "checked with the desk" in root.get("/history/alice").text


# -- JSON API ------------------------------------------------------------------------


def test_json_api_round_trip(app, queue):
    client = TestClient(app)
    session = client.post("/api/login", json={"username": "alice", "password": PASSWORD})
    assert session.status_code == 200
    headers = {HEADER: session.json()["csrf_token"]}
    listing = client.get("/api/drafts", params={"kind": "headline", "qc": "passed"}).json()
    assert {i["draft_id"] for i in listing["items"]} == {HEADLINE}
    assert listing["counts"]["queued"] == 1  # counts follow the filters (all but state)
    draft = client.get(f"/api/drafts/{HEADLINE}").json()
    assert draft["facts"]["story_id"] == STORY and draft["history"][0]["action"] == "enqueue"

    no_token = client.post(f"/api/drafts/{HEADLINE}/approve", json={"expected_version": draft["version"]})
    assert no_token.status_code == 403
    edited = client.post(f"/api/drafts/{HEADLINE}/edit", headers=headers,
                         json={"expected_version": draft["version"], "text": BAD_HEADLINE}).json()
    facts = next(c for c in edited["checks"] if c["name"] == "facts")
    assert edited["qc_passed"] is False and facts["findings"][0]["span"] == [11, 16]
    refused = client.post(f"/api/drafts/{HEADLINE}/approve", headers=headers,
                          json={"expected_version": edited["version"]})
    assert refused.status_code == 422 and refused.json()["error"] == "QCFailedError"
    stale = client.post(f"/api/drafts/{HEADLINE}/approve", headers=headers, json={"expected_version": 1})
    assert stale.status_code == 409 and stale.json()["current_version"] == edited["version"]
    fixed = client.post(f"/api/drafts/{HEADLINE}/edit", headers=headers, json={
        "expected_version": edited["version"], "text": "United ran 83.8% of 167 flights on time"}).json()
    assert fixed["qc_passed"] is True, fixed["checks"]
    approved = client.post(f"/api/drafts/{HEADLINE}/approve", headers=headers,
                           json={"expected_version": fixed["version"]}).json()
    assert approved["state"] == "edited_approved"
    assert client.post(f"/api/drafts/{BRIEF}/reject", headers=headers,
                       json={"expected_version": 1, "reason": ""}).status_code == 422
    assert client.post(f"/api/drafts/{BRIEF}/reject", headers=headers,
                       json={"expected_version": 1, "reason": "stale"}).json()["state"] == "rejected"
    withdraw = f"/api/drafts/{HEADLINE}/withdraw"
    assert client.post(withdraw, json={"expected_version": approved["version"], "reason": "x"}).status_code == 403
    assert client.post(withdraw, headers=headers,
                       json={"expected_version": approved["version"], "reason": "  "}).status_code == 400
    withdrawn = client.post(withdraw, headers=headers, json={"expected_version": approved["version"], "reason": "old"})
    assert withdrawn.json()["state"] == "withdrawn"
    again = client.post(withdraw, headers=headers, json={"expected_version": approved["version"], "reason": "old"})
    assert again.status_code == 409 and again.json()["current_state"] == "withdrawn"
    queued = client.post(f"/api/drafts/{COVER}/withdraw", headers=headers, json={"expected_version": 1, "reason": "x"})
    assert queued.status_code == 409 and queued.json()["error"] == "InvalidTransition"
    assert client.get("/api/drafts", params={"date": "yesterday"}).status_code == 400
    assert client.post("/api/logout", headers=headers).status_code == 200
    assert client.get("/api/session").status_code == 401


# -- mounted like Airflow mounts it ---------------------------------------------------


def test_works_under_a_url_prefix(app, queue):
    outer = FastAPI()
    outer.mount("/nightdesk-review", app)
    client = TestClient(outer, follow_redirects=False)
    response = client.get(f"/nightdesk-review/draft/{HEADLINE}")
    assert response.headers["location"].startswith("/nightdesk-review/login?next=")
    assert "path=/nightdesk-review" in response.headers["set-cookie"].lower()
    login_page = client.get(response.headers["location"])
    assert 'href="/nightdesk-review/static/review.css"' in login_page.text
    assert 'action="/nightdesk-review/login"' in login_page.text
    done = client.post("/nightdesk-review/login", data={
        "username": "alice", "password": PASSWORD, "csrf_token": csrf_of(login_page.text),
        "next": f"/draft/{HEADLINE}"})
    assert done.headers["location"] == f"/nightdesk-review/draft/{HEADLINE}"
    page = client.get(done.headers["location"])
    assert f'action="/nightdesk-review/draft/{HEADLINE}/approve"' in page.text
    approve = client.post(f"/nightdesk-review/draft/{HEADLINE}/approve",
                          data={"csrf_token": csrf_of(page.text), "expected_version": "1"})
    assert approve.headers["location"] == f"/nightdesk-review/draft/{HEADLINE}"
    assert "path=/nightdesk-review" in approve.headers["set-cookie"].lower()
    assert "Approved by you (alice)" in client.get(approve.headers["location"]).text
    assert queue.get(HEADLINE).state == "approved"


def test_airflow_plugin_mounts_the_app_and_stays_light(tmp_path):
    """Airflow's own plugin loader finds the plugin and mounts the app; no torch is imported."""
    script = """
import sys
from fastapi import FastAPI
from fastapi.testclient import TestClient
from airflow import plugins_manager
from airflow.api_fastapi.app import init_plugins
apps, _ = plugins_manager.get_fastapi_plugins()
mine = [a for a in apps if a["url_prefix"] == "/nightdesk-review"]
assert len(mine) == 1 and mine[0]["name"] == "Nightdesk review", apps
app = FastAPI()
init_plugins(app)
client = TestClient(app, follow_redirects=False)
assert client.get("/nightdesk-review/login").status_code == 200
assert client.get("/nightdesk-review/").headers["location"] == "/nightdesk-review/login"
heavy = sorted(m for m in ("torch", "transformers", "diffusers", "chdb") if m in sys.modules)
assert not heavy, heavy
print("ok")
"""
    env = {**os.environ, "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT / "plugins"),
           "AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "False", "NIGHTDESK_DATA_DIR": str(tmp_path / "data"),
           "AIRFLOW_HOME": str(tmp_path / "airflow")}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300,
                            cwd=PROJECT)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-3000:]
    # Nothing was opened while loading: the stores and the key file come with the first page.
    assert not (tmp_path / "data" / "review.sqlite").exists()


def test_plugin_module_exposes_the_app():
    import importlib.util

    path = PROJECT / "plugins" / "nightdesk_review.py"
    spec = importlib.util.spec_from_file_location("nightdesk_review_plugin", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (entry,) = module.NightdeskReviewPlugin.fastapi_apps
    assert entry["url_prefix"] == "/nightdesk-review" and isinstance(entry["app"], FastAPI)
    assert entry["app"] is module.review_app


def test_a_cover_that_does_not_match_its_hash_is_not_served(app, stores):
    queue, _, media = stores
    stored = media.put(b"not the image the checks saw", ".png")
    queue.enqueue([checked("carrier_spotlight/2013-03-01/DL", "cover", "a chart", media_relpath=stored.relpath,
                           media_sha256="0" * 64)])
    client, _ = login(app)
    response = client.get("/cover/carrier_spotlight/2013-03-01/DL/cover")
    assert response.status_code == 409 and b"not the image" not in response.content


def test_highlight_merges_overlapping_findings_and_ignores_bad_spans():
    from nightdesk.review.web.render import highlight, parse_checks

    text = "ran 93.8% on time"
    qc = json.dumps([
        {"name": "facts", "passed": False, "findings": [{"message": "unbacked", "span": [4, 9], "severity": "fail"}]},
        {"name": "style", "passed": True, "findings": [
            {"message": "vague", "span": [0, 9], "severity": "warn"},
            {"message": "outside", "span": [5, 99], "severity": "fail"},
            {"message": "no place", "span": None, "severity": "warn"}]},
        {"name": "old shape", "passed": True, "details": [{"message": "asdict", "span": [10, 12], "severity": "warn"}]},
    ])
    segments = highlight(text, parse_checks(qc, text))
    assert "".join(s.text for s in segments) == text
    assert [(s.text, s.severity) for s in segments] == [
        ("ran ", "warn"), ("93.8%", "fail"), (" ", None), ("on", "warn"), (" time", None)]
    assert segments[1].messages == ("facts: unbacked", "style: vague")
    assert parse_checks("not json")[0].passed is False
