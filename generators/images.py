"""Cover images from any diffusers text-to-image pipeline, recorded with what made them.

An editor reviewing a generated cover needs to know exactly how to make it again and
what the model said about it: the prompt, the seed, the settings, the model revision and
the safety checker's verdict travel with every image. Each image gets its own seeded
generator, so batching is a throughput choice that never changes which picture a request
gets. Prompts are built with :func:`cover_prompt`, which never lets source data into the
prompt unsanitised.

A night makes thousands of covers, so one bad request or one batch too large for the
GPU must not cost the others: out of memory halves the batch and goes on, and a request
that fails alone comes back as its own failure (:meth:`DiffusionCoverGenerator.stream`).
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
import unicodedata
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL.Image import Image

logger = logging.getLogger(__name__)

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_MARKUP = re.compile(r"<[^<>]*>")
_SNAPSHOT = re.compile(r"snapshots[\\/]([0-9a-f]{40})[\\/]")


@dataclass(frozen=True)
class CoverSettings:
    """How every image of one generator is sampled.

    The defaults suit SD-Turbo, the reference cover model: one step without classifier-free
    guidance at its native 512x512. Models trained for guidance want ``guidance_scale``
    above 1 and more steps. Width and height must be multiples of 8.

    :param channels_last: store the UNet's and VAE's weights and activations channels-last
        (NHWC), the layout GPU convolution kernels run fastest in; images are the same
        within float rounding. ``None``: on when the pipeline is on CUDA.
    :param compile: ``torch.compile`` the denoiser and the VAE decoder. Each new batch
        shape pays a compilation on its first call (54 s for the tiny test pipeline's UNet
        alone, 105 s with its VAE decoder, on one thread of a shared 2-core CPU; the next
        call took 0.04 s), so it pays off only over many calls. ``None``: on when the
        pipeline is on CUDA.
    """

    width: int = 512
    height: int = 512
    num_inference_steps: int = 1
    guidance_scale: float = 0.0
    channels_last: bool | None = None
    compile: bool | None = None

    def for_device(self, device: str) -> CoverSettings:
        """These settings with each automatic speed-up (``None``) decided for ``device``: on for CUDA.

        Compiling is left off, with a warning, where ``torch.compile`` cannot build kernels
        (:mod:`generators.compile_support`): every cover would otherwise fail.
        """
        from dataclasses import replace

        from generators.compile_support import compile_unavailable

        on_cuda = device.startswith("cuda")
        compile_ = self.compile
        if compile_ is None:
            why_not = compile_unavailable(device) if on_cuda else None
            if why_not:
                logger.warning("Covers on %s run uncompiled: %s", device, why_not)
            compile_ = on_cuda and why_not is None
        return replace(self, channels_last=on_cuda if self.channels_last is None else self.channels_last,
                       compile=compile_)


@dataclass(frozen=True)
class CoverRequest:
    """One image to make: its prompt, optional negative prompt and the seed that fixes it."""

    prompt: str
    seed: int
    negative_prompt: str | None = None


@dataclass(frozen=True)
class GeneratedCover:
    """An image and everything needed to reproduce and audit it.

    :param nsfw: the pipeline's safety checker verdict; ``None`` means the pipeline has no
        safety checker (not "safe").
    :param latency_s: wall time of the pipeline call that produced this image, which made
        ``batch_size`` images at once; ``batch_size / latency_s`` is that call's images/s.
    :param revision: the hub commit of the weights, or ``sha256:<hex>`` of a local directory.
    :param batch_id: names the pipeline call; the images of one call share it.
    :param finished_at: when that call returned (seconds since the epoch).
    """

    image: Image
    prompt: str
    negative_prompt: str | None
    seed: int
    steps: int
    width: int
    height: int
    guidance_scale: float
    nsfw: bool | None
    latency_s: float
    batch_size: int
    device: str
    model_id: str
    revision: str | None
    batch_id: str = ""
    finished_at: float = 0.0

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels, as PIL reports sizes."""
        return (self.width, self.height)


