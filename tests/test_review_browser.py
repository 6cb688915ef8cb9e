"""The review UI in a real browser: what a new editor does on their first night.

Headless Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright; never
``playwright install``) against the app served by uvicorn on an ephemeral port, with a
review store and media store under ``tmp_path``. The editor logs in, filters the queue,
opens a headline, makes a figure unbacked and sees the check fail and Approve disabled
with the reason, fixes it, approves, and finds the draft ``edited_approved`` with the whole trail audited;
approves the story's brief too, and after the publish step (``release()`` in-process on
the session's embedded warehouse, configured through the environment as the publish
DAG's task is) finds the drafts ``published`` and the story, with the edited headline
and the brief, on the public site (the output directory served by ``http.server``).
Then withdraws the headline with a reason, and after the next publish run the story's
page is gone and the index no longer lists it.

On a morning's queue another editor reads the drafts story by story (writer badges,
filters by writer and verdict), moves through them with the keyboard (the one script the
pages load, same-origin), opens a story, sees every kind as readers will and approves the
story in one click; a story whose headline fails cannot be approved, and says why.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from browser import chromium, log_in, new_page, require_chromium, serve_app, serve_directory

require_chromium()  # fails as root (setup.sh installs it), skips elsewhere
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")

from generators.media_store import MediaStore  # noqa: E402
from nightdesk.checks import passed, results_json, run_text_checks  # noqa: E402
from nightdesk.publish.layout import page_path  # noqa: E402
from nightdesk.review.queue import ReviewQueue  # noqa: E402
from nightdesk.review.users import UserStore  # noqa: E402
from nightdesk.review.views import NewItem  # noqa: E402
from nightdesk.review.web import create_app  # noqa: E402
from nightdesk.stories.factsheet import Fact, FactKind, FactSheet, format_value  # noqa: E402

PASSWORD = "night shift 2013"
STORY = "carrier_spotlight/2013-03-01/UA"
HEADLINE = f"{STORY}/headline"
BRIEF_ID = f"{STORY}/brief"
GOOD = "United ran 83.8% of flights on time on March 1, 2013"
UNBACKED = "United ran 88.8% of flights on time on March 1, 2013"
FIXED = "United Airlines ran 83.8% of flights on time on March 1, 2013"
BRIEF = (
    "United Air Lines Inc. operated 167 flights from the New York airports on March 1, 2013, and 83.8% of "
    "them arrived on time, against 80.2% for all airlines. Departures left an average of 9.0 minutes late "
    "and 0 flights were cancelled. Its busiest route was EWR-IAH."
)


def _fact(name: str, kind: FactKind, value: object, unit: str | None = None, decimals: int | None = None,
          label: str = "") -> Fact:
    return Fact(name, kind, value, format_value(kind, value, decimals, unit), unit, decimals, label or name)


SHEET = FactSheet(
    story_id=STORY, story_type="carrier_spotlight", logical_date="2013-03-01",
    title="United Air Lines Inc. on March 1, 2013",
    facts=(
        _fact("flight_date", "date", "2013-03-01", label="Date"),
        _fact("carrier_name", "entity", "United Air Lines Inc.", label="Carrier"),
        _fact("flights", "count", 167, "flights", label="Flights"),
        _fact("cancelled", "count", 0, "flights", label="Cancelled"),
        _fact("on_time_pct", "percent", 83.8, decimals=1, label="On-time rate"),
        _fact("overall_on_time_pct", "percent", 80.2, decimals=1, label="On-time rate, all airlines"),
        _fact("avg_dep_delay_min", "number", 9.0, "minutes", 1, label="Average departure delay"),
        _fact("busiest_route", "entity", "EWR-IAH", label="Busiest route"),
    ),
)


def _item(kind: str, text: str, sheet: FactSheet = SHEET, **extra: object) -> NewItem:
    """A draft of ``sheet``'s story checked by the real checks; by default the template
    fallback after one failed model attempt (``extra`` overrides any field)."""
    if kind == "cover":
        ok, qc = True, "[]"
    else:
        results = run_text_checks(kind, text, sheet)
        ok = passed(results)
        qc = results_json(r.to_dict() for r in results)
    fields: dict[str, object] = dict(
        draft_id=f"{sheet.story_id}/{kind}", logical_date=dt.date(2013, 3, 1), story_id=sheet.story_id,
        story_type="carrier_spotlight", kind=kind, text=text, facts_json=sheet.to_json(), qc_passed=ok, qc_json=qc,
        attempts=2, generator="template", model_id="", writer="template", fallback=True, failed_attempts=1)
    return NewItem(**{**fields, **extra})


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 36), (31, 78, 153)).save(buf, format="PNG")
    return buf.getvalue()


@contextlib.contextmanager
def _stores(tmp_path: Path) -> Iterator[tuple[ReviewQueue, UserStore, MediaStore]]:
    """A review store with the editor ``nina`` and a media store, under ``tmp_path``."""
    url = f"sqlite:///{tmp_path / 'review.sqlite'}"
    queue, users, media = ReviewQueue(url), UserStore(url), MediaStore(str(tmp_path / "media"))
    users.add("nina", PASSWORD, "editor")
    try:
        yield queue, users, media
    finally:
        queue.close()
        users.close()


def _cover(media: MediaStore, sheet: FactSheet = SHEET) -> NewItem:
    stored = media.put(_png(), ".png")
    return _item("cover", "Chart of United's on-time rate", sheet, media_relpath=stored.relpath,
                 media_sha256=stored.sha256)


@pytest.fixture
def served(tmp_path) -> Iterator[tuple[str, ReviewQueue]]:
    """The review UI on 127.0.0.1:<ephemeral port>, seeded; yields its base URL and queue."""
    with _stores(tmp_path) as (queue, users, media):
        report = queue.enqueue([_item("headline", GOOD), _item("brief", BRIEF), _cover(media)])
        assert report.added == 3
        with _serving(queue, users, media) as base:
            yield base, queue


@contextlib.contextmanager
def _serving(queue: ReviewQueue, users: UserStore, media: MediaStore) -> Iterator[str]:
    """The review UI over these stores, served by uvicorn; yields its base URL."""
    app = create_app(queue=queue, users=users, media=media, secret_key="browser-test-" + "k" * 40)
    with serve_app(app, "review-ui") as base:
        yield base


@pytest.fixture
def public_site(tmp_path, monkeypatch, warehouse) -> Iterator[tuple[str, Path, object]]:
    """The publish step's environment and the public site it writes, served on 127.0.0.1.

    Yields the site's base URL, its output directory and ``publish()``, which runs
    :func:`~nightdesk.review_flow.release.release` the way the ``nightdesk_publish`` DAG's
    task does: on the warehouse, everything else (review store, output, media) read
    from the environment, which points into this test's ``tmp_path``.
    """
    from nightdesk.review_flow.release import release

    out = tmp_path / "public"
    monkeypatch.setenv("NIGHTDESK_REVIEW_DB_URL", f"sqlite:///{tmp_path / 'review.sqlite'}")  # `served`'s store
    monkeypatch.setenv("NIGHTDESK_OUTPUT_URL", str(out))
    monkeypatch.setenv("NIGHTDESK_MEDIA_URL", str(tmp_path / "media"))
    runs = iter(range(1, 100))

    def publish():
        report = release(warehouse, dag_id="nightdesk_publish", dag_run_id=f"browser-test-{next(runs)}")
        assert report.output_url == str(out) and report.broken == {}
        return report

    with serve_directory(out, "public-site") as site:
        yield site.rstrip("/"), out, publish


@pytest.fixture(scope="module")
def browser():
    """One Chromium for the module; each test gets a fresh context (cookies) from it."""
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser):
    with new_page(browser) as page:
        yield page


def _log_in(page, base: str) -> None:
    log_in(page, base, "nina", PASSWORD)


def test_new_editor_edits_a_figure_fixes_it_approves_and_sees_it_published(served, page, public_site, warehouse):
    base, queue = served
    site, out, publish = public_site
    expect = sync_api.expect
    story_page = out / page_path(STORY)

    # 1. Any page sends a new visitor to the login form.
    page.goto(f"{base}/")
    expect(page).to_have_url(f"{base}/login")
    page.get_by_label("Username").fill("nina")
    page.get_by_label("Password").fill("not her password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong username or password")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
    expect(page.locator('ul.counts a[data-state="queued"]')).to_contain_text("3")

    # 2. Filter the queue down to headlines that passed their checks.
    page.get_by_label("Kind").select_option("headline")
    page.get_by_label("QC").select_option("passed")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(f"{base}/?date=&story_type=&kind=headline&state=&qc=passed&writer=")
    rows = page.locator("table.queue tr.draft-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(HEADLINE)

    # 3. Open the draft: text beside its fact sheet, checks passed.
    page.get_by_role("link", name=HEADLINE).click()
    expect(page.locator("#state")).to_have_text("queued")
    expect(page.locator("#qc-status")).to_have_text("checks passed")
    expect(page.locator("#facts")).to_contain_text("On-time rate")
    expect(page.locator("#facts")).to_contain_text("83.8%")

    # 4. Change a figure so it is no longer backed by the facts: the re-check fails,
    #    the figure is highlighted and Approve is disabled, saying why.
    page.locator("#edit-text").fill(UNBACKED)
    page.get_by_role("button", name="Save and re-check").click()
    expect(page.get_by_role("status")).to_contain_text("failed the checks")
    expect(page.locator("#qc-status")).to_have_text("checks failed")
    expect(page.locator("#draft-text mark.fail")).to_have_text("88.8%")
    expect(page.locator("#failing")).to_contain_text("unbacked figure '88.8%'")
    approve = page.get_by_role("button", name="Approve")
    expect(approve).to_be_disabled()
    expect(approve).to_have_accessible_description(re.compile(r"^Approve is disabled: this headline fails its checks: "
                                                              r".*Edit it until they pass, or reject it\.$"))
    expect(page.locator("#state")).to_have_text("queued")

    # 5. Fix it and approve.
    page.locator("#edit-text").fill(FIXED)
    page.get_by_role("button", name="Save and re-check").click()
    expect(page.get_by_role("status")).to_contain_text("passed every check")
    expect(page.locator("#draft-text mark")).to_have_count(0)
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text("Approved by you (nina) at")
    expect(page.locator("#state")).to_have_text("edited_approved")
    expect(page.locator("#audit td.action")).to_have_text(["enqueue", "edit", "edit", "approve"])

    item = queue.get(HEADLINE)
    assert (item.state, item.text, item.original_text, item.decided_by) == ("edited_approved", FIXED, GOOD, "nina")
    history = queue.history(HEADLINE)
    assert [(e.action, e.actor) for e in history] == [
        ("enqueue", "pipeline"), ("edit", "nina"), ("edit", "nina"), ("approve", "nina")]
    assert "+United ran 88.8%" in history[1].details["diff"]

    # 6. Their history page has it all; the approved draft left the undecided queue.
    page.get_by_role("link", name="My history").click()
    expect(page.locator("#editor-history td.action")).to_have_text(["approve", "edit", "edit"])
    page.get_by_role("link", name="Queue").click()
    expect(page.locator('ul.counts a[data-state="edited_approved"]')).to_contain_text("1")

    # 7. The story's brief: filter the queue to it, open it and approve it as written.
    page.get_by_label("Kind").select_option("brief")
    page.get_by_label("QC").select_option("passed")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(f"{base}/?date=&story_type=&kind=brief&state=&qc=passed&writer=")
    rows = page.locator("table.queue tr.draft-row")
    expect(rows).to_have_count(1)
    page.get_by_role("link", name=BRIEF_ID).click()
    expect(page.locator("#state")).to_have_text("queued")
    expect(page.locator("#qc-status")).to_have_text("checks passed")
    expect(page.locator("#draft-text")).to_have_text(BRIEF)
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text("Approved by you (nina) at")
    expect(page.locator("#state")).to_have_text("approved")
    assert not story_page.exists()  # nothing is public before the publish step

    # 8. The publish step runs (as the nightdesk_publish DAG's task would): the story goes
    #    out with its headline and brief; the cover, still queued, is left out.
    report = publish()
    assert report.stories == (STORY,)
    assert report.marked_published == (BRIEF_ID, HEADLINE)
    assert report.logged == {"published": 1}
    assert queue.get(f"{STORY}/cover").state == "queued"

    # 9. Back in the review UI, both drafts are now published, the publisher in the trail.
    page.goto(f"{base}/draft/{BRIEF_ID}")
    expect(page.locator("#state")).to_have_text("published")
    page.goto(f"{base}/draft/{HEADLINE}")
    expect(page.locator("#state")).to_have_text("published")
    expect(page.locator("#draft-text")).to_have_text(FIXED)
    expect(page.locator("#audit td.action")).to_have_text(["enqueue", "edit", "edit", "approve", "publish"])

    # 10. The public site: the index lists the story under the edited headline, and its
    #     page carries that headline, the brief and the figures it was checked against.
    page.goto(f"{site}/index.html")
    listed = page.locator("ul.stories li h2 a")
    expect(listed).to_have_text([FIXED])
    listed.click()
    expect(page).to_have_url(f"{site}/{page_path(STORY)}")
    expect(page.locator("article h1")).to_have_text(FIXED)
    expect(page.locator("article > p:not(.meta):not(.review)")).to_have_text([BRIEF])
    expect(page.locator("table.figures")).to_contain_text("83.8%")
    expect(page.locator("article p.review")).to_have_text("Reviewed by nina")
    assert "88.8%" not in page.content() and GOOD not in page.content()
    assert page.csp_errors == []

    # 11. Second thoughts: withdraw the headline, with a reason, and the next publish run
    #     takes the story off the site.
    page.goto(f"{base}/draft/{HEADLINE}")
    expect(page.locator("section.withdraw .hint")).to_contain_text("It comes off the site")
    page.get_by_label("Withdraw because").fill("the desk wants a different angle")
    page.get_by_role("button", name="Withdraw").click()
    expect(page.get_by_role("status")).to_contain_text("Withdrawn")
    expect(page.locator("#state")).to_have_text("withdrawn")
    expect(page.locator("#audit tr.action-withdraw")).to_contain_text("the desk wants a different angle")
    expect(page.locator("#withdraw-form")).to_have_count(0)
    assert queue.get(HEADLINE).state == "withdrawn"

    report = publish()
    assert report.stories == () and report.waiting == {STORY: "headline not approved"}
    assert report.removed == (page_path(STORY),) and report.logged == {"withdrawn": 1}
    assert not story_page.exists()
    response = page.goto(f"{site}/{page_path(STORY)}")
    assert response is not None and response.status == 404
    page.goto(f"{site}/index.html")
    expect(page.locator("ul.stories li")).to_have_text(["No stories have been published."])
    expect(page.get_by_role("link", name=FIXED)).to_have_count(0)
    assert warehouse.query_rows(
        "SELECT story_id, action, dag_id FROM publications WHERE output_url = {u:String} ORDER BY published_at",
        {"u": str(out)}) == [(STORY, "published", "nightdesk_publish"), (STORY, "withdrawn", "nightdesk_publish")]
    assert page.csp_errors == []


def test_cover_and_stylesheet_load_under_the_content_security_policy(served, page):
    base, _ = served
    _log_in(page, base)
    page.goto(f"{base}/draft/{STORY}/cover")
    image = page.locator("img.cover")
    expect = sync_api.expect
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth") == 64
    header_color = page.locator("header.top").evaluate("el => getComputedStyle(el).backgroundColor")
    assert header_color == "rgb(32, 37, 43)"  # review.css applied
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{base}/login")
    page.goto(f"{base}/draft/{STORY}/cover")
    expect(page).to_have_url(f"{base}/login?next=%2Fdraft%2F{STORY.replace('/', '%2F')}%2Fcover")
    assert page.csp_errors == []


SUMMARY = "United Air Lines Inc. operated 167 flights on March 1, 2013, and 83.8% of them arrived on time."
MARKETING = ("United Air Lines Inc. ran 83.8% of its flights on time on March 1, 2013, "
             "against 80.2% for all airlines.")
AMERICAN = dataclasses.replace(SHEET, story_id="carrier_spotlight/2013-03-01/AA",
                               title="American Airlines Inc. on March 1, 2013")


@pytest.fixture
def desk(tmp_path) -> Iterator[tuple[str, ReviewQueue]]:
    """A morning's queue: United's story in all five kinds (the headline by the model on
    its second attempt, the rest by the template fallback) and American's failing headline."""
    with _stores(tmp_path) as (queue, users, media):
        queue.enqueue([
            _item("headline", GOOD, generator="transformers", model_id="SmolLM2-135M", writer="model", fallback=False),
            _item("brief", BRIEF), _item("summary", SUMMARY), _item("marketing", MARKETING), _cover(media),
            _item("headline", UNBACKED, AMERICAN),
        ])
        with _serving(queue, users, media) as base:
            yield base, queue


