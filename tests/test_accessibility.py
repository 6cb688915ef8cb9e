"""Every public page type and every review page type passes axe-core in Chromium.

axe-core (the npm package, installed by scripts/setup.sh) runs inside headless Chromium
on each page as served, Content-Security-Policy included, and a page fails on any
violation of impact "serious" or "critical" (:mod:`axe`). One browser, one review UI and
one published site serve the whole module. The review UI is seeded like the editor's
first night in test_review_browser (a failing headline, a brief, a cover); the site holds
a story with a cover and figures, one with markup in its texts, and their newsletter.
New page types belong in ``REVIEW_PAGES``/``PUBLIC_PAGES`` (or a test of their own that
calls :func:`axe.assert_accessible` once the page is open).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator

import pytest

from axe import assert_accessible, require_axe
from browser import chromium, log_in, new_page, require_chromium, serve_app, serve_directory

require_chromium()
require_axe()
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")

from generators.media_store import MediaStore  # noqa: E402
from nightdesk.publish.layout import newsletter_paths, page_path  # noqa: E402
from nightdesk.publish.model import PublishedStory  # noqa: E402
from nightdesk.publish.site import publish  # noqa: E402
from nightdesk.review.queue import ReviewQueue  # noqa: E402
from nightdesk.review.users import UserStore  # noqa: E402
from nightdesk.review.web import create_app  # noqa: E402
from test_review_browser import BRIEF, PASSWORD, STORY, UNBACKED, _item, _png  # noqa: E402

DAY = dt.date(2013, 3, 1)
HOSTILE = '<script>alert("x")</script> & <b>bold</b> שלום 📈'
HEADLINE, BRIEF_ID, COVER = f"{STORY}/headline", f"{STORY}/brief", f"{STORY}/cover"

#: name -> path of every review page reached by a GET (the admin ``ada`` is logged in).
REVIEW_PAGES = {
    "queue": "/",
    "queue with a filter error": "/?date=yesterday&kind=headline",
    "draft failing its checks": f"/draft/{HEADLINE}",
    "draft that passed": f"/draft/{BRIEF_ID}",
    "story page (reader's view, fact sheet)": f"/stories/{STORY}",
    "account page (an admin's, with every account)": "/account",
    "cover draft": f"/draft/{COVER}",
    "my history": "/history",
    "another editor's history": "/history/nina",
    "error page (unknown draft)": "/draft/no/such/draft",
}


@pytest.fixture(scope="module")
def review_ui(tmp_path_factory) -> Iterator[str]:
    """The review UI on an ephemeral port with a failing headline, a brief and a cover."""
    root = tmp_path_factory.mktemp("axe-review")
    url = f"sqlite:///{root / 'review.sqlite'}"
    queue, users, media = ReviewQueue(url), UserStore(url), MediaStore(str(root / "media"))
    users.add("ada", PASSWORD, "admin")
    users.add("nina", PASSWORD, "editor")
    cover = media.put(_png(), ".png")
    queue.enqueue([_item("headline", UNBACKED), _item("brief", BRIEF),
                   _item("cover", "Chart of United's on-time rate", media_relpath=cover.relpath,
                         media_sha256=cover.sha256)])
    brief = queue.get(BRIEF_ID)
    queue.edit(BRIEF_ID, "nina", brief.version, BRIEF + " It was a calm day.", qc_passed=brief.qc_passed,
               qc_json=brief.qc_json)  # gives the draft and nina's history an edit with its diff
    app = create_app(queue=queue, users=users, media=media, secret_key="axe-test-" + "k" * 40)
    try:
        with serve_app(app, "axe-review-ui") as base:
            yield base
    finally:
        queue.close()
        users.close()


def _story(story_id: str, *, headline: str, marketing: str, cover: bytes | None, hour: int) -> PublishedStory:
    return PublishedStory(
        story_id=story_id, story_type=story_id.split("/")[0], logical_date=DAY, headline=headline,
        brief=f"{headline} on March 1, 2013.\n\nIt ran 167 flights.", summary="United ran 83.8% on time.",
        marketing=marketing, cover=cover, cover_sha256=None if cover is None else hashlib.sha256(cover).hexdigest(),
        cover_alt="Chart of United's on-time rate: 83.8%", facts=[("On-time rate", "83.8%"), ("Flights", "167")],
        approved_by="nina", approved_at=dt.datetime(2013, 3, 2, hour, tzinfo=dt.UTC))


@pytest.fixture(scope="module")
def public_site(tmp_path_factory) -> Iterator[str]:
    """A published site (two stories, their newsletter) served on 127.0.0.1; yields its URL."""
    out = tmp_path_factory.mktemp("axe-site") / "public"
    with serve_directory(out, "axe-public-site") as base:
        publish([_story(STORY, headline="United ran 83.8% of flights on time", marketing="See how United kept time",
                        cover=_png(), hour=6),
                 _story("stock_movers/2013-03-01/XSS", headline=HOSTILE, marketing=HOSTILE, cover=None, hour=7)],
                str(out), base_url=base)
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser) -> Iterator[object]:
    with new_page(browser) as page:
        yield page


@pytest.fixture(scope="module")
def admin_page(browser, review_ui) -> Iterator[object]:
    """One page logged in as the admin ``ada``, shared by the review page checks."""
    with new_page(browser) as page:
        log_in(page, review_ui, "ada", PASSWORD)
        yield page


def test_the_harness_fails_a_page_with_serious_violations(page):
    page.set_content('<html><head><title>bad</title></head><body><main><h1>Bad</h1><img src="x.png">'
                     '<button></button></main></body></html>')
    with pytest.raises(pytest.fail.Exception) as failed:
        assert_accessible(page, "a page made to fail")
    message = str(failed.value)
    assert message.startswith("a page made to fail (about:blank): ")
    assert "- image-alt [critical]" in message and "- button-name [critical]" in message and "<img" in message


@pytest.mark.parametrize("name", ["index", "story page", "newsletter"])
def test_public_page_types_pass_axe(page, public_site, name):
    path = {"index": "index.html", "story page": page_path(STORY), "newsletter": newsletter_paths(DAY)[0]}[name]
    response = page.goto(public_site + path)
    assert response is not None and response.ok, path
    assert_accessible(page, name)


def test_login_page_passes_axe_before_and_after_a_refused_login(page, review_ui):
    page.goto(f"{review_ui}/login")
    assert_accessible(page, "login")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("not her password")
    page.get_by_role("button", name="Log in").click()
    sync_api.expect(page.get_by_role("alert")).to_contain_text("Wrong username or password")
    assert_accessible(page, "login refused")


@pytest.mark.parametrize("name", list(REVIEW_PAGES))
def test_review_page_types_pass_axe(admin_page, review_ui, name):
    response = admin_page.goto(review_ui + REVIEW_PAGES[name])
    assert response is not None
    assert response.status == (404 if name.startswith("error") else 200), name
    assert_accessible(admin_page, name)


def test_bulk_approval_and_decision_pages_pass_axe(admin_page, review_ui):
    admin_page.goto(f"{review_ui}/")
    admin_page.get_by_role("button", name="Approve selected").click()  # nothing selected: refused
    sync_api.expect(admin_page.get_by_role("alert")).to_contain_text("Nothing to approve")
    assert_accessible(admin_page, "bulk approval with nothing selected")
    admin_page.goto(f"{review_ui}/")
    admin_page.get_by_label(f"select {COVER}").check()
    admin_page.get_by_role("button", name="Approve selected").click()
    sync_api.expect(admin_page.get_by_role("heading", name="Confirm bulk approval")).to_be_visible()
    assert_accessible(admin_page, "bulk approval confirmation")
    admin_page.get_by_role("button", name="Approve these 1 drafts").click()
    sync_api.expect(admin_page.get_by_role("heading", name="Bulk approval")).to_be_visible()
    assert_accessible(admin_page, "bulk approval result")
    admin_page.get_by_role("link", name=COVER).click()
    sync_api.expect(admin_page.locator("#withdraw-form")).to_be_visible()
    assert_accessible(admin_page, "approved draft (withdraw form)")
    admin_page.get_by_label("Withdraw because").fill("checking the page after a decision")
    admin_page.get_by_role("button", name="Withdraw").click()  # a decision: the page says what happened
    sync_api.expect(admin_page.get_by_role("status")).to_be_visible()
    assert_accessible(admin_page, "draft with a one-time message")
