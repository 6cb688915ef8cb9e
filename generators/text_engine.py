"""Continuous batching over any transformers causal LM: a fixed set of slots that stays full.

``model.generate`` runs a batch until its longest row is done, so finished rows idle and
every call rebuilds its cache. Here the night's requests wait in one queue sorted by
prompt length (a wave of neighbours pads little); a fixed number of slots share one
preallocated KV cache (:mod:`generators.slot_decoder`), and when rows finish (end token,
stop string, token limit) their slots are refilled in a wave: the next requests are
prefilled together into the free slots while the others wait one step. Waves start once
``refill_fraction`` of the slots are free, so a prefill is shared by several requests
instead of paid per finished row.

Sampling is the one ``generate`` does (greedy at temperature 0, else transformers'
temperature and top-p warpers, top-k off), drawn per row from the request's own seeded
stream (``Job.sample_key``), so a request's text depends on its own prompt and seed, not
on which rows it shared a step with (up to floating-point differences of the batch
shape). A locked row's logits are masked by its fact lock before sampling; masks are
filled only for locked rows.

The host never holds the device up between decode steps: a step is launched on the
tokens the last sampling left on the device, and while it runs the host reads those
tokens (end tokens, stop strings, the fact lock's ``accept``) and fills the lock's masks
for it; every copy a decode step makes between host and device goes through pinned
memory, so none waits for the step. A row ended by the tokens just read was fed once
more, and that row's logits are dropped. The price: whether to admit a wave is decided
before those tokens are read, so slots they free wait one step for the next wave.
Timings are taken when the host reads a token, at most one step after it was sampled.

Failures stay with their request: a lock that cannot be built or refuses a token, or an
empty prompt, ends that request with its exception while the others go
on. Out of memory halves the slots and re-queues the rows in flight (from scratch, so
their output is what it would have been); only a request that runs out of memory alone in
one slot fails with it.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from math import ceil
from typing import TYPE_CHECKING, Any

import torch

from generators.fact_lock import FactLockError, apply_bitmask
from generators.slot_decoder import Decoder, DecoderFactory, default_decoder

if TYPE_CHECKING:
    from generators.fact_lock import FactLock

#: Refill once this share of the slots is free. A prefill costs about what a decode step
#: costs for a handful of rows on a GPU, so waiting for a few free slots wastes little;
#: not yet measured on a GPU (issue 13).
REFILL_FRACTION = 0.125
#: Cache columns are allocated in blocks of this many.
LENGTH_BLOCK = 16


@dataclass(frozen=True)
class Job:
    """One request at the token level.

    :param prompt: the prompt's token ids (not empty).
    :param stop: strings whose appearance in the generated text ends the row.
    :param lock: a fact-lock grammar the tokens must follow; ``None`` decodes freely.
    :param sample_key: seeds this request's sampling stream (e.g. its seed and prompt).
    """

    prompt: tuple[int, ...]
    max_new_tokens: int
    stop: tuple[str, ...] = ()
    lock: str | None = None
    sample_key: str = ""


@dataclass(frozen=True)
class Finished:
    """A finished request: its tokens (an end token, if sampled, is the last) and its own timings.

    :param slots: the slots of the engine run it finished in; ``run_id`` names that run
        (a new one after out-of-memory halves the slots).
    :param latency_s: from its admission (prefill) to its last token; ``time_to_first_token_s``
        to its first (each as read by the host: at most one decode step after sampling).
        ``first_token_at`` and ``finished_at`` are seconds since the epoch.
    """

    tokens: list[int]
    slots: int
    run_id: str
    latency_s: float
    time_to_first_token_s: float
    first_token_at: float
    finished_at: float


Outcome = Finished | Exception


class Sampler:
    """Picks each row's next token from float32 logits, as ``generate`` would with the same settings."""

    def __init__(self, temperature: float, top_p: float) -> None:
        from transformers import TemperatureLogitsWarper, TopPLogitsWarper

        self.greedy = temperature == 0
        self._warpers = [] if self.greedy else [TemperatureLogitsWarper(float(temperature))]
        if not self.greedy and top_p < 1:
            self._warpers.append(TopPLogitsWarper(top_p))

    def __call__(self, scores: torch.Tensor, uniforms: Sequence[float]) -> torch.Tensor:
        """Greedy: the argmax. Else inverse-CDF sampling with one uniform in (0, 1] per row."""
        if self.greedy:
            return scores.argmax(dim=-1)
        for warper in self._warpers:
            scores = warper(None, scores)
        cdf = scores.softmax(dim=-1).cumsum(dim=-1)
        targets = _to_device(uniforms, cdf.device, cdf.dtype)[:, None] * cdf[:, -1:]
        return torch.searchsorted(cdf, targets).squeeze(-1).clamp_(max=scores.shape[-1] - 1)


