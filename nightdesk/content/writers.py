"""Writers turn work items into generations: a model, the templates, a diffusion
pipeline or the chart renderer. Each loads its model once and streams its results.

A writer's :meth:`Writer.stream` yields finished generations in small groups, so the
content step saves each group as it comes and a crash loses only what is in flight. An
item that fails alone comes out as an ``error`` generation (:func:`records.failure`);
only a failure of the writer itself (its model cannot load or run) raises.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Protocol

from nightdesk.content import records
from nightdesk.content.prompts import Prompt, cover_prompt, template_prompt, text_prompt
from nightdesk.content.records import Generation, WorkItem
from nightdesk.settings import Settings, get_settings
from nightdesk.stories.catalog import COVER_KIND, Catalog
from nightdesk.stories.factsheet import FactSheet

if TYPE_CHECKING:
    from generators.images import GeneratedCover
    from generators.text import TextRequest, TextResult

log = logging.getLogger(__name__)


class Writer(Protocol):
    generator: str  # kind of generator, as logged: transformers, template, chart, diffusers
    model_id: str
    load_time_ms: float  # spent loading its model so far (0 until loaded, and for writers with none)

    def stream(self, items: Sequence[WorkItem]) -> Iterator[list[Generation]]:
        """Every item's generation, in groups as they finish; an item that failed alone is an
        ``error`` generation. Raises only when the writer itself fails."""
        ...


def batches(items: Sequence[WorkItem], settings: Settings) -> Iterator[list[WorkItem]]:
    """``items`` in batches of one kind at one attempt, up to the kind's batch size.

    A text model batches prompts of one kind and seed (the seed follows the attempt), so
    a writer without a streaming backend makes each of these one model call and yields it
    as one group: no call is split across two groups.
    """
    groups: dict[tuple[str, int], list[WorkItem]] = {}
    for item in items:
        groups.setdefault((item.kind, item.attempt), []).append(item)
    for (kind, _), group in groups.items():
        size = settings.image_batch_size if kind == COVER_KIND else settings.text_batch_size
        for start in range(0, len(group), size):
            yield group[start : start + size]


def stream_in_batches(write_one: Callable[[WorkItem], Generation], writer: Writer, items: Sequence[WorkItem],
                      settings: Settings) -> Iterator[list[Generation]]:
    """The stream of a writer that makes one item at a time: one group per batch of
    :func:`batches`, an item whose ``write_one`` raised logged as its failure."""
    for batch in batches(items, settings):
        yield [_isolated(write_one, writer, item) for item in batch]


def _isolated(write_one: Callable[[WorkItem], Generation], writer: Writer, item: WorkItem) -> Generation:
    try:
        return write_one(item)
    except Exception as exc:
        log.warning("%s failed on %s:%s: %s: %s", writer.generator, item.sheet.story_id, item.kind,
                    type(exc).__name__, exc)
        return records.failure(item, writer.generator, writer.model_id, exc, batch_id=uuid.uuid4().hex)


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
            self._loaded = TextGenerator(load_causal_lm(self.settings.text_model), engine=self.settings.text_engine)
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
        return [self._request(item) for item in items]

    def _request(self, item: WorkItem) -> tuple[Prompt, TextRequest]:
        from generators.text import TextRequest

        prompt = text_prompt(self.catalog, item.sheet, item.kind)
        spec = self.catalog.story_types[item.sheet.story_type].kinds[item.kind]
        return prompt, TextRequest(
            user=prompt.user, system=prompt.system, max_new_tokens=spec.max_new_tokens, stop=spec.stop,
            seed=seed_for(self.settings, item.attempt), lock=self._lock(item.sheet))

    def stream(self, items: Sequence[WorkItem]) -> Iterator[list[Generation]]:
        """Generations as they finish, in the groups that finished together; an item that failed alone is an error row."""
        for group in self._stream(items):
            yield [generation for _, generation in group]

    def write(self, items: Sequence[WorkItem]) -> list[Generation]:
        """Every item's generation, in item order (collected from :meth:`stream`)."""
        done = dict(pair for group in self._stream(items) for pair in group)
        return [done[index] for index in range(len(items))]

    def _stream(self, items: Sequence[WorkItem]) -> Iterator[list[tuple[int, Generation]]]:
        """(item index, generation) groups; an item whose prompt cannot be built (a sheet
        its prompt template cannot fill) fails alone, before the model sees any request."""
        model = self._model()  # loaded (and load_time_ms set) before the first group
        built: dict[int, tuple[Prompt, TextRequest]] = {}
        refused = []
        for i, item in enumerate(items):
            try:
                built[i] = self._request(item)
            except Exception as exc:  # whatever the cause, it is this item's alone
                refused.append((i, self._generation(item, None, exc)))
        if refused:
            yield refused
        order = list(built)
        groups = model.stream_groups([built[i][1] for i in order], batch_size=self.settings.text_batch_size)
        for group in groups:
            yield [(order[j], self._generation(items[order[j]], built[order[j]][0], outcome)) for j, outcome in group]

    def _generation(self, item: WorkItem, prompt: Prompt | None, r: TextResult | Exception) -> Generation:
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

    def __init__(self, catalog: Catalog, settings: Settings | None = None) -> None:
        from generators.templated import MODEL_ID

        self.catalog = catalog
        self.settings = settings or get_settings()
        self.model_id = MODEL_ID

    def write(self, items: Sequence[WorkItem]) -> list[Generation]:
        return [self._write_one(item) for item in items]

    def stream(self, items: Sequence[WorkItem]) -> Iterator[list[Generation]]:
        return stream_in_batches(self._write_one, self, items, self.settings)

    def _write_one(self, item: WorkItem) -> Generation:
        from generators.templated import render_template

        prompt = template_prompt(self.catalog, item.sheet, item.kind)
        started = time.perf_counter()
        text = render_template(prompt.user, item.sheet.displays())
        return Generation(item=item, prompt=prompt, generator=self.generator, model_id=self.model_id,
                          model_revision=prompt.version, output=text,
                          latency_ms=1000 * (time.perf_counter() - started), finished_at=time.time())


