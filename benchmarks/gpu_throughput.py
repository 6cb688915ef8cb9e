"""GPU throughput of issue 13: every figure in one run, one table, under 8 minutes.

Side by side on the same random-weight models: text through stock transformers
(dynamic cache, static cache, ``generate_batch``) and the platform's ``TextGenerator``
(free and fact-locked); covers through the stock diffusers pipeline (plain, then
channels-last and compiled) and the platform's ``DiffusionCoverGenerator``; the night
path (four texts and one cover per story, checks, warehouse writes) in stories/hour;
and a time breakdown of the platform text engine. Rows run within a time budget: what
does not fit is marked skipped, never estimated.

    python benchmarks/gpu_throughput.py --wheels wheels/ --out gpu.md        # one H100/H200
    python benchmarks/gpu_throughput.py --tiny                               # CPU, < 60 s: CI

Exit status 1 when any row failed, 2 when a needed package is missing.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import shlex
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the night path reads stories/ and warehouse/ from this checkout
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from benchmarks.gpu import environment  # noqa: E402
from benchmarks.gpu.report import Budget, BudgetExceeded, Phase, Row, render, skipped  # noqa: E402
from benchmarks.gpu.workload import FULL, TINY, Shape  # noqa: E402

PHASES = ("text", "covers", "night", "breakdown")
#: Seconds per phase on the full shape (the whole run stops at --budget-s whatever these say).
FULL_BUDGETS = {"text": 180, "covers": 120, "night": 80, "breakdown": 40}
TINY_BUDGETS = {"text": 60, "covers": 30, "night": 60, "breakdown": 30}


def main() -> int:
    args = _parse_args()
    if args.wheels:
        environment.add_wheels(args.wheels)
    try:
        environment.require(args.wheels)
    except environment.MissingDependency as exc:
        print(f"gpu_throughput: {exc}", file=sys.stderr)
        return 2
    found = environment.versions()
    print("found " + ", ".join(f"{name} {version}" for name, version in found.items()), flush=True)

    shape = _shape(args)
    budget = Budget(args.budget_s, TINY_BUDGETS if args.tiny else FULL_BUDGETS)
    rows: list[Row] = []
    device = args.device or ("cuda" if _cuda() else "cpu")
    if device.startswith("cuda") and "breakdown" in args.phases:
        _profiler_before_graphs()

    def header(status: str) -> dict[str, str]:
        return {
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "device": environment.device_name(device),
            "python": environment.python(),
            **{name: version for name, version in found.items()},
            "shape": f"{shape.name}: text {shape.text_model}, covers {shape.cover_pipeline}",
            "command": " ".join(shlex.quote(part) for part in sys.argv),
            "budget": f"{args.budget_s:.0f} s in all; used {budget.total_s - budget.left():.0f} s",
            "status": status,
        }

    def checkpoint() -> None:
        """The table so far, rewritten after every row: a run cut short still leaves its figures.

        Written beside ``--out`` and moved over it, so a kill mid-write leaves the last whole table.
        """
        if args.out:
            partial = args.out.with_name(args.out.name + ".partial")
            partial.write_text(render(rows, header(f"partial: {len(rows)} rows so far")), encoding="utf-8")
            os.replace(partial, args.out)

    with budget.deadline():
        try:
            _run(shape, args, device, budget, rows, checkpoint)
        except BudgetExceeded as exc:
            print(f"stopped: {exc}", flush=True)
    done = {(row.phase, row.name) for row in rows}
    rows += [skipped(phase, "(every row)", "", "run budget spent before the phase started")
             for phase in args.phases if not any(p == phase for p, _ in done)]

    table = render(rows, header("complete"))
    print("\n" + table)
    if args.out:
        args.out.write_text(table, encoding="utf-8")
    return 1 if any(row.status.startswith("failed") for row in rows) else 0


def _profiler_before_graphs() -> None:
    """Set the profiler up before any CUDA graph is captured: the breakdown's profiler run
    comes after captures, which can hang Kineto otherwise (pytorch#75504)."""
    from torch.profiler import _utils

    init = getattr(_utils, "_init_for_cuda_graphs", None)
    if init is not None:
        init()


def _run(shape: Shape, args: argparse.Namespace, device: str, budget: Budget, rows: list[Row],
         checkpoint: Callable[[], None]) -> None:
    """Build what the phases need (once), then run the chosen phases in order."""
    from generators.text_model import load_causal_lm

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="nightdesk-gpu-bench-"))
    text_dir, cover_dir = workdir / "text-model", workdir / "cover-pipeline"
    if not (text_dir / "config.json").exists():
        shape.build_text_model(text_dir)
    if {"covers", "night"} & set(args.phases) and not (cover_dir / "model_index.json").exists():
        shape.build_cover_pipeline(cover_dir)
    lm = load_causal_lm(str(text_dir), device=device) if {"text", "breakdown"} & set(args.phases) else None
    print(f"models ready in {budget.total_s - budget.left():.1f} s at {workdir}", flush=True)

    for name in args.phases:
        phase = Phase(name, budget, rows, on_row=checkpoint)
        if name == "text":
            from benchmarks.gpu import text

            text.run(shape, lm, phase)
        elif name == "covers":
            from benchmarks.gpu import covers

            covers.run(shape, cover_dir, device, phase)
        elif name == "night":
            from benchmarks.gpu import night

            night.run(shape, text_dir, cover_dir, workdir, phase)
        else:
            from benchmarks.gpu import breakdown

            breakdown.run(shape, lm, phase)


def _shape(args: argparse.Namespace) -> Shape:
    shape = TINY if args.tiny else FULL
    changes = {}
    if args.text_batches:
        changes["text_batches"] = tuple(args.text_batches)
    if args.cover_size:
        changes["cover_size"] = args.cover_size
    return dataclasses.replace(shape, **changes)


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="tiny random models and lengths (CPU, CI)")
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    parser.add_argument("--wheels", type=Path, help="folder of wheels (scripts/gpu_wheels.sh) for what the worker lacks")
    parser.add_argument("--workdir", type=Path, help="where the random models are built, or reused from")
    parser.add_argument("--device", help="torch device (default: cuda when available)")
    parser.add_argument("--phases", type=lambda s: [p for p in s.split(",") if p], default=list(PHASES),
                        help=f"comma-separated subset of {','.join(PHASES)}, run in that order")
    parser.add_argument("--budget-s", type=float, default=None,
                        help="seconds for the whole run (default 420 full, 150 tiny)")
    parser.add_argument("--text-batches", type=lambda s: [int(b) for b in s.split(",")], default=None,
                        help="text batch sizes (default 64,256 full, 4 tiny)")
    parser.add_argument("--cover-size", type=int, default=None, help="cover side in pixels (default 512 full, 64 tiny)")
    args = parser.parse_args()
    unknown = set(args.phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phases {sorted(unknown)}; known: {', '.join(PHASES)}")
    # 420 s leave a minute of the 8 for the interpreter, imports, CUDA start and exit.
    args.budget_s = args.budget_s or (150.0 if args.tiny else 420.0)
    return args


if __name__ == "__main__":
    sys.exit(main())
