"""Safe decisions over HTTP (FastAPI TestClient): claim and release in the JSON API, reopening
a rejected draft (pages and API), and what the editor who lost a race is told.

Reuses the seeded stores and the login helpers of ``test_review_web``.
"""

from __future__ import annotations

import hashlib
import html
import re

from fastapi.testclient import TestClient
from test_review_web import (  # noqa: F401 - fixtures  # pytest puts tests/ on sys.path
    BRIEF,
    GOOD_HEADLINE,
    HEADLINE,
    PASSWORD,
    XSS,
    action,
    app,
    followed,
    login,
    queue,
    stores,
)

from starlette.requests import Request

from nightdesk.review.web.csrf import HEADER
from nightdesk.review.web.flash import COOKIE_NAME, MAX_VALUE_CHARS, Flash, FlashSigner
from nightdesk.review.web.outcomes import at


def api_login(app, username: str) -> tuple[TestClient, dict[str, str]]:
    client = TestClient(app)
    session = client.post("/api/login", json={"username": username, "password": PASSWORD})
    assert session.status_code == 200, session.text
    return client, {HEADER: session.json()["csrf_token"]}


def test_api_claim_and_release(app, queue):
    alice, alice_headers = api_login(app, "alice")
    bob, bob_headers = api_login(app, "bob")
    claim = f"/api/drafts/{HEADLINE}/claim"
    assert alice.post(claim, json={"expected_version": 1}).status_code == 403  # CSRF header required
    assert alice.post(claim, headers=alice_headers, data={"expected_version": "1"}).status_code == 422

    claimed = alice.post(claim, headers=alice_headers, json={"expected_version": 1})
    assert claimed.status_code == 200
    body = claimed.json()
    assert (body["state"], body["claimed_by"], body["version"]) == ("claimed", "alice", 2)
    expires = queue.get(HEADLINE).claim_expires_at

    # Bob read version 1 too: he is told what alice did, not that "someone decided".
    stale = bob.post(claim, headers=bob_headers, json={"expected_version": 1})
    assert stale.status_code == 409 and stale.json()["current_state"] == "claimed"
    claimed_at = queue.history(HEADLINE)[1].at
    assert stale.json()["message"] == (
        f"Not saved: while you were reading version 1, alice claimed it at {at(claimed_at)}, until {at(expires)}. "
        "It is now claimed (version 2); read it again and decide again.")
    held = bob.post(claim, headers=bob_headers, json={"expected_version": 2})
    assert held.status_code == 409
    assert (held.json()["error"], held.json()["holder"], held.json()["expires_at"]) == (
        "ClaimHeldError", "alice", expires.isoformat())
    assert bob.post(f"/api/drafts/{HEADLINE}/release", headers=bob_headers,
                    json={"expected_version": 2}).json()["holder"] == "alice"  # only the holder releases

    released = alice.post(f"/api/drafts/{HEADLINE}/release", headers=alice_headers, json={"expected_version": 2})
    assert released.status_code == 200
    assert (released.json()["state"], released.json()["claimed_by"], released.json()["version"]) == ("queued", None, 3)
    assert bob.post(claim, headers=bob_headers, json={"expected_version": 3}).json()["claimed_by"] == "bob"
    assert [e.action for e in queue.history(HEADLINE)] == [
        "enqueue", "claim", "conflict", "conflict", "conflict", "release", "claim"]


def test_api_reopen(app, queue):
    client, headers = api_login(app, "alice")
    rejected = client.post(f"/api/drafts/{BRIEF}/reject", headers=headers,
                           json={"expected_version": 1, "reason": "too long"}).json()
    reopen = f"/api/drafts/{BRIEF}/reopen"
    assert client.post(reopen, json={"expected_version": rejected["version"], "reason": "x"}).status_code == 403
    assert client.post(reopen, headers=headers,
                       json={"expected_version": rejected["version"], "reason": " "}).status_code == 400
    reopened = client.post(reopen, headers=headers, json={"expected_version": rejected["version"], "reason": XSS})
    assert reopened.status_code == 200
    body = reopened.json()
    assert (body["state"], body["decided_by"], body["reject_reason"]) == ("queued", None, None)
    again = client.post(reopen, headers=headers, json={"expected_version": rejected["version"], "reason": "again"})
    assert again.status_code == 409 and "alice reopened it at" in again.json()["message"]
    queued = client.post(reopen, headers=headers, json={"expected_version": body["version"], "reason": "again"})
    assert queued.status_code == 409 and queued.json()["error"] == "InvalidTransition"
    assert [e.action for e in queue.history(BRIEF)] == ["enqueue", "reject", "reopen", "conflict", "conflict"]


