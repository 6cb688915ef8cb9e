"""What the checks know about a fact sheet's story type: its domain folder, key fact,
subject, the words that name each fact, and the texts a draft must not copy back.

The fact sheet is what is stored with a draft, so the checks start from it; the rest
comes from the story type's declaration (``story.yml``, ``kinds.yml``), found by the
sheet's ``story_type``. A sheet of a story type the catalog does not know (an old row, a
test's made-up type) is checked with the default domain and no story-level rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from nightdesk.stories.catalog import DEFAULT_DOMAIN, STORIES_DIR, Catalog, StoryType, load_catalog
from nightdesk.stories.factsheet import Fact, FactSheet


@dataclass(frozen=True)
class StoryContext:
    """The story-level declarations behind one fact sheet.

    :param facts: the sheet's facts, with ``names``/``directions`` from ``story.yml`` where a
        stored fact predates them.
    :param echoes: texts no draft may copy back: the story type's description and angle,
        the system prompt and the kinds' instructions.
    :param vocabulary: lower-case words the story type itself uses (templates, description, angle,
        labels, fact names): ordinary words of its domain, not names, at a sentence start.
    :param levels: signed fact -> {"from": fact, "to": fact}, the levels its move runs between
        (``levels:`` in ``story.yml``).
    :param better: fact -> ``higher`` or ``lower``, the better way of it (``better:``).
    :param qualifies: fact -> the fact it is a wider or narrower case of (``qualifies:``).
    """

    facts: tuple[Fact, ...]
    domain_dir: Path
    key_fact: str | None = None
    subject: str = ""
    subject_fact: str | None = None
    echoes: tuple[str, ...] = ()
    vocabulary: frozenset[str] = frozenset()
    levels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    better: Mapping[str, str] = field(default_factory=dict)
    qualifies: Mapping[str, str] = field(default_factory=dict)


def story_context(sheet: FactSheet) -> StoryContext:
    """The context of ``sheet``'s story type (see the module docstring).

    Built once per sheet: every check of every draft asks for it (4 to 13 times a draft),
    and it is the same for a story's texts and cover.
    """
    return story_context_of(sheet.to_json())


@lru_cache(maxsize=256)
def story_context_of(sheet_json: str) -> StoryContext:
    """:func:`story_context` of a sheet as stored (``FactSheet.to_json``), for callers keyed by it."""
    sheet = FactSheet.from_json(sheet_json)
    catalog = _catalog()
    story = catalog.story_types.get(sheet.story_type) if catalog else None
    labels = " ".join(f"{f.label} {f.name.replace('_', ' ')} {' '.join(f.names)}" for f in sheet.facts)
    if story is None:
        return StoryContext(sheet.facts, STORIES_DIR / "domains" / DEFAULT_DOMAIN, vocabulary=_words(labels))
    facts = tuple(_declared(f, story) for f in sheet.facts)
    displays = {f.name: f.display for f in facts}
    kinds = story.kinds or catalog.kinds
    echoes = (story.description, story.angle, catalog.system, *(k.instruction for k in kinds.values()))
    spec_words = " ".join(n for f in story.facts for n in f.names)
    return StoryContext(
        facts=facts, domain_dir=story.domain_dir, key_fact=story.key_fact,
        subject=story.subject_phrase(displays) if story.subject else "",
        subject_fact=story.subject if story.subject in displays else None, echoes=tuple(e for e in echoes if e),
        vocabulary=_words(" ".join((labels, spec_words, story.description, story.angle, *story.templates.values()))),
        # Read-only: the context is cached and shared by every check of every draft.
        levels=MappingProxyType({f.name: MappingProxyType(dict(f.levels)) for f in story.facts if f.levels}),
        better=MappingProxyType({f.name: f.better for f in story.facts if f.better}),
        qualifies=MappingProxyType({f.name: f.qualifies for f in story.facts if f.qualifies}),
    )


def _declared(fact: Fact, story: StoryType) -> Fact:
    """``fact`` with the naming words of its declaration when it carries none itself."""
    spec = next((s for s in story.facts if s.name == fact.name), None)
    if spec is None or fact.names or fact.directions:
        return fact
    return replace(fact, names=spec.names, directions=spec.directions)


def _words(text: str) -> frozenset[str]:
    return frozenset(w.lower() for w in re.findall(r"[A-Za-z][A-Za-z'-]*", text))


def kinds_catalog() -> Catalog:
    """The catalog whose ``kinds`` declare the content minimums (``stories/kinds.yml``)."""
    catalog = _catalog()
    if catalog is None:
        raise RuntimeError("no story catalog to read the content kinds from")
    return catalog


@lru_cache(maxsize=1)
def _catalog() -> Catalog | None:
    """The story catalog, read once per process (the checks run for every draft)."""
    return load_catalog()
