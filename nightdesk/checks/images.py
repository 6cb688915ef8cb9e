"""Checks on a generated cover image (PNG or JPEG bytes).

A cover goes to readers as it is, so it must decode, have the size the layout expects,
show something (a blank or single-colour frame is what a failed diffusion run often
returns), not be flagged by the model's safety checker, and not be an image that was
already published (the sha256 of the bytes). Pillow is imported only inside functions.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Collection
from typing import TYPE_CHECKING

from nightdesk.checks.result import CheckResult, Finding

if TYPE_CHECKING:
    from PIL.Image import Image

# Pixel standard deviation (0-255 scale) below which an image counts as blank: JPEG noise
# on a flat colour stays under 2; any real picture or chart is far above 10.
DEFAULT_MIN_STD = 5.0
_FORMATS = ("PNG", "JPEG")


def image_sha256(data: bytes) -> str:
    """The hex sha256 of the image bytes, as recorded for published covers."""
    return hashlib.sha256(data).hexdigest()


def check_image(data: bytes, *, expected_size: tuple[int, int], nsfw: bool | None,
                published_hashes: Collection[str], min_std: float = DEFAULT_MIN_STD) -> list[CheckResult]:
    """All image checks. Size and blankness need pixels, so they are left out when the bytes do not decode.

    :param expected_size: ``(width, height)`` in pixels.
    :param nsfw: the safety checker's verdict; ``None`` when no checker ran.
    :param published_hashes: hex sha256 digests of covers already published.
    """
    image, decoded = _decode(data)
    results = [decoded]
    if image is not None:
        results += [_size(image, expected_size), _not_blank(image, min_std)]
    return [*results, _safety(nsfw), _unique(data, published_hashes)]


def _decode(data: bytes) -> tuple[Image | None, CheckResult]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            probe.verify()
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        return None, CheckResult.of("image_decodes", [Finding(f"image does not decode ({len(data)} bytes): {exc}")])
    if kind not in _FORMATS:
        return None, CheckResult.of("image_decodes", [Finding(f"image is {kind}, expected one of {_FORMATS}")])
    return image, CheckResult.of("image_decodes", [])


def _size(image: Image, expected: tuple[int, int]) -> CheckResult:
    width, height = image.size
    findings = [] if (width, height) == tuple(expected) else [
        Finding(f"image is {width}x{height}, expected {expected[0]}x{expected[1]}")
    ]
    return CheckResult.of("image_size", findings)


def _not_blank(image: Image, min_std: float) -> CheckResult:
    from PIL import ImageStat

    spread = max(ImageStat.Stat(image.convert("RGB")).stddev)
    findings = [] if spread >= min_std else [
        Finding(f"image is blank or near-uniform: pixel standard deviation {spread:.2f} < {min_std}")
    ]
    return CheckResult.of("image_not_blank", findings)


def _safety(nsfw: bool | None) -> CheckResult:
    if nsfw is None:
        return CheckResult.of("image_safety", [Finding("no safety checker ran on this image", severity="warn")])
    return CheckResult.of("image_safety", [Finding("the safety checker flagged the image as NSFW")] if nsfw else [])


def _unique(data: bytes, published_hashes: Collection[str]) -> CheckResult:
    digest = image_sha256(data)
    published = {h.lower() for h in published_hashes}
    findings = [Finding(f"image sha256 {digest} was already published")] if digest in published else []
    return CheckResult.of("image_unique", findings)
