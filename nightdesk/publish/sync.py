"""Make a directory hold exactly the publisher's files, touching nothing else in it.

``manifest.json`` lists the files the publisher owns. A run first adds the files it is
about to create to the manifest, then writes, then deletes the owned files no longer
wanted, then records the final list: a run cut short at any point leaves every file it
created listed, so the next run can still clean it up, and a file the publisher never
listed (a README someone put there) is never deleted. Files are compared byte for byte
and only changed ones are written, each under a temporary name moved into place so a
reader never sees a half-written page or feed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping

import fsspec
from fsspec import AbstractFileSystem

from nightdesk.publish.layout import MANIFEST, is_publisher_path
from nightdesk.publish.model import PublishReport

_MANIFEST_VERSION = 1


def sync_directory(output_url: str, files: Mapping[str, bytes]) -> PublishReport:
    """Write ``files`` (relative path -> bytes) under ``output_url`` and delete owned leftovers."""
    stray = sorted(p for p in files if not is_publisher_path(p))
    if stray:
        raise ValueError(f"sync_directory: refusing to write paths the publisher does not own: {stray}")
    target = _Target(output_url)
    owned = target.read_manifest()
    wanted = set(files)
    manifest_written = target.write_if_changed(MANIFEST, _manifest(owned | wanted))
    written, unchanged = [], []
    for relpath in sorted(files):
        (written if target.write_if_changed(relpath, files[relpath]) else unchanged).append(relpath)
    removed = [relpath for relpath in sorted(owned - wanted) if target.remove(relpath)]
    manifest_written = target.write_if_changed(MANIFEST, _manifest(wanted)) or manifest_written
    (written if manifest_written else unchanged).append(MANIFEST)
    return PublishReport(output_url=output_url, written=tuple(sorted(written)),
                         unchanged=tuple(sorted(unchanged)), removed=tuple(removed))


def _manifest(relpaths: set[str]) -> bytes:
    body = {"version": _MANIFEST_VERSION, "generator": "nightdesk.publish", "files": sorted(relpaths)}
    return (json.dumps(body, indent=2) + "\n").encode()


class _Target:
    """The output directory; every path it touches is ``<root>/<checked relpath>``."""

    def __init__(self, output_url: str) -> None:
        self.url = output_url
        self.fs: AbstractFileSystem
        self.fs, root = fsspec.core.url_to_fs(output_url)
        self.root = root.rstrip("/")

    def path(self, relpath: str) -> str:
        return f"{self.root}/{relpath}"

    def read_manifest(self) -> set[str]:
        """The owned paths; a manifest naming a path the publisher never writes is an error."""
        where = self.fs.unstrip_protocol(self.path(MANIFEST))
        try:
            raw = self.fs.cat_file(self.path(MANIFEST))
        except FileNotFoundError:
            return set()
        try:
            body = json.loads(raw)
            files = body["files"]
            version = body["version"]
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"publisher manifest {where} is not a valid manifest: {exc}") from exc
        if version != _MANIFEST_VERSION or not isinstance(files, list):
            raise ValueError(f"publisher manifest {where}: unsupported version {version!r} or 'files' not a list")
        foreign = sorted(str(p) for p in files if not isinstance(p, str) or not is_publisher_path(p))
        if foreign:
            raise ValueError(f"publisher manifest {where} lists paths the publisher never writes: {foreign}; "
                             "it was edited by hand, restore or delete it")
        return set(files)

    def write_if_changed(self, relpath: str, data: bytes) -> bool:
        """Write ``data`` unless the file already holds exactly these bytes; True if written."""
        path = self.path(relpath)
        try:
            if self.fs.cat_file(path) == data:
                return False
        except FileNotFoundError:
            pass
        self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        partial = f"{path}.{uuid.uuid4().hex}.partial"
        try:
            self.fs.pipe_file(partial, data)
            self.fs.mv(partial, path)
        except BaseException:
            if self.fs.exists(partial):
                self.fs.rm_file(partial)
            raise
        return True

    def remove(self, relpath: str) -> bool:
        """Delete an owned file; False if it is already gone."""
        path = self.path(relpath)
        if not self.fs.exists(path):
            return False
        self.fs.rm_file(path)
        return True
