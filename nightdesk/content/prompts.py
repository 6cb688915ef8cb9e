"""What each generator is asked: prompts from a content kind, a story type and its facts."""

from __future__ import annotations

from dataclasses import dataclass

from nightdesk.stories.catalog import Catalog
from nightdesk.stories.factsheet import FactSheet


@dataclass(frozen=True)
class Prompt:
    """A rendered prompt and the versioned template it came from.

    :param template: template name, ``<kind>@<story_type>``.
    :param version: hash of everything that shaped it (see ``StoryType.template_version``).
    """

    system: str
    user: str
    template: str
    version: str


def facts_block(sheet: FactSheet) -> str:
    """The facts as the model sees them: one ``- Label: written form`` line each."""
    return "\n".join(f"- {fact.label}: {fact.display}" for fact in sheet.facts)


def text_prompt(catalog: Catalog, sheet: FactSheet, kind: str) -> Prompt:
    story = catalog.story_types[sheet.story_type]
    spec = catalog.kinds[kind]
    # Facts first and the instruction last: small models follow the end of a prompt best.
    user = f"Facts:\n{facts_block(sheet)}\n\nStory: {sheet.title}. {story.angle}\n\n{spec.instruction}"
    return Prompt(catalog.system, user, f"{kind}@{story.name}", story.template_version(kind, catalog.system, spec))


def template_prompt(catalog: Catalog, sheet: FactSheet, kind: str) -> Prompt:
    """The data-to-text template of ``kind``, versioned like a model prompt."""
    story = catalog.story_types[sheet.story_type]
    return Prompt("", story.templates[kind], f"{kind}@{story.name}", story.template_version(kind, "", None))


def cover_prompt(catalog: Catalog, sheet: FactSheet) -> Prompt:
    """The image prompt, with fact values sanitised before they reach the model."""
    from generators.images import cover_prompt as fill

    story = catalog.story_types[sheet.story_type]
    return Prompt("", fill(story.cover_prompt, sheet.displays()), f"cover@{story.name}",
                  story.template_version("cover", "", None))
