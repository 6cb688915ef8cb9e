"""The model-facing half of the continuous-batching engine: KV slots, prefill and one decode step.

A continuous batch holds rows that started at different times, so each row has its own
length, RoPE position and write column; transformers' ``StaticCache`` writes every row
at one shared column, so it cannot hold them. :class:`SlotCache` is a ``Cache`` of
preallocated per-layer tensors ``(slots, kv_heads, length, head_dim)`` whose layers write
each row where its own column says; the attention mask (an additive 4D mask, which
transformers passes to the attention as is) says which columns each row attends to.

Shapes are fixed for the life of a decoder, so on CUDA the decode step is captured once
as a CUDA graph and replayed (:class:`CudaGraphDecoder`, the only device-specific
code); on CPU the same step runs eagerly (:class:`SlotDecoder`). Prefill stays eager:
its shapes change with every wave of new requests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from transformers.cache_utils import Cache, CacheLayerMixin

#: Attention implementations that take an additive 4D float mask as given.
SUPPORTED_ATTENTION = ("sdpa", "eager")


class Decoder(Protocol):
    """What the engine needs from the model: fill rows with prompts, then step every row by one token."""

    slots: int
    length: int

    def prefill(self, rows: Sequence[int], prompts: Sequence[Sequence[int]]) -> torch.Tensor:
        """Write each prompt into its row; the float32 logits of each prompt's last token, ``(len(rows), vocab)``.

        The prompts fill columns ``0..P-1`` of their rows, ``P`` the longest of them (shorter
        ones left-padded): a row's first generated token goes to column ``P``.
        """
        ...

    def step(self, tokens: torch.Tensor, columns: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """Feed one token per row (written at its column, at its RoPE position); float32 logits ``(slots, vocab)``."""
        ...


DecoderFactory = Callable[[Any, int, int], Decoder]


@dataclass
class _Writes:
    """Where the next forward pass writes its keys and values, shared by every layer of one cache.

    ``rows`` is ``(n, 1)`` and ``columns`` ``(n, q)``: query token ``j`` of row ``rows[i]`` goes
    to column ``columns[i, j]``. A prefill attends only to its own prompt (the rows are new),
    a decode step to everything its row holds.
    """

    rows: torch.Tensor
    columns: torch.Tensor
    prefill: bool


class SlotLayer(CacheLayerMixin):
    """One layer's keys and values for every slot, allocated up front, written per row."""

    is_compileable = True

    def __init__(self, shape: tuple[int, int, int, int], dtype: torch.dtype, device: torch.device, writes: _Writes) -> None:
        super().__init__()
        self.keys = torch.zeros(shape, dtype=dtype, device=device)
        self.values = torch.zeros(shape, dtype=dtype, device=device)
        self.writes = writes
        self.is_initialized = True

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        """Nothing to do: the tensors exist from the start, at fixed addresses a CUDA graph can keep."""

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        w = self.writes
        self.keys[w.rows, :, w.columns] = key_states.transpose(1, 2)
        self.values[w.rows, :, w.columns] = value_states.transpose(1, 2)
        if w.prefill:
            return key_states, value_states
        return self.keys, self.values

    def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
        return self.keys.shape[2], 0

    def get_seq_length(self) -> int:
        return 0  # rows differ; the engine always passes positions and a 4D mask

    def get_max_length(self) -> int:
        return self.keys.shape[2]


class SlotCache(Cache):
    """A ``Cache`` of :class:`SlotLayer`, one per decoder layer, sharing one :class:`_Writes`."""

    def __init__(self, config: Any, slots: int, length: int, dtype: torch.dtype, device: torch.device) -> None:
        heads = config.num_attention_heads
        kv_heads = getattr(config, "num_key_value_heads", None) or heads
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
        self.writes = _Writes(torch.zeros(0), torch.zeros(0), prefill=False)
        shape = (slots, kv_heads, length, head_dim)
        super().__init__(layers=[SlotLayer(shape, dtype, device, self.writes) for _ in range(config.num_hidden_layers)])


