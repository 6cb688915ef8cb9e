"""Safe decisions in a real browser (headless Chromium, launched as ``test_review_browser``
does, one browser for the module): bulk approval through its confirmation page, with
another editor changing the queue between the two steps; rejecting and reopening a draft;
losing a claim race. Every form post must land back on a page (never at its action URL)
with one message that says who did what.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import pytest
from browser import CHROMIUM, chromium, log_in, new_page
from test_review_browser import (  # noqa: F401 - `served` is a fixture  # pytest puts tests/ on sys.path
    BRIEF,
    BRIEF_ID,
    GOOD,
    HEADLINE,
    PASSWORD,
    STORY,
    _item,
    served,
    sync_api,
)

from nightdesk.review.web.outcomes import at

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: apt-get install -y chromium")
OTHER = "carrier_spotlight/2013-03-01/UA-late"
expect = sync_api.expect


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser, served):
    """A fresh context (no cookies) signed in as nina; ``page.csp_errors`` collects refusals by the policy."""
    base, _ = served
    with new_page(browser) as page:
        log_in(page, base, "nina", PASSWORD)
        yield page


def _other_story(kind: str, text: str):
    """A draft of a second story, checked like the first (same fact sheet)."""
    draft = _item(kind, text)
    return dataclasses.replace(draft, draft_id=f"{OTHER}/{kind}", story_id=OTHER)


def test_bulk_approve_shows_what_it_will_approve_and_refuses_a_changed_set(served, page):
    base, queue = served
    queue.enqueue([_other_story("headline", GOOD), _other_story("brief", BRIEF)])
    page.reload()
    boxes = page.locator('#bulk input[name="selected"]')
    expect(boxes).to_have_count(5)  # both stories' headline and brief, and the cover
    for box in boxes.all():
        box.check()
    page.get_by_role("button", name="Approve selected…").click()

    # 1. The confirmation page: a GET that approved nothing yet, counts by kind and story.
    expect(page.get_by_role("heading", name="Confirm bulk approval")).to_be_visible()
    assert page.url.startswith(f"{base}/bulk-approve?selected=")
    expect(page.locator("#bulk-summary")).to_have_text(
        "You are about to approve 5 drafts from 2 stories. Each goes out with its story at the next publish run.")
    expect(page.locator("#by-kind tbody tr")).to_have_text([re.compile(r"headline\s*2"), re.compile(r"brief\s*2"),
                                                            re.compile(r"cover\s*1")])
    expect(page.locator("#by-story tbody tr")).to_have_text([re.compile(rf"{STORY}\s*3"), re.compile(rf"{OTHER}\s*2")])
    expect(page.locator("#to-approve tbody tr")).to_have_count(5)
    assert {i.state for i in queue.list()} == {"queued"}

    # 2. Another editor rejects one of them before nina confirms: nothing is approved, and
    #    she is told which draft changed and how.
    rejected = queue.reject(f"{OTHER}/brief", "omar", 1, "repeats the headline")
    page.get_by_role("button", name="Approve these 5 drafts").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Nothing was approved: the drafts changed after you confirmed them, so the list is not the one you saw. "
        f"{OTHER}/brief: changed since you selected it: omar rejected it at {at(rejected.decided_at)}: "
        "“repeats the headline”. Check the list below again and confirm it.")
    assert [i.draft_id for i in queue.list() if i.state != "queued"] == [f"{OTHER}/brief"]
    expect(page.locator("#to-approve tbody tr")).to_have_count(4)
    expect(page.locator("#excluded li")).to_have_count(1)

    # 3. Confirming the list as it now stands approves exactly those four.
    page.get_by_role("button", name="Approve these 4 drafts").click()
    expect(page.get_by_role("heading", name="Approved (4)")).to_be_visible()
    assert re.fullmatch(rf"{base}/bulk-approve/[0-9a-f]{{16}}-[0-9a-f]{{8}}", page.url)
    page.reload()  # the report is a page of its own: reloading repeats nothing
    expect(page.locator("ul.approved li")).to_have_count(4)
    states = {i.draft_id: (i.state, i.decided_by) for i in queue.list()}
    assert states == {HEADLINE: ("approved", "nina"), BRIEF_ID: ("approved", "nina"),
                      f"{STORY}/cover": ("approved", "nina"), f"{OTHER}/headline": ("approved", "nina"),
                      f"{OTHER}/brief": ("rejected", "omar")}
    assert sum(e.action == "approve" for i in states for e in queue.history(i)) == 4
    assert page.csp_errors == []


def test_a_rejected_draft_is_reopened_and_a_lost_claim_is_explained(served, page):
    base, queue = served
    draft_url = f"{base}/draft/{BRIEF_ID}"
    page.goto(draft_url)
    page.get_by_label("Reject because").fill("reads like yesterday's")
    page.get_by_role("button", name="Reject").click()
    expect(page).to_have_url(draft_url)  # back on the draft, not at …/reject
    expect(page.get_by_role("status")).to_contain_text("Rejected by you (nina) at")
    expect(page.locator("#state")).to_have_text("rejected")
    expect(page.locator("#approve-form")).to_have_count(0)

    page.get_by_label("Reopen because").fill("the desk wants it after all")
    page.get_by_role("button", name="Reopen").click()
    expect(page).to_have_url(draft_url)
    reopened = queue.get(BRIEF_ID)
    expect(page.get_by_role("status")).to_have_text(
        f"Reopened by you (nina) at {at(reopened.updated_at)}: “the desk wants it after all”. It is queued again.")
    expect(page.locator("#state")).to_have_text("queued")
    expect(page.locator(".reason")).to_have_count(0)  # no "Rejected because" on a reopened draft
    expect(page.locator("#audit td.action")).to_have_text(["enqueue", "reject", "reopen"])
    expect(page.locator("#audit tr.action-reopen")).to_contain_text("reads like yesterday's")
    page.reload()
    expect(page.get_by_role("status")).to_have_count(0)  # the message was shown once

    # Omar claims the draft while nina has it open: her claim is refused, and she is told what he did.
    claimed = queue.claim(BRIEF_ID, "omar", reopened.version)
    page.get_by_role("button", name="Claim").click()
    expect(page).to_have_url(draft_url)
    expect(page.get_by_role("alert")).to_have_text(
        f"Not saved: while you were reading version {reopened.version}, omar claimed it at "
        f"{at(claimed.updated_at)}, until {at(claimed.claim_expires_at)}. It is now claimed "
        f"(version {claimed.version}); read it again and decide again.")
    expect(page.get_by_role("link", name="Reload the draft")).to_be_visible()
    assert (queue.get(BRIEF_ID).claimed_by, queue.get(BRIEF_ID).state) == ("omar", "claimed")
    assert page.csp_errors == []
