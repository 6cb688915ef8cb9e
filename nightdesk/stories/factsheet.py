"""The fact sheet: every figure, date and name a draft may use, with how to write it.

A fact sheet is built from one story row of the marts and stored with every draft made
from it, so the generator, the checks, the editors and the analysts all see exactly the
same facts. ``display`` is the canonical written form ("83.8%", "$430.47", "1,234",
"March 1, 2013"); checks accept other faithful renderings within ``decimals`` rounding.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any, Literal

FactKind = Literal["count", "number", "percent", "currency", "date", "entity", "text"]


@dataclass(frozen=True)
class Fact:
    """One fact.

    :param name: identifier used in templates (``{{ on_time_pct }}``).
    :param kind: what sort of value it is; decides formatting and how checks match it.
    :param value: the raw value (number, ISO date string, or text).
    :param display: the written form used in prompts and templates.
    :param unit: unit word for numbers ("flights", "minutes"), ``USD`` for currency.
    :param decimals: decimals the value was rounded to for display.
    :param label: a human label for editors ("On-time rate").
    :param names: words that name the fact in prose ("volume", "shares traded"): the checks
        bind a figure to this fact only when its clause names it or names no other fact.
    :param directions: for a signed fact, the direction words that go with each sign
        (``{"positive": ["rose"], "negative": ["fell"]}``); a direction word bound to the
        fact must agree with the sign of its value.

    ``names`` and ``directions`` default to empty so fact sheets stored before they existed
    still load.
    """

    name: str
    kind: FactKind
    value: Any
    display: str
    unit: str | None = None
    decimals: int | None = None
    label: str = ""
    names: tuple[str, ...] = ()
    directions: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False)

    @property
    def numeric(self) -> bool:
        """Whether the value is a number (a missing value, "n/a", is not)."""
        try:
            float(self.value)
        except (TypeError, ValueError):
            return False
        return True

    @property
    def signed(self) -> bool:
        """Whether the fact declares direction words (its sign is part of what it says)."""
        return bool(self.directions)


@dataclass(frozen=True)
class FactSheet:
    story_id: str
    story_type: str
    logical_date: str
    title: str
    facts: tuple[Fact, ...]
    score: float = 0.0  # newsworthiness from the story type's candidates query

    def get(self, name: str) -> Fact:
        for fact in self.facts:
            if fact.name == name:
                return fact
        raise KeyError(f"fact {name!r} is not in the fact sheet of {self.story_id}")

    def displays(self) -> dict[str, str]:
        """name -> written form, the context templates are rendered with."""
        return {f.name: f.display for f in self.facts}

    def to_json(self) -> str:
        """The sheet as stored (keys sorted), computed once per sheet.

        The checks key their caches by it several times a draft, and ``asdict`` walking the
        facts was a third of the checks' time on the night path.
        """
        return self._json

    @cached_property
    def _json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> FactSheet:
        data = json.loads(text)
        return cls(**{**data, "facts": tuple(_fact_from_json(f) for f in data["facts"])})

    @property
    def digest(self) -> str:
        """Content hash: drafts are regenerated only when the facts behind them change."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]


def _fact_from_json(data: dict[str, Any]) -> Fact:
    """A stored fact; JSON lists come back as the tuples the dataclass holds."""
    names = tuple(data.pop("names", ()))
    directions = {sign: tuple(words) for sign, words in data.pop("directions", {}).items()}
    return Fact(**data, names=names, directions=directions)


def format_value(kind: FactKind, value: Any, decimals: int | None, unit: str | None) -> str:
    """The canonical written form of a value (AP-style dates, thousands separators)."""
    if value is None:
        return "n/a"
    if kind == "date":
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
        return f"{day:%B} {day.day}, {day.year}"
    if kind in ("entity", "text"):
        return str(value)
    places = 0 if kind == "count" else (2 if decimals is None else decimals)
    number = f"{float(value):,.{places}f}"
    if kind == "percent":
        return f"{number}%"
    if kind == "currency":
        return f"-${number[1:]}" if number.startswith("-") else f"${number}"
    if unit and float(value) == 1 and unit.endswith("s"):
        unit = unit[:-1]  # "1 flight", "1 day"
    return f"{number} {unit}" if unit else number
