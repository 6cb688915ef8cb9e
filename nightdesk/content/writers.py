"""Writers turn work items into generations: a model, the templates, a diffusion
pipeline or the chart renderer. Each loads its model once and works in batches."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

from nightdesk.content import records
from nightdesk.content.prompts import Prompt, cover_prompt, template_prompt, text_prompt
from nightdesk.content.records import Generation, WorkItem
from nightdesk.settings import Settings
from nightdesk.stories.catalog import Catalog
from nightdesk.stories.factsheet import FactSheet

if TYPE_CHECKING:
    from generators.text import TextRequest, TextResult


class Writer(Protocol):
    generator: str  # kind of generator, as logged: transformers, template, chart, diffusers
    model_id: str
    load_time_ms: float  # spent loading its model so far (0 until loaded, and for writers with none)

    def write(self, items: Sequence[WorkItem]) -> list[Generation]: ...


def seed_for(settings: Settings, attempt: int) -> int:
    """One seed per attempt: the run is reproducible, and a retry draws a new sample."""
    return settings.seed + attempt - 1


class ModelTextWriter:
    """Text drafts from a causal LM (loaded on first use, once per task)."""

    generator = "transformers"

    def __init__(self, catalog: Catalog, settings: Settings) -> None:
        self.catalog = catalog
        self.settings = settings
        self.model_id = settings.text_model
        self.load_time_ms = 0.0
        self._loaded = None

    def _model(self):
        if self._loaded is None:
            from generators.text import TextGenerator
            from generators.text_model import load_causal_lm

            started = time.perf_counter()
            self._loaded = TextGenerator(load_causal_lm(self.settings.text_model))
            self.load_time_ms = 1000 * (time.perf_counter() - started)
        return self._loaded

    def _finish(self, kind: str, result: TextResult) -> str:
        """The draft text: cut back to whole sentences when the token limit cut it off."""
        from generators.text import whole_sentences

        if result.hit_token_limit and self.catalog.kinds[kind].whole_sentences:
            return whole_sentences(result.text) or result.text  # nothing whole: the checks say so
        return result.text

    def _lock(self, sheet: FactSheet) -> str | None:
        """The decoding grammar of a draft of ``sheet`` (see ``Settings.text_decoding``); None decodes freely."""
        from generators.fact_lock import figures_of, lock_grammar

        if self.settings.text_decoding == "free":
            return None
        names = _standing_names(sheet) if self.settings.text_decoding == "locked" else None
        return lock_grammar(figures_of(sheet.displays().values()), names=names)

    def requests(self, items: Sequence[WorkItem]) -> list[tuple[Prompt, TextRequest]]:
        """Each item's prompt and the request the model is sent: limits, stops, seed and lock."""
        from generators.text import TextRequest

        out = []
        for item in items:
            prompt = text_prompt(self.catalog, item.sheet, item.kind)
            spec = self.catalog.story_types[item.sheet.story_type].kinds[item.kind]
            out.append((prompt, TextRequest(
                user=prompt.user, system=prompt.system, max_new_tokens=spec.max_new_tokens, stop=spec.stop,
                seed=seed_for(self.settings, item.attempt), lock=self._lock(item.sheet))))
        return out

    def stream(self, items: Sequence[WorkItem]) -> Iterator[list[Generation]]:
        """Generations as they finish, in the groups that finished together; an item that failed alone is an error row."""
        for group in self._stream(items):
            yield [generation for _, generation in group]

    def write(self, items: Sequence[WorkItem]) -> list[Generation]:
        """Every item's generation, in item order (collected from :meth:`stream`)."""
        done = dict(pair for group in self._stream(items) for pair in group)
        return [done[index] for index in range(len(items))]

    def _stream(self, items: Sequence[WorkItem]) -> Iterator[list[tuple[int, Generation]]]:
        pairs = self.requests(items)
        groups = self._model().stream_groups([request for _, request in pairs], batch_size=self.settings.text_batch_size)
        for group in groups:
            yield [(i, self._generation(items[i], pairs[i][0], outcome)) for i, outcome in group]

    def _generation(self, item: WorkItem, prompt: Prompt, r: TextResult | Exception) -> Generation:
        if isinstance(r, Exception):
            return records.failure(item, self.generator, self.model_id, r, batch_id=uuid.uuid4().hex)
        return Generation(
            item=item, prompt=prompt, generator=self.generator, model_id=r.model_id, model_revision=r.revision,
            output=self._finish(item.kind, r),
            params={**r.params, "hit_token_limit": r.hit_token_limit, "decoding": self.settings.text_decoding},
            input_tokens=r.input_tokens, output_tokens=r.output_tokens,
            latency_ms=1000 * r.latency_s, time_to_first_token_ms=1000 * r.time_to_first_token_s,
            device=r.device, batch_size=r.batch_size, seed=r.seed,
            batch_id=r.batch_id, first_token_at=r.first_token_at, finished_at=r.finished_at,
        )


