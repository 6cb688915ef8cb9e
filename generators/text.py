"""Text drafts from one loaded causal LM, batched, seeded and recorded with what made them.

Editors and QC checks need to know how a draft was produced and what it cost: every
result carries the model revision, seed, generation settings, token counts, latency and
time to first token. Requests are grouped into batches that can share one
``model.generate`` call (same length limit, stop strings and seed) because a batch costs
little more wall time than one request on a GPU. Sampling draws for a whole batch from
one seeded stream, so a text is reproducible given the same requests, batch size, seed,
model revision and device. A request may carry a grammar its tokens must follow (the
fact lock, ``generators/fact_lock.py``); the lock masks the logits of its row only.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from generators.fact_lock import FactLock
    from generators.text_model import LoadedCausalLM


@dataclass(frozen=True)
class TextRequest:
    """One text to generate.

    :param stop: strings that end the text: output is cut at the earliest occurrence of
        any of them (the stop string itself is dropped), and generation of that row stops.
    :param seed: seeds the sampling of the batch this request lands in; requests with
        different seeds never share a batch.
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
    :param latency_s: wall time of the ``generate`` call that made this text together with
        ``batch_size - 1`` others.
    :param time_to_first_token_s: from the start of that call until the first token's
        logits were ready (prompt prefill plus one step), shared by the batch.
    :param params: the generation settings passed to ``model.generate``.
    :param hit_token_limit: the text ran to ``max_new_tokens`` with no end token and no stop
        string: it was cut off, probably mid-sentence (see :func:`whole_sentences`).
    :param batch_id: names the ``generate`` call; the results of one call share it.
    :param first_token_at: when that call's first token logits were ready, and
        ``finished_at`` when it returned (seconds since the epoch, for the log's timestamps).
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
    """Generates texts with one loaded causal LM; load once, then call :meth:`generate` per batch of work.

    ``temperature`` 0 means greedy decoding; above 0, sampling with that temperature and
    nucleus ``top_p`` (top-k filtering off, so the two settings say everything).
    """

    def __init__(self, lm: LoadedCausalLM, *, temperature: float = 0.7, top_p: float = 0.9) -> None:
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0 (0 = greedy), got {temperature}")
        if not 0 < top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {top_p}")
        self.lm = lm
        self.temperature = temperature
        self.top_p = top_p
        self._chat = bool(getattr(lm.tokenizer, "chat_template", None))
        eos = lm.model.generation_config.eos_token_id
        eos_ids = eos if isinstance(eos, list) else [] if eos is None else [eos]
        self._end_ids = frozenset([*eos_ids, lm.tokenizer.pad_token_id])
        self._lock: FactLock | None = None

    def _fact_lock(self) -> FactLock:
        """The lock over this model's tokenizer, built on the first locked request."""
        if self._lock is None:
            from generators.fact_lock import FactLock

            self._lock = FactLock(self.lm.tokenizer, vocab_size=self.lm.model.config.vocab_size)
        return self._lock

    def generate(self, requests: Sequence[TextRequest], *, batch_size: int) -> list[TextResult]:
        """One result per request, in request order, from batches of at most ``batch_size``."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        groups: dict[tuple[int, tuple[str, ...], int], list[int]] = {}
        for index, request in enumerate(requests):
            groups.setdefault((request.max_new_tokens, request.stop, request.seed), []).append(index)
        results: dict[int, TextResult] = {}
        for indices in groups.values():
            for start in range(0, len(indices), batch_size):
                batch = indices[start : start + batch_size]
                results.update(zip(batch, self._generate_batch([requests[i] for i in batch]), strict=True))
        return [results[index] for index in range(len(requests))]

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
            n_output = next((i for i, token in enumerate(tokens) if token in self._end_ids), len(tokens))
            text = lm.tokenizer.decode(tokens[:n_output], skip_special_tokens=True)
            cut = _cut(text, request.stop)
            cut_off = n_output >= request.max_new_tokens and cut == text
            if request.lock and cut_off:
                # Cut off by the limit, perhaps inside a figure: keep the whole-grammar prefix.
                complete = self._fact_lock().complete_length(request.lock, tokens[:n_output])
                cut = lm.tokenizer.decode(tokens[:complete], skip_special_tokens=True)
            results.append(
                TextResult(
                    text=cut.strip(),
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
