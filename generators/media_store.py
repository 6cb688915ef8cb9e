"""Content-addressed storage for generated media (cover images, cards) on any fsspec store.

Files are named by the sha256 of their bytes, so storing the same image twice costs
nothing and a name can never point at different content. Reads accept only such names:
a relative path from a database row or a web request cannot walk out of the store.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass

import fsspec

from nightdesk.settings import get_settings

_SUFFIX = re.compile(r"\.[a-z0-9]{1,8}")
_RELPATH = re.compile(r"(?P<shard>[0-9a-f]{2})/(?P<sha>[0-9a-f]{64})\.[a-z0-9]{1,8}")


def relpath_for(sha256: str, suffix: str = ".png") -> str:
    """The store's name for content with this sha256: ``<sha[:2]>/<sha><suffix>``."""
    return f"{sha256[:2]}/{sha256}{suffix}"


def relpath_in(url: str) -> str | None:
    """The store name a stored file's URL ends with (``ab/<sha256>.png``), or ``None``."""
    match = _RELPATH.search(url or "")
    if match is None or match.end() != len(url) or not match["sha"].startswith(match["shard"]):
        return None
    return match.group(0)


@dataclass(frozen=True)
class StoredMedia:
    """Where one stored file lives: ``url`` for readers, ``relpath`` for :meth:`MediaStore.open`."""

    url: str
    relpath: str
    sha256: str
    size_bytes: int


class MediaStore:
    """A directory of content-named files, local or remote.

    :param base_url: an fsspec URL or local path (``s3://bucket/media``, ``memory://m``,
        ``/srv/media``). Default: the ``media_url`` setting (``NIGHTDESK_MEDIA_URL``,
        else ``<data_dir>/media``).
    """

    def __init__(self, base_url: str | None = None) -> None:
        if base_url is None:
            base_url = get_settings().media_url
        self.base_url = base_url
        self._fs, root = fsspec.core.url_to_fs(base_url)
        self._root = root.rstrip("/")

    def put(self, data: bytes, suffix: str = ".png") -> StoredMedia:
        """Store ``data`` under ``<sha[:2]>/<sha><suffix>``; existing content is not rewritten."""
        if not _SUFFIX.fullmatch(suffix):
            raise ValueError(f"MediaStore.put: suffix must be like '.png' (1-8 of a-z0-9), got {suffix!r}")
        sha = hashlib.sha256(data).hexdigest()
        relpath = relpath_for(sha, suffix)
        path = f"{self._root}/{relpath}"
        if not self._fs.exists(path):
            # Write aside, then move into place, so a reader never sees a half-written
            # file under a name that promises complete content.
            self._fs.makedirs(f"{self._root}/{sha[:2]}", exist_ok=True)
            partial = f"{path}.{uuid.uuid4().hex}.partial"
            self._fs.pipe_file(partial, data)
            self._fs.mv(partial, path)
        return StoredMedia(url=self._fs.unstrip_protocol(path), relpath=relpath, sha256=sha, size_bytes=len(data))

    def open(self, relpath: str) -> bytes:
        """The bytes stored at ``relpath``; anything but a ``ab/<sha256>.<ext>`` name is refused."""
        match = _RELPATH.fullmatch(relpath)
        if match is None or not match["sha"].startswith(match["shard"]):
            raise ValueError(f"MediaStore.open: {relpath!r} is not a stored media name like 'ab/<sha256>.png'")
        return self._fs.cat_file(f"{self._root}/{relpath}")
