"""Story types declared as data: ``stories/<name>/story.yml`` plus ``candidates.sql``.

Adding a story type for a new source is adding such a folder; no Python changes. Every
declaration is validated when loaded: facts must name a known kind, templates may only
use declared facts (Jinja ``{{ name }}`` in texts, ``{name}`` in the sanitised cover prompt), and every content kind needs a
template, so a mistake fails at load with the file and field named, not mid-run.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from nightdesk.settings import PROJECT_ROOT
from nightdesk.stories.factsheet import FactKind

STORIES_DIR = PROJECT_ROOT / "stories"
TEXT_KINDS = ("headline", "brief", "summary", "marketing")
COVER_KIND = "cover"
CONTENT_KINDS = (*TEXT_KINDS, COVER_KIND)


class StoryDeclarationError(ValueError):
    """A story type or content-kind file is invalid; the message names file and field."""


@dataclass(frozen=True)
class FactSpec:
    name: str
    column: str
    kind: FactKind
    unit: str | None = None
    decimals: int | None = None
    label: str = ""


@dataclass(frozen=True)
class KindSpec:
    """How a model is asked for one content kind (from ``stories/kinds.yml``).

    :param whole_sentences: a text cut off by ``max_new_tokens`` is trimmed back to its
        last complete sentence (prose kinds; a headline has no sentence end to trim to).
    """

    name: str
    instruction: str
    max_new_tokens: int
    stop: tuple[str, ...]
    whole_sentences: bool = False


@dataclass(frozen=True)
class StoryType:
    name: str
    description: str
    top_n: int
    title: str
    angle: str
    facts: tuple[FactSpec, ...]
    templates: dict[str, str]
    cover_figures: tuple[str, ...]
    cover_prompt: str
    candidates_sql: str
    path: Path
    #: ``params:`` from story.yml, bound as query parameters of candidates.sql (the story's
    #: "when there is no story" thresholds); see nightdesk.stories.select.
    params: dict[str, Any] = field(default_factory=dict)

    def template_version(self, kind: str, system: str, spec: KindSpec | None) -> str:
        """Hash of everything that shapes a prompt or a templated text of ``kind``."""
        parts = [system, self.angle, self.templates.get(kind, self.cover_prompt)]
        if spec:
            parts += [spec.instruction, str(spec.max_new_tokens), "|".join(spec.stop)]
            if spec.whole_sentences:  # appended only when set, so existing versions stay as they were
                parts.append("whole_sentences")
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Catalog:
    system: str
    kinds: dict[str, KindSpec]
    story_types: dict[str, StoryType]


def load_catalog(directory: Path = STORIES_DIR, extra: tuple[Path, ...] | None = None) -> Catalog:
    """Read ``kinds.yml`` and every story folder, validating all of it up front.

    :param extra: more folders of story types, read after ``directory`` (default: those
        named by ``NIGHTDESK_EXTRA_STORIES``); ``kinds.yml`` comes from ``directory``.
    """
    from nightdesk.settings import get_settings

    import yaml

    kinds_path = directory / "kinds.yml"
    kinds_doc = yaml.safe_load(kinds_path.read_text())
    kinds = {}
    for name in TEXT_KINDS:
        spec = _require(kinds_doc.get("kinds", {}), name, kinds_path)
        kinds[name] = KindSpec(name, _require(spec, "instruction", kinds_path).strip(),
                               int(_require(spec, "max_new_tokens", kinds_path)), tuple(spec.get("stop", ())),
                               bool(spec.get("whole_sentences", False)))
    story_types: dict[str, StoryType] = {}
    for root in (directory, *(get_settings().extra_dirs["stories"] if extra is None else extra)):
        for folder in sorted(p for p in root.iterdir() if (p / "story.yml").exists()):
            story = _load_story(folder)
            if story.name in story_types:
                raise StoryDeclarationError(f"{story.path}: story type {story.name!r} is already declared in "
                                            f"{story_types[story.name].path}")
            story_types[story.name] = story
    if not story_types:
        raise StoryDeclarationError(f"no story types under {directory}")
    return Catalog(_require(kinds_doc, "system", kinds_path).strip(), kinds, story_types)


def _load_story(folder: Path) -> StoryType:
    import yaml

    path = folder / "story.yml"
    doc: dict[str, Any] = yaml.safe_load(path.read_text())
    if doc.get("name") != folder.name:
        raise StoryDeclarationError(f"{path}: name {doc.get('name')!r} must equal the folder name {folder.name!r}")
    facts = []
    for i, raw in enumerate(_require(doc, "facts", path)):
        if raw.get("kind") not in get_args(FactKind):
            raise StoryDeclarationError(f"{path}: fact #{i + 1} kind {raw.get('kind')!r} not in {get_args(FactKind)}")
        facts.append(FactSpec(**raw))
    names = {f.name for f in facts}
    templates = dict(_require(doc, "templates", path))
    for kind in TEXT_KINDS:
        if kind not in templates:
            raise StoryDeclarationError(f"{path}: templates.{kind} is missing")
    cover = _require(doc, "cover", path)
    for field_name, used in [
        ("title", _template_names(doc.get("title", ""))),
        ("cover.prompt", set(re.findall(r"{(\w+)}", cover.get("prompt", "")))),  # {name}: see generators.images.cover_prompt
        *((f"templates.{k}", _template_names(v)) for k, v in templates.items()),
    ]:
        unknown = used - names
        if unknown:
            raise StoryDeclarationError(f"{path}: {field_name} uses undeclared facts {sorted(unknown)}")
    figures = tuple(cover.get("figures", ()))
    if set(figures) - names:
        raise StoryDeclarationError(f"{path}: cover.figures names undeclared facts {sorted(set(figures) - names)}")
    sql_path = folder / "candidates.sql"
    if not sql_path.exists():
        raise StoryDeclarationError(f"{folder}: candidates.sql is missing")
    return StoryType(
        name=doc["name"], description=doc.get("description", ""), top_n=int(doc.get("top_n", 1)),
        title=_require(doc, "title", path), angle=" ".join(doc.get("angle", "").split()), facts=tuple(facts),
        templates={k: " ".join(v.split()) for k, v in templates.items()}, cover_figures=figures,
        cover_prompt=_require(cover, "prompt", path), candidates_sql=sql_path.read_text(), path=path,
        params=dict(doc.get("params") or {}),
    )


def _template_names(text: str) -> set[str]:
    from jinja2 import Environment, meta

    return set(meta.find_undeclared_variables(Environment().parse(text)))


def _require(doc: dict, key: str, path: Path) -> Any:
    if key not in doc:
        raise StoryDeclarationError(f"{path}: missing {key!r}")
    return doc[key]
