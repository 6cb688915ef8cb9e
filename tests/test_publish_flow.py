"""From checked drafts to the review queue, and from editors' approvals to the public site.

One scenario for one date, run through Airflow (``dag.test``) on the session's embedded
warehouse, with its own review store and output directory:

1. ELT and content (template writer and chart covers: no model) -> drafts in the queue;
2. editors decide: story A fully approved (its headline edited first), B headline and
   brief only, C headline only (must wait), D's brief rejected;
3. publish; publish again (must change nothing); approve A's marketing line and withdraw
   B's headline; publish a third time (A updated, B gone, the day's newsletter and social
   posts out with A's line); withdraw that line and publish once more (in-process
   ``release()``): the day's newsletter and social posts are gone.

The site is configured with ``NIGHTDESK_SITE_URL``, and its Atom feed read by feedparser.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from nightdesk.publish.layout import media_path, page_path

DAY = dt.date(2013, 1, 16)  # a Wednesday with stock prices; no other test writes content for it
EARLIER = dt.date(2013, 1, 15)  # loaded too, so stock moves have a previous close (only its ELT runs)
ATOM = "{http://www.w3.org/2005/Atom}"
EDITOR = "dana"
BASE_URL = "https://news.example.org/nightdesk/"  # NIGHTDESK_SITE_URL, set by the scenario


def tree(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``root``: bytes and modification time (ns)."""
    return {p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def feed_ids(root: Path) -> set[str]:
    return {item["id"] for item in json.loads((root / "feed.json").read_text())["items"]}


def atom_pages(root: Path) -> set[str]:
    """The page of each Atom entry (entry ids are the pages' absolute URLs)."""
    entries = ET.parse(root / "atom.xml").getroot().iter(f"{ATOM}entry")
    return {e.findtext(f"{ATOM}id").removeprefix(BASE_URL) for e in entries}


def publications(wh, output_url: Path) -> list[tuple]:
    return wh.query_rows(
        "SELECT story_id, action, paths, sha256s, draft_ids, approved_by FROM publications "
        "WHERE output_url = {u:String} ORDER BY published_at, story_id", {"u": str(output_url)})


class Scenario:
    """What the module fixture did and saw, step by step (attributes set as it goes)."""


@pytest.fixture(scope="module")
def site_address():
    """The public address the module's site is served from (``NIGHTDESK_SITE_URL``)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NIGHTDESK_SITE_URL", BASE_URL)
        yield BASE_URL


@pytest.fixture(scope="module")
def scenario(template_night, warehouse, site_address):
    from nightdesk.review.queue import ReviewQueue
    from nightdesk.review.recheck import recheck, sibling_texts
    from nightdesk.review_flow.enqueue import enqueue_date
    from nightdesk.review_flow.events import export_events
    from nightdesk.review_flow.release import release

    s = Scenario()
    s.url, s.out, run_dag = template_night
    assert run_dag("nightdesk_elt", EARLIER).ok
    assert run_dag("nightdesk_elt", DAY).ok
    s.content = run_dag("nightdesk_content", DAY)
    q = ReviewQueue(s.url)
    s.events_after_dag = len(q.events_since(0))
    s.enqueue_again = enqueue_date(warehouse, DAY, q)
    s.events_after_rerun = len(q.events_since(0))

    # 2. editors decide
    items = {i.draft_id: i for i in q.list(limit=1000)}
    s.n_items = len(items)
    stories = sorted({i.story_id for i in items.values()
                      if all(items[f"{i.story_id}/{k}"].qc_passed for k in ("headline", "brief", "cover"))})
    assert len(stories) >= 4, stories
    edits = {sid: items[f"{sid}/headline"].text + " — the figures" for sid in stories}
    s.A = next(sid for sid in stories
               if recheck(items[f"{sid}/headline"], edits[sid], sibling_texts(q, items[f"{sid}/headline"]))[0])
    s.B, s.C, s.D = [sid for sid in stories if sid != s.A][:3]
    head = items[f"{s.A}/headline"]
    passed, qc = recheck(head, edits[s.A], sibling_texts(q, head))  # as the review UI calls it
    q.edit(head.draft_id, EDITOR, head.version, edits[s.A], qc_passed=passed, qc_json=qc)
    s.edited_headline = edits[s.A]
    for kind in ("headline", "brief", "summary", "cover"):
        d = q.get(f"{s.A}/{kind}")
        q.approve(d.draft_id, EDITOR, d.version)
    for kind in ("headline", "brief"):
        d = q.get(f"{s.B}/{kind}")
        q.approve(d.draft_id, "lee", d.version)
    d = q.get(f"{s.C}/headline")
    q.approve(d.draft_id, EDITOR, d.version)
    d = q.get(f"{s.D}/brief")
    q.reject(d.draft_id, EDITOR, d.version, "repeats the headline")
    d = q.get(f"{s.D}/headline")
    q.approve(d.draft_id, EDITOR, d.version)

    # 3. publish, twice, then change decisions and publish again
    s.first = run_dag("nightdesk_publish", DAY)
    s.tree1, s.feed1, s.atom1 = tree(s.out), json.loads((s.out / "feed.json").read_text()), atom_pages(s.out)
    s.states1 = {i.draft_id: i.state for i in q.list(limit=1000)}
    s.pub1 = publications(warehouse, s.out)
    s.second = run_dag("nightdesk_publish", DAY)
    s.tree2, s.pub2 = tree(s.out), publications(warehouse, s.out)
    s.publish_events2 = sum(e.action == "publish" for e in q.events_since(0))

    d = q.get(f"{s.A}/marketing")
    q.approve(d.draft_id, EDITOR, d.version)
    s.marketing = d.text
    d = q.get(f"{s.B}/headline")
    q.withdraw(d.draft_id, EDITOR, d.version, "wrong airline named")
    s.third = run_dag("nightdesk_publish", DAY)
    s.tree3, s.feed3 = tree(s.out), json.loads((s.out / "feed.json").read_text())
    s.pub3 = publications(warehouse, s.out)
    s.channels3 = {p: s.tree3[p][0] for p in s.tree3 if p.startswith(("newsletter/", "social/"))}

    d = q.get(f"{s.A}/marketing")
    q.withdraw(d.draft_id, EDITOR, d.version, "the offer ended")
    s.fourth = release(warehouse, q, dag_id="nightdesk_publish", dag_run_id="channels-withdrawn")
    export_events(warehouse, q, url=s.url)  # as the DAG's export step would
    s.tree4, s.pub4 = tree(s.out), publications(warehouse, s.out)
    s.audit = q.events_since(0)
    s.queue = q
    yield s


# -- 1. enqueue ----------------------------------------------------------------------

def test_content_run_enqueues_every_checked_draft(scenario, warehouse):
    assert scenario.content.ok, scenario.content.failed_tasks
    drafts = dict(warehouse.query_rows(
        "SELECT draft_id, status FROM drafts FINAL WHERE logical_date = {d:Date}", {"d": DAY}))
    items = {i.draft_id: i for i in scenario.queue.list(limit=1000)}
    assert set(items) == set(drafts) and len(items) == 5 * len({i.story_id for i in items.values()})
    for draft_id, status in drafts.items():
        assert items[draft_id].qc_passed == (status == "checked_ok"), draft_id


def test_queue_items_carry_check_results_and_cover_media(scenario, warehouse):
    from generators.media_store import MediaStore

    checks = {}
    for draft_id, name in warehouse.query_rows(
            "SELECT c.draft_id, c.check_name FROM draft_checks AS c FINAL "
            "JOIN (SELECT draft_id, generation_id FROM drafts FINAL WHERE logical_date = {d:Date}) AS d "
            "ON c.draft_id = d.draft_id AND c.generation_id = d.generation_id WHERE c.logical_date = {d:Date}",
            {"d": DAY}):
        checks.setdefault(draft_id, set()).add(name)
    store = MediaStore()
    for item in scenario.queue.list(limit=1000):
        results = json.loads(item.qc_json)
        assert {r["name"] for r in results} == checks[item.draft_id]
        assert all(set(r) == {"name", "passed", "findings", "verified"} for r in results)
        assert item.qc_passed == all(r["passed"] for r in results)
        assert item.generator and item.model_id and item.attempts >= 1
        if item.kind == "cover":
            data = store.open(item.media_relpath)
            assert hashlib.sha256(data).hexdigest() == item.media_sha256
            assert item.text.endswith(".") and ", on a data card" in item.text and "http" not in item.text
        else:
            assert item.media_relpath == "" and item.text.strip()


def test_enqueue_again_adds_nothing(scenario):
    report = scenario.enqueue_again
    assert (report.added, report.refreshed) == (0, 0)
    assert report.unchanged == scenario.n_items
    assert scenario.events_after_rerun == scenario.events_after_dag


# -- 2. publish ----------------------------------------------------------------------

def test_site_holds_exactly_the_stories_with_approved_headline_and_brief(scenario):
    s = scenario
    assert s.first.ok, s.first.failed_tasks
    assert {i["id"] for i in s.feed1["items"]} == {s.A, s.B}
    assert s.atom1 == {page_path(s.A), page_path(s.B)}
    pages = {p for p in s.tree1 if p.startswith("stories/")}
    assert pages == {page_path(s.A), page_path(s.B)}
    cover = s.queue.get(f"{s.A}/cover")
    assert {p for p in s.tree1 if p.startswith("media/")} == {media_path(cover.media_sha256)}
    assert hashlib.sha256(s.tree1[media_path(cover.media_sha256)][0]).hexdigest() == cover.media_sha256


def test_published_stories_show_the_approved_texts(scenario):
    s = scenario
    items = {i["id"]: i for i in s.feed1["items"]}
    a, b = items[s.A], items[s.B]
    assert a["title"] == s.edited_headline
    assert a["content_text"] == s.queue.get(f"{s.A}/brief").text
    assert a["summary"] == s.queue.get(f"{s.A}/summary").text and "summary" not in b
    assert "image" in a and "image" not in b
    assert a["_nightdesk"]["marketing"] is None and a["_nightdesk"]["reviewed_by"] == EDITOR
    assert b["_nightdesk"]["reviewed_by"] == "lee"
    page = s.tree1[page_path(s.A)][0].decode()
    assert html.escape(s.edited_headline, quote=False) in page
    facts = json.loads(s.queue.get(f"{s.A}/headline").facts_json)["facts"]
    assert all(html.escape(f["display"], quote=False) in page for f in facts)


def test_only_the_published_drafts_are_marked_published(scenario):
    s = scenario
    published = {d for d, state in s.states1.items() if state == "published"}
    assert published == {f"{s.A}/{k}" for k in ("headline", "brief", "summary", "cover")} | {
        f"{s.B}/headline", f"{s.B}/brief"}
    assert s.states1[f"{s.C}/headline"] == "approved"
    assert s.states1[f"{s.D}/headline"] == "approved" and s.states1[f"{s.D}/brief"] == "rejected"
    assert s.states1[f"{s.A}/headline"] == "published"
    assert s.queue.get(f"{s.A}/headline").edited


def test_publishing_again_changes_nothing(scenario):
    s = scenario
    assert s.second.ok, s.second.failed_tasks
    assert s.tree2 == s.tree1  # same bytes and same modification times: nothing rewritten
    assert s.pub2 == s.pub1
    assert s.publish_events2 == 6  # once per published draft, not again


def test_withdrawn_story_disappears_and_update_is_published(scenario):
    s = scenario
    assert s.third.ok, s.third.failed_tasks
    assert feed_ids(s.out) == {s.A} and atom_pages(s.out) == {page_path(s.A)}
    assert page_path(s.B) not in s.tree3 and page_path(s.A) in s.tree3
    assert s.feed3["items"][0]["_nightdesk"]["marketing"] == s.marketing
    assert s.queue.get(f"{s.B}/headline").state == "withdrawn"


def test_the_days_marketing_line_goes_out_as_newsletter_and_social_post(scenario):
    s = scenario
    assert set(s.channels3) == {f"newsletter/{DAY}.html", f"newsletter/{DAY}.txt", f"social/{DAY}.json"}
    a_page = BASE_URL + page_path(s.A)
    posts = json.loads(s.channels3[f"social/{DAY}.json"])["posts"]
    assert [(p["id"], p["text"], p["url"]) for p in posts] == [(s.A, s.marketing, a_page)]
    assert f"{s.edited_headline}\n{s.marketing}\nRead the story: {a_page}\n" in s.channels3[f"newsletter/{DAY}.txt"].decode()
    assert f'href="{a_page}"' in s.channels3[f"newsletter/{DAY}.html"].decode()


def test_a_withdrawn_marketing_line_takes_the_days_issue_down(scenario):
    s = scenario
    assert s.fourth.removed == (f"newsletter/{DAY}.html", f"newsletter/{DAY}.txt", f"social/{DAY}.json")
    assert not any(p.startswith(("newsletter/", "social/")) for p in s.tree4)
    assert s.fourth.logged == {"withdrawn": 2, "updated": 1}  # the issues, and A's page (its description)
    assert [(sid, action) for sid, action, *_ in s.pub4[len(s.pub3):]] == sorted([
        (s.A, "updated"), (f"newsletter/{DAY}", "withdrawn"), (f"social/{DAY}", "withdrawn")])


def test_the_atom_feed_reads_in_a_feed_reader_at_the_site_url(scenario):
    import feedparser

    parsed = feedparser.parse((scenario.out / "atom.xml").read_bytes())
    assert parsed.bozo == 0 and parsed.version == "atom10"
    assert parsed.feed.link == BASE_URL
    assert [(e.link, e.title) for e in parsed.entries] == [(BASE_URL + page_path(scenario.A), scenario.edited_headline)]


# -- 3. the warehouse ----------------------------------------------------------------

def test_publications_log_every_change_once(scenario):
    s = scenario
    assert [(sid, action) for sid, action, *_ in s.pub1] == sorted([(s.A, "published"), (s.B, "published")])
    assert [(sid, action) for sid, action, *_ in s.pub3[2:]] == sorted([
        (s.A, "updated"), (s.B, "withdrawn"), (f"newsletter/{DAY}", "published"), (f"social/{DAY}", "published")])
    latest_a = next(r for r in reversed(s.pub3) if r[0] == s.A)
    _, _, paths, shas, draft_ids, approved_by = latest_a
    cover = s.queue.get(f"{s.A}/cover")
    assert list(paths) == [page_path(s.A), media_path(cover.media_sha256)]
    assert list(shas) == [hashlib.sha256(s.tree3[p][0]).hexdigest() for p in paths]
    assert set(draft_ids) == {f"{s.A}/{k}" for k in ("headline", "brief", "summary", "marketing", "cover")}
    assert approved_by == EDITOR
    withdrawn = next(r for r in s.pub3 if r[1] == "withdrawn")
    assert list(withdrawn[2]) == [page_path(s.B)]
    newsletter = next(r for r in s.pub3 if r[0] == f"newsletter/{DAY}")
    assert list(newsletter[2]) == [f"newsletter/{DAY}.html", f"newsletter/{DAY}.txt"]
    assert list(newsletter[3]) == [hashlib.sha256(s.channels3[p]).hexdigest() for p in newsletter[2]]
    assert (list(newsletter[4]), newsletter[5]) == ([f"{s.A}/marketing"], EDITOR)


def test_review_events_mirror_the_audit_trail_without_duplicates(scenario, warehouse):
    from nightdesk.review_flow.events import export_events, store_name

    s = scenario
    rows = warehouse.query_rows(
        "SELECT event_id, action, actor, draft_id, story_id, content_kind, logical_date, from_state, to_state "
        "FROM review_events FINAL WHERE review_store = {s:String} ORDER BY event_id", {"s": store_name(s.url)})
    assert [r[0] for r in rows] == [e.id for e in s.audit]
    assert {r[1] for r in rows} >= {"enqueue", "edit", "approve", "reject", "publish", "withdraw"}
    by_id = {e.id: e for e in s.audit}
    for event_id, action, actor, draft_id, story_id, kind, logical_date, from_state, to_state in rows:
        event = by_id[event_id]
        assert (action, actor, draft_id, to_state) == (event.action, event.actor, event.draft_id, event.to_state)
        assert (from_state or None) == event.from_state
        assert draft_id == f"{story_id}/{kind}" and logical_date == DAY
    again = export_events(warehouse, s.queue, url=s.url)
    assert again["exported"] == 0
    total = warehouse.scalar("SELECT count() FROM review_events WHERE review_store = {s:String}",
                             {"s": store_name(s.url)})
    assert total == len(s.audit)


# -- 4. the parts on their own -------------------------------------------------------

def test_cover_names_must_match_their_hash():
    from nightdesk.review_flow.enqueue import media_name

    sha = hashlib.sha256(b"x").hexdigest()
    assert media_name(f"file:///srv/media/{sha[:2]}/{sha}.png", sha) == f"{sha[:2]}/{sha}.png"
    with pytest.raises(ValueError, match="not a media store name"):
        media_name(f"file:///srv/media/{sha[:2]}/{sha}.png", "0" * 64, draft_id="s/cover")
    with pytest.raises(ValueError, match="not a media store name"):
        media_name("file:///etc/passwd", sha)


def test_an_approved_story_whose_cover_is_missing_is_held_back(warehouse, tmp_path):
    """The other stories still go out; the broken one is named in the report, not published."""
    from generators.media_store import MediaStore
    from nightdesk.review.queue import ReviewQueue
    from nightdesk.review.views import NewItem
    from nightdesk.review_flow.release import release
    from nightdesk.stories.factsheet import Fact, FactSheet

    day = dt.date(2013, 1, 2)
    media = MediaStore(str(tmp_path / "media"))
    missing_sha = hashlib.sha256(b"never stored").hexdigest()
    queue = ReviewQueue(f"sqlite:///{tmp_path / 'review.sqlite'}")
    items = []
    for key in ("ok", "broken"):
        sheet = FactSheet(f"unit/{day}/{key}", "unit", day.isoformat(), f"Unit {key}",
                          (Fact("flights", "count", 12, "12 flights", "flights", None, "Flights"),))
        for kind in ("headline", "brief", "cover"):
            cover = kind == "cover" and key == "broken"
            items.append(NewItem(
                draft_id=f"{sheet.story_id}/{kind}", logical_date=day, story_id=sheet.story_id, story_type="unit",
                kind=kind, text=f"{kind} of {key}: 12 flights", facts_json=sheet.to_json(), qc_passed=True,
                qc_json="[]", attempts=1, generator="template", model_id="template", writer="template", fallback=False,
                failed_attempts=0,
                media_relpath=f"{missing_sha[:2]}/{missing_sha}.png" if cover else "",
                media_sha256=missing_sha if cover else ""))
    items = [i for i in items if not (i.kind == "cover" and i.story_id.endswith("/ok"))]
    queue.enqueue(items)
    for item in items:
        queue.approve(item.draft_id, EDITOR, queue.get(item.draft_id).version)

    report = release(warehouse, queue, output_url=str(tmp_path / "site"), media_url=media.base_url)
    assert report.stories == (f"unit/{day}/ok",)
    assert list(report.broken) == [f"unit/{day}/broken"]
    assert "not in the media store" in report.broken[f"unit/{day}/broken"]
    assert feed_ids(tmp_path / "site") == {f"unit/{day}/ok"}
    assert queue.get(f"unit/{day}/broken/headline").state == "approved"
    assert release(warehouse, queue, output_url=str(tmp_path / "site"), media_url=media.base_url).changed is False


def test_publishing_without_a_site_url_outside_the_demo_fails_naming_it(warehouse, tmp_path, monkeypatch):
    from nightdesk.review_flow.release import release

    monkeypatch.delenv("NIGHTDESK_SITE_URL", raising=False)
    monkeypatch.setenv("NIGHTDESK_REVIEW_DB_URL", f"sqlite:///{tmp_path / 'review.sqlite'}")
    with pytest.raises(ValueError, match="NIGHTDESK_SITE_URL is not set"):
        release(warehouse, output_url=f"memory://nightdesk-no-address-{tmp_path.name}/site")
    assert not (tmp_path / "review.sqlite").exists()  # it failed before opening anything
