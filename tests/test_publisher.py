"""The publisher writes exactly the approved stories, escapes every text, and owns only its files."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import uuid
import xml.etree.ElementTree as ET
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import fsspec
import pytest

from nightdesk.publish.layout import story_slug
from nightdesk.publish.model import PublishedStory
from nightdesk.publish.site import publish

ATOM = "{http://www.w3.org/2005/Atom}"
XSS = '<script>alert("x")</script> & \'quoted\' <b>'
BASE = "https://news.example.org/"


def png(colour: tuple[int, int, int]) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 4), colour).save(out, format="PNG")
    return out.getvalue()


def story(story_id: str, *, hour: int, cover: bytes | None, headline: str = "Shares rise",
          brief: str = "Apple closed higher.\n\nVolume was heavy.",
          summary: str | None = "Apple up 2%.", marketing: str | None = "Read why Apple rose.") -> PublishedStory:
    return PublishedStory(
        story_id=story_id, story_type=story_id.split("/")[0], logical_date=dt.date.fromisoformat(story_id.split("/")[1]),
        headline=headline, brief=brief, summary=summary, marketing=marketing,
        cover=cover, cover_sha256=None if cover is None else hashlib.sha256(cover).hexdigest(),
        cover_alt=f"Chart for {story_id}", facts=[("Close", "$430.47"), ("Change", "+2.1%")],
        approved_by="Dana Editor", approved_at=dt.datetime(2013, 3, 2, hour, 0, tzinfo=dt.UTC),
    )


@pytest.fixture
def stories() -> list[PublishedStory]:
    red, blue = png((200, 30, 30)), png((30, 30, 200))
    return [
        story("stock_movers/2013-03-01/AAPL", hour=6, cover=red, headline=XSS, brief=f"Before {XSS} after."),
        story("stock_movers/2013-03-01/MSFT", hour=8, cover=blue, summary=None),
        story("daily_operations/2013-03-01/all", hour=7, cover=red),  # shares AAPL's cover
        story("carrier_spotlight/2013-03-01/UA", hour=5, cover=None, summary=XSS),
    ]


def read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def expected_paths(stories: list[PublishedStory]) -> set[str]:
    pages = {f"stories/{story_slug(s.story_id)}.html" for s in stories}
    media = {f"media/{s.cover_sha256}.png" for s in stories if s.cover_sha256}
    days = {s.logical_date.isoformat() for s in stories if s.marketing}
    channels = {f"{path}/{day}.{ext}" for day in days for path, ext in (
        ("newsletter", "html"), ("newsletter", "txt"), ("social", "json"))}
    return {"index.html", "feed.json", "atom.xml", "manifest.json"} | pages | media | channels


class InjectedMarkup(HTMLParser):
    """Collects tags and attributes that only unescaped story text could have put in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "b"):  # the templates use neither; XSS contains both
            self.found.append(tag)
        self.found += [f"{tag}[{name}]" for name, _ in attrs if name.startswith("on")]


