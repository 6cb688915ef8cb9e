"""Randomly initialised Stable Diffusion pipelines, built offline and saved like hub models.

Tests and benchmarks need a real diffusers pipeline without network access or multi-GB
downloads. These builders assemble one from configs, give it random weights and write it
with ``save_pretrained``, so it reaches ``DiffusionCoverGenerator.from_pretrained`` through
the same loading path as a published checkpoint. The pictures are noise; the plumbing
(tokenizer, text encoder, UNet, scheduler, VAE, seeding, batching) is the real thing.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Where the tokenizer's special tokens sit: after the 256 byte symbols and their
# end-of-word twins, so every byte of any prompt has a token and nothing is "unknown".
_BOS = "<|startoftext|>"
_EOS = "<|endoftext|>"
_PROMPT_TOKENS = 77  # CLIP's context length, which Stable Diffusion pads every prompt to.

# SD-Turbo's scheduler (stabilityai/sd-turbo scheduler/scheduler_config.json). "trailing"
# spacing is what makes one- and few-step sampling start from pure noise.
_TURBO_SCHEDULER: dict[str, Any] = {
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "num_train_timesteps": 1000,
    "prediction_type": "epsilon",
    "timestep_spacing": "trailing",
    "steps_offset": 1,
    "interpolation_type": "linear",
    "use_karras_sigmas": False,
}


@dataclass(frozen=True)
class _Shapes:
    """The component configs that distinguish one randomly initialised pipeline from another."""

    unet: dict[str, Any]
    vae: dict[str, Any]
    text_encoder: dict[str, Any]


# Small enough that two 64x64 images in two steps take well under a second on a laptop
# CPU. Four VAE blocks give the usual 8x latent downscale: the UNet then works on 8x8
# latents for a 64x64 image. Fewer blocks mean larger latents; measured on 2 CPU cores,
# batched: 2 blocks (32x32 latents) ran ~3.5x slower, 1 block (64x64) ~15x slower.
_TINY = _Shapes(
    unet={
        "sample_size": 8,
        "in_channels": 4,
        "out_channels": 4,
        "block_out_channels": (8, 16),
        "layers_per_block": 1,
        "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D"),
        "up_block_types": ("CrossAttnUpBlock2D", "UpBlock2D"),
        "cross_attention_dim": 32,
        "attention_head_dim": 4,
        "norm_num_groups": 4,
    },
    vae={
        "sample_size": 64,
        "in_channels": 3,
        "out_channels": 3,
        "latent_channels": 4,
        "block_out_channels": (8, 8, 16, 16),
        "layers_per_block": 1,
        "down_block_types": ("DownEncoderBlock2D",) * 4,
        "up_block_types": ("UpDecoderBlock2D",) * 4,
        "norm_num_groups": 4,
    },
    text_encoder={
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "projection_dim": 32,
    },
)

# stabilityai/sd-turbo (a distilled Stable Diffusion 2.1 base): the same layer shapes, so
# a benchmark on it costs what the real model costs per step.
_SD_TURBO = _Shapes(
    unet={
        "sample_size": 64,
        "in_channels": 4,
        "out_channels": 4,
        "block_out_channels": (320, 640, 1280, 1280),
        "layers_per_block": 2,
        "down_block_types": ("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        "up_block_types": ("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
        "cross_attention_dim": 1024,
        "attention_head_dim": (5, 10, 20, 20),
        "use_linear_projection": True,
        "norm_num_groups": 32,
        "flip_sin_to_cos": True,
        "freq_shift": 0,
    },
    vae={
        "sample_size": 512,
        "in_channels": 3,
        "out_channels": 3,
        "latent_channels": 4,
        "block_out_channels": (128, 256, 512, 512),
        "layers_per_block": 2,
        "down_block_types": ("DownEncoderBlock2D",) * 4,
        "up_block_types": ("UpDecoderBlock2D",) * 4,
        "norm_num_groups": 32,
        "scaling_factor": 0.18215,
    },
    text_encoder={
        "hidden_size": 1024,
        "intermediate_size": 4096,
        "num_attention_heads": 16,
        "num_hidden_layers": 23,
        "projection_dim": 1024,
        "hidden_act": "gelu",
    },
)


def build_tiny_pipeline(path: Path, seed: int = 0) -> Path:
    """Write a tiny random Stable Diffusion pipeline to ``path`` (about a megabyte) and return it.

    The same ``seed`` writes the same weights, so tests that compare pixels across
    builds stay meaningful.
    """
    return _build(_TINY, Path(path), seed)


def build_random_sd_turbo_shaped(path: Path, seed: int = 0) -> Path:
    """Write a pipeline with SD-Turbo's layer shapes and random weights to ``path``.

    About 1.3 billion parameters (saved as float16, ~2.6 GB): meant for GPU throughput
    benchmarks where the real checkpoint cannot be downloaded. Its images are noise.
    """
    return _build(_SD_TURBO, Path(path), seed, save_dtype="float16")


def _build(shapes: _Shapes, path: Path, seed: int, save_dtype: str | None = None) -> Path:
    """Assemble, randomly initialise and save one pipeline; returns ``path``."""
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    # 1. Tokenizer: it fixes the special token ids the text encoder must agree with.
    tokenizer = _byte_level_clip_tokenizer()

    # 2. Models, initialised from a private RNG stream so building does not disturb
    #    (or depend on) the caller's global torch seed.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        text_encoder = CLIPTextModel(
            CLIPTextConfig(
                vocab_size=len(tokenizer),
                max_position_embeddings=_PROMPT_TOKENS,
                bos_token_id=tokenizer.bos_token_id,
                eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id,
                **shapes.text_encoder,
            )
        )
        unet = UNet2DConditionModel(**shapes.unet)
        vae = AutoencoderKL(**shapes.vae)

    # 3. Assemble without a safety checker: random weights cannot classify anything, and
    #    saying so (None) is more honest than a checker that flags at random.
    pipeline = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=EulerDiscreteScheduler(**_TURBO_SCHEDULER),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )

    # 4. Save exactly as a published checkpoint is laid out (model_index.json + subfolders),
    #    optionally in a smaller dtype (models are built in float32).
    if save_dtype is not None:
        pipeline.to(getattr(torch, save_dtype))
    path.mkdir(parents=True, exist_ok=True)
    pipeline.save_pretrained(path, safe_serialization=True)
    return path


def _byte_level_clip_tokenizer() -> Any:
    """A real ``CLIPTokenizer`` over a byte-level vocabulary with no merges, built offline.

    Every UTF-8 byte is a token (plus its end-of-word form), so any prompt tokenises
    without unknowns; there are simply no multi-byte merges, which only costs sequence
    length. It goes through vocab.json/merges.txt and ``from_pretrained`` because that is
    how CLIP tokenizers are shipped, so the loading code under test is the usual one.
    """
    from transformers import CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    symbols = list(bytes_to_unicode().values())
    tokens = symbols + [symbol + "</w>" for symbol in symbols] + [_BOS, _EOS]
    with tempfile.TemporaryDirectory(prefix="nightdesk-clip-vocab-") as scratch:
        folder = Path(scratch)
        (folder / "vocab.json").write_text(json.dumps({token: i for i, token in enumerate(tokens)}), "utf-8")
        (folder / "merges.txt").write_text("#version: 0.2\n", "utf-8")
        return CLIPTokenizer.from_pretrained(folder, model_max_length=_PROMPT_TOKENS)