def test_new_editor_reads_the_queue_by_story_with_the_keyboard_and_approves_a_story(desk, page):
    base, queue = desk
    expect = sync_api.expect
    united, american = f"{STORY}/", f"{AMERICAN.story_id}/"
    _log_in(page, base)

    # 1. The queue: one row group per story, titled, with who wrote each draft.
    expect(page.locator("tr.story-row a.story-link")).to_have_text(
        ["American Airlines Inc. on March 1, 2013", "United Air Lines Inc. on March 1, 2013"])
    rows = page.locator("tr.draft-row")
    expect(rows.locator("a.draft-link")).to_have_text(
        [american + "headline", *(united + k for k in ("headline", "brief", "summary", "marketing", "cover"))])
    expect(rows.locator(".badge.writer")).to_have_text(["template fallback", "model, attempt 2", *["template fallback"] * 4])

    # 2. Filters: by writer, then by verdict; each keeps the other filters' choices.
    page.get_by_label("Writer").select_option("model")
    page.get_by_role("button", name="Filter").click()
    expect(rows.locator("a.draft-link")).to_have_text([united + "headline"])
    page.get_by_label("Writer").select_option("")
    page.get_by_label("QC verdict").select_option("failed")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(f"{base}/?date=&story_type=&kind=&state=&qc=failed&writer=")
    expect(rows.locator("a.draft-link")).to_have_text([american + "headline"])
    page.get_by_role("link", name="Clear").click()
    expect(page).to_have_url(f"{base}/")
    page.wait_for_load_state("domcontentloaded")  # deferred scripts have run by then

    # 3. The keyboard (the same-origin script): j/k and the arrows move from draft to draft,
    #    x selects one for approval, Enter opens it, s opens its story.
    focused = page.locator("a.draft-link:focus")
    page.keyboard.press("j")
    expect(focused).to_have_text(american + "headline")
    page.keyboard.press("j")
    page.keyboard.press("ArrowDown")
    expect(focused).to_have_text(united + "brief")
    page.keyboard.press("k")
    expect(focused).to_have_text(united + "headline")
    page.keyboard.press("x")
    expect(page.get_by_label(f"select {united}headline")).to_be_checked()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base}/draft/{united}headline")
    page.goto(f"{base}/")
    for key in ("k", "k", "s"):  # from nowhere, k starts at the last draft: United's cover
        page.keyboard.press(key)
    expect(page).to_have_url(f"{base}/stories/{STORY}")

    # 4. The story as readers will see it: headline over the cover, brief, summary, and
    #    the marketing line as a newsletter blurb and a social post, with verdicts and writers.
    expect(page.get_by_role("heading", level=1)).to_have_text("United Air Lines Inc. on March 1, 2013")
    expect(page.locator("#preview-headline")).to_have_text(GOOD)
    cover = page.locator("#preview-cover img")
    expect(cover).to_be_visible()
    assert cover.evaluate("img => img.complete && img.naturalWidth") == 64
    assert page.locator("#preview-headline").bounding_box()["y"] < cover.bounding_box()["y"]
    expect(page.locator("#preview-brief")).to_have_text(BRIEF)
    expect(page.locator("#preview-summary")).to_have_text(SUMMARY)
    expect(page.locator("#preview-newsletter")).to_contain_text(GOOD)
    expect(page.locator("#preview-newsletter")).to_contain_text(MARKETING)
    expect(page.locator("#preview-social .post")).to_have_text(MARKETING)
    expect(page.locator("#status-headline .badge")).to_have_text(["passed", "model, attempt 2"])
    for kind in ("brief", "summary", "marketing", "cover"):
        expect(page.locator(f"#status-{kind} .badge")).to_have_text(["passed", "template fallback"])
    expect(page.locator("#facts")).to_contain_text("83.8%")

    # 5. Approve the story: every kind at once, each draft audited on its own.
    page.get_by_role("button", name="Approve the story (headline, brief, summary, marketing, cover)").click()
    expect(page.get_by_role("status")).to_have_text("Approved by you (nina): headline, brief, summary, marketing, cover.")
    expect(page).to_have_url(f"{base}/stories/{STORY}")
    expect(page.locator(".draft-status .state")).to_have_text(["approved"] * 5)
    expect(page.get_by_role("button", name="Approve the story")).to_be_disabled()
    for kind in ("headline", "brief", "summary", "marketing", "cover"):
        assert [(e.action, e.actor) for e in queue.history(united + kind)] == [("enqueue", "pipeline"),
                                                                              ("approve", "nina")]

    # 6. American's story: its failing headline cannot be approved, and the page says why.
    page.goto(f"{base}/stories/{AMERICAN.story_id}")
    for name in ("Approve the story", "Approve the headline"):
        expect(page.get_by_role("button", name=name)).to_be_disabled()
    expect(page.get_by_role("button", name="Approve the headline")).to_have_accessible_description(
        re.compile(r"^Approve is disabled: this headline fails its checks: .*unbacked figure '88\.8%'"))
    expect(page.locator("#missing-brief")).to_have_text("No brief draft for this story.")

    # 7. The policy runs the app's own script and nothing inline, even if markup got in.
    assert page.csp_errors == []
    page.goto(f"{base}/")
    ran, directive = page.evaluate("""() => new Promise(resolve => {
        document.addEventListener('securitypolicyviolation',
            event => resolve([window.inlineRan === true, event.effectiveDirective]), {once: true});
        const script = document.createElement('script');
        script.textContent = 'window.inlineRan = true';
        document.head.append(script);
    })""")
    assert (ran, directive) == (False, "script-src-elem")