def test_outputs_hold_exactly_the_given_stories(tmp_path, stories):
    report = publish(stories, str(tmp_path), base_url=BASE)
    files = read_tree(tmp_path)
    assert set(files) == expected_paths(stories) == set(report.written)
    assert len([p for p in files if p.startswith("media/")]) == 2  # the shared cover is stored once
    for s in stories:
        if s.cover is not None:
            assert files[f"media/{s.cover_sha256}.png"] == s.cover

    feed = json.loads(files["feed.json"])
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["feed_url"] == BASE + "feed.json"
    # approved_at descending: MSFT 08:00, daily 07:00, AAPL 06:00, UA 05:00
    assert [i["id"] for i in feed["items"]] == [
        "stock_movers/2013-03-01/MSFT", "daily_operations/2013-03-01/all",
        "stock_movers/2013-03-01/AAPL", "carrier_spotlight/2013-03-01/UA"]
    aapl = feed["items"][2]
    assert aapl["title"] == XSS and aapl["content_text"] == f"Before {XSS} after."
    assert aapl["url"] == f"{BASE}stories/{story_slug(aapl['id'])}.html"
    assert aapl["image"] == f"{BASE}media/{stories[0].cover_sha256}.png"
    assert aapl["date_published"] == "2013-03-02T06:00:00Z" and aapl["tags"] == ["stock_movers"]
    assert "summary" not in feed["items"][0] and "image" not in feed["items"][3]

    atom = ET.fromstring(files["atom.xml"])
    assert atom.tag == f"{ATOM}feed"
    assert atom.findtext(f"{ATOM}updated") == "2013-03-02T08:00:00Z"
    entries = atom.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id") for e in entries] == [i["url"] for i in feed["items"]]
    assert entries[2].findtext(f"{ATOM}title") == XSS

    index = files["index.html"].decode()
    positions = [index.index(f'href="stories/{story_slug(i["id"])}.html"') for i in feed["items"]]
    assert positions == sorted(positions)
    page = files[f"stories/{story_slug('stock_movers/2013-03-01/MSFT')}.html"].decode()
    assert f'<img src="../media/{stories[1].cover_sha256}.png" alt="Chart for stock_movers/2013-03-01/MSFT">' in page
    assert "<th scope=\"row\">Close</th><td>$430.47</td>" in page and "Reviewed by Dana Editor" in page
    assert "default-src 'self'; img-src 'self'; style-src 'unsafe-inline'" in page


def test_text_with_markup_is_escaped_in_every_html_page(tmp_path, stories):
    publish(stories, str(tmp_path), base_url=BASE)
    pages = {p: b.decode() for p, b in read_tree(tmp_path).items() if p.endswith(".html")}
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;quoted&#39; &lt;b&gt;"
    aapl = f"stories/{story_slug('stock_movers/2013-03-01/AAPL')}.html"
    ua = f"stories/{story_slug('carrier_spotlight/2013-03-01/UA')}.html"
    for path, html in pages.items():
        injected = InjectedMarkup()
        injected.feed(html)
        assert injected.found == [], path
        assert "<script" not in html.lower(), path
    for path in ("index.html", aapl, ua):
        assert escaped in pages[path], path
    assert f"Before {escaped} after." in pages[aapl]


def test_publishing_again_writes_nothing(tmp_path, stories):
    first = publish(stories, str(tmp_path), base_url=BASE)
    before = read_tree(tmp_path)
    second = publish(list(reversed(stories)), str(tmp_path), base_url=BASE)
    assert second.written == () and second.removed == ()
    assert set(second.unchanged) == set(first.written) == set(before)
    assert read_tree(tmp_path) == before


def test_withdrawn_story_disappears_with_its_unshared_media(tmp_path, stories):
    aapl, msft, daily, ua = stories
    publish(stories, str(tmp_path), base_url=BASE)
    (tmp_path / "README.txt").write_text("Served by nginx; do not delete.")
    (tmp_path / "stories" / "extra.html").write_text("<p>hand-made page</p>")

    report = publish([aapl, daily, ua], str(tmp_path), base_url=BASE)
    msft_page = f"stories/{story_slug(msft.story_id)}.html"
    assert report.removed == (f"media/{msft.cover_sha256}.png", msft_page)
    files = read_tree(tmp_path)
    assert set(files) == expected_paths([aapl, daily, ua]) | {"README.txt", "stories/extra.html"}
    assert msft.story_id not in [i["id"] for i in json.loads(files["feed.json"])["items"]]
    atom_ids = [e.findtext(f"{ATOM}id") for e in ET.fromstring(files["atom.xml"]).iter(f"{ATOM}entry")]
    assert len(atom_ids) == 3 and not any(i.endswith(msft_page) for i in atom_ids)
    assert msft_page not in files["index.html"].decode()

    report = publish([ua], str(tmp_path), base_url=BASE)  # the shared red cover goes once no story uses it
    assert f"media/{aapl.cover_sha256}.png" in report.removed
    assert not (tmp_path / "media").exists() or not any((tmp_path / "media").iterdir())
    assert (tmp_path / "README.txt").read_text() == "Served by nginx; do not delete."
    assert (tmp_path / "stories" / "extra.html").exists()
    assert json.loads((tmp_path / "manifest.json").read_text())["files"] == sorted(
        expected_paths([ua]) - {"manifest.json"})


