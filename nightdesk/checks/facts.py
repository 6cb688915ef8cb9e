"""Factual consistency: every figure, date and name in a draft must be backed by its fact sheet.

This is the product's promise ("zero unbacked figures published"), so the check is strict
and explains itself: each unbacked item is a failing finding with its span and the
nearest fact, e.g. ``unbacked figure '85%' at 40-43: nearest percent fact on_time_pct is
83.8%``. The rules:

* A figure is backed by a fact of a compatible kind whose value, rounded to the
  precision the figure is written with, reads the same: fact 83.84 backs "83.8%" and
  "84%" but not "85%" or "83.9%"; 2,512,345 shares back "2.5 million". Percent facts
  back only percentages, currency facts only dollar amounts, count facts only whole
  numbers (or scaled amounts), rank words ("second", "3rd", "#1") only count facts.
* A unit word after a number ties it to facts in that unit: "9 minutes" needs a fact in
  minutes; "167 flights" needs a count fact (count nouns like flights and departures
  are interchangeable, measures are not).
* A figure written without a sign is compared with the fact's size ("fell 2.48%" against
  -2.48); a written sign must match the fact's.
* A four-digit year is backed when it is the year of one of the sheet's dates (unless a
  unit follows: "2013 flights" is a count).
* A date is backed when every part it states (year, month, day, weekday) agrees with
  one of the sheet's dates or its logical date.
* A name is backed when it is a whole-word stretch of an entity or text fact, ignoring
  case, spacing and punctuation ("United", "United Airlines" and "united air lines inc"
  all come from "United Air Lines Inc."), or when it is a standing phrase
  (``allowed_phrases.txt`` plus the caller's ``allowed``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from nightdesk.checks.dates import DateMention, find_dates
from nightdesk.checks.entities import Backing, unbacked_names
from nightdesk.checks.masking import find_spans, mask
from nightdesk.checks.numbers import MentionKind, NumberMention, find_numbers
from nightdesk.checks.result import CheckResult, Finding
from nightdesk.checks.wordlists import load_list, lowercase_set, phrase_pattern
from nightdesk.stories.factsheet import Fact, FactKind, FactSheet

CHECK_NAME = "facts"
_BACKING_KINDS: dict[MentionKind, tuple[FactKind, ...]] = {
    "plain": ("count", "number"),
    "percent": ("percent",),
    "currency": ("currency",),
    "rank": ("count",),
    "points": ("number", "count"),
    "foreign_currency": (),
}
_KIND_WORDS: dict[MentionKind, str] = {
    "plain": "count or number", "percent": "percent", "currency": "currency (USD)", "rank": "count",
    "points": "percentage-point", "foreign_currency": "non-USD currency",
}
_UNIT_ALIASES = {"min": "minutes", "mins": "minutes", "hr": "hours", "hrs": "hours"}
# Units of measure: a number followed by one of these is that measure, so only a fact in
# the same unit can back it ("9 hours" is not backed by 9.0 minutes).
_MEASURES = frozenset(
    form for unit in ("second", "minute", "hour", "day", "week", "month", "mile", "kilometer", "kilometre", "km",
                      "degree", "inch", "foot", "feet", "pound", "kilogram", "kg", "ton", "tonne", "gallon", "liter")
    for form in (unit, unit + "s")
)
_WORD = re.compile(r"[A-Za-z0-9]+")


def check_facts(text: str, sheet: FactSheet, *, allowed: Iterable[str] = ()) -> CheckResult:
    """Check that every figure, date and name in ``text`` is backed by ``sheet``.

    :param allowed: extra standing phrases that need no fact (added to ``allowed_phrases.txt``).
    """
    numeric = [f for f in sheet.facts if f.kind in ("count", "number", "percent", "currency") and _is_number(f.value)]
    names = [_NameFact.of(f) for f in sheet.facts if f.kind in ("entity", "text") and _has_letters(f.value)]
    days = _story_days(sheet)

    standing = [*find_spans(phrase_pattern([*load_list("allowed_phrases.txt"), *allowed]), text),
                *find_spans(_verbatim_pattern(n.fact.value for n in names), text)]
    work = mask(text, standing)
    dates = find_dates(work)
    work = mask(work, (d.span for d in dates))
    numbers = find_numbers(work)
    work = mask(work, (n.span for n in numbers))

    findings = [f for d in dates if (f := _date_finding(d, days))]
    findings += [f for n in numbers if (f := _number_finding(n, numeric, {day.year for _, day in days}))]
    common = lowercase_set("common_words.txt")
    findings += [
        Finding(f"unbacked name {m.text!r} at {m.span[0]}-{m.span[1]}: {_names_hint(names)}", m.span)
        for m in unbacked_names(work, text, lambda written: _best_backing(written, names), common)
    ]
    return CheckResult.of(CHECK_NAME, findings)


# --- dates -----------------------------------------------------------------------------


def _story_days(sheet: FactSheet) -> list[tuple[str, dt.date]]:
    """(label, date) for every date fact and the sheet's logical date."""
    days = [(f.name, dt.date.fromisoformat(str(f.value)[:10])) for f in sheet.facts if f.kind == "date" and f.value]
    logical = dt.date.fromisoformat(sheet.logical_date[:10])
    return days if logical in {d for _, d in days} else [*days, ("logical date", logical)]


