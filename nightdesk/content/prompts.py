"""What each generator is asked: prompts from a content kind, a story type and its facts."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from nightdesk.stories.catalog import Catalog
from nightdesk.stories.factsheet import FactSheet

#: The user message of every model-written text kind (Jinja; why it reads as it does is in the file).
TEXT_PROMPT_FILE = Path(__file__).resolve().parent / "text_prompt.txt"


@dataclass(frozen=True)
class Prompt:
    """A rendered prompt and the versioned template it came from.

    :param template: template name, ``<kind>@<story_type>``.
    :param version: hash of everything that shaped it (see ``StoryType.template_version``).
    :param name: readable name of its source, ``text_prompt/<kind>``, ``template/<kind>``
        or ``cover_prompt/cover`` (``generation_log.prompt_name``).
    :param source: the unrendered text the version stands for, facts as placeholders
        (``prompt_registry.prompt_text``); empty for a call that failed before prompting.
    """

    system: str
    user: str
    template: str
    version: str
    name: str = ""
    source: str = ""


def facts_block(sheet: FactSheet) -> str:
    """The facts as the model sees them: one ``- Label: written form`` line each."""
    return "\n".join(f"- {fact.label}: {fact.display}" for fact in sheet.facts)


def text_prompt(catalog: Catalog, sheet: FactSheet, kind: str) -> Prompt:
    """The model's prompt for ``kind``: the facts, the kind's data-to-text draft to rewrite, the instruction.

    The instruction (audience, tone, length) is the story type's ``KindSpec.instruction``,
    filled from its domain's ``instructions.yml``; nothing here is specific to a domain. The version hashes the frame
    (``text_prompt.txt``) with everything ``StoryType.template_version`` covers.
    """
    from generators.templated import render_template

    story = catalog.story_types[sheet.story_type]
    spec = story.kinds[kind]
    frame = TEXT_PROMPT_FILE.read_text(encoding="utf-8")
    user = render_template(frame, {
        "facts": facts_block(sheet), "draft": render_template(story.templates[kind], sheet.displays()),
        "title": sheet.title, "instruction": spec.instruction,
    }, keep_lines=True)
    version = hashlib.sha256(f"{story.template_version(kind, catalog.system, spec)}\x1f{frame}".encode()).hexdigest()[:12]
    source = _source(system=catalog.system, angle=story.angle, frame=frame, draft_template=story.templates[kind],
                     instruction=spec.instruction, max_new_tokens=str(spec.max_new_tokens), stop="|".join(spec.stop),
                     whole_sentences=str(spec.whole_sentences))
    return Prompt(catalog.system, user, f"{kind}@{story.name}", version, f"{TEXT_PROMPT_FILE.stem}/{kind}", source)


def template_prompt(catalog: Catalog, sheet: FactSheet, kind: str) -> Prompt:
    """The data-to-text template of ``kind``, versioned like a model prompt."""
    story = catalog.story_types[sheet.story_type]
    return Prompt("", story.templates[kind], f"{kind}@{story.name}", story.template_version(kind, "", None),
                  f"template/{kind}", _source(angle=story.angle, template=story.templates[kind]))


def cover_prompt(catalog: Catalog, sheet: FactSheet) -> Prompt:
    """The image prompt, with fact values sanitised before they reach the model."""
    from generators.images import cover_prompt as fill

    story = catalog.story_types[sheet.story_type]
    return Prompt("", fill(story.cover_prompt, sheet.displays()), f"cover@{story.name}",
                  story.template_version("cover", "", None), "cover_prompt/cover",
                  _source(angle=story.angle, cover_prompt=story.cover_prompt))


def _source(**parts: str) -> str:
    """What a version hashes, readable: one ``[part]`` section each, in a fixed order."""
    return "\n\n".join(f"[{name}]\n{text}" for name, text in parts.items())
