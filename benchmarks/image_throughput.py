"""Cover-image throughput: one image per pipeline call versus batched calls, same run.

Both modes use the same loaded pipeline, the same requests (prompts and seeds) and the
same settings, one after the other, so the difference between the two figures is the
batching alone. Each mode is warmed up first (kernel selection, allocator growth), then
the two modes alternate ``--repeats`` times and each reports its fastest pass: on a
shared machine the fastest pass is the one least disturbed by other work (all passes
are printed too). The pixels of the two modes are compared to show that batching does
not change images.

    python benchmarks/image_throughput.py --pipeline tiny --n 16 --batch-size 8 --size 64 --steps 2
    python benchmarks/image_throughput.py --pipeline sd-turbo-random --n 32 --batch-size 8   # GPU
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from generators.images import CoverRequest, CoverSettings, DiffusionCoverGenerator, GeneratedCover  # noqa: E402
from generators.random_pipelines import build_random_sd_turbo_shaped, build_tiny_pipeline  # noqa: E402

BUILDERS = {"tiny": build_tiny_pipeline, "sd-turbo-random": build_random_sd_turbo_shaped}
PROMPTS = (
    "Editorial illustration of a busy airport departures board at night",
    "A calm harbour at dawn, muted colours, newspaper cover style",
    "Storm clouds over a runway, wide angle, editorial photo",
    "Abstract chart shapes rising, blue and white, magazine cover",
)


def main() -> None:
    args = _parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="nightdesk-image-bench-"))
    model_dir = workdir / args.pipeline

    # 1. The model on disk (reused when --workdir already holds one), loaded the production way
    started = time.perf_counter()
    if not (model_dir / "model_index.json").exists():
        BUILDERS[args.pipeline](model_dir)
    settings = CoverSettings(args.size, args.size, args.steps, args.guidance_scale)
    generator = DiffusionCoverGenerator.from_pretrained(model_dir, settings=settings, device=args.device)
    ready_s = time.perf_counter() - started
    print(f"pipeline {args.pipeline} ({type(generator.pipeline).__name__}) at {model_dir}, ready in {ready_s:.1f} s")
    print(f"device {generator.device}, {_threads()}; {args.n} images of {args.size}x{args.size}, "
          f"{args.steps} steps, guidance {args.guidance_scale}")

    requests = [CoverRequest(PROMPTS[i % len(PROMPTS)], seed=i) for i in range(args.n)]

    # 2. Warm up each batch shape, then alternate the modes on the same requests
    modes = {"one at a time": 1, f"batched x{args.batch_size}": args.batch_size}
    for batch_size in modes.values():
        generator.generate(requests[:batch_size], batch_size=batch_size)
    passes: dict[str, list[float]] = {label: [] for label in modes}
    covers: dict[str, list[GeneratedCover]] = {}
    for _ in range(args.repeats):
        for label, batch_size in modes.items():
            started = time.perf_counter()
            covers[label] = generator.generate(requests, batch_size=batch_size)
            passes[label].append(time.perf_counter() - started)

    # 3. Report side by side
    print(f"\n{'mode':<16}{'best s':>9}{'images/s':>10}{'s/image':>9}   all passes (s)")
    for label, seconds in passes.items():
        best = min(seconds)
        print(f"{label:<16}{best:>9.2f}{args.n / best:>10.2f}{best / args.n:>9.4f}   "
              + " ".join(f"{t:.2f}" for t in seconds))
    single, batched = passes.values()
    print(f"batching speed-up (best vs best): {min(single) / min(batched):.2f}x")
    print(f"max pixel difference between modes (0-255): {_max_pixel_difference(*covers.values())}")


def _max_pixel_difference(left: list[GeneratedCover], right: list[GeneratedCover]) -> int:
    import numpy as np

    return max(
        int(np.abs(np.asarray(a.image, dtype=np.int16) - np.asarray(b.image, dtype=np.int16)).max())
        for a, b in zip(left, right, strict=True)
    )


def _threads() -> str:
    import torch

    return f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads"


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pipeline", choices=sorted(BUILDERS), default="tiny")
    parser.add_argument("--n", type=int, default=16, help="images per mode")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--size", type=int, default=None, help="square side in pixels (default: 64 tiny, 512 sd-turbo)")
    parser.add_argument("--steps", type=int, default=None, help="inference steps (default: 2 tiny, 1 sd-turbo)")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per mode; the fastest is reported")
    parser.add_argument("--guidance-scale", type=float, default=0.0)
    parser.add_argument("--device", default=None, help="torch device (default: cuda when available, else cpu)")
    parser.add_argument("--workdir", default=None, help="where the random model is built, or reused from")
    args = parser.parse_args()
    tiny = args.pipeline == "tiny"
    args.size = args.size or (64 if tiny else 512)
    args.steps = args.steps or (2 if tiny else 1)
    return args


if __name__ == "__main__":
    main()
