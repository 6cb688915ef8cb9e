"""Text drafts from one loaded causal LM, batched, seeded and recorded with what made them.

Editors and QC checks need to know how a draft was produced and what it cost: every
result carries the model revision, seed, generation settings, token counts, latency and
time to first token. Two engines make the tokens. The default, ``continuous``
(``generators/text_engine.py``), keeps a fixed number of slots busy: a request that
finishes gives its slot to the next one, and each result comes out as it finishes
(:meth:`TextGenerator.stream`). ``generate`` groups requests that can share one
``model.generate`` call (same length limit, stop strings and seed), kept to compare
against. Both sample the same way (greedy, or temperature and top-p) from seeded
streams, so a text is reproducible given the same requests, batch size, seed, model
revision and device, and both turn tokens into a result the same way
(:meth:`TextGenerator._text_of`). A request may carry a grammar its tokens must follow
(the fact lock, ``generators/fact_lock.py``); the lock masks the logits of its row only.
"""

from __future__ import annotations

import itertools
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import torch

    from generators.fact_lock import FactLock
    from generators.text_engine import ContinuousEngine, Finished
    from generators.text_model import LoadedCausalLM

Engine = Literal["continuous", "generate"]
ENGINES: tuple[Engine, ...] = ("continuous", "generate")


@dataclass(frozen=True)
class TextRequest:
    """One text to generate.

    :param stop: strings that end the text: output is cut at the earliest occurrence of
        any of them (the stop string itself is dropped), and generation of that row stops.
    :param seed: seeds the sampling: of this request's own stream (with its prompt) in the
        continuous engine, of its batch's stream in ``generate`` (requests with different
        seeds never share a batch there).
    :param lock: a grammar (llguidance Lark, e.g. :func:`generators.fact_lock.lock_grammar`)
        the text must follow token by token; ``None`` decodes freely. Locked and free
        requests may share a batch.
    """

    user: str
    system: str | None = None
    max_new_tokens: int = 128
    stop: tuple[str, ...] = ()
    seed: int = 0
    lock: str | None = None

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if isinstance(self.stop, str) or "" in self.stop:
            raise ValueError(f"stop must be a tuple of non-empty strings, got {self.stop!r}")


@dataclass(frozen=True)
class TextResult:
    """A generated text and everything needed to reproduce and account for it.

    :param input_tokens: prompt tokens of this request, padding excluded.
    :param output_tokens: generated tokens before the first end-of-sequence or padding
        token (the tokens that carry text, stop strings included).
    :param latency_s: continuous engine: this request's own time from its admission
        (prefill) to its last token, while sharing steps with ``batch_size - 1`` others;
        ``generate``: the wall time of the call that made it and ``batch_size - 1`` others.
    :param time_to_first_token_s: from admission (or the call's start) until its first
        token was sampled: the prompt's prefill plus one step.
    :param params: the generation settings (as ``model.generate`` takes them).
    :param hit_token_limit: the text ran to ``max_new_tokens`` with no end token and no stop
        string: it was cut off, probably mid-sentence (see :func:`whole_sentences`).
    :param batch_size: the slots of the continuous run, or the rows of the ``generate`` call.
    :param batch_id: names the continuous run (its slot group: a new one after
        out-of-memory halves the slots) or the ``generate`` call.
    :param first_token_at: when the first token was ready, and ``finished_at`` when the
        text was (seconds since the epoch, for the log's timestamps).
    """

    text: str
    input_tokens: int
    output_tokens: int
    latency_s: float
    time_to_first_token_s: float
    batch_size: int
    device: str
    model_id: str
    revision: str
    seed: int
    params: dict[str, Any]
    hit_token_limit: bool = False
    batch_id: str = ""
    first_token_at: float | None = None
    finished_at: float = 0.0