def _date_finding(mention: DateMention, days: Sequence[tuple[str, dt.date]]) -> Finding | None:
    where = f"{mention.text!r} at {mention.span[0]}-{mention.span[1]}"
    if not mention.is_real:
        return Finding(f"unbacked date {where}: no calendar has that date", mention.span)
    if any(mention.agrees_with(day) for _, day in days):
        return None
    known = "; ".join(f"{name} is {day:%B} {day.day}, {day.year} (a {day:%A})" for name, day in days)
    return Finding(f"unbacked date {where}: {known or 'the fact sheet has no dates'}", mention.span)


# --- numbers ---------------------------------------------------------------------------


def _number_finding(mention: NumberMention, facts: Sequence[Fact], years: set[int]) -> Finding | None:
    year = mention.is_year_like and not _unit_facts(mention.next_word, facts)  # "2013 flights" is a count
    if year and int(mention.value) in years:
        return None
    if mention.in_words and mention.text.lower() == "one" and not _unit_facts(mention.next_word, facts):
        return None  # "one of the busiest": a pronoun, unless a unit follows ("one flight")
    pool = _candidates(mention, facts)
    if any(_within(fact, mention) for fact in pool):
        return None
    where = f"at {mention.span[0]}-{mention.span[1]}"
    if year:
        known = ", ".join(str(y) for y in sorted(years)) or "none"
        return Finding(f"unbacked year {mention.text!r} {where}: the fact sheet's dates are in {known}", mention.span)
    what = "rank" if mention.kind == "rank" else "figure"
    if not pool and _measure(mention) in _MEASURES:
        hint = f"the fact sheet has no fact in {_measure(mention)}"
    elif not pool:
        hint = f"the fact sheet has no {_KIND_WORDS[mention.kind]} facts"
    else:
        nearest = min(pool, key=lambda f: abs(abs(float(f.value)) - abs(mention.value)))
        hint = f"nearest {nearest.kind} fact {nearest.name} is {nearest.display}"
    return Finding(f"unbacked {what} {mention.text!r} {where}: {hint}", mention.span)


def _candidates(mention: NumberMention, facts: Sequence[Fact]) -> list[Fact]:
    """Facts that may back ``mention``: compatible kind, and the unit its next word names."""
    pool = [f for f in facts if f.kind in _BACKING_KINDS[mention.kind]]
    if mention.kind == "points":
        return [f for f in pool if f.unit and "point" in f.unit.lower()]
    if mention.kind not in ("plain", "rank"):
        return pool
    bound = _unit_facts(mention.next_word, pool)
    if any(f.kind == "number" for f in bound):
        return [f for f in bound if f.kind == "number"]
    if bound:
        return [f for f in pool if f.kind == "count"]
    if _measure(mention) in _MEASURES:
        return []  # a measure the fact sheet has no fact in
    return pool


def _measure(mention: NumberMention) -> str:
    """The word after the number, with abbreviations spelt out ("hrs" -> "hours")."""
    return _UNIT_ALIASES.get(mention.next_word, mention.next_word)


def _unit_facts(word: str, facts: Sequence[Fact]) -> list[Fact]:
    """Facts whose unit is ``word`` (singular or plural, common abbreviations)."""
    word = _UNIT_ALIASES.get(word, word)
    return [f for f in facts if word and f.unit and word in _forms(f.unit.lower())]


def _forms(unit: str) -> set[str]:
    return {unit, unit + "s", unit + "es", unit.removesuffix("s"), unit.removesuffix("es")}


def _within(fact: Fact, mention: NumberMention) -> bool:
    """Whether the fact, at the precision the mention is written with, reads as the mention."""
    value = float(fact.value)
    if fact.kind == "count" and mention.precision < 1:
        return False
    target = value if mention.signed else abs(value)
    return abs(mention.value - target) <= mention.precision / 2 + 1e-9 * max(1.0, abs(value))


def _is_number(value: object) -> bool:
    try:
        float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


# --- names -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _NameFact:
    """An entity or text fact reduced to letters and digits, with its word boundaries."""

    fact: Fact
    compact: str
    starts: frozenset[int]
    ends: frozenset[int]

    @classmethod
    def of(cls, fact: Fact) -> _NameFact:
        words = [w.lower() for w in _WORD.findall(str(fact.value))]
        offsets = [sum(len(w) for w in words[:i]) for i in range(len(words) + 1)]
        return cls(fact, "".join(words), frozenset(offsets[:-1]), frozenset(offsets[1:]))

    def backs(self, written: str) -> Backing:
        """Whether ``written`` is a run of whole words of this fact (ignoring case and spacing),
        and whether that run starts the fact's value."""
        needle = "".join(_WORD.findall(written)).lower()
        at = self.compact.find(needle) if needle else -1
        found: Backing = "none"
        while at != -1:
            if at in self.starts and at + len(needle) in self.ends:
                if at == 0:
                    return "start"
                found = "part"
            at = self.compact.find(needle, at + 1)
        return found


def _best_backing(written: str, names: Sequence[_NameFact]) -> Backing:
    found = {n.backs(written) for n in names}
    return "start" if "start" in found else "part" if "part" in found else "none"


def _names_hint(names: Sequence[_NameFact]) -> str:
    if not names:
        return "the fact sheet has no names"
    return "the fact sheet's names are " + ", ".join(f"{n.fact.name} {str(n.fact.value)!r}" for n in names)


def _verbatim_pattern(values: Iterable[object]) -> re.Pattern[str]:
    """Fact values written out verbatim: backed as a whole, so digits inside them are no figures."""
    alternatives = sorted({re.escape(str(v)) for v in values}, key=len, reverse=True)
    if not alternatives:
        return re.compile(r"(?!)")
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


def _has_letters(value: object) -> bool:
    return value is not None and any(c.isalpha() for c in str(value))
