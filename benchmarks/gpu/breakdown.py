"""Where the platform text engine's time goes, measured from outside the engine.

The engine exposes no timings of its own, so the phases are measured around what can be
seen: prefill is a run with one new token (prefill plus one sampling step), a decode
step is the rest of a full run divided by its steps; the fact lock's CPU work is the
time spent in ``FactLock.fill_bitmasks`` and ``FactLock.accept`` (wrapped with a clock
for one run); a torch.profiler run splits the device's op time into model, sampling and
mask kernels by op name, and host work is the run's wall time minus that device time.
Not broken down: time inside the model by layer, attention against the MLP, and how
much of the host work overlaps the device's (host work here is an upper bound).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from benchmarks.gpu.report import NotInThisBuild, Phase, Row
from benchmarks.gpu.text import lock
from benchmarks.gpu.timing import timed
from benchmarks.gpu.workload import TEMPERATURE, TOP_P, Shape, describe, prompts

PHASE = "breakdown"
_SAMPLING_OPS = ("sort", "softmax", "cumsum", "multinomial", "topk", "exponential", "argmax", "gather", "scatter")
_MASK_OPS = ("masked_fill", "bitwise", "rshift")


def run(shape: Shape, lm: Any, phase: Phase) -> None:
    """Append the breakdown rows of the largest batch (locked requests, as on the night)."""
    from generators.text import TextGenerator, TextRequest

    batch = max(shape.text_batches)
    settings = describe(shape, batch) + ", engine=continuous, fact-locked"
    try:
        generator = TextGenerator(lm, temperature=TEMPERATURE, top_p=TOP_P, engine="continuous")
    except TypeError as exc:
        if "engine" not in str(exc):
            raise
        message = f"TextGenerator has no engine= ({exc})"
        phase.run("platform engine breakdown", settings, lambda: _unavailable(message))
        return
    grammar = lock()
    texts = prompts(lm.tokenizer, batch, shape.prompt_tokens)

    def requests(new_tokens: int) -> list[Any]:
        return [TextRequest(user=text, max_new_tokens=new_tokens, seed=0, lock=grammar) for text in texts]

    def go(new_tokens: int) -> Callable[[], Any]:
        return lambda: generator.generate(requests(new_tokens), batch_size=batch)

    go(shape.new_tokens)()  # warm-up at full shape
    prefill = phase.run("prefill (run with 1 new token)", settings, lambda: _seconds(go(1)))
    full = phase.run("full run", settings, lambda: _seconds(go(shape.new_tokens)))
    if prefill and full and prefill.measured and full.measured:
        step_ms = 1000 * (full.value - prefill.value) / max(shape.new_tokens - 1, 1)
        phase.rows.append(Row(PHASE, "decode step (mean)", settings, step_ms, "ms/step",
                              notes=f"(full - prefill) / {shape.new_tokens - 1} steps"))
    phase.run("fact lock CPU work", settings, lambda: _lock_cpu(go(shape.new_tokens)))
    phase.run("device op time by kind, and host work", settings, lambda: _profile(go(shape.new_tokens), lm.device))


def _unavailable(reason: str) -> Row:
    raise NotInThisBuild(reason)


def _seconds(work: Callable[[], Any]) -> Row:
    seconds, _ = timed(work)
    return Row(PHASE, "", "", seconds, "s")


def _lock_cpu(work: Callable[[], Any]) -> Row:
    from generators.fact_lock import FactLock

    clocks = {"fill_bitmasks": 0.0, "accept": 0.0}
    with _clocked(FactLock, "fill_bitmasks", clocks), _clocked(FactLock, "accept", clocks):
        wall, _ = timed(work)
    spent = sum(clocks.values())
    return Row(PHASE, "", "", spent, "s", notes=f"{100 * spent / wall:.1f}% of the run's {wall:.2f} s wall; "
               + ", ".join(f"{name} {seconds:.3f} s" for name, seconds in clocks.items()))


@contextmanager
def _clocked(owner: type, name: str, clocks: dict[str, float]) -> Iterator[None]:
    """Add the wall time of every call of ``owner.name`` to ``clocks[name]`` while inside."""
    original = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            clocks[name] += time.perf_counter() - started

    setattr(owner, name, wrapper)
    try:
        yield
    finally:
        setattr(owner, name, original)


def _profile(work: Callable[[], Any], device: str) -> Row:
    from torch.profiler import ProfilerActivity, profile

    cuda = device.startswith("cuda")
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        wall, _ = timed(work)
    kinds = {"model": 0.0, "sampling": 0.0, "masks": 0.0}
    for event in prof.key_averages():
        us = event.self_device_time_total if cuda else event.self_cpu_time_total
        name = event.key.lower()
        kind = ("sampling" if any(op in name for op in _SAMPLING_OPS)
                else "masks" if any(op in name for op in _MASK_OPS) else "model")
        kinds[kind] += us / 1e6
    busy = sum(kinds.values())
    where = "GPU kernels" if cuda else "CPU ops (no GPU: op time stands in for device time)"
    notes = (f"{where}: " + ", ".join(f"{kind} {seconds:.3f} s" for kind, seconds in kinds.items())
             + f"; wall {wall:.2f} s under the profiler, host work (wall - device) {max(wall - busy, 0):.2f} s")
    return Row(PHASE, "", "", busy, "s device", notes=notes)
