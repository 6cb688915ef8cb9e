"""Each day's approved marketing lines in their channels: a newsletter issue and social posts.

A story's marketing line goes out once the story is published (headline and brief
approved) and the line itself is approved. The lines of one logical date make that day's
issue: ``newsletter/DATE.html`` and ``newsletter/DATE.txt`` (one entry per story, linked to
its page) and ``social/DATE.json`` (one post per story). Nothing here sends anything: the
files are for a mailer or a scheduler to pick up. Like the pages, they are a pure function
of the published stories, so they follow approvals and withdrawals, and a day with no
line left has no files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from nightdesk.publish.feeds import timestamp
from nightdesk.publish.layout import INDEX, NEWSLETTER, SOCIAL, media_path, newsletter_paths, page_path, social_path
from nightdesk.publish.model import PublishedStory
from nightdesk.publish.pages import date_text, newsletter_page
from nightdesk.publish.safe_json import html_safe_json

CHANNELS = (NEWSLETTER, SOCIAL)
_SOCIAL_VERSION = 1


@dataclass(frozen=True)
class ChannelIssue:
    """One channel's issue for one day: the stories with a marketing line, in publishing order."""

    channel: str
    day: dt.date
    stories: tuple[PublishedStory, ...]

    @property
    def issue_id(self) -> str:
        """``newsletter/2013-03-01``: the id the ``publications`` log keeps the issue under."""
        return f"{self.channel}/{self.day.isoformat()}"

    @property
    def paths(self) -> tuple[str, ...]:
        return newsletter_paths(self.day) if self.channel == NEWSLETTER else (social_path(self.day),)

    @property
    def marketing_draft_ids(self) -> tuple[str, ...]:
        return tuple(sorted(f"{story.story_id}/marketing" for story in self.stories))


def channel_issues(ordered: Sequence[PublishedStory]) -> list[ChannelIssue]:
    """Every channel's issue for every day that has a marketing line (by day, then channel)."""
    by_day: dict[dt.date, list[PublishedStory]] = {}
    for story in ordered:
        if story.marketing is not None and story.marketing.strip():
            by_day.setdefault(story.logical_date, []).append(story)
    return [ChannelIssue(channel, day, tuple(by_day[day])) for day in sorted(by_day) for channel in CHANNELS]


def channel_files(issue: ChannelIssue, *, site_title: str, base_url: str) -> dict[str, bytes]:
    """The issue's files, relative path -> bytes; every link is absolute (``base_url``)."""
    if issue.channel == NEWSLETTER:
        html_path, text_path = issue.paths
        return {
            html_path: newsletter_page(issue.stories, day=issue.day, site_title=site_title, base_url=base_url),
            text_path: newsletter_text(issue.stories, day=issue.day, site_title=site_title, base_url=base_url),
        }
    return {social_path(issue.day): social_posts(issue.stories, day=issue.day, base_url=base_url)}


def newsletter_text(stories: Sequence[PublishedStory], *, day: dt.date, site_title: str, base_url: str) -> bytes:
    """The plain-text part of the issue: each story's headline, line and link."""
    lines = [f"{site_title} newsletter, {date_text(day)}", ""]
    for story in stories:
        lines += [story.headline, story.marketing or "", f"Read the story: {base_url}{page_path(story.story_id)}", ""]
    lines += ["--", f"{site_title}: data stories, each reviewed by an editor before publication.",
              f"Every story: {base_url}{INDEX}"]
    return ("\n".join(lines) + "\n").encode()


def social_posts(stories: Sequence[PublishedStory], *, day: dt.date, base_url: str) -> bytes:
    """One post per story: the marketing line, the page's URL and the cover, if any."""
    posts = []
    for story in stories:
        post: dict[str, object] = {
            "id": story.story_id,
            "text": story.marketing,
            "url": base_url + page_path(story.story_id),
            "title": story.headline,
        }
        if story.cover_sha256 is not None:
            post["image"] = base_url + media_path(story.cover_sha256)
            post["image_alt"] = story.cover_alt
        post["tags"] = [story.story_type]
        post["date_published"] = timestamp(story.approved_at)
        post["reviewed_by"] = story.approved_by
        posts.append(post)
    return html_safe_json({"version": _SOCIAL_VERSION, "date": day.isoformat(), "site": base_url, "posts": posts})