def test_memory_filesystem(stories):
    url = f"memory://nightdesk-publish-{uuid.uuid4().hex}/site"
    fs, root = fsspec.core.url_to_fs(url)
    try:
        first = publish(stories, url, base_url=BASE)
        assert {p[len(root) + 1:] for p in fs.find(root)} == expected_paths(stories)
        assert len(json.loads(fs.cat_file(f"{root}/feed.json"))["items"]) == 4
        assert publish(stories, url, base_url=BASE).written == ()
        assert publish(stories[1:], url, base_url=BASE).removed == (f"stories/{story_slug(stories[0].story_id)}.html",)
        assert first.output_url == url
    finally:
        fs.rm(root.rsplit("/", 1)[0], recursive=True)


def test_slugs_are_safe_and_distinct():
    ids = ["../../etc/passwd", "a/b", "a_b", "A/B", "<script>", "", "x" * 500]
    slugs = [story_slug(i) for i in ids]
    assert len(set(slugs)) == len(ids)
    for slug in slugs:
        assert set(slug) <= set("abcdefghijklmnopqrstuvwxyz0123456789-") and len(slug) <= 91
    assert story_slug("stock_movers/2013-03-01/AAPL").startswith("stock-movers-2013-03-01-aapl-")


def test_a_hand_edited_manifest_is_refused_rather_than_trusted(tmp_path, stories):
    (tmp_path / "keep.txt").write_text("mine")
    (tmp_path / "manifest.json").write_text(json.dumps({"version": 1, "files": ["keep.txt"]}))
    with pytest.raises(ValueError, match="keep.txt"):
        publish(stories, str(tmp_path), base_url=BASE)
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_stories_are_validated(stories):
    aapl = stories[0]
    with pytest.raises(ValueError, match="does not match"):
        replace(aapl, cover_sha256="0" * 64)
    with pytest.raises(ValueError, match="not PNG"):
        replace(aapl, cover=b"GIF89a", cover_sha256=hashlib.sha256(b"GIF89a").hexdigest())
    with pytest.raises(ValueError, match="time zone"):
        replace(aapl, approved_at=dt.datetime(2013, 3, 2, 6))
    with pytest.raises(ValueError, match="given twice"):
        publish([aapl, aapl], "memory://never-written", base_url=BASE)
    local = replace(aapl, approved_at=dt.datetime(2013, 3, 2, 8, tzinfo=dt.timezone(dt.timedelta(hours=2))))
    assert local.approved_at == dt.datetime(2013, 3, 2, 6, tzinfo=dt.UTC) and local.approved_at.tzinfo is dt.UTC


# -- the site's address, the feeds as a feed reader sees them, the marketing channels --------

SITE = "https://news.example.org/desk/"
HOSTILE_ID = 'stock_movers/2013-03-01/</script><script>alert(1)</script>&amp;'


@pytest.mark.parametrize("value, expected", [
    ("https://news.example.org/desk", "https://news.example.org/desk/"),
    ("  http://localhost:8080/ ", "http://localhost:8080/"),
    ("", ""),
])
def test_site_url_setting_is_normalised(monkeypatch, value, expected):
    from nightdesk.settings import get_settings

    monkeypatch.setenv("NIGHTDESK_SITE_URL", value)
    assert get_settings().site_url == expected


