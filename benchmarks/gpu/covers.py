"""Cover rows: the stock diffusers pipeline, the same compiled with channels-last, and the
platform's ``DiffusionCoverGenerator`` with the settings it chooses, on the same weights,
prompts and seeds.

Every image is seeded by its own CPU generator, as the platform seeds them, so the three
rows draw the same noise and their pixels can be compared: the platform row reports its
largest difference from the compiled stock images (0-255 scale).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.gpu.report import NotInThisBuild, Phase, Row, ratio
from benchmarks.gpu.timing import timed
from benchmarks.gpu.workload import Shape
from generators.compile_support import compile_unavailable

PHASE = "covers"
PROMPTS = (
    "Editorial illustration of a busy airport departures board at night",
    "A calm harbour at dawn, muted colours, newspaper cover style",
    "Storm clouds over a runway, wide angle, editorial photo",
    "Abstract chart shapes rising, blue and white, magazine cover",
)


def settings_of(shape: Shape) -> str:
    return (f"batch {shape.cover_batch}, {shape.cover_images} images, {shape.cover_size}x{shape.cover_size}, "
            f"{shape.cover_steps} step(s), guidance 0")


def run(shape: Shape, model_dir: Path, device: str, phase: Phase) -> None:
    """Append the three cover rows to ``phase``."""
    settings = settings_of(shape)
    pipeline = _stock_pipeline(model_dir, device)
    seeds = list(range(shape.cover_images))
    stock = phase.run("stock StableDiffusionPipeline", settings, lambda: _time(shape, seeds, _stock_call(pipeline, shape)))
    images: dict[str, list[Any]] = {}

    def compiled() -> Row:
        why_not = compile_unavailable(device) if shape.compile_backend == "inductor" else None
        if why_not:
            raise NotInThisBuild(f"{why_not}; the platform row then runs uncompiled too")
        _compile(pipeline, shape.compile_backend)
        return _time(shape, seeds, _stock_call(pipeline, shape), keep=images.setdefault("stock", []))

    compiled_row = phase.run(f"stock, channels_last + torch.compile ({shape.compile_backend})", settings, compiled)
    del pipeline
    platform = phase.run("platform DiffusionCoverGenerator, its settings", settings,
                         lambda: _platform(shape, model_dir, device, seeds, images))
    for row in (stock, compiled_row, platform):
        if row is not None and row.measured:
            row.compared = ratio(row, compiled_row, "stock compiled")


def _stock_pipeline(model_dir: Path, device: str) -> Any:
    import torch
    from diffusers import StableDiffusionPipeline

    dtype = torch.float16 if device.startswith("cuda") else torch.float32
    pipeline = StableDiffusionPipeline.from_pretrained(model_dir, dtype=dtype).to(device)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def _stock_call(pipeline: Any, shape: Shape) -> Any:
    import torch

    def call(seeds: list[int]) -> list[Any]:
        with torch.inference_mode():
            return pipeline(
                prompt=[PROMPTS[seed % len(PROMPTS)] for seed in seeds], width=shape.cover_size,
                height=shape.cover_size, num_inference_steps=shape.cover_steps, guidance_scale=0.0,
                generator=[torch.Generator("cpu").manual_seed(seed) for seed in seeds], output_type="pil",
            ).images

    return call


def _compile(pipeline: Any, backend: str) -> None:
    """The usual stock speed-ups: channels-last UNet and VAE, compiled UNet and VAE decoder."""
    import torch

    pipeline.unet.to(memory_format=torch.channels_last)
    pipeline.vae.to(memory_format=torch.channels_last)
    pipeline.unet = torch.compile(pipeline.unet, backend=backend)
    pipeline.vae.decode = torch.compile(pipeline.vae.decode, backend=backend)


def _time(shape: Shape, seeds: list[int], call: Any, keep: list[Any] | None = None) -> Row:
    """Warm up on one batch, then make every image in batches; images/s of the timed pass."""
    batch = shape.cover_batch
    call(seeds[:batch])

    def all_images() -> list[Any]:
        return [image for start in range(0, len(seeds), batch) for image in call(seeds[start:start + batch])]

    seconds, images = timed(all_images)
    if keep is not None:
        keep.extend(images)
    return Row(PHASE, "", "", len(images) / seconds, "images/s", notes=f"{len(images)} images in {seconds:.2f} s")


def _platform(shape: Shape, model_dir: Path, device: str, seeds: list[int], images: dict[str, list[Any]]) -> Row:
    from generators.images import CoverRequest, CoverSettings, DiffusionCoverGenerator

    settings = CoverSettings(shape.cover_size, shape.cover_size, shape.cover_steps, 0.0)
    generator = DiffusionCoverGenerator.from_pretrained(model_dir, settings=settings, device=device)

    def call(batch_seeds: list[int]) -> list[Any]:
        requests = [CoverRequest(PROMPTS[seed % len(PROMPTS)], seed=seed) for seed in batch_seeds]
        return [cover.image for cover in generator.generate(requests, batch_size=shape.cover_batch)]

    row = _time(shape, seeds, call, keep=images.setdefault("platform", []))
    row.settings = f"{settings_of(shape)}; {_cover_settings(generator.settings)}"
    if images.get("stock"):
        row.notes += f"; max abs pixel difference vs stock compiled {_max_difference(images['stock'], images['platform'])}/255"
    return row


def _cover_settings(settings: Any) -> str:
    """The platform's choices that matter for speed; says so when this build has none of them."""
    fields = ("channels_last", "compile")
    if not all(hasattr(settings, name) for name in fields):
        return "CoverSettings has no channels_last/compile in this build"
    return ", ".join(f"{name}={getattr(settings, name)}" for name in fields)


def _max_difference(left: list[Any], right: list[Any]) -> int:
    import numpy as np

    return max(int(np.abs(np.asarray(a, dtype=np.int16) - np.asarray(b, dtype=np.int16)).max())
               for a, b in zip(left, right, strict=True))