class DiffusionCoverGenerator:
    """Generates covers with one loaded text-to-image pipeline.

    Build it with :meth:`from_pretrained` (hub id or local directory), or hand it an
    already assembled pipeline. The pipeline stays on its device between calls, so one
    generator should serve a whole batch of stories.

    :param on_step_end: a diffusers step-end callback (the pipeline's documented
        ``callback_on_step_end``: ``(pipeline, step, timestep, tensors) -> tensors``), run
        inside every pipeline call after each denoising step; it sees the batch's latents.
        For progress or previews, and the seam through which tests put a memory limit on
        a CPU pipeline (raising ``torch.OutOfMemoryError`` as CUDA would).
    """

    def __init__(
        self,
        pipeline: Any,
        *,
        model_id: str,
        revision: str | None,
        settings: CoverSettings = CoverSettings(),
        on_step_end: Callable[..., dict[str, Any]] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.model_id = model_id
        self.revision = revision
        self.device = str(pipeline.device)
        self.settings = settings.for_device(self.device)
        self.on_step_end = on_step_end
        pipeline.set_progress_bar_config(disable=True)
        _optimise(pipeline, self.settings)
        if getattr(pipeline, "safety_checker", None) is None:
            logger.warning(
                "Pipeline %s (%s) has no safety checker: its covers are recorded with nsfw=None "
                "and must be reviewed by an editor before publishing.",
                model_id,
                type(pipeline).__name__,
            )

    @classmethod
    def from_pretrained(
        cls,
        model: str | Path,
        *,
        settings: CoverSettings = CoverSettings(),
        device: str | None = None,
        revision: str | None = None,
        cache_dir: str | Path | None = None,
        on_step_end: Callable[..., dict[str, Any]] | None = None,
    ) -> DiffusionCoverGenerator:
        """Load ``model`` (hub id or local directory) onto ``device`` (default: CUDA if present).

        Half precision on CUDA halves memory and roughly doubles speed with no visible
        change; CPUs lack fast float16 kernels, so they get float32. ``revision`` pins a
        hub commit, branch or tag; ``cache_dir`` replaces the default hub cache (e.g. a
        shared volume of pre-downloaded models). ``on_step_end``: see the class.
        """
        import torch
        from diffusers import AutoPipelineForText2Image, DiffusionPipeline

        # 1. Device and precision
        device = resolve_device(device)
        dtype = torch.float16 if torch.device(device).type == "cuda" else torch.float32

        # 2. Load: AutoPipeline maps every known model family to its text-to-image class;
        #    anything it does not know (custom pipelines) loads as the class it was saved as.
        model_id = str(model)
        where = {"revision": revision, "cache_dir": cache_dir}
        try:
            pipeline = AutoPipelineForText2Image.from_pretrained(model_id, dtype=dtype, **where)
        except ValueError as error:
            logger.info("AutoPipelineForText2Image cannot load %s (%s); using DiffusionPipeline", model_id, error)
            pipeline = DiffusionPipeline.from_pretrained(model_id, dtype=dtype, **where)

        # 3. Place it and pin down which weights these are
        pipeline.to(device)
        return cls(pipeline, model_id=model_id, revision=model_revision(model_id, **where), settings=settings,
                   on_step_end=on_step_end)

    def generate(self, requests: Sequence[CoverRequest], batch_size: int = 1) -> list[GeneratedCover]:
        """One cover per request, in request order (see :meth:`stream`); the first request
        that failed alone raises its error here, once every other request was made."""
        made = dict(self.stream(requests, batch_size))
        outcomes = [made[index] for index in range(len(requests))]
        failure = next((outcome for outcome in outcomes if isinstance(outcome, Exception)), None)
        if failure is not None:
            raise failure
        return outcomes

    def stream(self, requests: Sequence[CoverRequest], batch_size: int = 1
               ) -> Iterator[tuple[int, GeneratedCover | Exception]]:
        """``(index into requests, its cover)`` for every request, as each pipeline call returns.

        Up to ``batch_size`` requests share a call. Out of memory (``torch.OutOfMemoryError``)
        halves the batch for the rest of the stream and runs the same requests again; a call
        that fails otherwise is run again one request at a time, so a request that fails
        alone (or runs out of memory alone) is yielded as ``(index, exception)`` and costs no
        other request its cover. When every request of the first failed call also fails
        alone before any cover was made, the pipeline itself is broken: that error raises.
        """
        if batch_size < 1:
            raise ValueError(f"DiffusionCoverGenerator.stream: batch_size must be >= 1, got {batch_size}")
        queue, made_any = deque(range(len(requests))), False
        while queue:
            batch = [queue.popleft() for _ in range(min(batch_size, len(queue)))]
            outcome = self._call([requests[i] for i in batch])
            if _out_of_memory(outcome) and len(batch) > 1:
                batch_size = len(batch) // 2
                logger.warning("Out of memory at %d images per call (%s); going on at %d", len(batch), outcome,
                               batch_size)
                queue.extendleft(reversed(batch))
                continue
            if not isinstance(outcome, Exception):
                made_any = True
                yield from zip(batch, outcome, strict=True)
                continue
            if len(batch) == 1:
                outcomes = [(batch[0], outcome)]
            else:
                logger.warning("A call of %d covers failed (%s: %s); making them one at a time", len(batch),
                               type(outcome).__name__, outcome)
                outcomes = [(i, self._alone(requests[i])) for i in batch]
            if not made_any and all(isinstance(o, Exception) for _, o in outcomes):
                raise outcome
            made_any = made_any or not all(isinstance(o, Exception) for _, o in outcomes)
            yield from outcomes

    def _call(self, batch: Sequence[CoverRequest]) -> list[GeneratedCover] | Exception:
        """The covers of one pipeline call, or the error it raised, without its traceback:
        the traceback's frames would keep the failed call's tensors alive on the device.
        After out of memory the allocator's cache is emptied for the smaller call to come."""
        try:
            return self._generate_batch(batch)
        except Exception as error:
            failure = error.with_traceback(None)
        if _out_of_memory(failure):
            _release_cached_memory(self.device)
        return failure

    def _alone(self, request: CoverRequest) -> GeneratedCover | Exception:
        """The cover of ``request`` made in a call of its own, or the error that call raised."""
        outcome = self._call([request])
        return outcome if isinstance(outcome, Exception) else outcome[0]

    def _generate_batch(self, batch: Sequence[CoverRequest]) -> list[GeneratedCover]:
        import torch

        settings = self.settings

        # 1. One generator per image, on the CPU: the initial noise then depends only on
        #    the request's seed, not on its position in the batch nor on the device.
        generators = [torch.Generator("cpu").manual_seed(request.seed) for request in batch]

        # 2. Negative prompts: the pipeline takes one per image or none at all; an empty
        #    string is what it uses for "none" when guidance needs an unconditional prompt.
        negatives = [request.negative_prompt or "" for request in batch]

        # 3. Denoise and decode
        started = time.perf_counter()
        with torch.inference_mode():
            output = self.pipeline(
                prompt=[request.prompt for request in batch],
                negative_prompt=negatives if any(negatives) else None,
                width=settings.width,
                height=settings.height,
                num_inference_steps=settings.num_inference_steps,
                guidance_scale=settings.guidance_scale,
                generator=generators,
                output_type="pil",
                **({"callback_on_step_end": self.on_step_end} if self.on_step_end else {}),
            )
        latency_s = time.perf_counter() - started
        finished_at, batch_id = time.time(), uuid.uuid4().hex

        # 4. Record the safety checker's verdicts as data (None: no checker ran)
        verdicts = getattr(output, "nsfw_content_detected", None)
        flags = [None] * len(batch) if verdicts is None else [bool(flag) for flag in verdicts]

        return [
            GeneratedCover(
                image=image,
                prompt=request.prompt,
                negative_prompt=request.negative_prompt,
                seed=request.seed,
                steps=settings.num_inference_steps,
                width=settings.width,
                height=settings.height,
                guidance_scale=settings.guidance_scale,
                nsfw=flag,
                latency_s=latency_s,
                batch_size=len(batch),
                device=self.device,
                model_id=self.model_id,
                revision=self.revision,
                batch_id=batch_id,
                finished_at=finished_at,
            )
            for request, image, flag in zip(batch, output.images, flags, strict=True)
        ]


def _optimise(pipeline: Any, settings: CoverSettings) -> None:
    """Apply the speed-ups ``settings`` ask for to ``pipeline``'s components, in place.

    The denoiser is the UNet (or, in newer families, a transformer) that every step runs;
    the VAE decoder runs once per image, which for one-step models costs about as much.
    Components a pipeline lacks are skipped.
    """
    import torch

    denoiser = "unet" if getattr(pipeline, "unet", None) is not None else "transformer"
    vae = getattr(pipeline, "vae", None)
    if settings.channels_last:
        for component in (getattr(pipeline, "unet", None), vae):
            if component is not None:
                component.to(memory_format=torch.channels_last)
    if settings.compile:
        if getattr(pipeline, denoiser, None) is not None:
            setattr(pipeline, denoiser, torch.compile(getattr(pipeline, denoiser)))
        if vae is not None:
            vae.decoder = torch.compile(vae.decoder)


def _out_of_memory(outcome: object) -> bool:
    import torch

    return isinstance(outcome, torch.OutOfMemoryError)


def _release_cached_memory(device: str) -> None:
    """Hand the CUDA caching allocator's free blocks back after an out-of-memory error, so
    the halved batch finds the memory the failed call held (its tensors are freed once
    the error is dropped)."""
    if device.startswith("cuda"):
        import torch

        torch.cuda.empty_cache()


def resolve_device(override: str | None = None) -> str:
    """``override`` if given, else ``cuda`` when a GPU is visible, else ``cpu``."""
    if override:
        return override
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def model_revision(model_id: str, revision: str | None = None, cache_dir: str | Path | None = None) -> str | None:
    """Which weights ``model_id`` resolved to: a hub commit, or a local directory's content hash.

    A hub id is looked up in the local hub cache that loading just used (the snapshot
    folder is named after the commit); a local directory is hashed file by file, because
    its path says nothing about what was saved there. ``None`` when neither is known.
    """
    path = Path(model_id)
    if path.is_dir():
        return "sha256:" + _directory_digest(path)
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(model_id, "model_index.json", cache_dir=cache_dir, revision=revision)
    match = _SNAPSHOT.search(cached) if isinstance(cached, str) else None
    return match.group(1) if match else revision


def _directory_digest(root: Path) -> str:
    """sha256 over every file's relative path and bytes, in a fixed order."""
    digest = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(file.relative_to(root).as_posix().encode() + b"\0")
        with file.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def cover_prompt(template: str, fields: Mapping[str, str], max_field_chars: int = 80) -> str:
    """Fill ``{name}`` placeholders in ``template`` with sanitised ``fields``.

    Field values come from source data (titles, places, names), so each one is reduced to
    plain text before it reaches the model: control and invisible formatting characters,
    ``<...>`` markup, braces and angle brackets are removed, whitespace collapsed, and the
    value cut to ``max_field_chars`` at a word boundary. Only ``{name}`` placeholders are
    recognised (no attribute access or format specs), so a template cannot reach into
    objects either. A placeholder without a field raises ``KeyError`` naming it.
    """

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in fields:
            raise KeyError(f"cover_prompt: template placeholder {{{name}}} has no field; got {sorted(fields)}")
        return sanitize_field(str(fields[name]), max_field_chars)

    return _PLACEHOLDER.sub(fill, template)


def sanitize_field(value: str, max_chars: int = 80) -> str:
    """Plain, single-line, bounded text from an untrusted value (see :func:`cover_prompt`)."""
    # Category C* covers control (Cc), format (Cf: zero-width, bidi overrides),
    # surrogate, private-use and unassigned code points; none belongs in a prompt.
    text = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in value)
    text = _MARKUP.sub(" ", text)
    text = re.sub(r"[{}<>]", " ", text)
    text = " ".join(text.split())
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(" ,.;:-")
