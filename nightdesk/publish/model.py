"""What the publisher takes in and what it reports.

A :class:`PublishedStory` is checked when it is built, so everything downstream can
rely on it: the cover is PNG bytes whose sha256 is the recorded one (the sha names the
media file, so it must never be taken on trust), and ``approved_at`` is a UTC instant
(feeds are ordered and dated by it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class PublishedStory:
    """One approved story with every text and image that goes public.

    Texts are plain text written by models and editors; they are escaped wherever they
    are written out, never trusted as markup.

    :param story_id: stable id, e.g. ``stock_movers/2013-03-01/AAPL``.
    :param facts: ``(label, display)`` pairs for the "The figures" box, in display order.
    :param cover: PNG bytes, or ``None`` for a story without a cover.
    :param cover_sha256: hex sha256 of ``cover`` (``None`` when there is no cover).
    :param approved_at: when the editor approved it; a timezone-aware datetime, kept in UTC.
    """

    story_id: str
    story_type: str
    logical_date: dt.date
    headline: str
    brief: str
    summary: str | None
    marketing: str | None
    cover: bytes | None
    cover_sha256: str | None
    cover_alt: str
    facts: Sequence[tuple[str, str]]
    approved_by: str
    approved_at: dt.datetime

    def __post_init__(self) -> None:
        where = f"PublishedStory {self.story_id!r}"
        if not self.story_id.strip():
            raise ValueError("PublishedStory: story_id is empty")
        if not self.headline.strip():
            raise ValueError(f"{where}: headline is empty")
        if not self.approved_by.strip():
            raise ValueError(f"{where}: approved_by is empty; every published story names its editor")
        if self.approved_at.tzinfo is None or self.approved_at.utcoffset() is None:
            raise ValueError(f"{where}: approved_at {self.approved_at.isoformat()} has no time zone")
        object.__setattr__(self, "approved_at", self.approved_at.astimezone(dt.UTC))
        facts = tuple((str(label), str(display)) for label, display in self.facts)
        object.__setattr__(self, "facts", facts)
        self._check_cover(where)

    def _check_cover(self, where: str) -> None:
        if self.cover is None:
            if self.cover_sha256 is not None:
                raise ValueError(f"{where}: cover_sha256 is set but there is no cover")
            return
        if not self.cover.startswith(_PNG_SIGNATURE):
            raise ValueError(f"{where}: cover is not PNG data")
        actual = hashlib.sha256(self.cover).hexdigest()
        if self.cover_sha256 is None or not _SHA256.fullmatch(self.cover_sha256) or self.cover_sha256 != actual:
            raise ValueError(f"{where}: cover_sha256 {self.cover_sha256!r} does not match the cover bytes ({actual})")


@dataclass(frozen=True)
class PublishReport:
    """What one publish did, as paths relative to the output directory (sorted)."""

    output_url: str
    written: tuple[str, ...]
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]
