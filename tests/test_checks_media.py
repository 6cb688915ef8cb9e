"""Model- and media-backed checks: near-duplicates with the real sentence-embedding model,
and cover images as PNG/JPEG bytes."""

from __future__ import annotations

import io
import random

import pytest

from nightdesk.checks import passed, run_image_checks
from nightdesk.checks.images import image_sha256
from nightdesk.checks.similarity import NearDuplicateChecker

RECENT_UNITED = (
    "United Air Lines Inc. operated 167 flights from the New York airports on March 1, 2013, and 83.8% of "
    "them arrived on time. Its busiest route was EWR-IAH."
)
PARAPHRASE = (
    "On March 1, 2013, United Air Lines Inc. flew 167 flights out of the New York airports, and 83.8% of "
    "them arrived on time. EWR-IAH was its busiest route."
)
NEXT_DAY = (
    "United Air Lines Inc. operated 152 flights from the New York airports on March 2, 2013, and 79.6% of "
    "them arrived on time. Its busiest route was EWR-SFO."
)
STOCK = "Shares of AAPL fell 2.48% on March 1, 2013, closing at $430.47 on volume of 11,523,400 shares."


@pytest.fixture(scope="session")
def near_duplicates() -> NearDuplicateChecker:
    """One checker for the session; the model itself is cached per process on first use."""
    checker = NearDuplicateChecker(threshold=0.92)
    checker.embed(["warm-up"])
    return checker


# --- near-duplicates -------------------------------------------------------------------


def test_embeddings_are_unit_length_and_meaningful(near_duplicates):
    vectors = near_duplicates.embed([RECENT_UNITED, PARAPHRASE, STOCK])
    assert tuple(vectors.shape) == (3, 384)
    assert vectors.norm(dim=1).sub(1).abs().max() < 1e-5
    close, far = float(vectors[0] @ vectors[1]), float(vectors[0] @ vectors[2])
    assert close > 0.92 > 0.5 > far


def test_near_duplicate_of_a_recent_text_fails(near_duplicates):
    result = near_duplicates.check(PARAPHRASE, [STOCK, RECENT_UNITED])
    assert not result.passed
    [finding] = result.details
    assert finding.message.startswith("near-duplicate of recent item #1 (cosine similarity 0.9")


def test_exact_repeat_fails(near_duplicates):
    assert not near_duplicates.check(RECENT_UNITED, [RECENT_UNITED]).passed


def test_other_stories_pass(near_duplicates):
    assert near_duplicates.check(STOCK, [RECENT_UNITED, PARAPHRASE]).passed


def test_same_template_with_new_figures_is_news_not_a_duplicate(near_duplicates):
    """The next day's story from the same template scores ~0.99, so figures decide."""
    vectors = near_duplicates.embed([NEXT_DAY, RECENT_UNITED])
    score = float(vectors[0] @ vectors[1])
    assert score >= near_duplicates.threshold
    assert near_duplicates.check(NEXT_DAY, [RECENT_UNITED]).passed
    semantic_only = NearDuplicateChecker(threshold=0.92, compare_figures=False)
    assert not semantic_only.check(NEXT_DAY, [RECENT_UNITED]).passed


def test_nothing_recent_passes_without_loading_the_model(tmp_path):
    checker = NearDuplicateChecker(model_dir=tmp_path / "no-model-here")  # loading it would raise
    assert checker.check(PARAPHRASE, ["", "  "]).details == []
    with pytest.raises(FileNotFoundError, match="no-model-here"):
        checker.check(PARAPHRASE, [RECENT_UNITED])


def test_threshold_is_validated():
    with pytest.raises(ValueError, match="threshold"):
        NearDuplicateChecker(threshold=1.5)


# --- images ----------------------------------------------------------------------------


def _image_bytes(fill: str, size: tuple[int, int] = (64, 48), fmt: str = "PNG", seed: int = 0) -> bytes:
    """A picture: ``fill`` "noise" (random pixels), "flat" (one colour) or "almost-flat" (±1 noise)."""
    from PIL import Image

    rng = random.Random(seed)
    width, height = size
    if fill == "noise":
        pixels = bytes(rng.randrange(256) for _ in range(width * height * 3))
    elif fill == "almost-flat":
        pixels = bytes(128 + rng.choice((-1, 0, 1)) for _ in range(width * height * 3))
    else:
        pixels = bytes([200, 30, 30]) * (width * height)
    buffer = io.BytesIO()
    Image.frombytes("RGB", size, pixels).save(buffer, format=fmt)
    return buffer.getvalue()


def _by_name(results) -> dict[str, list[str]]:
    return {r.name: [f"{f.severity}: {f.message}" for f in r.details] for r in results}


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_good_cover_passes(fmt):
    results = run_image_checks(_image_bytes("noise", fmt=fmt), expected_size=(64, 48), nsfw=False,
                               published_hashes=set())
    assert _by_name(results) == {"image_decodes": [], "image_size": [], "image_not_blank": [], "image_safety": [],
                                 "image_unique": []}
    assert passed(results)


@pytest.mark.parametrize("fill", ["flat", "almost-flat"])
def test_blank_image_fails(fill):
    results = run_image_checks(_image_bytes(fill), expected_size=(64, 48), nsfw=False, published_hashes=())
    [message] = _by_name(results)["image_not_blank"]
    assert message.startswith("fail: image is blank or near-uniform")
    assert not passed(results)


def test_blank_jpeg_fails_despite_compression_noise():
    results = run_image_checks(_image_bytes("flat", fmt="JPEG"), expected_size=(64, 48), nsfw=False,
                               published_hashes=())
    assert not passed(results) and _by_name(results)["image_not_blank"]


def test_duplicate_hash_fails():
    data = _image_bytes("noise")
    results = run_image_checks(data, expected_size=(64, 48), nsfw=False,
                               published_hashes={image_sha256(_image_bytes("noise", seed=1)), image_sha256(data).upper()})
    assert _by_name(results)["image_unique"] == [f"fail: image sha256 {image_sha256(data)} was already published"]
    assert not passed(results)


def test_wrong_size_fails():
    results = run_image_checks(_image_bytes("noise", size=(32, 32)), expected_size=(64, 48), nsfw=False,
                               published_hashes=())
    assert _by_name(results)["image_size"] == ["fail: image is 32x32, expected 64x48"]


@pytest.mark.parametrize("nsfw, outcome, ok", [
    (True, ["fail: the safety checker flagged the image as NSFW"], False),
    (None, ["warn: no safety checker ran on this image"], True),
    (False, [], True),
])
def test_safety_flag(nsfw, outcome, ok):
    results = run_image_checks(_image_bytes("noise"), expected_size=(64, 48), nsfw=nsfw, published_hashes=())
    assert _by_name(results)["image_safety"] == outcome
    assert passed(results) is ok


@pytest.mark.parametrize("data, reason", [
    (b"not an image at all", "does not decode"),
    (_image_bytes("noise")[:200], "does not decode"),  # truncated PNG
    (_image_bytes("noise", fmt="GIF"), "image is GIF"),
])
def test_undecodable_or_unexpected_bytes_fail(data, reason):
    results = run_image_checks(data, expected_size=(64, 48), nsfw=False, published_hashes=())
    names = _by_name(results)
    assert list(names) == ["image_decodes", "image_safety", "image_unique"]  # no pixels, no pixel checks
    [message] = names["image_decodes"]
    assert reason in message
    assert not passed(results)
