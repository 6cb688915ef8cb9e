"""Approved drafts -> the public site, and a log of every change of it (``publications``).

A story goes public when its **headline and brief** are approved (``approved`` or
``edited_approved``, or already ``published``); its summary, marketing line and cover
go with it when they are approved too, and are simply left out otherwise. The site is
always written from *all* currently publishable stories (every date), because the
publisher makes the output hold exactly the stories it is given: a story whose headline
or brief was withdrawn is not given, so its page disappears from the site and feeds.

:func:`release` reads top to bottom in numbered steps:

1. gather the publishable drafts from the review queue and group them per story;
2. build each :class:`~nightdesk.publish.model.PublishedStory` (facts from the fact
   sheet's display values, the cover's bytes from the media store, the approving
   editors and time from the audit trail);
3. write the site with :func:`nightdesk.publish.publish`, each day's approved marketing
   lines included as its newsletter issue and social posts;
4. mark the drafts that went out ``published`` in the queue;
5. log each story and each channel issue whose files changed in ``publications``:
   ``published``, ``updated`` or ``withdrawn``.

Idempotent: publishing the same approvals again rewrites no file, marks nothing and
logs nothing (a story's row is compared with its last row for the same ``output_url``,
so a task retried after a crash logs what it missed and no more). A story that cannot
be built (its cover missing from the media store, or not the image that was approved)
is held back and named in the report; :func:`release` publishes everything else first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from nightdesk.warehouse.clickhouse import Warehouse
from nightdesk.settings import WAREHOUSE_DIR, get_settings
from nightdesk.stories.catalog import COVER_KIND
from nightdesk.stories.factsheet import FactSheet

if TYPE_CHECKING:
    import pandas as pd

    from generators.media_store import MediaStore

    from nightdesk.publish.model import PublishedStory
    from nightdesk.review.queue import ReviewQueue
    from nightdesk.review.views import AuditEventView, ItemView

log = logging.getLogger(__name__)

LATEST_SQL = WAREHOUSE_DIR / "sql" / "publications_latest.sql"
#: Kinds without which a story is not published; the others are optional.
REQUIRED_KINDS = ("headline", "brief")
_APPROVED = frozenset({"approved", "edited_approved", "published"})
PUBLISHED, UPDATED, WITHDRAWN = "published", "updated", "withdrawn"


@dataclass(frozen=True)
class StoryRelease:
    """A story ready to publish and the drafts it is made of."""

    story: PublishedStory
    draft_ids: tuple[str, ...]


@dataclass(frozen=True)
class ReleaseReport:
    """What one :func:`release` did.

    :param stories: ids of the stories now on the site.
    :param waiting: story id -> why it is not published yet (a required draft not approved).
    :param broken: story id -> why an approved story could not be built (needs a person).
    :param marked_published: drafts moved to ``published`` in the queue by this run.
    :param logged: ``publications`` rows written, per action.
    """

    output_url: str
    stories: tuple[str, ...]
    written: tuple[str, ...]
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]
    marked_published: tuple[str, ...]
    logged: dict[str, int] = field(default_factory=dict)
    waiting: dict[str, str] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        """True when the site, the queue or the log changed."""
        return bool(self.written or self.removed or self.marked_published or any(self.logged.values()))


def release(wh: Warehouse, queue: ReviewQueue | None = None, *, output_url: str | None = None,
            site_url: str | None = None, media_url: str | None = None, dag_id: str = "", dag_run_id: str = "",
            clock: Callable[[], dt.datetime] | None = None) -> ReleaseReport:
    """Publish every publishable story to ``output_url`` and log what changed.

    :param queue: the review queue; default the one ``NIGHTDESK_REVIEW_DB_URL`` names.
    :param output_url: the site (fsspec URL or path); default ``settings.output_url``.
        One site per URL: its ``publications`` history is kept per URL.
    :param site_url: where that site is served, ending with ``/``; default
        ``settings.site_base_url()`` (``NIGHTDESK_SITE_URL``, required outside the demo).
    :param media_url: the media store holding the covers; default ``settings.media_url``.
    :param dag_id: recorded in ``publications`` with ``dag_run_id``.
    """
    from generators.media_store import MediaStore
    from nightdesk.publish import site
    from nightdesk.review.queue import ReviewQueue

    settings = get_settings()
    output_url = output_url or settings.output_url
    base_url = site_url or settings.site_base_url(output_url)  # before anything is opened: a missing address fails first
    queue = queue or ReviewQueue()
    now = (clock or (lambda: dt.datetime.now(dt.UTC)))()

    # 1. the publishable drafts, per story
    items = queue.publishable()
    # 2. the stories
    releases, waiting, broken = build_releases(items, queue, MediaStore(media_url or settings.media_url))
    # 3. the site: pages, feeds, covers and each day's newsletter and social posts
    report = site.publish([r.story for r in releases], output_url, base_url=base_url)
    # 4. the queue
    by_id = {item.draft_id: item for item in items}
    to_mark = [d for r in releases for d in r.draft_ids if by_id[d].state != "published"]
    if to_mark:
        queue.publish(to_mark)
    # 5. the log
    rows = publication_rows(wh, logged_units(releases, items, queue, output_url), output_url, now=now, dag_id=dag_id,
                            dag_run_id=dag_run_id)
    wh.insert_df("publications", rows)
    logged = rows["action"].value_counts().to_dict() if len(rows) else {}
    for story_id, why in broken.items():
        log.error("story %s was approved but NOT published: %s", story_id, why)
    return ReleaseReport(
        output_url=output_url, stories=tuple(sorted(r.story.story_id for r in releases)),
        written=report.written, unchanged=report.unchanged, removed=report.removed,
        marked_published=tuple(sorted(to_mark)), logged={k: int(v) for k, v in logged.items()},
        waiting=waiting, broken=broken,
    )


def build_releases(items: Iterable[ItemView], queue: ReviewQueue,
                   media: MediaStore) -> tuple[list[StoryRelease], dict[str, str], dict[str, str]]:
    """Group publishable drafts per story and build the stories that have what they need.

    Returns the releases, the stories still waiting (required kind not approved) and
    the stories that are approved but could not be built, each with the reason.
    """
    grouped: dict[str, dict[str, ItemView]] = defaultdict(dict)
    for item in items:
        if item.state in _APPROVED:
            grouped[item.story_id][item.kind] = item
    approvals = queue.approvals([i.draft_id for parts in grouped.values() for i in parts.values()])
    releases: list[StoryRelease] = []
    waiting: dict[str, str] = {}
    broken: dict[str, str] = {}
    for story_id in sorted(grouped):
        parts = grouped[story_id]
        missing = [k for k in REQUIRED_KINDS if k not in parts]
        if missing:
            waiting[story_id] = f"{' and '.join(missing)} not approved"
            continue
        try:
            releases.append(build_release(parts, approvals, media))
        except (ValueError, OSError) as exc:  # a missing or altered cover
            broken[story_id] = str(exc)
    return releases, waiting, broken


def build_release(parts: dict[str, ItemView], approvals: Mapping[str, AuditEventView],
                  media: MediaStore) -> StoryRelease:
    """One story from its approved drafts (``kind -> item``; headline and brief present)."""
    from nightdesk.publish.model import PublishedStory

    headline = parts["headline"]
    sheet = FactSheet.from_json(headline.facts_json)
    cover = parts.get(COVER_KIND)
    cover_bytes = None
    if cover is not None:
        try:
            cover_bytes = media.open(cover.media_relpath)
        except FileNotFoundError as exc:
            raise ValueError(f"cover {cover.media_relpath!r} of {cover.draft_id} is not in the media store "
                             f"{media.base_url}") from exc
    approvers, approved_at = _approvals(parts.values(), approvals)
    story = PublishedStory(
        story_id=headline.story_id,
        story_type=headline.story_type,
        logical_date=headline.logical_date,
        headline=headline.text,
        brief=parts["brief"].text,
        summary=parts["summary"].text if "summary" in parts else None,
        marketing=parts["marketing"].text if "marketing" in parts else None,
        cover=cover_bytes,
        cover_sha256=cover.media_sha256 if cover is not None else None,
        cover_alt=cover.text if cover is not None else "",
        facts=[(fact.label or fact.name, fact.display) for fact in sheet.facts],
        approved_by=", ".join(approvers),
        approved_at=approved_at,
    )
    return StoryRelease(story, tuple(sorted(item.draft_id for item in parts.values())))


def _approvals(items: Iterable[ItemView], approvals: Mapping[str, AuditEventView]) -> tuple[list[str], dt.datetime]:
    """The editors who approved the drafts (sorted) and the latest approval time.

    Read from the audit trail (the last ``approve`` of each draft) rather than the row's
    ``decided_*`` fields, so publishing, which is also a decision, never changes them:
    the feeds are dated by approval and must not change when nothing was re-approved.
    """
    editors: set[str] = set()
    latest: dt.datetime | None = None
    for item in items:
        if (approval := approvals.get(item.draft_id)) is not None:
            editor, at = approval.actor, approval.at
        elif item.decided_by and item.decided_at:
            editor, at = item.decided_by, item.decided_at
        else:
            raise ValueError(f"{item.draft_id} is {item.state} but no approval is recorded")
        editors.add(editor)
        latest = at if latest is None or at > latest else latest
    assert latest is not None  # a story has at least its headline and brief
    return sorted(editors), latest


@dataclass(frozen=True)
class LoggedUnit:
    """What one ``publications`` row is about: a story, or a day's issue of a channel.

    A channel issue (``newsletter/2013-03-01``, ``social/2013-03-01``) is logged like a
    story, under its issue id with ``story_type`` the channel's name, so it is published,
    updated and withdrawn by the same comparison with its last row.
    """

    unit_id: str
    unit_type: str
    logical_date: dt.date
    draft_ids: tuple[str, ...]
    paths: tuple[str, ...]
    sha256s: tuple[str, ...]
    approved_by: str
    approved_at: dt.datetime


def logged_units(releases: Sequence[StoryRelease], items: Sequence[ItemView], queue: ReviewQueue,
                 output_url: str) -> list[LoggedUnit]:
    """Every story on the site and every channel issue, with their files as written.

    :param items: the publishable drafts the releases were built from.
    """
    from nightdesk.publish.channels import channel_issues
    from nightdesk.publish.layout import media_path, page_path

    read = _file_reader(output_url)
    units = []
    for release_ in releases:
        story = release_.story
        paths, shas = [page_path(story.story_id)], [read(page_path(story.story_id))]
        if story.cover_sha256 is not None:
            paths.append(media_path(story.cover_sha256))
            shas.append(story.cover_sha256)  # checked against the bytes when the story was built
        units.append(LoggedUnit(story.story_id, story.story_type, story.logical_date, release_.draft_ids,
                                tuple(paths), tuple(shas), story.approved_by, story.approved_at))
    issues = channel_issues([r.story for r in releases])
    marketing = {d for issue in issues for d in issue.marketing_draft_ids}
    approvals = queue.approvals(sorted(marketing))
    by_id = {item.draft_id: item for item in items}
    for issue in issues:
        editors, at = _approvals([by_id[d] for d in issue.marketing_draft_ids], approvals)
        units.append(LoggedUnit(issue.issue_id, issue.channel, issue.day, issue.marketing_draft_ids, issue.paths,
                                tuple(read(path) for path in issue.paths), ", ".join(editors), at))
    return units


def _file_reader(output_url: str) -> Callable[[str], str]:
    """``relpath -> sha256`` of a file under ``output_url``, read back as written."""
    import fsspec

    fs, root = fsspec.core.url_to_fs(output_url)
    return lambda relpath: hashlib.sha256(fs.cat_file(f"{root.rstrip('/')}/{relpath}")).hexdigest()


def publication_rows(wh: Warehouse, units: Sequence[LoggedUnit], output_url: str, *, now: dt.datetime,
                     dag_id: str, dag_run_id: str) -> pd.DataFrame:
    """``publications`` rows for the stories and issues whose files changed since their last row."""
    import pandas as pd

    latest = {r["story_id"]: r for r in wh.query_df(LATEST_SQL.read_text(), {"url": output_url}).to_dict("records")}
    rows = []
    current = set()

    def row(action: str, unit_id: str, unit_type: str, logical_date: dt.date, draft_ids: Sequence[str],
            paths: Sequence[str], shas: Sequence[str], approved_by: str, approved_at: dt.datetime | None) -> dict:
        return {
            "publication_id": uuid.uuid4().hex, "output_url": output_url, "story_id": unit_id,
            "story_type": unit_type, "logical_date": logical_date, "action": action,
            "draft_ids": list(draft_ids), "paths": list(paths), "sha256s": list(shas),
            "content_sha256": content_digest(paths, shas), "approved_by": approved_by,
            "approved_at": approved_at, "published_at": now, "dag_id": dag_id, "dag_run_id": dag_run_id,
        }

    for unit in units:
        current.add(unit.unit_id)
        last = latest.get(unit.unit_id)
        if (last is not None and last["action"] != WITHDRAWN
                and last["content_sha256"] == content_digest(unit.paths, unit.sha256s)):
            continue
        action = PUBLISHED if last is None or last["action"] == WITHDRAWN else UPDATED
        rows.append(row(action, unit.unit_id, unit.unit_type, unit.logical_date, unit.draft_ids,
                        unit.paths, unit.sha256s, unit.approved_by, unit.approved_at))
    for unit_id, last in sorted(latest.items()):
        if unit_id not in current and last["action"] != WITHDRAWN:
            logical_date = last["logical_date"]
            rows.append(row(WITHDRAWN, unit_id, last["story_type"],
                            logical_date.date() if hasattr(logical_date, "date") else logical_date,
                            list(last["draft_ids"]), list(last["paths"]), list(last["sha256s"]), "", None))
    return pd.DataFrame(rows)


def content_digest(paths: Sequence[str], shas: Sequence[str]) -> str:
    """One hash of a story's files: equal exactly when the same files hold the same bytes."""
    return hashlib.sha256("\n".join(f"{p} {s}" for p, s in zip(paths, shas, strict=True)).encode()).hexdigest()