@pytest.mark.parametrize("value", [
    "news.example.org", "/desk/", "ftp://news.example.org/", "javascript:alert(1)//", "https://",
    "https://dana:secret@news.example.org/", "https://news.example.org/?utm=1", "https://news.example.org/#top",
    "https://news example.org/", "https://news.example.org:99999/",
])
def test_a_bad_site_url_is_refused_naming_the_variable(monkeypatch, value):
    from nightdesk.settings import get_settings

    monkeypatch.setenv("NIGHTDESK_SITE_URL", value)
    with pytest.raises(ValueError, match="NIGHTDESK_SITE_URL"):
        get_settings()


def test_only_the_demo_publishes_without_a_site_url(monkeypatch, tmp_path):
    from nightdesk.settings import get_settings

    monkeypatch.delenv("NIGHTDESK_SITE_URL", raising=False)
    monkeypatch.setenv("NIGHTDESK_OUTPUT_URL", str(tmp_path / "public"))
    assert get_settings().site_base_url() == (tmp_path / "public").as_uri() + "/"  # the demo: links open from disk
    with pytest.raises(ValueError, match="NIGHTDESK_SITE_URL is not set.*NIGHTDESK_OUTPUT_URL is 'memory://site'"):
        get_settings().site_base_url("memory://site")
    monkeypatch.setenv("CLICKHOUSE_URL", "http://clickhouse:8123")
    with pytest.raises(ValueError, match="NIGHTDESK_SITE_URL is not set.*CLICKHOUSE_URL is set"):
        get_settings().site_base_url()
    monkeypatch.setenv("NIGHTDESK_SITE_URL", SITE)
    assert get_settings().site_base_url() == SITE


def test_feeds_parse_in_a_feed_reader_with_the_configured_site_url(tmp_path, stories, monkeypatch):
    import feedparser

    from nightdesk.settings import get_settings

    monkeypatch.setenv("NIGHTDESK_SITE_URL", SITE.rstrip("/"))
    publish(stories, str(tmp_path), base_url=get_settings().site_base_url())
    parsed = feedparser.parse((tmp_path / "atom.xml").read_bytes())
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert (parsed.feed.id, parsed.feed.link, parsed.feed.title) == (SITE, SITE, "Nightdesk")
    assert {link.rel: link.href for link in parsed.feed.links} == {"self": SITE + "atom.xml", "alternate": SITE}
    feed = json.loads((tmp_path / "feed.json").read_bytes())
    assert (feed["home_page_url"], feed["feed_url"]) == (SITE, SITE + "feed.json")
    assert [e.id for e in parsed.entries] == [e.link for e in parsed.entries] == [i["url"] for i in feed["items"]]
    by_title = {e.title: e for e in parsed.entries}
    aapl = by_title[XSS]  # markup in a headline is text to the reader, not markup
    assert aapl.link == f"{SITE}stories/{story_slug(stories[0].story_id)}.html"
    assert aapl.published_parsed[:4] == (2013, 3, 2, 6)
    assert [(e.href, e.type) for e in aapl.enclosures] == [(f"{SITE}media/{stories[0].cover_sha256}.png", "image/png")]
    assert aapl.content[0].value == f"Before {XSS} after." and aapl.tags[0].term == "stock_movers"
    for item in feed["items"]:
        assert all(item[key].startswith(SITE) for key in ("url", "image") if key in item)
        assert (tmp_path / item["url"].removeprefix(SITE)).is_file()


def test_json_output_escapes_markup_so_a_page_can_embed_it(tmp_path, stories):
    hostile = story(HOSTILE_ID, hour=9, cover=stories[0].cover, headline=XSS, marketing=f"Buy {XSS} now")
    publish([*stories, hostile], str(tmp_path), base_url=BASE)
    for name in ("feed.json", "social/2013-03-01.json"):
        raw = (tmp_path / name).read_bytes()
        assert not {b"<", b">", b"&"} & {bytes([c]) for c in raw}, name
        assert b"\\u003c/script\\u003e" in raw and b"\\u0026amp;" in raw, name
        body = json.loads(raw)
        items = body["items"] if name == "feed.json" else body["posts"]
        assert items[0]["id"] == HOSTILE_ID and items[0]["title"] == XSS, name
    assert json.loads((tmp_path / "social/2013-03-01.json").read_bytes())["posts"][0]["text"] == f"Buy {XSS} now"


