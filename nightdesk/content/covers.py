"""What a cover says in words: the chart card drawn from a fact sheet, and the alt text.

Both are made from the story's facts in one place, so the writer that draws the card,
the checks that read every string on it and the queue that shows the alt text to
editors all see the same words. A fact from the data (a ticker, a carrier's name) reaches
readers through the card and its alt text as surely as through a headline, so it goes
through the same text checks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nightdesk.stories.catalog import Catalog, StoryType
from nightdesk.stories.factsheet import Fact, FactSheet

if TYPE_CHECKING:
    from generators.chart_cover import CoverCard, KeyFigure, RenderedCover

#: Generation params a chart cover is logged with: the strings drawn and what was not drawn (JSON lists).
CARD_TEXT_PARAM, CARD_PROBLEMS_PARAM = "card_text", "card_problems"


def chart_card(sheet: FactSheet, story: StoryType) -> CoverCard:
    """The card of ``sheet``: its title, its date and the story type's cover figures that have a value."""
    from generators.chart_cover import CoverCard

    return CoverCard(title=sheet.title, subtitle=_date(sheet), figures=[_key_figure(f) for f in _shown(sheet, story)])


def card_params(rendered: RenderedCover) -> dict[str, str]:
    """The params that let the checks read the card without decoding the picture."""
    return {
        "size": f"{rendered.size[0]}x{rendered.size[1]}",
        CARD_TEXT_PARAM: json.dumps([[t.role, t.text] for t in rendered.texts], ensure_ascii=False),
        CARD_PROBLEMS_PARAM: json.dumps(list(rendered.problems), ensure_ascii=False),
    }


def card_from_params(params: Mapping[str, Any]) -> tuple[list[tuple[str, str]], list[str]] | None:
    """``(drawn (role, text) pairs, problems)`` logged by :func:`card_params`; None for a cover
    that is no chart card (a diffusion image draws no strings of ours)."""
    if CARD_TEXT_PARAM not in params:
        return None
    drawn = [(str(role), str(text)) for role, text in json.loads(params[CARD_TEXT_PARAM])]
    return drawn, [str(p) for p in json.loads(params.get(CARD_PROBLEMS_PARAM, "[]"))]


def cover_alt_text(sheet: FactSheet, generator: str, catalog: Catalog) -> str:
    """Alt text for a cover: what the image shows, in words (editors may rewrite it).

    A chart card shows the title, the date and the story's key figures, so the alt text
    says exactly those, each figure after the word that names it in prose ("close
    $430.47"): the card's labels are definitions ("left less than 15 minutes late") whose
    own numbers are no figures of the story, and the alt text must pass the facts check
    like any text. A model-made illustration carries no figures and says so.
    """
    date = _date(sheet)
    subject = sheet.title if date in sheet.title else f"{sheet.title}, {date}"
    if generator != "chart":
        return f"{subject}, in an illustration made by an image model; it shows no figures."
    story_type = catalog.story_types.get(sheet.story_type)
    figures = "; ".join(_named(fact) for fact in (_shown(sheet, story_type) if story_type else ()))
    return f"{subject}, on a data card" + (f": {figures}." if figures else ".")


def _shown(sheet: FactSheet, story: StoryType) -> list[Fact]:
    """The cover figures the sheet has a value for: "n/a" on a card states nothing true
    (the facts check fails it in any text), so a figure missing that day is left off."""
    return [fact for name in story.cover_figures if (fact := sheet.get(name)).value is not None]


def _named(fact: Fact) -> str:
    """``fact`` as a clause: "close $430.47", "on time 83.8%", "167 flights" (not "flights 167 flights")."""
    name = fact.names[0] if fact.names else fact.name.replace("_", " ")
    return fact.display if fact.display.endswith(f" {name}") else f"{name} {fact.display}"


def _date(sheet: FactSheet) -> str:
    return next((f.display for f in sheet.facts if f.kind == "date"), sheet.logical_date)


def _key_figure(fact: Fact) -> KeyFigure:
    """A card figure: the number big, its unit in the label ("Volume (shares)")."""
    from generators.chart_cover import KeyFigure

    from nightdesk.stories.factsheet import format_value

    if fact.kind in ("count", "number") and fact.unit:
        return KeyFigure(label=f"{fact.label} ({fact.unit})", value=format_value(fact.kind, fact.value, fact.decimals, None))
    return KeyFigure(label=fact.label, value=fact.display)
