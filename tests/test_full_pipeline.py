"""The whole night and morning for one date, as the platform runs it.

ELT -> content (drafts, checks, regeneration, the review queue) -> editors decide in the
review UI over HTTP (log in, CSRF token, approve / edit / reject) -> the publish DAG ->
the public site holds exactly what the editors approved, and the warehouse knows it.
Texts come from the data-to-text templates and covers from the chart writer, so the run
needs no model; the model paths are exercised in test_content_pipeline.py.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from pathlib import Path

import pytest

from nightdesk.publish.layout import media_path, page_path

DAY = dt.date(2013, 1, 17)  # a Thursday with stock prices; no other test uses it
EARLIER = dt.date(2013, 1, 16)  # loaded too, so stock moves have a previous close (only its ELT runs)
PASSWORD = "correct horse battery staple"


class Night:
    """What the module fixture did and saw (attributes set as it goes)."""


@pytest.fixture(scope="module")
def night(template_night, warehouse):
    from fastapi.testclient import TestClient

    from nightdesk.review.queue import ReviewQueue
    from nightdesk.review.users import UserStore
    from nightdesk.review.web import create_app

    n = Night()
    n.url, n.out, run_dag = template_night
    # 1. the night: ELT, then content (which ends by filling the review queue)
    assert run_dag("nightdesk_elt", EARLIER).ok
    n.elt = run_dag("nightdesk_elt", DAY)
    n.content = run_dag("nightdesk_content", DAY)

    # 2. the morning: two editors decide in the review UI, over its JSON API
    UserStore(n.url).add("ana", PASSWORD, "editor")
    UserStore(n.url).add("ben", PASSWORD, "editor")
    app = create_app(queue=ReviewQueue(n.url), users=UserStore(n.url),
                     secret_key=secrets.token_urlsafe(48), secure_cookie=False)
    with TestClient(app) as ana, TestClient(app) as ben:
        n.ana, n.ben = Editor(ana, "ana"), Editor(ben, "ben")
        n.listed = n.ana.drafts()
        decide(n)
    n.queue = ReviewQueue(n.url)

    # 3. publishing
    n.publish = run_dag("nightdesk_publish", DAY)
    n.feed = json.loads((n.out / "feed.json").read_text())
    n.files = sorted(p.relative_to(n.out).as_posix() for p in n.out.rglob("*") if p.is_file())
    yield n


class Editor:
    """One signed-in editor's browser session with the review UI's JSON API."""

    def __init__(self, client, username: str) -> None:
        self.client = client
        r = client.post("/api/login", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        self.headers = {r.json()["csrf_header"]: r.json()["csrf_token"]}

    def drafts(self) -> dict[str, dict]:
        r = self.client.get("/api/drafts", params={"date": DAY.isoformat(), "limit": 1000})
        assert r.status_code == 200, r.text
        return {item["draft_id"]: item for item in r.json()["items"]}

    def draft(self, draft_id: str) -> dict:
        r = self.client.get(f"/api/drafts/{draft_id}")
        assert r.status_code == 200, r.text
        return r.json()

    def post(self, draft_id: str, action: str, **body) -> tuple[int, dict]:
        version = self.draft(draft_id)["version"]
        r = self.client.post(f"/api/drafts/{draft_id}/{action}", headers=self.headers,
                             json={"expected_version": version, **body})
        return r.status_code, r.json()

    def approve(self, draft_id: str) -> dict:
        status, body = self.post(draft_id, "approve")
        assert status == 200, body
        return body


def decide(n: Night) -> None:
    """Story P fully approved by ana; Q's summary edited by ben, then Q approved without
    its cover; R's headline approved but its brief rejected (R must wait); S untouched."""
    items = n.listed
    needed = ("headline", "brief", "summary", "cover")
    stories = sorted({i["story_id"] for i in items.values()
                      if all(items[f"{i['story_id']}/{k}"]["qc_passed"] for k in needed)})
    assert len(stories) >= 4, stories
    n.P, n.Q, n.R, n.S = stories[:4]
    for kind in ("headline", "brief", "summary", "marketing", "cover"):
        if items[f"{n.P}/{kind}"]["qc_passed"]:
            n.ana.approve(f"{n.P}/{kind}")
    # Refusals first: a POST without the CSRF token, and a decision on a stale version.
    n.no_csrf = n.ana.client.post(f"/api/drafts/{n.Q}/headline/approve",
                                  json={"expected_version": items[f"{n.Q}/headline"]["version"]}).status_code
    n.ben.approve(f"{n.Q}/headline")
    n.stale = n.ana.client.post(f"/api/drafts/{n.Q}/headline/approve", headers=n.ana.headers,
                                json={"expected_version": items[f"{n.Q}/headline"]["version"]}).status_code
    n.ben.approve(f"{n.Q}/brief")
    summary = items[f"{n.Q}/summary"]["text"]
    n.edited_summary = summary.rstrip(".") + ", by the desk's count."
    status, edited = n.ben.post(f"{n.Q}/summary", "edit", text=n.edited_summary)
    assert status == 200 and edited["qc_passed"], [c for c in edited.get("checks") or [] if not c["passed"]] or edited
    n.ben.approve(f"{n.Q}/summary")
    n.ana.approve(f"{n.R}/headline")
    status, body = n.ana.post(f"{n.R}/brief", "reject", reason="the brief repeats the headline")
    assert status == 200, body