class ChartCoverWriter:
    """Covers drawn from the story's key figures: honest, and needs no model."""

    generator = "chart"
    model_id = "chart-cover"
    load_time_ms = 0.0

    def __init__(self, catalog: Catalog, settings: Settings) -> None:
        self.catalog = catalog
        self.settings = settings

    @cached_property
    def _store(self):
        from generators.media_store import MediaStore

        return MediaStore(self.settings.media_url)

    def write(self, items: Sequence[WorkItem]) -> list[Generation]:
        return [self._write_one(item) for item in items]

    def stream(self, items: Sequence[WorkItem]) -> Iterator[list[Generation]]:
        return stream_in_batches(self._write_one, self, items, self.settings)

    def _write_one(self, item: WorkItem) -> Generation:
        from generators.chart_cover import render_chart_cover

        from nightdesk.content.covers import card_params, chart_card

        story = self.catalog.story_types[item.sheet.story_type]
        started = time.perf_counter()
        rendered = render_chart_cover(chart_card(item.sheet, story))
        stored = self._store.put(rendered.png)
        prompt = cover_prompt(self.catalog, item.sheet)
        return Generation(
            item=item, prompt=prompt, generator=self.generator, model_id=self.model_id,
            model_revision=prompt.version, output=stored.url, latency_ms=1000 * (time.perf_counter() - started),
            finished_at=time.time(), params={"figures": ",".join(story.cover_figures), **card_params(rendered)},
            media_url=stored.url, media_sha256=stored.sha256, media_bytes=stored.size_bytes,
        )


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

    def stream(self, items: Sequence[WorkItem]) -> Iterator[list[Generation]]:
        """One group per pipeline call, as it returns; a request that failed alone is its own group."""
        from generators.images import CoverRequest
        from generators.media_store import MediaStore

        pipeline = self._pipeline()
        store = MediaStore(self.settings.media_url)
        prompts = [cover_prompt(self.catalog, item.sheet) for item in items]
        requests = [CoverRequest(prompt=p.user, seed=seed_for(self.settings, i.attempt))
                    for i, p in zip(items, prompts, strict=True)]
        calls: dict[str, list[Generation]] = {}
        for index, cover in pipeline.stream(requests, batch_size=self.settings.image_batch_size):
            item = items[index]
            if isinstance(cover, Exception):
                log.warning("cover of %s failed alone: %s: %s", item.sheet.story_id, type(cover).__name__, cover)
                yield [records.failure(item, self.generator, self.model_id, cover, batch_id=uuid.uuid4().hex)]
                continue
            call = calls.setdefault(cover.batch_id, [])
            call.append(self._generation(item, prompts[index], cover, store))
            if len(call) == cover.batch_size:
                yield calls.pop(cover.batch_id)

    def _generation(self, item: WorkItem, prompt: Prompt, cover: GeneratedCover, store) -> Generation:
        """The cover's PNG stored by content hash, and its log entry."""
        import io

        buffer = io.BytesIO()
        cover.image.save(buffer, format="PNG")
        stored = store.put(buffer.getvalue())
        return Generation(
            item=item, prompt=prompt, generator=self.generator, model_id=cover.model_id,
            model_revision=cover.revision or "", output=stored.url,
            params={"steps": cover.steps, "size": f"{cover.width}x{cover.height}",
                    "guidance_scale": cover.guidance_scale, "nsfw": cover.nsfw},
            latency_ms=1000 * cover.latency_s, device=cover.device, batch_size=cover.batch_size, seed=cover.seed,
            batch_id=cover.batch_id, finished_at=cover.finished_at, media_url=stored.url,
            media_sha256=stored.sha256, media_bytes=stored.size_bytes,
        )