def test_reopen_on_the_draft_page(app, queue):
    client, token = login(app, "alice")
    assert 'id="reopen-form"' not in client.get(f"/draft/{BRIEF}").text  # only a rejected draft offers it
    page = followed(client, action(client, token, BRIEF, "reject", expected_version="1", reason="too long"), BRIEF)
    assert "Rejected by you (alice) at" in page and "Reopen it below if that was a mistake" in page
    assert 'id="reopen-form"' in page and 'id="approve-form"' not in page

    refused = followed(client, action(client, token, BRIEF, "reopen", expected_version="2", reason=""), BRIEF)
    assert "Nothing was changed: say why you reopen this draft" in refused

    page = followed(client, action(client, token, BRIEF, "reopen", expected_version="2", reason=XSS), BRIEF)
    item = queue.get(BRIEF)
    assert (item.state, item.version, item.reject_reason) == ("queued", 3, None)
    notice = re.search(r'<p class="notice" role="status">(.*?)</p>', page).group(1)
    assert html.unescape(notice) == f"Reopened by you (alice) at {at(item.updated_at)}: “{XSS}”. It is queued again."
    assert XSS not in page and 'id="approve-form"' in page and 'id="reopen-form"' not in page
    assert "Rejected because" not in page
    assert re.search(r'<tr class="action-reopen">.*?alice.*?rejected → queued', page, re.S)


def test_a_refused_edit_keeps_the_editors_text(app, queue):
    alice, alice_token = login(app, "alice")
    bob, bob_token = login(app, "bob")
    bobs = GOOD_HEADLINE.replace("United", "United Airlines")
    alices = GOOD_HEADLINE + " (per the desk)"
    assert action(bob, bob_token, HEADLINE, "edit", expected_version="1", text=bobs).status_code == 303
    page = followed(alice, action(alice, alice_token, HEADLINE, "edit", expected_version="1", text=alices), HEADLINE)
    assert "Not saved: while you were reading version 1, bob edited its text at" in page
    assert re.search(r'<textarea name="text" id="edit-text"[^>]*>(.*?)</textarea>', page, re.S).group(1) == alices
    assert queue.get(HEADLINE).text == bobs
    later = alice.get(f"/draft/{HEADLINE}").text  # shown once: a reload shows the draft as stored
    assert "Not saved" not in later and f">{bobs}</textarea>" in later
    assert f">{alices}</textarea>" not in bob.get(f"/draft/{HEADLINE}").text  # nobody else gets her text


def test_a_message_too_long_for_a_cookie_is_cut_not_lost():
    """Browsers silently drop a cookie over 4 KB; an incompressible 12,800-character message
    must still arrive, shortened, and a forged or foreign-page flash is no flash."""
    signer = FlashSigner("flash-test-" + "k" * 40)
    request = Request({"type": "http", "method": "POST", "path": "/", "root_path": "", "headers": []})
    message = "".join(hashlib.sha256(str(i).encode()).hexdigest() for i in range(200))
    value = signer.redirect(request, "/draft/x", Flash("x", message, "error")).headers["set-cookie"]
    cookie = value.split(";")[0].split("=", 1)[1].strip('"')
    assert len(cookie) <= MAX_VALUE_CHARS
    carried = Request({"type": "http", "method": "GET", "path": "/", "root_path": "",
                       "headers": [(b"cookie", f"{COOKIE_NAME}={cookie}".encode())]})
    shown = signer.peek(carried, "x")
    assert shown is not None and shown.message.endswith("…") and message.startswith(shown.message[:-1])
    assert signer.peek(carried, "another/draft") is None
    assert FlashSigner("another-key-" + "k" * 40).peek(carried, "x") is None
