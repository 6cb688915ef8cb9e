"""Text rows: stock transformers paths and the platform's generator on the same prompts.

Per batch size, the same requests (same prompt ids, same sampling: temperature 0.7,
top-p 0.9, no top-k) go through stock ``generate`` with the dynamic cache, stock
``generate`` with ``cache_implementation="static"``, transformers' own continuous
batching (``generate_batch``), and the platform's ``TextGenerator`` with its old
``generate`` engine and its continuous engine, free and fact-locked. Each row is warmed
up first at the same shape (compilation, CUDA graph capture, allocator growth) and then
timed once; tokens/s counts generated tokens up to each row's end token.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from benchmarks.gpu.report import NotInThisBuild, Phase, Row, ratio
from benchmarks.gpu.timing import timed
from benchmarks.gpu.workload import LOCK_FIGURES, TEMPERATURE, TOP_P, Shape, chat_ids, describe, prompts
from generators.compile_support import compile_unavailable

PHASE = "text"
SAMPLING = {"do_sample": True, "temperature": TEMPERATURE, "top_p": TOP_P, "top_k": 0}


def run(shape: Shape, lm: Any, phase: Phase) -> None:
    """Append the text rows of every batch size of ``shape`` to ``phase``."""
    for batch in sorted(shape.text_batches, reverse=True):  # the largest first: the targets' batch
        texts = prompts(lm.tokenizer, batch, shape.prompt_tokens)
        ids = [chat_ids(lm.tokenizer, text) for text in texts]
        settings = describe(shape, batch)
        row = lambda name, make: phase.run(name, settings, make)  # noqa: E731
        # The platform's rows first: a cold compile in a stock row (the static cache compiles
        # its forward on CUDA) must not spend the phase's budget before the rows the run is for.
        free = row("platform TextGenerator, engine=continuous, free",
                   lambda: _platform(lm, texts, shape, batch, engine="continuous", lock=None))
        locked = row("platform TextGenerator, engine=continuous, fact-locked",
                     lambda: _platform(lm, texts, shape, batch, engine="continuous", lock=lock()))
        batched = row("stock generate_batch (continuous batching)", lambda: _generate_batch(lm, ids, shape, batch))
        static = row("stock generate, static cache", lambda: _stock(lm, ids, shape, cache="static"))
        dynamic = row("stock generate, dynamic cache", lambda: _stock(lm, ids, shape, cache=None))
        before = row("platform TextGenerator, engine=generate (before)",
                     lambda: _platform(lm, texts, shape, batch, engine="generate", lock=None))
        for measured in (dynamic, static, batched, before, free, locked):
            if measured is not None and measured.measured:
                measured.compared = ", ".join(filter(None, (ratio(measured, static, "static"),
                                                            ratio(measured, batched, "generate_batch"))))
        if free and locked and free.measured and locked.measured:
            locked.notes += f"; lock cost {100 * (free.value / locked.value - 1):+.1f}% time per token vs free"


def lock() -> str:
    """The fact lock of every locked request: only :data:`LOCK_FIGURES` may be written as numbers."""
    from generators.fact_lock import figures_of, lock_grammar

    return lock_grammar(figures_of(LOCK_FIGURES))


def end_ids(lm: Any) -> frozenset[int]:
    eos = lm.model.generation_config.eos_token_id
    ids = eos if isinstance(eos, list) else [] if eos is None else [eos]
    return frozenset([*ids, lm.tokenizer.pad_token_id])


def count_tokens(rows: Sequence[Sequence[int]], ends: frozenset[int]) -> int:
    """Generated tokens of each row up to (not including) its first end or padding token."""
    return sum(next((i for i, token in enumerate(tokens) if token in ends), len(tokens)) for tokens in rows)


def _row(shape: Shape, batch: int, seconds: float, tokens: int, notes: str = "") -> Row:
    expected = batch * shape.new_tokens
    notes = "; ".join(filter(None, [f"{tokens}/{expected} tokens in {seconds:.2f} s", notes]))
    return Row(PHASE, "", describe(shape, batch), tokens / seconds, "output tok/s", notes=notes)


def _stock(lm: Any, ids: list[list[int]], shape: Shape, *, cache: str | None) -> Row:
    import torch

    inputs = lm.tokenizer.pad({"input_ids": ids}, return_tensors="pt").to(lm.device)
    options = {**SAMPLING, "pad_token_id": lm.tokenizer.pad_token_id}
    note = ""
    if cache:
        options["cache_implementation"] = cache
        # transformers compiles the static-cache forward where it can; where inductor cannot
        # build kernels the row measures the static cache uncompiled, and says so.
        why_not = compile_unavailable(str(lm.device)) if str(lm.device).startswith("cuda") else None
        if why_not:
            options["disable_compile"], note = True, f"uncompiled: {why_not}"

    def generate(new_tokens: int) -> Any:
        with torch.inference_mode():
            return lm.model.generate(**inputs, **options, max_new_tokens=new_tokens)

    # A static cache is compiled for its exact shape, so it warms up at full length.
    generate(shape.new_tokens if cache == "static" else 2)
    torch.manual_seed(0)
    seconds, output = timed(lambda: generate(shape.new_tokens))
    new = output[:, inputs["input_ids"].shape[1]:].tolist()
    return _row(shape, len(ids), seconds, count_tokens(new, end_ids(lm)), note)


def _generate_batch(lm: Any, ids: list[list[int]], shape: Shape, batch: int) -> Row:
    from transformers import GenerationConfig
    from transformers.generation import ContinuousBatchingConfig

    config = GenerationConfig(**SAMPLING, max_new_tokens=shape.new_tokens, eos_token_id=lm.tokenizer.eos_token_id,
                              pad_token_id=lm.tokenizer.pad_token_id)
    # A cache that holds every request at once, as the other rows' caches do. Left to
    # itself it takes most of the free memory, which on a CPU costs ~25 s to allocate.
    page = ContinuousBatchingConfig.page_size
    pages = -(-(max(map(len, ids)) + shape.new_tokens) // page)
    # Its attention stays the model's (sdpa), as the platform's does: flash-attn, when
    # importable, would change the kernels compared rather than the batching.
    cb_config = ContinuousBatchingConfig(max_requests_per_batch=batch, seed=0, num_blocks=len(ids) * pages + 1,
                                         auto_switch_to_flash=False)
    # The first call sizes the cache and captures its CUDA graphs; the manager is kept so
    # the timed call reuses them rather than paying the warm-up again.
    call = lambda: lm.model.generate_batch(ids, generation_config=config, continuous_batching_config=cb_config,  # noqa: E731
                                           persistent_manager=True)
    try:
        call()
        seconds, outputs = timed(call)
    finally:
        lm.model.destroy_cached_continuous_batching_manager()
    failed = [key for key, out in outputs.items() if out.error is not None]
    if len(outputs) != len(ids) or failed:
        raise RuntimeError(f"generate_batch returned {len(outputs)} of {len(ids)} requests, {len(failed)} failed")
    tokens = count_tokens([out.generated_tokens for out in outputs.values()], end_ids(lm))
    return _row(shape, batch, seconds, tokens, f"max_requests_per_batch {batch}, num_blocks {cb_config.num_blocks} of {page} tokens")


def _platform(lm: Any, texts: list[str], shape: Shape, batch: int, *, engine: str, lock: str | None) -> Row:
    from generators.text import TextGenerator, TextRequest

    try:
        generator = TextGenerator(lm, temperature=TEMPERATURE, top_p=TOP_P, engine=engine)
        note = ""
    except TypeError as exc:
        if "engine" not in str(exc):
            raise
        if engine != "generate":
            raise NotInThisBuild(f"TextGenerator has no engine= in this build ({exc})") from exc
        # Before the continuous engine, TextGenerator was the generate path itself.
        generator, note = TextGenerator(lm, temperature=TEMPERATURE, top_p=TOP_P), "this build has no engine=: its only path"
    requests = [TextRequest(user=text, max_new_tokens=shape.new_tokens, seed=0, lock=lock) for text in texts]
    generator.generate(requests, batch_size=batch)
    seconds, results = timed(lambda: generator.generate(requests, batch_size=batch))
    tokens = sum(result.output_tokens for result in results)
    return _row(shape, batch, seconds, tokens, note)