class TextGenerator:
    """Generates texts with one loaded causal LM; load once, then call :meth:`stream` or :meth:`generate` per batch of work.

    ``temperature`` 0 means greedy decoding; above 0, sampling with that temperature and
    nucleus ``top_p`` (top-k filtering off, so the two settings say everything).

    :param engine: ``continuous`` (default) or ``generate``, see the module docstring.
    """

    def __init__(self, lm: LoadedCausalLM, *, temperature: float = 0.7, top_p: float = 0.9,
                 engine: Engine = "continuous") -> None:
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0 (0 = greedy), got {temperature}")
        if not 0 < top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {top_p}")
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
        self.lm = lm
        self.engine = engine
        self.temperature = temperature
        self.top_p = top_p
        self._chat = bool(getattr(lm.tokenizer, "chat_template", None))
        eos = lm.model.generation_config.eos_token_id
        eos_ids = eos if isinstance(eos, list) else [] if eos is None else [eos]
        self._end_ids = frozenset([*eos_ids, lm.tokenizer.pad_token_id])
        self._lock: FactLock | None = None
        self._engine: ContinuousEngine | None = None

    def _fact_lock(self) -> FactLock:
        """The lock over this model's tokenizer, built on the first locked request."""
        if self._lock is None:
            from generators.fact_lock import FactLock

            self._lock = FactLock(self.lm.tokenizer, vocab_size=self.lm.model.config.vocab_size)
        return self._lock

    def generate(self, requests: Sequence[TextRequest], *, batch_size: int) -> list[TextResult]:
        """One result per request, in request order, from ``batch_size`` slots (or batches of at most that).

        All or nothing: when a request fails alone, the others still run to the end, then
        its exception is raised (the first by index). :meth:`stream` hands out the others.
        """
        outcomes = dict(self.stream(requests, batch_size=batch_size))
        failed = [outcomes[index] for index in range(len(requests)) if isinstance(outcomes[index], Exception)]
        if failed:
            raise failed[0]
        return [outcomes[index] for index in range(len(requests))]

    def stream(self, requests: Sequence[TextRequest], *, batch_size: int) -> Iterator[tuple[int, TextResult | Exception]]:
        """``(index into requests, result)`` as each request finishes; a request that failed alone gives its exception.

        Every index comes exactly once. Raises only for a failure no single request explains
        (the model cannot run at all).
        """
        return itertools.chain.from_iterable(self.stream_groups(requests, batch_size=batch_size))

    def stream_groups(self, requests: Sequence[TextRequest], *,
                      batch_size: int) -> Iterator[list[tuple[int, TextResult | Exception]]]:
        """:meth:`stream` in the groups that finished together (one decode step, or one ``generate`` call).

        For a caller that saves what finished as one write rather than one per request.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if self.engine == "generate":
            return self._generate_groups(requests, batch_size)
        return self._continuous_groups(requests, batch_size)

    def _continuous_groups(self, requests: Sequence[TextRequest],
                           batch_size: int) -> Iterator[list[tuple[int, TextResult | Exception]]]:
        from generators.text_engine import ContinuousEngine, Job, Sampler

        if not requests:
            return
        prompts = [self._prompt(request) for request in requests]
        ids = self.lm.tokenizer(prompts, add_special_tokens=not self._chat)["input_ids"]
        jobs = [
            Job(tuple(prompt_ids), request.max_new_tokens, request.stop, request.lock, f"{request.seed}\x00{prompt}")
            for request, prompt, prompt_ids in zip(requests, prompts, ids, strict=True)
        ]
        if self._engine is None:
            self._engine = ContinuousEngine(self.lm.model, self.lm.tokenizer, end_ids=self._end_ids,
                                            sampler=Sampler(self.temperature, self.top_p), fact_lock=self._fact_lock)
        for group in self._engine.run(jobs, slots=batch_size):
            yield [(i, outcome if isinstance(outcome, Exception) else self._continuous_result(requests[i], jobs[i].prompt, outcome))
                   for i, outcome in group]

    def _continuous_result(self, request: TextRequest, prompt: Sequence[int], finished: Finished) -> TextResult:
        text, n_output, cut_off = self._text_of(request, finished.tokens)
        return TextResult(
            text=text, input_tokens=len(prompt), output_tokens=n_output, latency_s=finished.latency_s,
            time_to_first_token_s=finished.time_to_first_token_s, batch_size=finished.slots, device=self.lm.device,
            model_id=self.lm.model_id, revision=self.lm.revision, seed=request.seed, params=self._params(request),
            hit_token_limit=cut_off, batch_id=finished.run_id, first_token_at=finished.first_token_at,
            finished_at=finished.finished_at,
        )

    def _generate_groups(self, requests: Sequence[TextRequest],
                         batch_size: int) -> Iterator[list[tuple[int, TextResult | Exception]]]:
        """One group per ``model.generate`` call; a failing call raises (no per-request isolation here)."""
        groups: dict[tuple[int, tuple[str, ...], int], list[int]] = {}
        for index, request in enumerate(requests):
            groups.setdefault((request.max_new_tokens, request.stop, request.seed), []).append(index)
        for indices in groups.values():
            for start in range(0, len(indices), batch_size):
                batch = indices[start : start + batch_size]
                yield list(zip(batch, self._generate_batch([requests[i] for i in batch]), strict=True))

    def _params(self, request: TextRequest) -> dict[str, Any]:
        sampling: dict[str, Any] = (
            {"do_sample": True, "temperature": self.temperature, "top_p": self.top_p, "top_k": 0}
            if self.temperature > 0
            else {"do_sample": False}
        )
        stop = {"stop_strings": list(request.stop)} if request.stop else {}
        return {**sampling, "max_new_tokens": request.max_new_tokens, **stop}

    def _prompt(self, request: TextRequest) -> str:
        if not self._chat:
            return f"{request.system}\n\n{request.user}" if request.system else request.user
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages.append({"role": "user", "content": request.user})
        return self.lm.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

    def _generate_batch(self, batch: Sequence[TextRequest]) -> list[TextResult]:
        import torch
        from transformers import LogitsProcessorList

        lm, first = self.lm, batch[0]
        # A chat template writes the model's special tokens itself; plain text needs the
        # tokenizer to add them.
        inputs = lm.tokenizer(
            [self._prompt(request) for request in batch],
            return_tensors="pt",
            padding=True,
            add_special_tokens=not self._chat,
        ).to(lm.device)
        params = self._params(first)
        clock = _FirstCallClock()
        processors, indices = [clock], self._add_locks(batch)
        if indices:
            from generators.fact_lock import FactLockProcessor

            processors.append(FactLockProcessor(self._fact_lock(), indices, pad_token_id=lm.tokenizer.pad_token_id))
        torch.manual_seed(first.seed)
        started, started_wall = time.perf_counter(), time.time()
        try:
            with torch.inference_mode():
                output = lm.model.generate(
                    **inputs,
                    **params,
                    logits_processor=LogitsProcessorList(processors),
                    tokenizer=lm.tokenizer,
                )
        finally:
            for index in indices:
                if index is not None:
                    self._fact_lock().release(index)
        latency = time.perf_counter() - started
        assert clock.first_call is not None, "generate made no step although max_new_tokens >= 1"
        ttft = clock.first_call - started
        batch_id = uuid.uuid4().hex

        new_tokens = output[:, inputs["input_ids"].shape[1] :].tolist()
        prompt_tokens = inputs["attention_mask"].sum(dim=1).tolist()
        results = []
        for request, tokens, n_input in zip(batch, new_tokens, prompt_tokens, strict=True):
            text, n_output, cut_off = self._text_of(request, tokens)
            results.append(
                TextResult(
                    text=text,
                    input_tokens=int(n_input),
                    output_tokens=n_output,
                    latency_s=latency,
                    time_to_first_token_s=ttft,
                    batch_size=len(batch),
                    device=lm.device,
                    model_id=lm.model_id,
                    revision=lm.revision,
                    seed=request.seed,
                    params=dict(params),
                    hit_token_limit=cut_off,
                    batch_id=batch_id,
                    first_token_at=started_wall + ttft,
                    finished_at=started_wall + latency,
                )
            )
        return results

    def _text_of(self, request: TextRequest, tokens: Sequence[int]) -> tuple[str, int, bool]:
        """The text of a request's generated ``tokens``, its output token count and whether the limit cut it.

        Tokens count up to the first end or padding token; the text is cut at the first stop
        string. A locked text cut by the limit, perhaps inside a figure, keeps only its
        longest prefix that is a whole text of its grammar.
        """
        decode = self.lm.tokenizer.decode
        n_output = next((i for i, token in enumerate(tokens) if token in self._end_ids), len(tokens))
        text = decode(tokens[:n_output], skip_special_tokens=True)
        cut = _cut(text, request.stop)
        cut_off = n_output >= request.max_new_tokens and cut == text
        if request.lock and cut_off:
            complete = self._fact_lock().complete_length(request.lock, tokens[:n_output])
            cut = decode(tokens[:complete], skip_special_tokens=True)
        return cut.strip(), n_output, cut_off

    def _add_locks(self, batch: Sequence[TextRequest]) -> list[int | None]:
        """The lock's request index of each row (``None``: free); empty when no row is locked."""
        if not any(request.lock for request in batch):
            return []
        lock = self._fact_lock()
        return [lock.add(request.lock) if request.lock else None for request in batch]


