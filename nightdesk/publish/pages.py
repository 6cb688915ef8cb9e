"""The HTML pages: an index of the stories, one page per story and each day's newsletter.

Rendered by Jinja2 with autoescaping on and no ``|safe`` anywhere: every text is plain
text from a model or an editor and may contain markup that must show as text. Pages
carry a Content-Security-Policy that forbids scripts, as a second line of defence.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, Template

from nightdesk.publish.layout import INDEX, media_path, page_path
from nightdesk.publish.model import PublishedStory
from nightdesk.stories.factsheet import format_value

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def index_page(stories: Sequence[PublishedStory], *, site_title: str) -> bytes:
    """The front page: stories in the order given (latest first), linked to their pages."""
    entries = [
        {"story": s, "href": page_path(s.story_id), "date": date_text(s.logical_date),
         "teaser": s.summary if s.summary is not None else s.brief}
        for s in stories
    ]
    return _render("index.html", site_title=site_title, page_title=site_title, home="index.html",
                   entries=entries)


def story_page(story: PublishedStory, *, site_title: str) -> bytes:
    """One story's page; it lives in ``stories/``, so links to the root go up one level."""
    return _render(
        "story.html",
        site_title=site_title,
        page_title=f"{story.headline} | {site_title}",
        home="../index.html",
        story=story,
        date=date_text(story.logical_date),
        description=next(t for t in (story.marketing, story.summary, story.brief) if t is not None),
        cover_src=None if story.cover_sha256 is None else f"../{media_path(story.cover_sha256)}",
        brief=paragraphs(story.brief),
        summary=paragraphs(story.summary or ""),
    )


def newsletter_page(stories: Sequence[PublishedStory], *, day: dt.date, site_title: str, base_url: str) -> bytes:
    """A day's newsletter issue: each story's headline linked to its page, and its marketing line.

    It is mailed as well as served, so every link is absolute (``base_url``).
    """
    date = date_text(day)
    entries = [{"story": s, "href": base_url + page_path(s.story_id)} for s in stories]
    return _render("newsletter.html", site_title=site_title, page_title=f"{site_title} newsletter, {date}",
                   home=base_url + INDEX, day=day, date=date, entries=entries)


def paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs, stripped; the empty text has none."""
    return [p.strip() for p in _PARAGRAPH_BREAK.split(text) if p.strip()]


def date_text(day: dt.date) -> str:
    """A logical date as the pages write it (``March 1, 2013``)."""
    return format_value("date", day, None, None)


def _render(name: str, **context: object) -> bytes:
    return _template(name).render(**context).encode()


@cache
def _template(name: str) -> Template:
    env = Environment(
        loader=PackageLoader("nightdesk.publish", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env.get_template(name)