@dataclass
class _Row:
    """A request in a slot: what it has generated and where its next token goes."""

    index: int
    job: Job
    admitted: float
    admitted_wall: float
    rng: random.Random
    lock_id: int | None
    column: int
    position: int
    tokens: list[int] = field(default_factory=list)
    first_token: float | None = None


class ContinuousEngine:
    """Runs jobs through a fixed number of slots; see the module docstring.

    :param end_ids: tokens that end a row (end of sequence, padding).
    :param fact_lock: gives the fact lock (built on the first locked job).
    :param decoder: builds the decoder for ``(model, slots, length)``; the seam for another
        device strategy, and for tests that make a step run out of memory.
    """

    def __init__(self, model: Any, tokenizer: Any, *, end_ids: frozenset[int], sampler: Sampler,
                 fact_lock: Callable[[], FactLock], decoder: DecoderFactory = default_decoder,
                 refill_fraction: float = REFILL_FRACTION) -> None:
        if not 0 < refill_fraction <= 1:
            raise ValueError(f"refill_fraction must be in (0, 1], got {refill_fraction}")
        self.model, self.tokenizer, self.end_ids, self.sampler = model, tokenizer, end_ids, sampler
        self.fact_lock, self.decoder, self.refill_fraction = fact_lock, decoder, refill_fraction
        self._token_texts: list[str] | None = None
        self._decoder: tuple[tuple[int, int], Decoder] | None = None

    def decoder_for(self, slots: int, length: int) -> Decoder:
        """The decoder of ``slots`` x ``length``, kept from the last run of that shape.

        A decoder holds the KV cache (about 1 GB for a 0.5B model at 256 slots) and, on
        CUDA, its captured decode step: building one per ``generate`` call paid an
        allocation, two warm-up steps and a capture every time. A kept cache needs no
        clearing: a prefill rewrites its rows' prompts and masks, and a step writes a
        column before any row attends to it. One shape is kept; another replaces it, so
        two runs of one engine must not be iterated at the same time.
        """
        if self._decoder is None or self._decoder[0] != (slots, length):
            self.forget_decoder()
            with torch.inference_mode():
                self._decoder = ((slots, length), self.decoder(self.model, slots, length))
        return self._decoder[1]

    def forget_decoder(self) -> None:
        """Drop the kept decoder and return its memory (out of memory, another shape)."""
        if self._decoder is not None:
            self._decoder = None
            if torch.cuda.is_available():
                torch.cuda.empty_cache()

    def may_end_a_stop(self, token: int, stops: tuple[str, ...]) -> bool:
        """Whether ``token`` could be the one that completes one of ``stops``: a cheap screen before decoding.

        The completing token's text holds the stop's last character, or is part of a
        character split across byte tokens (which decodes alone as U+FFFD). Decoding a
        row's tail for every token cost about 10 us a row a step, more than the rest of
        its bookkeeping; most tokens hold no stop's last character.
        """
        if self._token_texts is None:
            backend = getattr(self.tokenizer, "backend_tokenizer", None)
            ids = [[i] for i in range(len(self.tokenizer))]
            self._token_texts = (backend.decode_batch(ids, skip_special_tokens=True) if backend is not None
                                 else self.tokenizer.batch_decode(ids, skip_special_tokens=True))
        text = self._token_texts[token] if token < len(self._token_texts) else ""
        return "\ufffd" in text or any(stop[-1] in text for stop in stops)

    def run(self, jobs: Sequence[Job], *, slots: int) -> Iterator[list[tuple[int, Outcome]]]:
        """Yields ``(job index, outcome)`` groups as jobs finish (a group: those done at one step); each index once."""
        if slots < 1:
            raise ValueError(f"slots must be >= 1, got {slots}")
        rejected = [(i, error) for i, job in enumerate(jobs) if (error := self._reject(job)) is not None]
        if rejected:
            yield rejected
        refused = {i for i, _ in rejected}
        admissible = [i for i in range(len(jobs)) if i not in refused]
        if admissible:
            yield from _Run(self, jobs, admissible, slots).groups()

    @staticmethod
    def _reject(job: Job) -> Exception | None:
        # No check against the model's max_position_embeddings: like ``generate``, RoPE
        # models run past it (worse text, not an error).
        return ValueError("the prompt has no tokens") if not job.prompt else None