class _FirstCallClock:
    """A logits processor that changes nothing and notes when ``generate`` first calls it.

    ``generate`` calls its logits processors once per step, after the forward pass, so the
    first call marks prefill plus the first decoding step. On CUDA it waits for the GPU
    first, since kernels run asynchronously to the Python that launched them.
    """

    def __init__(self) -> None:
        self.first_call: float | None = None

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if self.first_call is None:
            if scores.is_cuda:
                import torch

                torch.cuda.synchronize(scores.device)
            self.first_call = time.perf_counter()
        return scores


_SENTENCE_END = re.compile(r"[.!?][\"')\]]*(?=\s|$)")


def whole_sentences(text: str) -> str:
    """``text`` up to the end of its last complete sentence; ``""`` when it has none.

    For a text cut off by the token limit: a shorter draft that ends cleanly is better
    than one that stops mid-clause. A decimal point or an abbreviation inside a sentence
    ("2.48%", "Inc. ran") is not an end: a sentence end is followed by a space or the end.
    """
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    return text[: ends[-1]].strip() if ends else ""


def _cut(text: str, stops: Sequence[str]) -> str:
    """``text`` up to the earliest occurrence of any stop string."""
    positions = [position for stop in stops if (position := text.find(stop)) >= 0]
    return text[: min(positions)] if positions else text
