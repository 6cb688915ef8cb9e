"""Verdicts that mean what they say: the queue, the draft page and the API show what the
checks verified and who wrote each draft, and a draft that verified nothing never shows
as passed. The check results here carry ``verified`` lists the way the facts check
writes them (``CheckResult.to_dict()["verified"]``)."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from fastapi.testclient import TestClient

from nightdesk.review.queue import QueueFilter, ReviewQueue
from nightdesk.review.users import UserStore
from nightdesk.review.verdict import verdict, verified_summary, written_by
from nightdesk.review.views import NewItem
from nightdesk.review.web import create_app
from nightdesk.review.web.csrf import HEADER
from nightdesk.review_flow.enqueue import qc_json, to_new_item
from nightdesk.stories.catalog import load_catalog
from nightdesk.stories.factsheet import Fact, FactSheet, format_value

DAY = dt.date(2013, 3, 1)
SECRET = "test-secret-key-" + "v" * 40
PASSWORD = "correct horse battery"
MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"
BOUND = ["4 of 4 figures bound", "2 names", "direction agrees"]


def _sheet(ticker: str) -> FactSheet:
    def fact(name, kind, value, unit=None, decimals=None):
        return Fact(name, kind, value, format_value(kind, value, decimals, unit), unit, decimals, name)

    return FactSheet(story_id=f"stock_movers/2013-03-01/{ticker}", story_type="stock_movers",
                     logical_date="2013-03-01", title=f"{ticker} on March 1, 2013",
                     facts=(fact("ticker", "entity", ticker), fact("change_pct", "percent", -2.48, decimals=2)))


def _results(passed: bool, verified: list[str]) -> str:
    findings = [] if passed else [{"message": "'9.9%' is not in the fact sheet", "span": [5, 9], "severity": "fail"}]
    return json.dumps([{"name": "facts", "passed": passed, "findings": findings, "verified": verified},
                       {"name": "form", "passed": True, "findings": [], "verified": []}])


def _item(ticker: str, *, passed: bool = True, verified: list[str] = BOUND, writer: str = "model",
          fallback: bool = False, attempt: int = 1, kind: str = "headline") -> NewItem:
    sheet = _sheet(ticker)
    generator = {"model": "transformers", "template": "template", "chart": "chart"}[writer]
    return NewItem(draft_id=f"{sheet.story_id}/{kind}", logical_date=DAY, story_id=sheet.story_id,
                   story_type="stock_movers", kind=kind, text=f"{ticker} fell 2.48% on March 1, 2013",
                   facts_json=sheet.to_json(), qc_passed=passed, qc_json=_results(passed, verified), attempts=attempt,
                   generator=generator, model_id=MODEL if writer == "model" else writer, writer=writer,
                   fallback=fallback, failed_attempts=attempt - 1)


VERIFIED = _item("AAPL", attempt=2)
NOTHING = _item("MSFT", verified=[])
FALLBACK = _item("FB", writer="template", fallback=True, attempt=4, verified=["1 of 1 figures bound"])
FAILING = _item("GOOG", passed=False, verified=[])
COVER = _item("GOOG", kind="cover", writer="chart", verified=[])


@pytest.fixture
def queue(tmp_path):
    url = f"sqlite:///{tmp_path / 'review.sqlite'}"
    queue = ReviewQueue(url)
    queue.enqueue([VERIFIED, NOTHING, FALLBACK, FAILING, COVER])
    UserStore(url).add("alice", PASSWORD, "editor")
    yield queue
    queue.close()


@pytest.fixture
def client(queue):
    app = create_app(queue=queue, users=UserStore(queue._store.url), secret_key=SECRET)
    client = TestClient(app, follow_redirects=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    assert client.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token}).status_code == 303
    return client


def test_the_verdict_passes_only_checks_that_verified_something():
    assert verdict("headline", True, BOUND) == "passed"
    assert verdict("headline", True, []) == "unverified"
    assert verdict("headline", False, BOUND) == "failed"
    assert verdict("cover", True, []) == "passed"  # an image has no text facts to bind
    assert verified_summary("brief", BOUND) == "4 of 4 figures bound, 2 names, direction agrees"
    assert verified_summary("brief", []) == "nothing verified"


def test_written_by_names_the_model_and_attempt_or_the_fallback():
    assert written_by("model", fallback=False, failed_attempts=1, attempt=2, model_id=MODEL) == \
        f"the model ({MODEL}) on attempt 2"
    assert written_by("template", fallback=True, failed_attempts=3, attempt=4) == \
        "template fallback after 3 failed attempts"
    assert written_by("chart", fallback=True, failed_attempts=1, attempt=2) == "chart fallback after 1 failed attempt"
    assert written_by("template", fallback=False, failed_attempts=0, attempt=1) == "the template on attempt 1"


def test_the_queue_stores_what_was_verified_and_filters_on_the_verdict(queue):
    assert queue.get(VERIFIED.draft_id).verified == tuple(BOUND)
    assert queue.get(NOTHING.draft_id).verdict == "unverified"

    def ids(verdict: str) -> set[str]:
        return {i.draft_id for i in queue.list(QueueFilter(verdict=verdict))}

    assert ids("passed") == {VERIFIED.draft_id, FALLBACK.draft_id, COVER.draft_id}
    assert ids("unverified") == {NOTHING.draft_id}
    assert ids("failed") == {FAILING.draft_id}
    with pytest.raises(ValueError, match="unknown verdict 'ok'"):
        QueueFilter(verdict="ok")


def test_a_rerun_that_only_changes_what_was_verified_refreshes_the_draft(queue):
    report = queue.enqueue([NewItem(**{**NOTHING.__dict__, "qc_json": _results(True, ["1 of 1 figures bound"])})])
    assert (report.refreshed, queue.get(NOTHING.draft_id).verdict) == (1, "passed")


def test_enqueue_refuses_an_unknown_writer_or_a_model_marked_as_fallback(queue):
    with pytest.raises(ValueError, match="unknown writer 'gpt'"):
        queue.enqueue([NewItem(**{**VERIFIED.__dict__, "writer": "gpt"})])
    with pytest.raises(ValueError, match="only a template or chart card is a fallback"):
        queue.enqueue([NewItem(**{**VERIFIED.__dict__, "fallback": True})])


def test_an_edit_stores_what_its_recheck_verified(queue):
    item = queue.get(VERIFIED.draft_id)
    edited = queue.edit(item.draft_id, "alice", item.version, "AAPL fell 2.48%", qc_passed=True,
                        qc_json=_results(True, []))
    assert (edited.verified, edited.verdict) == ((), "unverified")
    assert queue.get(item.draft_id).verdict == "unverified"


def test_the_queue_page_shows_verified_and_writer_and_never_passes_nothing_verified(client):
    html = client.get("/").text
    row = {d.draft_id: next(r for r in html.split("<tr ") if f'href="/draft/{d.draft_id}"' in r)
           for d in (VERIFIED, NOTHING, FALLBACK, COVER)}
    assert "4 of 4 figures bound, 2 names, direction agrees" in row[VERIFIED.draft_id]
    assert f"the model ({MODEL}) on attempt 2" in row[VERIFIED.draft_id]
    assert 'class="verified nothing">nothing verified' in row[NOTHING.draft_id]
    assert ">unverified<" in row[NOTHING.draft_id] and ">passed<" not in row[NOTHING.draft_id]
    assert "template fallback after 3 failed attempts" in row[FALLBACK.draft_id]
    assert '<td class="verified">image checks only</td>' in row[COVER.draft_id]
    assert "the chart card on attempt 1" in row[COVER.draft_id]
    # Bulk approval offers only drafts that passed and verified something.
    assert f'value="1:{VERIFIED.draft_id}"' in html and f'value="1:{NOTHING.draft_id}"' not in html
    filtered = client.get("/?qc=unverified").text
    assert NOTHING.draft_id in filtered and VERIFIED.draft_id not in filtered


def test_the_draft_page_says_nothing_was_verified_prominently(client):
    html = client.get(f"/draft/{NOTHING.draft_id}").text
    assert re.search(r'id="qc-status">checks passed, nothing verified<', html)
    assert re.search(r'<p class="verified nothing" id="verified"><b>Verified:</b> nothing verified\. '
                     r'No figure, name or direction', html)
    assert "approving it means you checked every statement yourself" in html
    html = client.get(f"/draft/{VERIFIED.draft_id}").text
    assert re.search(r'id="qc-status">checks passed<', html)
    assert "<b>Verified:</b> 4 of 4 figures bound, 2 names, direction agrees</p>" in html
    assert f'id="written-by" class="writer">the model ({MODEL}) on attempt 2<' in html
    html = client.get(f"/draft/{FALLBACK.draft_id}").text
    assert 'class="writer fallback">template fallback after 3 failed attempts<' in html


def test_the_api_gives_the_verdict_what_was_verified_and_who_wrote_it(client):
    token = client.get("/api/session").json()["csrf_token"]
    assert token
    items = {i["draft_id"]: i for i in client.get("/api/drafts").json()["items"]}
    nothing = items[NOTHING.draft_id]
    assert (nothing["qc_passed"], nothing["verdict"], nothing["verified"]) == (True, "unverified", [])
    verified = items[VERIFIED.draft_id]
    assert (verified["verdict"], verified["verified"], verified["writer"], verified["fallback"]) == \
        ("passed", BOUND, "model", False)
    fallback = client.get(f"/api/drafts/{FALLBACK.draft_id}").json()
    assert (fallback["writer"], fallback["fallback"], fallback["failed_attempts"], fallback["written_by"]) == \
        ("template", True, 3, "template fallback after 3 failed attempts")
    listed = client.get("/api/drafts", params={"qc": "passed"}).json()["items"]
    assert NOTHING.draft_id not in {i["draft_id"] for i in listed}
    assert client.get("/api/drafts", params={"qc": "bogus"}, headers={HEADER: token}).status_code == 400


def test_a_warehouse_row_becomes_an_item_with_its_writer_and_verified_lists():
    sheet = _sheet("AAPL")
    row = {"draft_id": f"{sheet.story_id}/brief", "story_id": sheet.story_id, "story_type": "stock_movers",
           "content_kind": "brief", "attempt": 4, "generation_id": "g4", "generator": "template", "writer": "template",
           "fallback": 1, "failed_attempts": 3, "model_id": "template", "text": "AAPL fell 2.48%.", "media_url": "",
           "media_sha256": "", "facts_json": sheet.to_json(), "status": "checked_ok",
           "check_names": ["form", "facts"], "check_passed": [1, 1], "check_findings": ["[]", "[]"],
           "check_verified": [[], ["1 of 1 figures bound", "direction agrees"]]}
    item = to_new_item(row, DAY, load_catalog())
    assert (item.writer, item.fallback, item.failed_attempts) == ("template", True, 3)
    assert [r["verified"] for r in json.loads(qc_json(row))] == [["1 of 1 figures bound", "direction agrees"], []]