class _Run:
    """One call of :meth:`ContinuousEngine.run`: the queue, the slots and their rows."""

    def __init__(self, engine: ContinuousEngine, jobs: Sequence[Job], indices: list[int], slots: int) -> None:
        self.engine, self.jobs = engine, jobs
        self.queue = deque(sorted(indices, key=lambda i: len(jobs[i].prompt)))
        # Every wave's prompts are padded to its longest, at most the longest of all. Rounded
        # up to whole blocks: CUDA's memory-efficient attention wants the mask's rows aligned.
        longest = max(len(jobs[i].prompt) for i in indices) + max(jobs[i].max_new_tokens for i in indices)
        self.length = -(-longest // LENGTH_BLOCK) * LENGTH_BLOCK
        self.done: list[tuple[int, Outcome]] = []  # outcomes not yet yielded
        self._resize(min(slots, len(indices)))

    def groups(self) -> Iterator[list[tuple[int, Outcome]]]:
        while self.queue or self._live():
            phase = self._admit if self._admit_now() else self._step
            try:
                phase()
            except torch.OutOfMemoryError as error:
                self.done += self._out_of_memory(error)
            if self.done:
                group, self.done = self.done, []
                yield group

    # 1. Slots and their decoder

    def _resize(self, slots: int) -> None:
        self.slots, self.rows = slots, [None] * slots
        self.run_id = uuid.uuid4().hex
        self.refill_at = max(1, ceil(slots * self.engine.refill_fraction))
        self.device = self.engine.model.device
        # Each slot's next input token, on the device: a step feeds the tokens the last
        # sampling wrote here without waiting for the host to read them (see _step).
        self.next_tokens = torch.zeros(slots, dtype=torch.long, device=self.device)
        self.pending: _Pending | None = None

    @property
    def decoder(self) -> Decoder:
        return self.engine.decoder_for(self.slots, self.length)

    def _live(self) -> list[int]:
        return [slot for slot, row in enumerate(self.rows) if row is not None]

    def _out_of_memory(self, error: torch.OutOfMemoryError) -> list[tuple[int, Outcome]]:
        """Halve the slots and re-queue the rows in flight; with one slot, its row fails.

        Tokens sampled before the failing call are read first (their step succeeded, so
        the rows they end are done); the rows still in flight start again from scratch, so
        their output is what it would have been.
        """
        in_flight = bool(self._live())
        self._read()
        live = [self.rows[slot] for slot in self._live()]
        for slot in self._live():
            self._free(slot)
        if self.slots == 1:
            if not in_flight:
                raise error  # not even one slot fits: no request is to blame
            return [(row.index, error) for row in live]  # none when the read ended the one row
        self.queue.extendleft(sorted((row.index for row in live), key=lambda i: len(self.jobs[i].prompt), reverse=True))
        self.engine.forget_decoder()
        self._resize(self.slots // 2)
        return []

    # 2. Admission: a wave of prefills into the free slots

    def _admit_now(self) -> bool:
        free = self.slots - len(self._live())
        return bool(self.queue) and free > 0 and (free >= min(self.refill_at, len(self.queue)) or not self._live())

    def _admit(self) -> None:
        self._read()  # the last step's tokens first: the rows they end free their slots for this wave
        decoder, admitted = self.decoder, []
        for slot in [s for s, row in enumerate(self.rows) if row is None]:
            if not self.queue:
                break
            index = self.queue.popleft()
            job = self.jobs[index]
            try:
                lock_id = self.engine.fact_lock().add(job.lock) if job.lock else None
            except FactLockError as error:
                self.done.append((index, error))
                continue
            self.rows[slot] = _Row(index, job, time.perf_counter(), time.time(), random.Random(job.sample_key),
                                   lock_id, column=0, position=len(job.prompt))
            admitted.append(slot)
        if admitted:
            with torch.inference_mode():
                logits = decoder.prefill(admitted, [self.rows[slot].job.prompt for slot in admitted])
            width = max(len(self.rows[slot].job.prompt) for slot in admitted)  # the wave's prompts fill columns 0..width-1
            for slot in admitted:
                self.rows[slot].column = width
            self._sample(admitted, logits)

    # 3. One decode step for every slot (idle ones write a spare column nobody reads)

    def _step(self) -> None:
        """Launch the step on the tokens last sampled, and read those tokens while the device runs it.

        The device never waits for the host's bookkeeping: the step's input is the device
        tensor the last sampling wrote, so the host reads those tokens (end tokens, stop
        strings, the fact lock's ``accept``) and fills the lock's masks for this step while
        the step runs. A row that the tokens end was fed once more; its logits are
        dropped, and the extra column it wrote is rewritten before any row attends to it.
        """
        live, rows = self._live(), self.rows
        if self.pending is not None and set(self.pending.slots) == set(live) and all(self._last(rows[s]) for s in live):
            self._read()  # every row ends with the tokens already sampled: no step to run
            return
        idle_column = self.length - 1
        columns = _to_device([row.column if row else idle_column for row in rows], self.device)
        positions = _to_device([row.position if row else 0 for row in rows], self.device)
        with torch.inference_mode():
            logits = self.decoder.step(self.next_tokens, columns, positions)
        for slot in live:
            rows[slot].column += 1
            rows[slot].position += 1
        self._read()
        still = [slot for slot in live if rows[slot] is not None]
        if still:
            self._sample(still, logits[_to_device(still, self.device)] if len(still) < self.slots else logits)

    def _last(self, row: _Row) -> bool:
        """Whether the token sampled for ``row`` and not yet read is its last by the token limit."""
        return len(row.tokens) + 1 >= row.job.max_new_tokens

    # 4. Masks and sampling on the device; each row's bookkeeping when its tokens are read

    def _sample(self, slots: list[int], logits: torch.Tensor) -> None:
        """Sample the next token of each of ``slots`` into ``next_tokens``, and start its copy to the host."""
        rows = [self.rows[slot] for slot in slots]
        with torch.inference_mode():
            self._mask(rows, logits)
            uniforms = [] if self.engine.sampler.greedy else [1 - r.rng.random() for r in rows]
            tokens = self.engine.sampler(logits, uniforms)
            self.next_tokens[_to_device(slots, self.device)] = tokens
        self.pending = _Pending(slots, rows, _ToHost(tokens))

    def _read(self) -> None:
        """Book the tokens last sampled: append, accept, end rows (their outcomes go to ``done``)."""
        pending, self.pending = self.pending, None
        if pending is None:
            return
        tokens = pending.tokens.values()
        now = time.perf_counter()
        for slot, row, token in zip(pending.slots, pending.rows, tokens, strict=True):
            row.first_token = row.first_token or now
            try:
                done = self._append(row, token)
            except FactLockError as error:
                self.done.append((row.index, error))
                self._free(slot)
                continue
            if done:
                self.done.append((row.index, self._finished(row, now)))
                self._free(slot)

    def _mask(self, rows: list[_Row], logits: torch.Tensor) -> None:
        locked = [(i, row.lock_id) for i, row in enumerate(rows) if row.lock_id is not None]
        if not locked:
            return
        lock = self.engine.fact_lock()
        bitmask = lock.allocate_bitmask(len(locked), pinned=logits.device.type == "cuda")
        lock.fill_bitmasks(bitmask, [(lock_id, k) for k, (_, lock_id) in enumerate(locked)])
        where = _to_device([i for i, _ in locked], logits.device)
        logits[where] = apply_bitmask(logits[where], bitmask)

    def _append(self, row: _Row, token: int) -> bool:
        """Add ``token`` to the row; whether the row is done."""
        row.tokens.append(token)
        if token in self.engine.end_ids:
            return True
        if row.lock_id is not None:
            self.engine.fact_lock().accept(row.lock_id, token)
        stops = row.job.stop
        return len(row.tokens) >= row.job.max_new_tokens or (
            bool(stops) and self.engine.may_end_a_stop(token, stops) and self._stopped(row))

    def _stopped(self, row: _Row) -> bool:
        """Whether a stop string appears in the row's last tokens.

        Checked after every token, so it first appears in the token that completes it; a
        window of 4 tokens a character (a character may take up to 4 byte tokens) plus 2
        holds any stop string that ends in the last token, wherever token edges fall.
        """
        stops = row.job.stop
        window = 4 * max(len(stop) for stop in stops) + 2
        tail = self.engine.tokenizer.decode(row.tokens[-window:], skip_special_tokens=True)
        return any(stop in tail for stop in stops)

    def _finished(self, row: _Row, now: float) -> Finished:
        assert row.first_token is not None
        return Finished(
            tokens=row.tokens, slots=self.slots, run_id=self.run_id, latency_s=now - row.admitted,
            time_to_first_token_s=row.first_token - row.admitted,
            first_token_at=row.admitted_wall + row.first_token - row.admitted, finished_at=row.admitted_wall + now - row.admitted,
        )

    def _free(self, slot: int) -> None:
        row = self.rows[slot]
        if row is not None and row.lock_id is not None:
            self.engine.fact_lock().release(row.lock_id)
        self.rows[slot] = None


@dataclass
class _Pending:
    """Tokens sampled for ``slots`` (holding ``rows``) and on their way to the host."""

    slots: list[int]
    rows: list[_Row]
    tokens: _ToHost


class _ToHost:
    """A device tensor's values, copied to the host without waiting; :meth:`values` waits for them.

    On CUDA the copy goes to pinned memory behind an event, so the host goes on queueing
    work (the next step) and waits only when it needs the values; elsewhere it is a plain copy.
    """

    def __init__(self, tensor: torch.Tensor) -> None:
        if tensor.device.type == "cuda":
            self._host = torch.empty(tensor.shape, dtype=tensor.dtype, pin_memory=True)
            self._host.copy_(tensor, non_blocking=True)
            self._ready: torch.cuda.Event | None = torch.cuda.Event()
            self._ready.record(torch.cuda.current_stream(tensor.device))  # the copy's stream, not device 0's
        else:
            self._host, self._ready = tensor, None

    def values(self) -> list[int]:
        if self._ready is not None:
            self._ready.synchronize()
        return self._host.tolist()


def _to_device(values: Sequence[float], device: torch.device, dtype: torch.dtype = torch.long) -> torch.Tensor:
    """A tensor of ``values`` on ``device``; on CUDA through pinned memory, so the copy does not wait for the device.

    A copy from pageable memory waits for the work queued before it: one of those per step
    would keep the host from filling the next masks while the device runs the step.
    """
    if device.type != "cuda":
        return torch.tensor(values, dtype=dtype, device=device)
    return torch.tensor(values, dtype=dtype, pin_memory=True).to(device, non_blocking=True)