class SlotDecoder:
    """Prefill and decode over ``slots`` rows of at most ``length`` cache columns each, eagerly.

    A row's prompt is written at columns ``0..P-1`` (``P`` the longest prompt of its wave,
    shorter prompts left-padded; pad columns are never attended to) and its generated
    tokens after it. ``mask`` is the additive attention mask of a decode step: 0 where a
    row attends, the dtype's minimum elsewhere.
    """

    def __init__(self, model: Any, slots: int, length: int) -> None:
        check_model(model)
        self.model, self.slots, self.length = model, slots, length
        self.device, self.dtype = model.device, model.dtype
        self.cache = SlotCache(model.config, slots, length, self.dtype, self.device)
        self._masked = torch.finfo(self.dtype).min
        self.mask = torch.full((slots, 1, 1, length), self._masked, dtype=self.dtype, device=self.device)
        self._mask_rows = self.mask.view(slots, length)
        self._all_rows = torch.arange(slots, device=self.device)
        self._attend = torch.zeros((), dtype=self.dtype, device=self.device)  # on the device: no copy inside a graph

    def prefill(self, rows: Sequence[int], prompts: Sequence[Sequence[int]]) -> torch.Tensor:
        width = max(len(prompt) for prompt in prompts)
        ids = torch.zeros((len(prompts), width), dtype=torch.long)
        real = torch.zeros((len(prompts), width), dtype=torch.bool)
        for i, prompt in enumerate(prompts):
            ids[i, width - len(prompt):] = torch.tensor(prompt, dtype=torch.long)
            real[i, width - len(prompt):] = True
        ids, real = ids.to(self.device), real.to(self.device)
        positions = (real.long().cumsum(-1) - 1).clamp(min=0)
        causal = torch.ones((width, width), dtype=torch.bool, device=self.device).tril()
        # A pad query attends to itself: a query with nothing to attend to would make NaNs.
        allowed = (causal & real[:, None, :]) | torch.eye(width, dtype=torch.bool, device=self.device)
        row_index = torch.tensor(list(rows), device=self.device)
        self.cache.writes.rows = row_index[:, None]
        self.cache.writes.columns = torch.arange(width, device=self.device).expand(len(rows), width)
        self.cache.writes.prefill = True
        logits = self.model(
            input_ids=ids, attention_mask=self._additive(allowed[:, None]), position_ids=positions,
            past_key_values=self.cache, use_cache=True, logits_to_keep=1,
        ).logits[:, -1]
        self._mask_rows[row_index] = self._masked
        self._mask_rows[row_index, :width] = self._additive(real)
        return logits.float()

    def step(self, tokens: torch.Tensor, columns: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        self.cache.writes.rows = self._all_rows[:, None]
        self.cache.writes.columns = columns[:, None]
        self.cache.writes.prefill = False
        self._mask_rows.index_put_((self._all_rows, columns), self._attend)
        return self.model(
            input_ids=tokens[:, None], attention_mask=self.mask, position_ids=positions[:, None],
            past_key_values=self.cache, use_cache=True,
        ).logits[:, -1].float()

    def _additive(self, allowed: torch.Tensor) -> torch.Tensor:
        return torch.zeros(allowed.shape, dtype=self.dtype, device=self.device).masked_fill_(~allowed, self._masked)


class CudaGraphDecoder(SlotDecoder):
    """:class:`SlotDecoder` whose decode step is one CUDA graph, captured on the first step.

    The step's inputs are copied into static buffers and the graph replayed: Python and
    kernel launch overhead, which dominate a small model's eager step at any batch size,
    are paid once. A step only writes the column it is given, so the warm-up runs before
    capture repeat the first step exactly and change nothing.
    """

    WARMUP_STEPS = 2  # lets cuBLAS and the allocator settle on a side stream before capture

    def __init__(self, model: Any, slots: int, length: int) -> None:
        super().__init__(model, slots, length)
        self._tokens = torch.zeros(slots, dtype=torch.long, device=self.device)
        self._columns = torch.zeros(slots, dtype=torch.long, device=self.device)
        self._positions = torch.zeros(slots, dtype=torch.long, device=self.device)
        self._graph: torch.cuda.CUDAGraph | None = None
        self._logits: torch.Tensor | None = None

    def step(self, tokens: torch.Tensor, columns: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        self._tokens.copy_(tokens, non_blocking=True)
        self._columns.copy_(columns, non_blocking=True)
        self._positions.copy_(positions, non_blocking=True)
        if self._graph is None:
            self._capture()
        assert self._graph is not None and self._logits is not None
        self._graph.replay()
        return self._logits

    def _capture(self) -> None:
        eager = super().step
        with torch.cuda.device(self.device):  # a graph captures on the current device: the model's
            side = torch.cuda.Stream(self.device)
            side.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(side):
                for _ in range(self.WARMUP_STEPS):
                    eager(self._tokens, self._columns, self._positions)
            torch.cuda.current_stream(self.device).wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                self._logits = eager(self._tokens, self._columns, self._positions)
        self._graph = graph


def check_model(model: Any) -> None:
    """Refuse, naming why, a model whose attention the slot cache cannot drive."""
    config = model.config
    attention = getattr(config, "_attn_implementation", None) or "eager"
    if attention not in SUPPORTED_ATTENTION:
        raise ValueError(f"the continuous engine needs attention in {SUPPORTED_ATTENTION}, model uses {attention!r}")
    layer_types = set(getattr(config, "layer_types", None) or ["full_attention"])
    if layer_types != {"full_attention"}:
        raise ValueError(f"the continuous engine supports full attention only, model has layers {sorted(layer_types)}")


def default_decoder(model: Any, slots: int, length: int) -> Decoder:
    """A CUDA-graph decoder on CUDA, the eager one anywhere else."""
    if model.device.type == "cuda":
        return CudaGraphDecoder(model, slots, length)
    return SlotDecoder(model, slots, length)
