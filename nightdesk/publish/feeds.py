"""JSON Feed 1.1 and Atom 1.0 documents for the published stories.

Both are pure functions of the stories (already in publishing order) and the site's
base URL: the feed's ``updated`` time is the newest approval, never the clock, so the
same stories always give the same bytes.

Written with the standard library rather than a feed library: feedgen (the maintained
one) writes Atom and RSS but not JSON Feed, brings lxml, and stamps the clock into
``updated`` unless told otherwise; these documents are read cleanly by feedparser at the
configured site URL (tests/test_publisher.py), so it would not be clearly better.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from nightdesk.publish.layout import ATOM, FEED_JSON, media_path, page_path
from nightdesk.publish.model import PublishedStory
from nightdesk.publish.safe_json import html_safe_json

ATOM_NS = "http://www.w3.org/2005/Atom"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # "updated" of a feed with no stories
# Characters XML 1.0 cannot carry at all; ElementTree would write them and break the feed.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def timestamp(value: dt.datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, as both feed formats expect."""
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def json_feed(stories: Sequence[PublishedStory], *, title: str, base_url: str) -> bytes:
    """A JSON Feed 1.1 document; ``base_url`` ends with ``/``. ``<``, ``>`` and ``&`` are
    escaped (:mod:`nightdesk.publish.safe_json`), so the feed can be embedded in a page."""
    items = []
    for story in stories:
        item = {
            "id": story.story_id,
            "url": base_url + page_path(story.story_id),
            "title": story.headline,
            "content_text": story.brief,
        }
        if story.summary is not None:
            item["summary"] = story.summary
        if story.cover_sha256 is not None:
            item["image"] = base_url + media_path(story.cover_sha256)
        item["date_published"] = timestamp(story.approved_at)
        item["tags"] = [story.story_type]
        item["_nightdesk"] = {
            "logical_date": story.logical_date.isoformat(),
            "reviewed_by": story.approved_by,
            "marketing": story.marketing,
        }
        items.append(item)
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "home_page_url": base_url,
        "feed_url": base_url + FEED_JSON,
        "items": items,
    }
    return html_safe_json(feed)


def atom_feed(stories: Sequence[PublishedStory], *, title: str, base_url: str) -> bytes:
    """An Atom 1.0 document; the feed id is the site URL, entry ids are the page URLs."""
    updated = max((s.approved_at for s in stories), default=_EPOCH)
    feed = ET.Element("feed", xmlns=ATOM_NS)
    _text(feed, "id", base_url)
    _text(feed, "title", title)
    _text(feed, "updated", timestamp(updated))
    author = ET.SubElement(feed, "author")
    _text(author, "name", title)
    ET.SubElement(feed, "link", rel="self", type="application/atom+xml", href=base_url + ATOM)
    ET.SubElement(feed, "link", rel="alternate", type="text/html", href=base_url)
    for story in stories:
        url = base_url + page_path(story.story_id)
        entry = ET.SubElement(feed, "entry")
        _text(entry, "id", url)
        _text(entry, "title", story.headline, type="text")
        ET.SubElement(entry, "link", rel="alternate", type="text/html", href=url)
        if story.cover is not None and story.cover_sha256 is not None:
            ET.SubElement(entry, "link", rel="enclosure", type="image/png", length=str(len(story.cover)),
                          href=base_url + media_path(story.cover_sha256))
        _text(entry, "published", timestamp(story.approved_at))
        _text(entry, "updated", timestamp(story.approved_at))
        ET.SubElement(entry, "category", term=_clean(story.story_type))
        if story.summary is not None:
            _text(entry, "summary", story.summary, type="text")
        _text(entry, "content", story.brief, type="text")
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> None:
    ET.SubElement(parent, tag, attrs).text = _clean(text)


def _clean(text: str) -> str:
    return _NOT_XML_CHAR.sub("", text)
