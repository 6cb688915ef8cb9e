"""Story types declared as data: ``stories/<name>/story.yml`` plus ``candidates.sql``.

Adding a story type for a new source is adding such a folder; no Python changes. Every
declaration is validated when loaded: facts must name a known kind, templates may only
use declared facts (Jinja ``{{ name }}`` in texts, ``{name}`` in the sanitised cover prompt), and every content kind needs a
template, so a mistake fails at load with the file and field named, not mid-run.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
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


DEFAULT_DOMAIN = "default"
_SIGNS = ("positive", "negative")
_LEVELS = ("from", "to")
_NUMERIC = ("percent", "number", "currency", "count")


@dataclass(frozen=True)
class FactSpec:
    """One declared fact; ``names`` and ``directions`` are copied onto every :class:`Fact`.

    :param levels: for a signed fact that is a move between two levels, the facts it runs
        ``from`` and ``to`` (``change_pct``: from ``prev_close`` to ``close``): the checks read
        "fell 2.48% to $441.40" as the level after the move. Read from the story type by the
        checks, not stored on fact sheets.
    :param better: ``higher`` or ``lower``, which way of this fact is the better one (on-time
        rates: higher; delays: lower), so the checks can verify "worse than" and "trailing"
        between two of its figures. Read from the story type by the checks, as ``levels``.
    :param qualifies: the fact this one is a wider or narrower case of (``overall_on_time_pct``
        qualifies ``on_time_pct``): where this fact's names stand in a clause, a figure the
        other's names name is read as this one ("all airlines ran 80.2% on time").
    """

    name: str
    column: str
    kind: FactKind
    unit: str | None = None
    decimals: int | None = None
    label: str = ""
    names: tuple[str, ...] = ()
    directions: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    levels: dict[str, str] = field(default_factory=dict, hash=False)
    better: str | None = None
    qualifies: str | None = None


@dataclass(frozen=True)
class KindRules:
    """The shape and content minimums of one content kind (``limits`` and ``requires`` in
    ``kinds.yml``): declared once there, enforced by :mod:`nightdesk.checks.rules`.

    :param min_facts: distinct facts of the sheet the text must state.
    :param subject: the text must name the story's subject.
    :param verb: the text must have a verb (a headline is a sentence, not a label).
    :param key_fact: the text must state the story type's ``key_fact`` (and its direction
        when the fact is signed).
    :param no_promise: promises (``promises.txt`` of the domain) fail.
    :param max_unlisted_words: words a draft may use that are in none of the story's own
        words (its templates, description, angle, fact labels and naming words) nor the
        domain's word lists: what a sentence may assert is what the story can say, and a
        draft that brings its own ("a seasoned and dedicated brand that will forever be
        remembered") says what no fact states. ``None``: no limit.
    """

    min_words: int
    max_words: int
    max_chars: int | None = None
    one_line: bool = False
    trailing_period: bool = True
    min_facts: int = 1
    subject: bool = False
    verb: bool = False
    key_fact: bool = False
    no_promise: bool = False
    max_unlisted_words: int | None = None


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
    rules: KindRules = KindRules(1, 10_000)


@dataclass(frozen=True)
class StoryType:
    """One story type.

    :param key_fact: the fact a headline must state (with its direction when signed).
    :param subject: what a headline must name: a fact (its written form) or a literal phrase.
    :param domain_dir: the folder of its domain's word lists and instructions
        (``stories/domains/<domain>/``; the default domain's when it has none).
    :param kinds: the content kinds with instructions in this domain's audience and tone;
        a prompt for this story type should read these rather than ``Catalog.kinds``.
    """

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
    key_fact: str | None = None
    subject: str = ""
    domain: str = DEFAULT_DOMAIN
    domain_dir: Path = STORIES_DIR / "domains" / DEFAULT_DOMAIN
    kinds: dict[str, KindSpec] = field(default_factory=dict)

    def subject_phrase(self, displays: dict[str, str]) -> str:
        """What a headline must name: the subject fact's written form, or the literal subject."""
        return displays.get(self.subject, self.subject)

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
                               bool(spec.get("whole_sentences", False)), _kind_rules(spec, name, kinds_path))
    story_types: dict[str, StoryType] = {}
    for root in (directory, *(get_settings().extra_dirs["stories"] if extra is None else extra)):
        for folder in sorted(p for p in root.iterdir() if (p / "story.yml").exists()):
            story = _load_story(folder)
            if story.name in story_types:
                raise StoryDeclarationError(f"{story.path}: story type {story.name!r} is already declared in "
                                            f"{story_types[story.name].path}")
            story_types[story.name] = replace(story, kinds=_domain_kinds(kinds, story.domain_dir))
    if not story_types:
        raise StoryDeclarationError(f"no story types under {directory}")
    default_kinds = _domain_kinds(kinds, _default_domain_dir(directory / "domains" / DEFAULT_DOMAIN))
    return Catalog(_require(kinds_doc, "system", kinds_path).strip(), default_kinds, story_types)


def _kind_rules(spec: dict, kind: str, path: Path) -> KindRules:
    """``limits`` and ``requires`` of one kind; unknown keys are a mistake, not ignored."""
    limits, requires = dict(spec.get("limits", {})), dict(spec.get("requires", {}))
    fields = {**limits, **requires}
    known = set(KindRules.__dataclass_fields__)
    if unknown := set(fields) - known:
        raise StoryDeclarationError(f"{path}: kinds.{kind} has unknown limits/requires {sorted(unknown)}; "
                                    f"known: {sorted(known)}")
    for key in ("min_words", "max_words"):
        if key not in limits:
            raise StoryDeclarationError(f"{path}: kinds.{kind}.limits.{key} is missing")
    return KindRules(**fields)


def _domain_kinds(kinds: dict[str, KindSpec], domain_dir: Path) -> dict[str, KindSpec]:
    """The kinds with their instructions' ``{audience}`` and ``{tone}`` filled from the domain's
    ``instructions.yml`` (the default domain's for any key the domain lacks), and
    ``{min_words}``/``{max_words}`` from the kind's own limits, so a limit is written once."""
    words = _instruction_words(domain_dir)
    resolved = {}
    for name, spec in kinds.items():
        try:
            limits = {"min_words": spec.rules.min_words, "max_words": spec.rules.max_words}
            resolved[name] = replace(spec, instruction=spec.instruction.format(**limits, **words))
        except KeyError as exc:
            raise StoryDeclarationError(f"kinds.{name}.instruction uses {{{exc.args[0]}}}, which neither "
                                        f"{domain_dir / 'instructions.yml'} nor the default domain declares") from None
    return resolved


def _instruction_words(domain_dir: Path) -> dict[str, str]:
    import yaml

    words: dict[str, str] = {}
    for folder in (_default_domain_dir(domain_dir), domain_dir):
        path = folder / "instructions.yml"
        if path.exists():
            doc = yaml.safe_load(path.read_text()) or {}
            if not isinstance(doc, dict) or not all(isinstance(v, str) for v in doc.values()):
                raise StoryDeclarationError(f"{path}: must map names (audience, tone) to texts")
            words |= {k: " ".join(v.split()) for k, v in doc.items()}
    return words


def _default_domain_dir(domain_dir: Path) -> Path:
    """The shared defaults beside a domain folder, or the shipped ones when that folder has none."""
    beside = domain_dir.parent / DEFAULT_DOMAIN
    return beside if beside.is_dir() else STORIES_DIR / "domains" / DEFAULT_DOMAIN


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
        facts.append(_fact_spec(raw, i, path))
    names = {f.name for f in facts}
    _check_references(facts, path)
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
    key_fact = doc.get("key_fact")
    if key_fact is not None and key_fact not in names:
        raise StoryDeclarationError(f"{path}: key_fact {key_fact!r} is not a declared fact")
    domain = str(doc.get("domain", DEFAULT_DOMAIN))
    domain_dir = folder.parent / "domains" / domain
    if domain != DEFAULT_DOMAIN and not domain_dir.is_dir():
        raise StoryDeclarationError(f"{path}: domain {domain!r} has no folder {domain_dir}")
    sql_path = folder / "candidates.sql"
    if not sql_path.exists():
        raise StoryDeclarationError(f"{folder}: candidates.sql is missing")
    return StoryType(
        name=doc["name"], description=doc.get("description", ""), top_n=int(doc.get("top_n", 1)),
        title=_require(doc, "title", path), angle=" ".join(doc.get("angle", "").split()), facts=tuple(facts),
        templates={k: " ".join(v.split()) for k, v in templates.items()}, cover_figures=figures,
        cover_prompt=_require(cover, "prompt", path), candidates_sql=sql_path.read_text(), path=path,
        params=dict(doc.get("params") or {}),
        key_fact=key_fact, subject=str(doc.get("subject", "")), domain=domain,
        domain_dir=domain_dir if domain_dir.is_dir() else _default_domain_dir(domain_dir),
    )


def _fact_spec(raw: dict, i: int, path: Path) -> FactSpec:
    """One ``facts:`` entry, with ``names`` a list of words and ``directions`` keyed by sign."""
    where = f"{path}: fact #{i + 1} ({raw.get('name')!r})"
    names = raw.get("names", [])
    if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
        raise StoryDeclarationError(f"{where}: names must be a list of words, got {names!r}")
    directions = raw.get("directions", {})
    if not isinstance(directions, dict) or set(directions) - set(_SIGNS) or not all(
            isinstance(w, list) and w for w in directions.values()):
        raise StoryDeclarationError(f"{where}: directions must map {list(_SIGNS)} to lists of words, "
                                    f"got {directions!r}")
    if directions and raw.get("kind") not in _NUMERIC:
        raise StoryDeclarationError(f"{where}: directions need a numeric fact, not kind {raw.get('kind')!r}")
    levels = raw.get("levels", {})
    if not isinstance(levels, dict) or set(levels) - set(_LEVELS) or not all(isinstance(v, str) for v in levels.values()):
        raise StoryDeclarationError(f"{where}: levels must map {list(_LEVELS)} to fact names, got {levels!r}")
    if raw.get("better") not in (None, "higher", "lower"):
        raise StoryDeclarationError(f"{where}: better must be 'higher' or 'lower', got {raw.get('better')!r}")
    if raw.get("better") and raw.get("kind") not in _NUMERIC:
        raise StoryDeclarationError(f"{where}: better needs a numeric fact, not kind {raw.get('kind')!r}")
    if levels and not directions:
        raise StoryDeclarationError(f"{where}: levels need directions: they are read after its direction words")
    return FactSpec(**{**raw, "names": tuple(n.lower() for n in names),
                       "directions": {sign: tuple(w.lower() for w in words) for sign, words in directions.items()}})


def _check_references(facts: Sequence[FactSpec], path: Path) -> None:
    """Each ``levels:`` entry names a declared fact of a numeric kind, and a move's two levels share one
    kind; ``qualifies:`` names another fact of the same kind."""
    kinds = {f.name: f.kind for f in facts}
    for fact in facts:
        for end, level in fact.levels.items():
            if kinds.get(level) not in _NUMERIC:
                raise StoryDeclarationError(f"{path}: fact {fact.name!r} levels.{end} must name a declared numeric "
                                            f"fact, got {level!r}")
        if fact.name in fact.levels.values() or len(set(fact.levels.values())) < len(fact.levels):
            raise StoryDeclarationError(f"{path}: fact {fact.name!r} levels {fact.levels} must name two other facts")
        if len({kinds[level] for level in fact.levels.values()}) > 1:
            raise StoryDeclarationError(f"{path}: fact {fact.name!r} levels {fact.levels} are of different kinds")
        if fact.qualifies is not None and (fact.qualifies == fact.name or kinds.get(fact.qualifies) != fact.kind
                                           or not fact.names):
            raise StoryDeclarationError(f"{path}: fact {fact.name!r} qualifies must name another declared fact of "
                                        f"its kind ({fact.kind}), and the fact needs names; got {fact.qualifies!r}")


def _template_names(text: str) -> set[str]:
    from jinja2 import Environment, meta

    from nightdesk.stories.phrasing import FILTERS

    env = Environment()
    env.filters.update(FILTERS)  # the filters templates render with (generators.templated)
    return set(meta.find_undeclared_variables(env.parse(text)))


def _require(doc: dict, key: str, path: Path) -> Any:
    if key not in doc:
        raise StoryDeclarationError(f"{path}: missing {key!r}")
    return doc[key]