def _standing_names(sheet: FactSheet) -> set[str]:
    """Capitalised words a ``locked`` draft may write: the sheet's words and common words.

    The sheet's own words (ticker, airport, carrier, month) in the case written, and every
    word of the story's domain lists (common words, standing phrases) and of its own
    vocabulary capitalised, since any word may start a sentence: the same words the
    names check accepts, so the decoder refuses nothing the checks would pass.
    """
    import re

    from nightdesk.checks.context import story_context
    from nightdesk.checks.wordlists import domain_list

    context = story_context(sheet)
    sheet_words = {w for text in [sheet.title, *sheet.displays().values()] for w in re.findall(r"[^\W\d_]+", text)}
    listed = [*domain_list(context.domain_dir, "common_words.txt"), *domain_list(context.domain_dir, "allowed_phrases.txt")]
    common = {w for entry in listed for w in re.findall(r"[^\W\d_]+", entry)} | set(context.vocabulary)
    return sheet_words | {w[:1].upper() + w[1:] for w in common} | {"I"}


class TemplateTextWriter:
    """Text drafts from the story types' data-to-text templates (the factual baseline)."""

    generator = "template"
    load_time_ms = 0.0

    def __init__(self, catalog: Catalog) -> None:
        from generators.templated import MODEL_ID

        self.catalog = catalog
        self.model_id = MODEL_ID

    def write(self, items: Sequence[WorkItem]) -> list[Generation]:
        from generators.templated import render_template

        out = []
        for item in items:
            prompt = template_prompt(self.catalog, item.sheet, item.kind)
            started = time.perf_counter()
            text = render_template(prompt.user, item.sheet.displays())
            out.append(Generation(item=item, prompt=prompt, generator=self.generator, model_id=self.model_id,
                                  model_revision=prompt.version, output=text,
                                  latency_ms=1000 * (time.perf_counter() - started), finished_at=time.time()))
        return out


class ChartCoverWriter:
    """Covers drawn from the story's key figures: honest, and needs no model."""

    generator = "chart"
    model_id = "chart-cover"
    load_time_ms = 0.0

    def __init__(self, catalog: Catalog, settings: Settings) -> None:
        self.catalog = catalog
        self.settings = settings

    def write(self, items: Sequence[WorkItem]) -> list[Generation]:
        from generators.chart_cover import render_chart_cover
        from generators.media_store import MediaStore

        from nightdesk.content.covers import card_params, chart_card

        store = MediaStore(self.settings.media_url)
        out = []
        for item in items:
            story = self.catalog.story_types[item.sheet.story_type]
            started = time.perf_counter()
            rendered = render_chart_cover(chart_card(item.sheet, story))
            stored = store.put(rendered.png)
            prompt = cover_prompt(self.catalog, item.sheet)
            out.append(Generation(
                item=item, prompt=prompt, generator=self.generator, model_id=self.model_id,
                model_revision=prompt.version, output=stored.url, latency_ms=1000 * (time.perf_counter() - started),
                finished_at=time.time(), params={"figures": ",".join(story.cover_figures), **card_params(rendered)},
                media_url=stored.url, media_sha256=stored.sha256, media_bytes=stored.size_bytes,
            ))
        return out


class DiffusionCoverWriter:
    """Covers from a diffusers text-to-image pipeline (loaded on first use)."""

    generator = "diffusers"

    def __init__(self, catalog: Catalog, settings: Settings) -> None:
        self.catalog = catalog
        self.settings = settings
        self.model_id = settings.image_model
        self.load_time_ms = 0.0
        self._loaded = None

    def _pipeline(self):
        if self._loaded is None:
            from generators.images import CoverSettings, DiffusionCoverGenerator

            size = self.settings.image_size
            started = time.perf_counter()
            self._loaded = DiffusionCoverGenerator.from_pretrained(
                self.settings.image_model,
                settings=CoverSettings(width=size, height=size, num_inference_steps=self.settings.image_steps),
            )
            self.load_time_ms = 1000 * (time.perf_counter() - started)
        return self._loaded

    def write(self, items: Sequence[WorkItem]) -> list[Generation]:
        import io

        from generators.images import CoverRequest
        from generators.media_store import MediaStore

        store = MediaStore(self.settings.media_url)
        prompts = [cover_prompt(self.catalog, item.sheet) for item in items]
        covers = self._pipeline().generate(
            [CoverRequest(prompt=p.user, seed=seed_for(self.settings, i.attempt)) for i, p in zip(items, prompts, strict=True)],
            batch_size=self.settings.image_batch_size,
        )
        out = []
        for item, prompt, cover in zip(items, prompts, covers, strict=True):
            buffer = io.BytesIO()
            cover.image.save(buffer, format="PNG")
            stored = store.put(buffer.getvalue())
            out.append(Generation(
                item=item, prompt=prompt, generator=self.generator, model_id=cover.model_id,
                model_revision=cover.revision or "", output=stored.url,
                params={"steps": cover.steps, "size": f"{cover.width}x{cover.height}",
                        "guidance_scale": cover.guidance_scale, "nsfw": cover.nsfw},
                latency_ms=1000 * cover.latency_s, device=cover.device, batch_size=cover.batch_size, seed=cover.seed,
                batch_id=cover.batch_id, finished_at=cover.finished_at, media_url=stored.url, media_sha256=stored.sha256, media_bytes=stored.size_bytes,
            ))
        return out


def text_writer(catalog: Catalog, settings: Settings) -> Writer:
    return TemplateTextWriter(catalog) if settings.text_model == "template" else ModelTextWriter(catalog, settings)


def cover_writer(catalog: Catalog, settings: Settings) -> Writer:
    return DiffusionCoverWriter(catalog, settings) if settings.image_model else ChartCoverWriter(catalog, settings)