def test_the_night_runs(night):
    assert night.elt.ok, night.elt.failed_tasks
    assert night.content.ok, night.content.failed_tasks


def test_every_checked_draft_reaches_the_review_ui(night, warehouse):
    drafts = dict(warehouse.query_rows(
        "SELECT draft_id, status FROM drafts FINAL WHERE logical_date = {d:Date}", {"d": DAY}))
    assert set(night.listed) == set(drafts)
    assert {s for s in drafts.values()} <= {"checked_ok", "checked_failed"}
    for draft_id, item in night.listed.items():
        assert item["qc_passed"] == (drafts[draft_id] == "checked_ok")
        assert item["checks"] and all({"name", "passed", "findings"} <= set(c) for c in item["checks"])


def test_the_ui_refuses_unsafe_or_stale_decisions(night):
    assert night.no_csrf == 403
    assert night.stale == 409


def test_the_site_holds_exactly_the_approved_stories(night):
    n = night
    assert n.publish.ok, n.publish.failed_tasks
    items = {i["id"]: i for i in n.feed["items"]}
    assert set(items) == {n.P, n.Q}
    assert {f for f in n.files if f.startswith("stories/")} == {page_path(n.P), page_path(n.Q)}
    p_cover = n.queue.get(f"{n.P}/cover")
    assert {f for f in n.files if f.startswith("media/")} == {media_path(p_cover.media_sha256)}
    assert "image" in items[n.P] and "image" not in items[n.Q]
    for story in (n.P, n.Q):
        assert items[story]["title"] == n.queue.get(f"{story}/headline").text
        assert items[story]["content_text"] == n.queue.get(f"{story}/brief").text
    assert items[n.Q]["summary"] == n.edited_summary
    assert items[n.P]["_nightdesk"]["reviewed_by"] == "ana" and items[n.Q]["_nightdesk"]["reviewed_by"] == "ben"
    page = (n.out / page_path(n.Q)).read_text()
    assert "by the desk" in page


def test_queue_states_after_publishing(night):
    n = night
    states = {i.draft_id: i.state for i in n.queue.list(limit=1000)}
    assert states[f"{n.Q}/summary"] == "published" and n.queue.get(f"{n.Q}/summary").edited
    assert states[f"{n.Q}/cover"] == "queued" and states[f"{n.S}/headline"] == "queued"
    assert states[f"{n.R}/headline"] == "approved" and states[f"{n.R}/brief"] == "rejected"
    assert all(states[f"{n.P}/{k}"] == "published" for k in ("headline", "brief", "summary", "cover"))


def test_the_warehouse_knows_what_happened(night, warehouse):
    from nightdesk.review_flow.events import store_name

    n = night
    rows = warehouse.query_rows(
        "SELECT story_id, action, paths, sha256s FROM publications WHERE output_url = {u:String} ORDER BY story_id",
        {"u": str(n.out)})
    assert [(s, a) for s, a, _, _ in rows] == sorted([  # P's approved marketing line makes the day's issues
        (n.P, "published"), (n.Q, "published"), (f"newsletter/{DAY}", "published"), (f"social/{DAY}", "published")])
    for _, _, paths, shas in rows:
        assert list(shas) == [hashlib.sha256((n.out / p).read_bytes()).hexdigest() for p in paths]
    events = dict(warehouse.query_rows(
        "SELECT action, count() FROM review_events FINAL WHERE review_store = {s:String} GROUP BY action",
        {"s": store_name(n.url)}))
    assert events["enqueue"] == len(n.listed)
    assert events["conflict"] == 1  # the stale approval
    assert events["edit"] == 1 and events["reject"] == 1
    assert events["publish"] == len(n.queue.publishable()) - 1  # R's lone headline waits
    actors = {a for (a,) in warehouse.query_rows(
        "SELECT DISTINCT actor FROM review_events WHERE review_store = {s:String}", {"s": store_name(n.url)})}
    assert actors == {"pipeline", "ana", "ben", "publisher"}


def test_outputs_are_plain_files_under_the_output_url(night):
    assert set(night.files) >= {"index.html", "feed.json", "atom.xml", "manifest.json",
                                f"newsletter/{DAY}.html", f"newsletter/{DAY}.txt", f"social/{DAY}.json"}
    assert all(Path(night.out / f).stat().st_size > 0 for f in night.files)
