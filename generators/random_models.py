"""Randomly initialised causal language models, built offline and saved like hub models.

Tests and benchmarks need a real transformers causal LM without network access. These
builders give one random weights and write it with ``save_pretrained``, so it reaches
``load_causal_lm`` through the same loading path as a published checkpoint. Its text is
gibberish; the plumbing (chat template, tokenisation, padding, batching, sampling, stop
strings, token accounting) is the real thing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

RandomConfigName = Literal["qwen2.5-0.5b"]

_PAD, _BOS, _EOS = "<|pad|>", "<|bos|>", "<|eos|>"
_ROLES = ("<|system|>", "<|user|>", "<|assistant|>")
# A minimal chat format: each message starts with its role marker and ends with EOS.
_CHAT_TEMPLATE = (
    "{{ '<|bos|>' }}{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}<|eos|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
# Enough text for BPE to learn a few hundred merges in milliseconds; the byte-level
# alphabet guarantees every other string still tokenises.
_CORPUS = (
    "Flights out of New York were delayed this morning as storms crossed the region.",
    "The airline said departures from JFK, LaGuardia and Newark would resume by noon.",
    "Average departure delay rose to forty minutes, the highest level this month.",
    "Write a short headline for the evening news brief about airport traffic.",
    "Summarise the weekly report on passenger numbers, on-time rates and cancellations.",
    "Marketing copy: book early, fly direct and arrive rested with our new morning routes.",
    "Editors review every generated draft before it is published on the website.",
)
_TINY_VOCAB = 512

# Qwen/Qwen2.5-0.5B-Instruct's layer shapes, so a benchmark on it costs what the real
# model costs per token (including the 151,936-row output layer).
_CONFIGS: dict[str, dict[str, Any]] = {
    "qwen2.5-0.5b": {
        "model_type": "qwen2",
        "hidden_size": 896,
        "intermediate_size": 4864,
        "num_hidden_layers": 24,
        "num_attention_heads": 14,
        "num_key_value_heads": 2,
        "vocab_size": 151936,
        "max_position_embeddings": 32768,
        "tie_word_embeddings": True,
    },
}


def build_tiny_causal_lm(path: Path, seed: int = 0) -> Path:
    """Write a tiny random Llama model (about 100k parameters) with its tokenizer to ``path``.

    The same ``seed`` writes the same weights, so tests comparing texts across builds stay
    meaningful. Returns ``path``.
    """
    shapes = {
        "model_type": "llama",
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 1024,
    }
    return _build(shapes, Path(path), seed, save_dtype="float32")


def build_random_causal_lm_from_config(config_name: RandomConfigName, path: Path, seed: int = 0) -> Path:
    """Write a model with the named real model's shapes and random weights to ``path``.

    Meant for GPU throughput benchmarks where the real checkpoint cannot be downloaded;
    saved as bfloat16 (qwen2.5-0.5b: ~1 GB). It uses the tiny tokenizer, whose ids are a
    small prefix of the model's vocabulary: generated ids beyond it decode to nothing,
    which leaves token counts, and so throughput, unaffected.
    """
    if config_name not in _CONFIGS:
        raise ValueError(f"unknown random model config {config_name!r}; known: {sorted(_CONFIGS)}")
    return _build(_CONFIGS[config_name], Path(path), seed, save_dtype="bfloat16")


def _build(shapes: dict[str, Any], path: Path, seed: int, save_dtype: str) -> Path:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    tokenizer = _tokenizer()
    fields = {"vocab_size": len(tokenizer), **shapes}
    config = AutoConfig.for_model(
        **fields,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    # A private RNG stream, so building neither disturbs nor depends on the caller's seed.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, save_dtype))
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def _tokenizer() -> Any:
    """A byte-level BPE tokenizer trained on ``_CORPUS``, with special tokens and a chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=_TINY_VOCAB,
        special_tokens=[_PAD, _BOS, _EOS, *_ROLES],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(_CORPUS, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token=_BOS,
        eos_token=_EOS,
        pad_token=_PAD,
        additional_special_tokens=list(_ROLES),
    )
    tokenizer.chat_template = _CHAT_TEMPLATE
    return tokenizer
