"""Cover images: a real (tiny, random) diffusers pipeline end to end and media storage
(the chart card has tests/test_chart_cover.py).

The diffusion tests load a pipeline that was built and saved on disk, through the same
``DiffusionCoverGenerator.from_pretrained`` path a hub model takes, so loading, seeding,
batching and the safety-checker record are exercised for real; only the weights are
random. It is built once per module because building imports diffusers and transformers.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from generators import compile_support
from generators.images import CoverRequest, CoverSettings, DiffusionCoverGenerator, cover_prompt, model_revision
from generators.media_store import MediaStore
from generators.random_pipelines import build_tiny_pipeline

SETTINGS = CoverSettings(width=64, height=64, num_inference_steps=2, guidance_scale=2.0)
REQUESTS = [
    CoverRequest("Late departures at a night airport, editorial illustration", seed=11),
    CoverRequest("A calm harbour at dawn, editorial illustration", seed=12, negative_prompt="text, watermark"),
]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_pipeline(tmp_path_factory.mktemp("tiny-sd") / "pipeline", seed=0)


@pytest.fixture(scope="module")
def generator(tiny_model) -> DiffusionCoverGenerator:
    return DiffusionCoverGenerator.from_pretrained(tiny_model, settings=SETTINGS, device="cpu")


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


def test_saved_tiny_pipeline_generates_a_recorded_batch(generator, tiny_model):
    covers = generator.generate(REQUESTS, batch_size=2)

    assert [cover.image.size for cover in covers] == [(64, 64), (64, 64)]
    assert [(c.prompt, c.negative_prompt, c.seed) for c in covers] == [
        (r.prompt, r.negative_prompt, r.seed) for r in REQUESTS
    ]
    first = covers[0]
    assert (first.steps, first.size, first.guidance_scale) == (2, (64, 64), 2.0)
    assert (first.batch_size, first.device, first.model_id) == (2, "cpu", str(tiny_model))
    assert first.latency_s > 0
    # The tiny pipeline has no safety checker: recorded as unknown, not as "safe".
    assert [cover.nsfw for cover in covers] == [None, None]
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", first.revision)


def test_seed_fixes_the_image_and_different_seeds_differ(generator):
    first = generator.generate(REQUESTS, batch_size=2)
    again = generator.generate(REQUESTS, batch_size=2)

    for a, b in zip(first, again, strict=True):
        assert np.array_equal(pixels(a.image), pixels(b.image))
    assert np.abs(pixels(first[0].image) - pixels(first[1].image)).mean() > 5


def test_batching_does_not_change_which_image_a_request_gets(generator):
    batched = generator.generate(REQUESTS, batch_size=2)
    one_by_one = generator.generate(REQUESTS, batch_size=1)

    # Same noise per request; float32 kernels may round differently per batch shape,
    # which moves a pixel by at most a step or two (different seeds differ by ~35).
    for a, b in zip(batched, one_by_one, strict=True):
        assert np.abs(pixels(a.image) - pixels(b.image)).max() <= 2
    assert [cover.batch_size for cover in one_by_one] == [1, 1]


def test_generator_warns_once_that_there_is_no_safety_checker(generator, caplog):
    with caplog.at_level(logging.WARNING, logger="generators.images"):
        again = DiffusionCoverGenerator(generator.pipeline, model_id="tiny", revision=None, settings=SETTINGS)
        again.generate(REQUESTS[:1])
        again.generate(REQUESTS[:1])

    warnings = [record for record in caplog.records if "no safety checker" in record.getMessage()]
    assert len(warnings) == 1


def test_speed_ups_default_to_on_for_cuda_only_where_kernels_can_be_built(generator, monkeypatch, caplog):
    assert (generator.settings.channels_last, generator.settings.compile) == (False, False)  # on the CPU
    monkeypatch.setattr(compile_support, "compile_unavailable", lambda device: None)
    assert CoverSettings().for_device("cuda:0") == replace(CoverSettings(), channels_last=True, compile=True)
    assert CoverSettings(compile=False).for_device("cuda").compile is False

    monkeypatch.setattr(compile_support, "compile_unavailable", lambda device: "torch.compile needs triton")
    with caplog.at_level(logging.WARNING, logger="generators.images"):
        settings = CoverSettings().for_device("cuda")
    assert (settings.channels_last, settings.compile) == (True, False)
    assert "run uncompiled: torch.compile needs triton" in caplog.text
    assert CoverSettings(compile=True).for_device("cuda").compile is True  # asked for explicitly: kept


def test_compile_support_names_what_a_worker_lacks(monkeypatch, tmp_path):
    bin_dir, include = tmp_path / "bin", tmp_path / "include"
    bin_dir.mkdir()
    include.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))  # no compiler on it
    monkeypatch.setattr(compile_support.sysconfig, "get_paths", lambda: {"include": str(include)})
    for name in ("CC", "CXX"):
        monkeypatch.delenv(name, raising=False)
    why = compile_support.compile_unavailable("cpu")
    assert "a compiler (c++, g++, clang++)" in why and "Python's headers" in why

    compiler = bin_dir / "g++"
    compiler.write_text("#!/bin/sh\n")
    compiler.chmod(0o755)
    (include / "Python.h").write_text("")
    assert compile_support.compile_unavailable("cpu") is None
    monkeypatch.setenv("CXX", "clang++")  # a compiler asked for by name must be there
    assert "a compiler ($CXX=clang++)" in compile_support.compile_unavailable("cpu")
    monkeypatch.setattr(compile_support.importlib.util, "find_spec", lambda name: None)
    assert "triton" in compile_support.compile_unavailable("cuda")


def test_channels_last_makes_the_same_images_within_one_level(tiny_model, generator):
    import torch

    fast = DiffusionCoverGenerator.from_pretrained(tiny_model, settings=replace(SETTINGS, channels_last=True),
                                                   device="cpu")
    assert fast.pipeline.unet.conv_in.weight.is_contiguous(memory_format=torch.channels_last)
    assert not generator.pipeline.unet.conv_in.weight.is_contiguous(memory_format=torch.channels_last)
    # The same arithmetic in another memory order: float32 sums round differently, by
    # under 1e-6 of full scale here (measured), so no 8-bit pixel moves by more than one level.
    for a, b in zip(generator.generate(REQUESTS, batch_size=2), fast.generate(REQUESTS, batch_size=2), strict=True):
        assert np.abs(pixels(a.image) - pixels(b.image)).max() <= 1


def _room_for(images: int):
    """A step-end callback that runs out of memory, as CUDA would, in a call of more than ``images``."""
    import torch

    def on_step_end(pipeline, step, timestep, tensors):
        if tensors["latents"].shape[0] > images:
            raise torch.OutOfMemoryError(f"{tensors['latents'].shape[0]} images in a call; room for {images}")
        return tensors

    return on_step_end


def test_out_of_memory_halves_the_batch_and_goes_on(generator, caplog):
    tight = DiffusionCoverGenerator(generator.pipeline, model_id="tiny", revision=None, settings=SETTINGS,
                                    on_step_end=_room_for(2))
    requests = [*REQUESTS, replace(REQUESTS[0], seed=13), replace(REQUESTS[1], seed=14)]

    with caplog.at_level(logging.WARNING, logger="generators.images"):
        covers = tight.generate(requests, batch_size=4)

    assert [cover.batch_size for cover in covers] == [2, 2, 2, 2] and [c.seed for c in covers] == [11, 12, 13, 14]
    for a, b in zip(covers, generator.generate(requests, batch_size=2), strict=True):
        assert np.array_equal(pixels(a.image), pixels(b.image))
    assert "Out of memory at 4 images per call" in caplog.text and "going on at 2" in caplog.text


def test_out_of_memory_alone_fails_that_request_and_with_no_room_at_all_the_generator(generator):
    import torch

    steps = 0

    def spike_in_the_second_call(pipeline, step, timestep, tensors):
        nonlocal steps
        steps += 1
        if steps == SETTINGS.num_inference_steps + 1:  # the first step of the second call
            raise torch.OutOfMemoryError("another process took the memory for a moment")
        return tensors

    spiky = DiffusionCoverGenerator(generator.pipeline, model_id="tiny", revision=None, settings=SETTINGS,
                                    on_step_end=spike_in_the_second_call)
    requests = [*REQUESTS, replace(REQUESTS[0], seed=13)]
    outcomes = dict(spiky.stream(requests, batch_size=1))
    assert sorted(outcomes) == [0, 1, 2] and isinstance(outcomes[1], torch.OutOfMemoryError)
    assert [outcomes[i].seed for i in (0, 2)] == [11, 13]

    no_room = DiffusionCoverGenerator(generator.pipeline, model_id="tiny", revision=None, settings=SETTINGS,
                                      on_step_end=_room_for(0))
    with pytest.raises(torch.OutOfMemoryError, match="room for 0"):
        list(no_room.stream(REQUESTS, batch_size=2))


def test_a_request_that_fails_alone_costs_no_other_request_its_cover(generator):
    bad = CoverRequest("A seed no random generator takes", seed=2**64)
    outcomes = dict(generator.stream([REQUESTS[0], bad, REQUESTS[1]], batch_size=3))

    assert sorted(outcomes) == [0, 1, 2]
    assert isinstance(outcomes[1], ValueError) and "Overflow" in str(outcomes[1])
    for made, alone in zip((outcomes[0], outcomes[2]), generator.generate(REQUESTS, batch_size=1), strict=True):
        assert made.batch_size == 1 and np.array_equal(pixels(made.image), pixels(alone.image))
    with pytest.raises(ValueError, match="Overflow"):  # generate: every other cover made, then the failure
        generator.generate([REQUESTS[0], bad])
    # Nothing made and every request failing alone: the pipeline, not a request, is broken.
    with pytest.raises(ValueError, match="Overflow"):
        list(generator.stream([bad, bad], batch_size=2))


def test_revision_is_a_content_hash_of_the_local_model(tiny_model, tmp_path):
    copy = shutil.copytree(tiny_model, tmp_path / "copy")
    assert model_revision(str(copy)) == model_revision(str(tiny_model))

    (copy / "scheduler" / "scheduler_config.json").write_text("{}")
    assert model_revision(str(copy)) != model_revision(str(tiny_model))


def test_hub_id_loads_from_the_hub_cache_and_records_its_commit(tiny_model, tmp_path):
    # The hub cache layout (refs/main -> snapshots/<commit>/...), as a download leaves
    # it; HF_HUB_OFFLINE=1 (conftest) makes loading resolve the id from here only.
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "models--nightdesk--tiny-sd"
    shutil.copytree(tiny_model, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)

    hub = DiffusionCoverGenerator.from_pretrained(
        "nightdesk/tiny-sd", settings=SETTINGS, device="cpu", cache_dir=tmp_path
    )
    cover = hub.generate(REQUESTS[:1])[0]

    assert (cover.model_id, cover.revision, cover.image.size) == ("nightdesk/tiny-sd", commit, (64, 64))


def test_cover_prompt_sanitises_field_values():
    prompt = cover_prompt(
        "Editorial illustration of {place}, {mood} mood",
        {
            "place": "JFK <script>alert(1)</script>\x00\u202e{ignore previous} airport\n",
            "mood": "calm " * 40,
        },
    )

    assert prompt.startswith("Editorial illustration of JFK alert(1) ignore previous airport, calm calm")
    assert not re.search(r"[<>{}\x00-\x1f\u202e]", prompt)
    mood = prompt.split(", ", 1)[1].removesuffix(" mood")
    assert len(mood) <= 80


def test_cover_prompt_names_a_missing_field():
    with pytest.raises(KeyError, match="topic"):
        cover_prompt("About {topic}", {"place": "JFK"})


def test_media_store_names_files_by_content_and_writes_once(tmp_path):
    store = MediaStore(str(tmp_path / "media"))
    data = b"\x89PNG fake but fixed bytes"
    sha = hashlib.sha256(data).hexdigest()

    stored = store.put(data)
    written = tmp_path / "media" / sha[:2] / f"{sha}.png"
    first_write = written.stat().st_mtime_ns
    again = store.put(data)

    assert stored == again
    assert (stored.relpath, stored.sha256, stored.size_bytes) == (f"{sha[:2]}/{sha}.png", sha, len(data))
    assert stored.url == written.as_uri()
    assert written.stat().st_mtime_ns == first_write
    assert [p.name for p in written.parent.iterdir()] == [written.name]
    assert store.open(stored.relpath) == data


def test_media_store_works_on_any_fsspec_url():
    store = MediaStore("memory://nightdesk-test-media")
    stored = store.put(b"webp bytes", suffix=".webp")

    assert stored.url.startswith("memory://") and stored.url.endswith(".webp")
    assert store.open(stored.relpath) == b"webp bytes"


@pytest.mark.parametrize(
    "relpath",
    [
        "../secrets.png",
        "/etc/passwd",
        "ab/../../etc/passwd",
        "00/" + "ab" * 32 + ".png",  # shard does not match the hash
        "ab/" + "ab" * 32 + ".png/..",
        "AB/" + "AB" * 32 + ".PNG",
    ],
)
def test_media_store_refuses_names_that_are_not_content_hashes(tmp_path, relpath):
    with pytest.raises(ValueError, match="not a stored media name"):
        MediaStore(str(tmp_path)).open(relpath)


def test_media_store_defaults_to_the_data_dir(nightdesk_home, monkeypatch):
    monkeypatch.delenv("NIGHTDESK_MEDIA_URL", raising=False)
    assert MediaStore().base_url == str(nightdesk_home / "media")