def text_writer(catalog: Catalog, settings: Settings) -> Writer:
    return TemplateTextWriter(catalog) if settings.text_model == "template" else ModelTextWriter(catalog, settings)


def cover_writer(catalog: Catalog, settings: Settings) -> Writer:
    return DiffusionCoverWriter(catalog, settings) if settings.image_model else ChartCoverWriter(catalog, settings)


class Writers:
    """The writers of one task process, each made on first use and kept for the process.

    Airflow 3 runs every task in a fresh process, so a model loads once per task at best.
    The night's generation, covers and regeneration share one task and one ``Writers``,
    so each model loads once a try however many stages, dates and rounds of regeneration
    use it (:func:`nightdesk.content.night.write_drafts`).
    """

    def __init__(self, catalog: Catalog, settings: Settings) -> None:
        self.catalog, self.settings = catalog, settings

    @cached_property
    def text(self) -> Writer:
        """The configured text writer (the model, or the templates when configured so)."""
        return text_writer(self.catalog, self.settings)

    @cached_property
    def cover(self) -> Writer:
        """The configured cover writer (a diffusion model, or the chart card)."""
        return cover_writer(self.catalog, self.settings)

    @cached_property
    def template(self) -> TemplateTextWriter:
        """The text fallback: the data-to-text templates."""
        return TemplateTextWriter(self.catalog, self.settings)

    @cached_property
    def chart(self) -> ChartCoverWriter:
        """The cover fallback: the chart card."""
        return ChartCoverWriter(self.catalog, self.settings)

    def load_times_ms(self) -> dict[str, float]:
        """``generator model_id`` -> milliseconds spent loading it, for every model this
        process loaded (writers never used, and writers without a model, are left out)."""
        # A cached_property, once computed, sits in the instance's __dict__: these are the writers made.
        made = [self.__dict__[name] for name in ("text", "cover", "template", "chart") if name in self.__dict__]
        return {f"{w.generator} {w.model_id}": w.load_time_ms for w in made if w.load_time_ms > 0}
