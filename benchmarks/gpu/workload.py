"""What the benchmark runs: the full shape of issue 13, or the tiny one CI runs on a CPU.

The full shape is the issue's: a Qwen2.5-0.5B-architecture model with random weights,
200-token prompts, 128 new tokens, batches 64 and 256; SD-Turbo-shaped covers at
512x512, one step. The tiny shape runs every code path of the script with the tests'
tiny random models in well under a minute on two CPU cores: its figures are plumbing,
not throughput.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generators.random_models import build_random_causal_lm_from_config, build_tiny_causal_lm
from generators.random_pipelines import build_random_sd_turbo_shaped, build_tiny_pipeline

#: Sampling of every text row, stock and platform alike: the platform's defaults.
TEMPERATURE, TOP_P = 0.7, 0.9
#: The figures a fact-locked request may write (any other digit is masked out).
LOCK_FIGURES = ("40 minutes", "82%", "1.5%", "March 1, 2013")


@dataclass(frozen=True)
class Shape:
    """Sizes of one run; ``--tiny`` picks :data:`TINY`, otherwise :data:`FULL`."""

    name: str
    text_model: str
    build_text_model: Callable[[Path], Path]
    text_batches: tuple[int, ...]
    prompt_tokens: int
    new_tokens: int
    cover_pipeline: str
    build_cover_pipeline: Callable[[Path], Path]
    cover_size: int
    cover_steps: int
    cover_batch: int
    cover_images: int
    night_stories: int
    #: torch.compile backend of the compiled cover rows: inductor on a GPU; "eager" on the
    #: tiny CPU run, which traces the same graphs without minutes of C++ compilation.
    compile_backend: str


FULL = Shape(
    name="full", text_model="qwen2.5-0.5b (random weights)",
    build_text_model=lambda path: build_random_causal_lm_from_config("qwen2.5-0.5b", path),
    text_batches=(64, 256), prompt_tokens=200, new_tokens=128,
    cover_pipeline="SD-Turbo-shaped (random weights)", build_cover_pipeline=build_random_sd_turbo_shaped,
    cover_size=512, cover_steps=1, cover_batch=8, cover_images=64, night_stories=256, compile_backend="inductor",
)
TINY = Shape(
    name="tiny", text_model="tiny random Llama", build_text_model=build_tiny_causal_lm,
    text_batches=(4,), prompt_tokens=24, new_tokens=8,
    cover_pipeline="tiny SD (random weights)", build_cover_pipeline=build_tiny_pipeline,
    cover_size=64, cover_steps=2, cover_batch=2, cover_images=4, night_stories=2, compile_backend="eager",
)

_WORDS = ("departures", "delays", "storms", "runway", "arrivals", "gates", "crews", "morning", "evening", "traffic")


def prompt_text(tokenizer: Any, index: int, tokens: int) -> str:
    """A user prompt, distinct per ``index``, whose chat-formatted prompt is about ``tokens`` long.

    Words are added until the templated prompt reaches the length, so every text row
    prefills the same prompt lengths whatever the tokenizer.
    """
    words = [f"Report {index}:"]
    while (short := tokens - len(chat_ids(tokenizer, " ".join(words)))) > 0:
        # A word is one to four tokens here: a quarter of the shortfall per round converges fast.
        words += [_WORDS[(index + len(words) + k) % len(_WORDS)] for k in range(max(1, short // 4))]
    return " ".join(words)


def chat_ids(tokenizer: Any, user: str) -> list[int]:
    """The token ids the platform's generator sends for ``user``: its chat template, no system message."""
    if not getattr(tokenizer, "chat_template", None):
        return tokenizer(user)["input_ids"]
    return tokenizer.apply_chat_template([{"role": "user", "content": user}], add_generation_prompt=True,
                                         tokenize=True, return_dict=False)


def prompts(tokenizer: Any, n: int, tokens: int) -> list[str]:
    return [prompt_text(tokenizer, i, tokens) for i in range(n)]


def describe(shape: Shape, batch: int) -> str:
    return f"batch {batch}, prompt ~{shape.prompt_tokens} tok, {shape.new_tokens} new tok"
