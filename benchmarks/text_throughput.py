"""Text throughput: one request at a time versus batched, free versus fact-locked decoding, or engine versus engine.

Both modes use the same loaded model, the same requests (prompts, seeds, token limits)
and the same sampling settings, one after the other, so the difference between the two
figures is the batching alone (``--compare batching``), the fact lock alone
(``--compare decoding``: both batched, the locked run allowing only the prompts' own
figures, as ``generators.fact_lock.lock_grammar`` builds it for a fact sheet) or the
engine alone (``--compare engines``: ``model.generate`` per batch versus the continuous
engine with as many slots, both free or, with ``--locked``, both locked). ``--engine``
picks the engine of the first two comparisons. Each mode is warmed up first (kernel
selection, allocator growth). Tokens/s counts generated text tokens only: the padding a
finished row keeps producing while its batch runs on is work the batched mode pays for
but does not get.

    python benchmarks/text_throughput.py --model smollm2 --n 8 --max-new-tokens 32 --batch-size 8
    python benchmarks/text_throughput.py --model tiny --n 64 --batch-size 16
    python benchmarks/text_throughput.py --model qwen2.5-0.5b-random --n 64 --batch-size 16   # GPU
    python benchmarks/text_throughput.py --model smollm2 --n 16 --max-new-tokens 64 --compare decoding
    python benchmarks/text_throughput.py --model smollm2 --n 16 --max-new-tokens 32 --batch-size 8 --compare engines --locked
"""

from __future__ import annotations

import argparse
import functools
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from generators.fact_lock import figures_of, lock_grammar  # noqa: E402
from generators.random_models import build_random_causal_lm_from_config, build_tiny_causal_lm  # noqa: E402
from generators.text import TextGenerator, TextRequest, TextResult  # noqa: E402
from generators.text_model import LoadedCausalLM, load_causal_lm  # noqa: E402

RANDOM_BUILDERS = {
    "tiny": build_tiny_causal_lm,
    "qwen2.5-0.5b-random": functools.partial(build_random_causal_lm_from_config, "qwen2.5-0.5b"),
}
PROMPTS = (
    "Write a headline: storms delayed departures from JFK by 40 minutes on average today.",
    "Summarise in two sentences: on-time arrivals rose to 82% this week while cancellations fell to 1.5%.",
    "Write a short marketing line for new direct morning flights from Newark to Denver.",
    "Explain to a traveller why evening flights are delayed more often than morning ones.",
    "Write a news brief about LaGuardia's busiest day of the month.",
    "Give three tips for passengers connecting through a busy hub airport.",
)
SYSTEM = "You are a concise newsroom assistant."
#: The figures each prompt states, as a fact sheet would write them: the locked mode allows these only.
FIGURES = ("40 minutes", "82%", "1.5%")


def main() -> None:
    args = _parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    # 1. The model, loaded the production way (random ones are built first, or reused)
    started = time.perf_counter()
    lm = _load(args)
    print(f"model {args.model} ({type(lm.model).__name__}, {lm.model.num_parameters() / 1e6:.0f}M parameters), "
          f"revision {lm.revision}, ready in {time.perf_counter() - started:.1f} s")
    print(f"device {lm.device} {str(lm.dtype).removeprefix('torch.')}, {_threads()}; "
          f"{args.n} requests x up to {args.max_new_tokens} new tokens, temperature {args.temperature}")

    generator = TextGenerator(lm, temperature=args.temperature, engine=args.engine)
    requests = [
        TextRequest(user=PROMPTS[i % len(PROMPTS)], system=SYSTEM, max_new_tokens=args.max_new_tokens, seed=args.seed)
        for i in range(args.n)
    ]
    grammar = lock_grammar(figures_of(FIGURES))
    locked = [replace(request, lock=grammar) for request in requests]

    # 2. Warm up each mode, then time both on the same requests
    if args.compare == "batching":
        modes = {"one at a time": (generator, 1, requests), f"batched x{args.batch_size}": (generator, args.batch_size, requests)}
    elif args.compare == "decoding":
        modes = {"free": (generator, args.batch_size, requests), "locked": (generator, args.batch_size, locked)}
    else:
        modes = {engine: (TextGenerator(lm, temperature=args.temperature, engine=engine), args.batch_size,
                          locked if args.locked else requests) for engine in ("generate", "continuous")}
    runs: dict[str, tuple[float, list[TextResult]]] = {}
    for label, (generator, batch_size, mode_requests) in modes.items():
        generator.generate(mode_requests[:batch_size], batch_size=batch_size)
        started = time.perf_counter()
        results = generator.generate(mode_requests, batch_size=batch_size)
        runs[label] = (time.perf_counter() - started, results)

    # 3. Report side by side
    print(f"\n{'mode':<16}{'seconds':>9}{'out tokens':>12}{'tokens/s':>10}{'requests/s':>12}{'mean TTFT s':>13}")
    for label, (seconds, results) in runs.items():
        tokens = _tokens(results)
        ttft = sum(result.time_to_first_token_s for result in results) / len(results)
        print(f"{label:<16}{seconds:>9.2f}{tokens:>12}{tokens / seconds:>10.1f}{args.n / seconds:>12.2f}{ttft:>13.3f}")
    (first_s, first), (second_s, second) = runs.values()
    ratio = (_tokens(second) / second_s) / (_tokens(first) / first_s)
    if args.compare == "batching":
        print(f"batching speed-up in tokens/s: {ratio:.2f}x")
    elif args.compare == "engines":
        print(f"continuous/generate speed-up in tokens/s: {ratio:.2f}x ({'locked' if args.locked else 'free'})")
    else:
        per_token = 1000 * (second_s / _tokens(second) - first_s / _tokens(first))
        print(f"locked/free wall time: {second_s / first_s:.2f}x; time per output token: {1 / ratio:.2f}x "
              f"({per_token:+.1f} ms per token)")
    for label, (_, results) in runs.items():
        print(f"sample ({args.model}, {label}): {results[0].text[:120]!r}")


def _load(args: argparse.Namespace) -> LoadedCausalLM:
    if args.model not in RANDOM_BUILDERS:
        return load_causal_lm(args.model, device=args.device)
    model_dir = Path(args.workdir or tempfile.mkdtemp(prefix="nightdesk-text-bench-")) / args.model
    if not (model_dir / "config.json").exists():
        RANDOM_BUILDERS[args.model](model_dir)
    return load_causal_lm(str(model_dir), device=args.device)


def _tokens(results: list[TextResult]) -> int:
    return sum(result.output_tokens for result in results)


def _threads() -> str:
    import torch

    return f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads"


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=["smollm2", *RANDOM_BUILDERS], default="smollm2")
    parser.add_argument("--n", type=int, default=8, help="requests per mode")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--temperature", type=float, default=0.7, help="0 for greedy decoding")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="torch device (default: cuda when available, else cpu)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice, one per core); on a busy machine 1 can be faster")
    parser.add_argument("--compare", choices=["batching", "decoding", "engines"], default="batching",
                        help="batching: one at a time vs batched; decoding: free vs fact-locked, both batched; "
                             "engines: model.generate vs the continuous engine, same batch")
    parser.add_argument("--engine", choices=["continuous", "generate"], default="continuous",
                        help="the engine of --compare batching and decoding")
    parser.add_argument("--locked", action="store_true", help="--compare engines with fact-locked requests")
    parser.add_argument("--workdir", default=None, help="where a random model is built, or reused from")
    return parser.parse_args()


if __name__ == "__main__":
    main()