def test_each_days_marketing_lines_make_its_newsletter_and_social_posts(tmp_path, stories):
    aapl, msft, daily, ua = stories
    quiet = replace(ua, marketing=None)  # a published story without an approved marketing line
    hostile = replace(msft, marketing=f"Why {XSS} matters")
    earlier = story("stock_movers/2013-02-28/AAPL", hour=4, cover=None, marketing="Apple's February close")
    publish([aapl, hostile, daily, quiet, earlier], str(tmp_path), base_url=BASE)

    social = json.loads((tmp_path / "social/2013-03-01.json").read_bytes())
    assert (social["date"], social["site"]) == ("2013-03-01", BASE)
    posts = {p["id"]: p for p in social["posts"]}
    assert list(posts) == [msft.story_id, daily.story_id, aapl.story_id]  # publishing order; UA has no line
    assert posts[msft.story_id] == {
        "id": msft.story_id, "text": f"Why {XSS} matters", "url": f"{BASE}stories/{story_slug(msft.story_id)}.html",
        "title": "Shares rise", "image": f"{BASE}media/{msft.cover_sha256}.png",
        "image_alt": f"Chart for {msft.story_id}", "tags": ["stock_movers"], "date_published": "2013-03-02T08:00:00Z",
        "reviewed_by": "Dana Editor"}
    assert [p["id"] for p in json.loads((tmp_path / "social/2013-02-28.json").read_bytes())["posts"]] == [
        earlier.story_id]

    text = (tmp_path / "newsletter/2013-03-01.txt").read_text()
    assert text.startswith("Nightdesk newsletter, March 1, 2013\n")
    assert f"Shares rise\nWhy {XSS} matters\nRead the story: {BASE}stories/{story_slug(msft.story_id)}.html" in text
    assert story_slug(ua.story_id) not in text and "February" not in text and text.count("Read the story: ") == 3
    page = (tmp_path / "newsletter/2013-03-01.html").read_text()
    injected = InjectedMarkup()
    injected.feed(page)
    assert injected.found == [] and "Why &lt;script&gt;" in page
    links = [f'href="{BASE}stories/{story_slug(s.story_id)}.html"' for s in (msft, daily, aapl)]
    assert [page.index(link) for link in links] == sorted(page.index(link) for link in links)
    assert f'href="{BASE}index.html"' in page and "Nightdesk newsletter" in page

    again = publish([earlier, quiet, daily, hostile, aapl], str(tmp_path), base_url=BASE)
    assert again.written == () and again.removed == ()

    # A withdrawn story leaves its day's issue; a day with no line left has no issue.
    report = publish([aapl, daily, quiet], str(tmp_path), base_url=BASE)
    assert set(report.removed) >= {"newsletter/2013-02-28.html", "newsletter/2013-02-28.txt", "social/2013-02-28.json"}
    assert [p["id"] for p in json.loads((tmp_path / "social/2013-03-01.json").read_bytes())["posts"]] == [
        daily.story_id, aapl.story_id]
    assert story_slug(msft.story_id) not in (tmp_path / "newsletter/2013-03-01.txt").read_text()
    assert story_slug(msft.story_id) not in (tmp_path / "newsletter/2013-03-01.html").read_text()
    report = publish([quiet], str(tmp_path), base_url=BASE)
    assert {"newsletter/2013-03-01.html", "newsletter/2013-03-01.txt", "social/2013-03-01.json"} <= set(report.removed)
    assert set(read_tree(tmp_path)) == expected_paths([quiet])
