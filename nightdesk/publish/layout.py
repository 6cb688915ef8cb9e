"""Where each published file lives, and which paths the publisher may ever own.

Only three names are built from input: the page slug (sanitised to ``[a-z0-9-]`` and made
unique by a hash of the full story id), the media name (a verified sha256) and a
channel issue's date (a :class:`datetime.date`, written ISO). Every
path the publisher writes or deletes must match :func:`is_publisher_path`, including
paths read back from a manifest that someone else could have edited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

FEED_JSON = "feed.json"
ATOM = "atom.xml"
INDEX = "index.html"
MANIFEST = "manifest.json"
NEWSLETTER, SOCIAL = "newsletter", "social"

_SLUG_MAX = 80  # readable part; the hash suffix keeps long ids distinct
_HASH_CHARS = 10
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_OWNED = re.compile(
    rf"(?:{re.escape(FEED_JSON)}|{re.escape(ATOM)}|{re.escape(INDEX)}"
    r"|stories/[a-z0-9][a-z0-9-]*\.html|media/[0-9a-f]{64}\.png"
    rf"|{NEWSLETTER}/\d{{4}}-\d{{2}}-\d{{2}}\.(?:html|txt)|{SOCIAL}/\d{{4}}-\d{{2}}-\d{{2}}\.json)"
)
_SHA256 = re.compile(r"[0-9a-f]{64}")


def story_slug(story_id: str) -> str:
    """``stock_movers/2013-03-01/AAPL`` -> ``stock-movers-2013-03-01-aapl-<hash>``.

    The hash of the exact id keeps ids that sanitise alike (``a/b`` and ``a_b``) apart.
    """
    readable = _NOT_SLUG.sub("-", story_id.lower()).strip("-")[:_SLUG_MAX].rstrip("-")
    digest = hashlib.sha256(story_id.encode()).hexdigest()[:_HASH_CHARS]
    return f"{readable or 'story'}-{digest}"


def page_path(story_id: str) -> str:
    return f"stories/{story_slug(story_id)}.html"


def media_path(sha256: str) -> str:
    if not _SHA256.fullmatch(sha256):
        raise ValueError(f"media_path: {sha256!r} is not a hex sha256")
    return f"media/{sha256}.png"


def newsletter_paths(day: dt.date) -> tuple[str, str]:
    """The day's newsletter issue: HTML and plain text."""
    return f"{NEWSLETTER}/{day.isoformat()}.html", f"{NEWSLETTER}/{day.isoformat()}.txt"


def social_path(day: dt.date) -> str:
    """The day's social posts (JSON)."""
    return f"{SOCIAL}/{day.isoformat()}.json"


def is_publisher_path(relpath: str) -> bool:
    """True for the paths the publisher writes (the manifest itself excluded)."""
    return _OWNED.fullmatch(relpath) is not None
