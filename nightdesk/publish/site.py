"""Publish approved stories as a static site: pages, feeds and cover images.

The output is a pure function of the stories, so publishing the same stories again
rewrites nothing, and a story that is no longer passed in (withdrawn) disappears from
the pages and feeds, with its page and any cover no other story uses deleted.

Layout under ``output_url``::

    index.html               latest first
    stories/<slug>.html      one page per story
    media/<sha256>.png       covers, named by content
    feed.json                JSON Feed 1.1
    atom.xml                 Atom 1.0
    newsletter/<date>.html   each day's approved marketing lines, linked to the stories
    newsletter/<date>.txt    the same issue as plain text
    social/<date>.json       one post per story with an approved marketing line
    manifest.json            the files above that the publisher owns
"""

from __future__ import annotations

from collections.abc import Sequence

from nightdesk.publish.channels import channel_files, channel_issues
from nightdesk.publish.feeds import atom_feed, json_feed
from nightdesk.publish.layout import ATOM, FEED_JSON, INDEX, media_path, page_path
from nightdesk.publish.model import PublishedStory, PublishReport
from nightdesk.publish.pages import index_page, story_page
from nightdesk.publish.sync import sync_directory


def publish(stories: Sequence[PublishedStory], output_url: str, *, base_url: str,
            site_title: str = "Nightdesk") -> PublishReport:
    """Make ``output_url`` (an fsspec URL or local path) hold exactly these stories.

    :param base_url: where the site is served (``Settings.site_base_url()``); every absolute
        link (feeds, newsletter, social posts) starts with it. Pages link relatively.
    :raises ValueError: two stories share an id or a page name, or the manifest is not ours.
    """
    ordered = publishing_order(stories)
    base = base_url if base_url.endswith("/") else base_url + "/"
    return sync_directory(output_url, site_files(ordered, site_title=site_title, base_url=base))


def publishing_order(stories: Sequence[PublishedStory]) -> list[PublishedStory]:
    """Latest approval first, ties by story id; duplicate ids (or page names) are refused."""
    pages: dict[str, str] = {}
    for story in stories:
        page = page_path(story.story_id)
        if pages.get(page) == story.story_id:
            raise ValueError(f"publish: story {story.story_id!r} is given twice")
        if page in pages:
            raise ValueError(f"publish: stories {pages[page]!r} and {story.story_id!r} "
                             f"would both be published as {page}")
        pages[page] = story.story_id
    by_id = sorted(stories, key=lambda s: s.story_id)
    return sorted(by_id, key=lambda s: s.approved_at, reverse=True)


def site_files(ordered: Sequence[PublishedStory], *, site_title: str, base_url: str) -> dict[str, bytes]:
    """Every file of the site, relative path -> bytes, for stories in publishing order."""
    files = {
        INDEX: index_page(ordered, site_title=site_title),
        FEED_JSON: json_feed(ordered, title=site_title, base_url=base_url),
        ATOM: atom_feed(ordered, title=site_title, base_url=base_url),
    }
    for story in ordered:
        files[page_path(story.story_id)] = story_page(story, site_title=site_title)
        if story.cover is not None and story.cover_sha256 is not None:
            files[media_path(story.cover_sha256)] = story.cover
    for issue in channel_issues(ordered):
        files.update(channel_files(issue, site_title=site_title, base_url=base_url))
    return files
