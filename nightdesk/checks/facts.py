"""Factual consistency: every figure, date, name and direction word in a draft is bound to
exactly one fact of its sheet, by value and by meaning.

This is the product's promise ("zero unbacked figures published"), so the check is strict
and explains itself: each problem is a failing finding with its span and the facts
involved, e.g. ``'1.94%' at 30-35 reads as volume vs average (23.9%) but equals
change_pct (1.94%)``. The rules:

* Value. A figure is backed by a fact of a compatible kind whose value, rounded to the
  precision the figure is written with, reads the same: fact 83.84 backs "83.8%" and
  "84%" but not "85%"; 2,512,345 shares back "2.5 million". Percent facts back only
  percentages, currency facts only dollar amounts, count facts only whole numbers (or
  scaled amounts), rank words only count facts. A unit word after a number ties it to
  facts in that unit ("9 minutes" needs a fact in minutes; count nouns are
  interchangeable, measures are not). A written sign must match the fact's.
* Meaning. A figure is read in its clause (:mod:`clauses`): the words that name each fact
  (``names:`` in ``story.yml``) there say which fact it states. A figure whose clause names
  only other facts than the ones its value equals fails, naming both; a value shared by
  facts of different meaning with no naming word near it fails as ambiguous. A naming
  word belongs to the nearest figure that can state that fact, so "78.7% of 958
  departures" reads "departures" with 958. The nearest naming word decides: "turnover fell
  2.48%" reads 2.48% as the volume, whatever "the stock" says further on; a unit several
  facts share ("167 flights") names none of them.
* Direction. For a signed fact (``directions:``), a direction word bound to it ("rose",
  "below") must agree with the sign of its value; a figure written as a change ("a 78.7%
  increase") must be a signed fact; "X above Y" between two figures of one kind and unit
  needs X > Y. After a move's direction word, "to" and "from" name the levels the move runs
  between (``levels:``): "fell 2.48% to $441.40" states the close.
  A direction word written against a figure ("rose 23.9%", "a 1.94% gain") states that
  figure's move, so the figure's fact must list it, and be named unless it is the key fact.
* Read. Digits the checks cannot read as a figure or date ("99.999.999", "99pct"), number
  words the reader does not read ("thirty", "half", "twice": the fact lock's list), and
  digits other than 0-9 fail: what is not read is not verified.
* Said. A bound beside a figure ("more than 11.5 million", ``hedge_words.txt``) must hold
  of its fact; a denial right before a figure, direction word or fact name ("did not fall",
  ``negation_words.txt``) fails (:mod:`qualifiers`).
* Once. A fact stated twice in one clause ("The 957 departed from 957") fails.
* Time. Relative time ("today", "the day before") fails unless a fact's label states it;
  a date is backed when every part it states agrees with one of the sheet's dates; a date
  fact with naming words (the previous session's date) is another day than the story's,
  and backs a date only when the figure it dates is of that day or its clause names it.
* Names. A name is backed when it is a whole-word stretch of an entity or text fact
  ("United" and "United Air Lines" come from "United Air Lines Inc."), or a standing
  phrase of the story's domain (``allowed_phrases.txt``) or the caller's ``allowed``. An
  entity fact with naming words is a role ("most delayed"): a name its role words give
  another entity's role fails (:mod:`roles`).
* Something. A draft that states no fact at all fails ("nothing verifiable"). The
  result's ``verified`` says what was checked ("4 of 4 figures bound", "2 names").
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from generators.fact_lock import number_words
from nightdesk.checks.clauses import Bound, Clauses, name_occurrences
from nightdesk.checks.context import StoryContext, story_context_of
from nightdesk.checks.dates import DateMention, find_dates
from nightdesk.checks.directions import MAX_FILLERS, Directions, changes, comparisons, stated_figure
from nightdesk.checks.entities import Backing, name_runs, unbacked_names
from nightdesk.checks.masking import Span, find_spans, mask
from nightdesk.checks.numbers import MentionKind, NumberMention, find_numbers
from nightdesk.checks.qualifiers import bounds, denials
from nightdesk.checks.result import CheckResult, Finding
from nightdesk.checks.roles import NameBacking, roles
from nightdesk.checks.wordlists import domain_list, domain_set, phrase_pattern
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
# the same unit can back it ("9 hours" is not backed by 9.0 minutes; "17 times" by nothing).
_MEASURES = frozenset(
    form for unit in ("second", "minute", "hour", "day", "week", "month", "mile", "kilometer", "kilometre", "km",
                      "degree", "inch", "foot", "feet", "pound", "kilogram", "kg", "ton", "tonne", "gallon", "liter",
                      "litre", "time", "knot", "kph", "kmh", "mph", "meter", "metre", "cm", "mm", "centimeter",
                      "centimetre", "millimeter", "millimetre", "yard", "ounce", "gram", "acre", "hectare")
    for form in (unit, unit + "s")
)
_WORD = re.compile(r"[A-Za-z0-9]+")
# Words between a move's "to"/"from" and its level: "fell to about $430", "rose to nearly $27.3", "to just over".
_LEVEL_FILLERS = frozenset({"about", "around", "roughly", "approximately", "some", "nearly", "almost", "just", "over",
                            "under", "above", "below", "more", "less", "than"})
_MISSING = re.compile(r"(?<!\w)n/a(?!\w)", re.IGNORECASE)


@dataclass(frozen=True)
class Binding:
    """Everything the fact check bound in a draft, its findings and what it verified."""

    bound: tuple[Bound, ...]
    findings: tuple[Finding, ...]
    verified: tuple[str, ...] = ()
    figures: int = 0  # figures written (years and pronoun "one" aside)

    def facts(self) -> set[str]:
        """The distinct facts the draft states."""
        return {b.fact for b in self.bound}


def check_facts(text: str, sheet: FactSheet, *, allowed: Iterable[str] = ()) -> CheckResult:
    """Check that every figure, date, name and direction word in ``text`` is bound to ``sheet``.

    :param allowed: extra standing phrases that need no fact (added to the domain's
        ``allowed_phrases.txt``).
    """
    binding = bind(text, sheet, allowed=allowed)
    return CheckResult.of(CHECK_NAME, binding.findings, binding.verified)


def bind(text: str, sheet: FactSheet, *, allowed: Iterable[str] = ()) -> Binding:
    """Bind ``text`` to ``sheet`` (cached: the form and claims checks read the same binding)."""
    return _bind(text, sheet.to_json(), tuple(sorted(allowed)))


@lru_cache(maxsize=256)
def _bind(text: str, sheet_json: str, allowed: tuple[str, ...]) -> Binding:
    sheet = FactSheet.from_json(sheet_json)
    context = story_context_of(sheet_json)
    facts = context.facts
    # Facts with no value that day ("n/a") back no figure, but their naming words still say
    # what a figure is: "a 1.41% increase in its trading volume" is the volume's, not the price's.
    measures = [f for f in facts if f.kind in ("count", "number", "percent", "currency")]
    names = [_NameFact.of(f) for f in facts if f.kind in ("entity", "text") and _has_letters(f.value)]
    days = _story_days(sheet)

    verbatim = [(m.span(), m.group()) for m in _verbatim_pattern(n.fact.value for n in names).finditer(text)]
    standing = [*find_spans(phrase_pattern([*domain_list(context.domain_dir, "allowed_phrases.txt"), *allowed]), text),
                *(span for span, _ in verbatim)]
    work = mask(text, standing)
    dates = find_dates(work)
    work = mask(work, (d.span for d in dates))
    numbers = find_numbers(work)
    work = mask(work, (n.span for n in numbers))
    clauses = Clauses(text, [*(d.span for d in dates), *(n.span for n in numbers), *(span for span, _ in verbatim)])

    findings: list[Finding] = [*_unread_digits(work), *_unread_words(work), *_foreign_digits(text, [*dates, *numbers])]
    bound: list[Bound] = []
    figures = _Figures(numbers, measures, clauses, {day.year: name for name, day in reversed(days)}, context)
    dated = _OtherDays(facts, figures.bound, clauses)
    for mention in dates:
        finding, day_fact = _date_finding(mention, days, dated)
        findings += [finding] if finding else []
        bound += [Bound(day_fact, mention.span, "date")] if day_fact else []
    findings += figures.findings
    findings += changes(numbers, figures.bound, facts, domain_set(context.domain_dir, "change_words.txt"))
    bound += figures.bound
    findings += _repeats(figures.bound, clauses)
    common = domain_set(context.domain_dir, "common_words.txt") | context.vocabulary
    findings += [
        Finding(f"unbacked name {m.text!r} at {m.span[0]}-{m.span[1]}: {_names_hint(names)}", m.span)
        for m in unbacked_names(work, text, lambda written: _best_backing(written, names), common)
    ]
    backings = _name_backings(text, work, verbatim, names)
    order = {n.fact.name: k for k, n in enumerate(names)}
    bound += [Bound(min(b.facts, key=order.__getitem__), b.span, "name") for b in backings]
    findings += roles(clauses, backings, facts)
    findings += _relative_time(text, sheet, context)
    findings += _missing_values(text)
    directions = Directions(clauses, facts, figures.bound, context.key_fact)
    findings += directions.findings
    bound += directions.bound
    by_name = {f.name: f for f in facts}
    findings += bounds(text, numbers, {b.span: by_name[b.fact] for b in figures.bound if b.what == "figure"},
                       domain_list(context.domain_dir, "hedge_words.txt"))
    findings += denials(clauses, bound, facts, domain_set(context.domain_dir, "negation_words.txt"))
    findings += comparisons(clauses, facts, figures.bound, {b.span for b in directions.bound},
                             domain_list(context.domain_dir, "comparison_words.txt"), context.better)
    verified = _verified(figures, bound, directions)
    if not bound and not findings:
        findings.append(Finding("nothing verifiable: the draft states no figure, date or name of the fact sheet",
                                (0, len(text))))
    return Binding(tuple(bound), tuple(findings), verified, figures.count)


def _missing_values(text: str) -> list[Finding]:
    """A fact with no value is written "n/a": a draft that prints it states nothing true
    (a template that used a fact without guarding for its absence, or a model copying it)."""
    return [Finding(f"states a missing value {m.group()!r} at {m.start()}-{m.end()}: the fact has no value that day",
                    m.span()) for m in _MISSING.finditer(text)]


_DIGIT_RUN = re.compile(r"\d(?:[\d.,:/]*\d)?")


def _unread_digits(work: str) -> list[Finding]:
    """Digits left once dates, figures and standing phrases are read ("99.999.999", "99pct",
    "$430,99"'s tail): a figure the checks cannot read is a figure they did not verify."""
    return [Finding(f"unreadable figure {m.group()!r} at {m.start()}-{m.end()}: the checks cannot read it as a "
                    "number, so it is not verified; write it as the fact sheet does", m.span())
            for m in _DIGIT_RUN.finditer(work)]


_LETTERS = re.compile(r"[A-Za-z]+")


def _unread_words(work: str) -> list[Finding]:
    """Number words the figure reader does not read ("thirty", "a hundred", "half", "twice"):
    each states an amount nothing verified. The list is the fact lock's, so what the lock
    keeps a model from writing and what the checks refuse are one list."""
    words = _number_words()
    return [Finding(f"unreadable figure {m.group()!r} at {m.start()}-{m.end()}: a number in words the checks "
                    "cannot read, so it is not verified; write the figure as the fact sheet does", m.span())
            for m in _LETTERS.finditer(work) if m.group().lower() in words]


@lru_cache(maxsize=1)
def _number_words() -> frozenset[str]:
    return frozenset(number_words())


def _foreign_digits(text: str, mentions: Sequence[DateMention | NumberMention]) -> list[Finding]:
    """A figure or date written with other than ASCII digits: the checks read "2.\u09ea8%" as 2.48%,
    a reader may see 2.88%, so what is checked is not surely what is read."""
    return [Finding(f"{m.text!r} at {m.span[0]}-{m.span[1]} is written with digits other than 0-9: "
                    "what the checks read may not be what readers see", m.span)
            for m in mentions if any(c.isdigit() and not c.isascii() for c in m.text)]


def _verified(figures: _Figures, bound: Sequence[Bound], directions: Directions) -> tuple[str, ...]:
    said = []
    if figures.count:
        said.append(f"{sum(b.what == 'figure' for b in figures.bound)} of {figures.count} figures bound")
    for what, word in (("date", "date"), ("name", "name")):
        n = len({b.fact for b in bound if b.what == what})
        if n:
            said.append(f"{n} {word}{'s' if n > 1 else ''}")
    if directions.checked:
        if not directions.findings:  # a disagreeing direction is a finding, never "verified"
            said.append("direction agrees")
    return tuple(said)


# --- dates -----------------------------------------------------------------------------


def _story_days(sheet: FactSheet) -> list[tuple[str, dt.date]]:
    """(label, date) for every date fact and the sheet's logical date."""
    days = [(f.name, dt.date.fromisoformat(str(f.value)[:10])) for f in sheet.facts if f.kind == "date" and f.value]
    logical = dt.date.fromisoformat(sheet.logical_date[:10])
    return days if logical in {d for _, d in days} else [*days, ("logical date", logical)]


def _date_finding(mention: DateMention, days: Sequence[tuple[str, dt.date]],
                  dated: _OtherDays) -> tuple[Finding | None, str | None]:
    """A finding for an unbacked date, or the date fact it is bound to."""
    where = f"{mention.text!r} at {mention.span[0]}-{mention.span[1]}"
    if not mention.is_real:
        return Finding(f"unbacked date {where}: no calendar has that date", mention.span), None
    agreeing = [name for name, day in days if mention.agrees_with(day)]
    own = [name for name in agreeing if name not in dated.facts]
    if own:
        return None, own[0]
    if agreeing:
        return dated.bind(mention, agreeing, where, next((d for n, d in days if n not in dated.facts), None))
    known = "; ".join(f"{name} is {day:%B} {day.day}, {day.year} (a {day:%A})" for name, day in days)
    return Finding(f"unbacked date {where}: {known or 'the fact sheet has no dates'}", mention.span), None


class _OtherDays:
    """Date facts with naming words (``prev_trade_date``: "previous", "prior"): days other than the story's.

    A date that agrees only with one of them is that day only when the draft says so: the
    nearest figure of its clause is a fact of that day (one whose naming words share a word
    with the date fact's: "from its previous close of $441.40 on February 28"), or, with no
    figure in its clause, a naming word of the date fact stands in it. Otherwise "fell 2.48%
    on February 28" would pass, dating the story's move with the previous session's date.
    """

    def __init__(self, facts: Sequence[Fact], figures: Sequence[Bound], clauses: Clauses) -> None:
        self.facts = {f.name: f for f in facts if f.kind == "date" and f.names}
        self.by_name = {f.name: f for f in facts}
        self.figures, self.clauses = [b for b in figures if b.what == "figure"], clauses
        self.occurrences = [(f, j) for f, j in name_occurrences(clauses, facts) if f.name in self.facts]

    def bind(self, mention: DateMention, agreeing: Sequence[str], where: str,
             story_day: dt.date | None) -> tuple[Finding | None, str | None]:
        clauses = self.clauses
        at = clauses.index(mention.span[0])
        first, last = clauses.clause(at)
        near = sorted((abs(clauses.index(b.span[0]) - at), b.fact) for b in self.figures
                      if first <= clauses.index(b.span[0]) <= last)
        for name in agreeing:
            day = self.facts[name]
            if near and self._of_day(self.by_name[near[0][1]], day):
                return None, name
            if not near and any(f.name == name and first <= j <= last for f, j in self.occurrences):
                return None, name
        day = self.facts[agreeing[0]]
        said = (f"the figure it dates, {near[0][1]}, is of the story's day" if near
                else f"its clause does not say so ({', '.join(repr(n) for n in day.names)})")
        story = f"; the story's date is {story_day:%B} {story_day.day}, {story_day.year}" if story_day else ""
        return Finding(f"date {where} is {day.name} ({day.label}), but {said}{story}", mention.span), None

    @staticmethod
    def _of_day(fact: Fact, day: Fact) -> bool:
        words = {w for name in day.names for w in name.lower().split()}
        return any(w in words for name in fact.names for w in name.lower().split())


# --- numbers ---------------------------------------------------------------------------


class _Figures:
    """The draft's figures, each bound to one fact by value and by the words of its clause."""

    def __init__(self, numbers: Sequence[NumberMention], facts: Sequence[Fact], clauses: Clauses,
                 years: dict[int, str], context: StoryContext) -> None:
        self.facts, self.clauses, self.years = facts, clauses, years
        self.levels, self.qualifies = context.levels, context.qualifies
        self.by_name = {f.name: f for f in facts}
        self.findings: list[Finding] = []
        self.bound: list[Bound] = []
        self.occurrences = name_occurrences(clauses, facts)
        self._numbers = numbers
        mentions = [m for m in numbers if not self._exempt(m)]
        self.count = len(mentions)
        self.index = {m.span: clauses.index(m.span[0]) for m in mentions}
        self.pools = {m.span: _candidates(m, facts) for m in mentions}
        self.reach = {m.span: clauses.clause(self.index[m.span]) for m in mentions}
        for mention in mentions:
            self._bind(mention, mentions)

    def _exempt(self, mention: NumberMention) -> bool:
        """A year of the sheet's dates (bound to that date), or "one" as a pronoun ("one of the busiest")."""
        if self._is_year(mention):
            if int(mention.value) in self.years:
                self.bound.append(Bound(self.years[int(mention.value)], mention.span, "date"))
                return True
            return False
        return (mention.in_words and mention.text.lower() == "one" and not _unit_facts(mention.next_word, self.facts)
                and not self._names_a_count(mention))

    def _names_a_count(self, mention: NumberMention) -> bool:
        """Whether "one" counts: "one of 957 departures", "one of the departures" (not "one of its busiest days")."""
        words, i = self.clauses.words, self.clauses.index(mention.span[0])
        if i + 1 >= len(words) or words[i + 1].text != "of":
            return False
        after = {i + 2, i + 3}
        figures = {self.clauses.index(m.span[0]) for m in self._numbers}
        return bool(after & figures) or any(f.kind == "count" and j in after for f, j in self.occurrences)

    def _is_year(self, mention: NumberMention) -> bool:
        return mention.is_year_like and not _unit_facts(mention.next_word, self.facts)  # "2013 flights" is a count

    def _bind(self, mention: NumberMention, mentions: Sequence[NumberMention]) -> None:
        pool = self.pools[mention.span]
        matches = [f for f in pool if f.numeric and _within(f, mention)]
        where = f"{mention.text!r} at {mention.span[0]}-{mention.span[1]}"
        if not matches:
            self.findings.append(self._unbacked(mention, pool, where))
            return
        named = self._named(mention, mentions)
        # The nearest naming word of a fact this figure can state decides; one it cannot
        # state ("15.2 minutes of precipitation") only when no such word is there.
        ranked = [(d, f) for d, f in named if f in pool] or named
        nearest = [f for distance, f in ranked if distance == ranked[0][0]]
        hits = [f for f in nearest if f in matches]
        rivals = [f for f in nearest if f in pool and f not in matches and _meaning(f) not in {_meaning(h) for h in hits}]
        if hits and rivals:
            # "all airlines ran 83.8% on time": "all airlines" and "on time" are as near, and
            # 83.8% is only one of them: the draft does not say which it states.
            self.findings.append(Finding(
                f"{where} is named as {_label(rivals[0])} ({rivals[0].display}) and as {_label(hits[0])} by words as "
                f"near; it equals {_equals(hits)}: name only the fact it states", mention.span))
        elif hits:
            self._add(mention, _prefer(hits))
        elif named:
            told = next((f for f in nearest if f in pool), nearest[0])
            self.findings.append(Finding(
                f"{where} reads as {_label(told)} ({told.display}) but equals {_equals(matches)}", mention.span))
        elif len({_meaning(f) for f in matches}) > 1:
            self.findings.append(Finding(
                f"{where} is ambiguous: it equals {_equals(matches)}; name the fact beside it", mention.span))
        elif (other := self._named_elsewhere(mention, matches, mentions)) is not None:
            self.findings.append(Finding(
                f"{where} stands in a clause about {_label(other)} ({other.display}), and no word says it is "
                f"{_equals(matches)}: name the fact beside the figure", mention.span))
        else:
            self._add(mention, _prefer(matches))

    def _named_elsewhere(self, mention: NumberMention, matches: Sequence[Fact],
                         mentions: Sequence[NumberMention]) -> Fact | None:
        """A fact the clause of an unnamed figure names instead of its own, if any.

        "The rate of scheduled flights was 78.7%" (78.7% the all-airlines rate) and "83.8%
        of them were cancelled" name another fact and not the figure's: the value alone does
        not make it that fact. A figure a direction word of its own fact moves ("closed down
        2.48%") or its unit word names ("11,523,400 shares") says what it is.
        """
        fact = _prefer(matches)
        if self._moved(mention, fact) or fact in _unit_facts(mention.next_word, self.facts):
            return None
        i = self.index[mention.span]
        first, last = self.reach[mention.span]
        others = sorted(((abs(j - i), other) for other, j in self.occurrences
                         if first <= j <= last and other not in matches and other.names != fact.names
                         and not any(self._claims(m, other, j, i) for m in mentions if m.span != mention.span)),
                        key=lambda pair: pair[0])
        return others[0][1] if others else None

    def _moved(self, mention: NumberMention, fact: Fact) -> bool:
        """Whether a direction word of ``fact`` is written against ``mention`` ("down 2.48%", "2.48% lower"),
        as the direction check reads it."""
        i = self.index[mention.span]
        said = {word for words in fact.directions.values() for word in words}
        start = max(0, i - MAX_FILLERS - 1)
        return any(word.text in said and stated_figure(self.clauses, {i}, k) == i
                   for k, word in enumerate(self.clauses.words[start:i + 2], start=start))

    def _add(self, mention: NumberMention, fact: Fact) -> None:
        self.bound.append(Bound(fact.name, mention.span, "figure"))

    def _named(self, mention: NumberMention, mentions: Sequence[NumberMention]) -> list[tuple[int, Fact]]:
        """(distance in words, fact) for the facts the clause of ``mention`` names, nearest first.

        The nearest naming word says what the figure is: "volume was 2.48% below its
        average as shares fell" reads 2.48% as the volume comparison, whatever "shares"
        says further on. A naming word belongs to a closer figure that can state its fact;
        a fact this figure cannot state counts only when named right after it ("15.2
        minutes of precipitation"), its own unit word aside."""
        i, (first, last) = self.index[mention.span], self.reach[mention.span]
        pool = self.pools[mention.span]
        unit = 1 if _unit_word(mention, self.facts) and i + 1 < len(self.clauses.words) else 0
        named: list[tuple[int, Fact]] = []
        by_unit: list[tuple[int, Fact]] = []
        for fact, j in self.occurrences:
            if not first <= j <= last:
                continue
            if fact not in pool and not (j > i + unit and self.clauses.gap(i, j) - unit <= 1):
                continue
            if any(self._claims(other, fact, j, i) for other in mentions if other.span != mention.span):
                continue
            (by_unit if j == i + 1 and self._shared_unit(mention) else named).append((abs(i - j), fact))
        named += self._level(i, pool)
        # "cancelled 167 flights": a unit several facts share names none of them when another
        # fact the figure could state is named; alone ("167 flights on time") it names its own.
        if not any(fact in pool for _, fact in named):
            named += by_unit
        closest: dict[str, tuple[int, Fact]] = {}
        for distance, fact in sorted(named, key=lambda p: p[0]):
            closest.setdefault(fact.name, (distance, fact))
        # "All airlines ran 83.8% on time": where a qualifying fact is named, the words of the
        # fact it qualifies name it ("on time" of all airlines is the overall rate).
        by_name = {fact.name: fact for fact in pool}
        for wider, narrower in self.qualifies.items():
            if wider in closest and narrower in closest and wider in by_name:
                closest[narrower] = (closest[narrower][0], by_name[wider])
        return list(closest.values())

    def _level(self, i: int, pool: Sequence[Fact]) -> list[tuple[int, Fact]]:
        """The level a move's "to" or "from" names (``levels:``): "fell 2.48% to $430.47" and
        "down from $441.40" say which end of the move the figure is, as near as a naming word.

        Only after a direction word of the move earlier in the sentence (however long the
        words between: "fell 2.48% in a broad sell-off ... to $441.40"): "close to $441" or
        "traded from 9:30" say nothing of a move. A bound may stand between ("to nearly
        $27.3"); the bound check then holds it to that level."""
        words = self.clauses.words
        first, _ = self.clauses.sentence(i)
        k = i - 1
        while k > first and words[k].text in _LEVEL_FILLERS:
            k -= 1
        if k < first or words[k].text not in ("from", "to"):
            return []
        for move, ends in self.levels.items():
            fact, level = self.by_name.get(move), self.by_name.get(ends.get(words[k].text, ""))
            said = {w for ws in fact.directions.values() for w in ws} if fact else set()
            if level in pool and any(w.text in said for w in words[first:k]):
                return [(i - k, level)]
        return []

    def _claims(self, other: NumberMention, fact: Fact, j: int, i: int) -> bool:
        """Whether the word at ``j`` naming ``fact`` belongs to ``other`` rather than to the figure at ``i``:
        ``other`` can state ``fact`` and is closer, or as close and after the word ("the
        previous 30 days": the word names what follows)."""
        o = self.index[other.span]
        first, last = self.reach[other.span]
        if not first <= j <= last or fact not in self.pools[other.span]:
            return False
        return abs(o - j) < abs(i - j) or (abs(o - j) == abs(i - j) and o > j)

    def _shared_unit(self, mention: NumberMention) -> bool:
        return len(_unit_facts(mention.next_word, self.pools[mention.span])) > 1

    def _unbacked(self, mention: NumberMention, pool: Sequence[Fact], where: str) -> Finding:
        if self._is_year(mention):
            known = ", ".join(str(y) for y in sorted(self.years)) or "none"
            return Finding(f"unbacked year {where}: the fact sheet's dates are in {known}", mention.span)
        what = "rank" if mention.kind == "rank" else "figure"
        if not pool and _measure(mention) in _MEASURES:
            hint = f"the fact sheet has no fact in {_measure(mention)}"
        elif not pool:
            hint = f"the fact sheet has no {_KIND_WORDS[mention.kind]} facts"
        else:
            valued = [f for f in pool if f.numeric]
            nearest = min(valued, key=lambda f: abs(abs(float(f.value)) - abs(mention.value))) if valued else None
            hint = (f"nearest {nearest.kind} fact {nearest.name} is {nearest.display}" if nearest
                    else f"no {_KIND_WORDS[mention.kind]} fact has a value that day")
        same = [f for f in self.facts if f not in pool and f.numeric and _within(f, mention)]
        if same:
            hint += f"; the value equals {_equals(same)}"
        return Finding(f"unbacked {what} {mention.text!r} at {mention.span[0]}-{mention.span[1]}: {hint}",
                       mention.span)


def _unit_word(mention: NumberMention, facts: Sequence[Fact]) -> bool:
    """Whether the word after the figure is its unit ("shares", "minutes", "mph")."""
    return bool(mention.next_word) and (bool(_unit_facts(mention.next_word, facts)) or _measure(mention) in _MEASURES)


def _prefer(facts: Sequence[Fact]) -> Fact:
    """Of facts of one meaning (a move and its size), the signed one: its direction is checked."""
    return next((f for f in facts if f.signed), facts[0])


def _meaning(fact: Fact) -> object:
    """Facts with the same naming words mean the same thing (change and size of move); facts
    without any are told apart by value alone, as before names were declared."""
    if fact.names:
        return frozenset(fact.names)
    return ("value", fact.kind, round(abs(float(fact.value)), 9) if fact.numeric else None)


def _label(fact: Fact) -> str:
    return (fact.label or fact.name).lower()


def _equals(facts: Sequence[Fact]) -> str:
    return " and ".join(f"{f.name} ({f.display})" for f in facts)


def _repeats(bound: Sequence[Bound], clauses: Clauses) -> list[Finding]:
    """A fact stated twice in one clause: "The 957 departed from 957" says nothing twice."""
    findings = []
    for k, later in enumerate(bound):
        first, last = clauses.clause(clauses.index(later.span[0]))
        for earlier in bound[:k]:
            if earlier.fact == later.fact and first <= clauses.index(earlier.span[0]) <= last:
                findings.append(Finding(
                    f"figure at {later.span[0]}-{later.span[1]} states {later.fact} again in the clause that "
                    f"already states it at {earlier.span[0]}-{earlier.span[1]}", later.span))
                break
    return findings


def _name_backings(text: str, work: str, verbatim: Sequence[tuple[Span, str]],
                   names: Sequence[_NameFact]) -> list[NameBacking]:
    """Names written in the draft, each with the entity or text facts that back it: written
    out whole, or a stretch of one."""
    found: dict[Span, NameBacking] = {}
    names = [n for n in names if any(c.isupper() for c in str(n.fact.value))]  # "rose" is a word, not a name
    for span, written in verbatim:
        facts = frozenset(n.fact.name for n in names if str(n.fact.value).lower() == written.lower())
        if facts:
            found[span] = NameBacking(span, written, facts)
    for run in name_runs(work, text):
        facts = frozenset(n.fact.name for n in names if n.backs(run.text) != "none")
        if facts and run.span not in found:
            found[run.span] = NameBacking(run.span, run.text, facts)
    return sorted(found.values(), key=lambda n: n.span)


def _relative_time(text: str, sheet: FactSheet, context: StoryContext) -> list[Finding]:
    """Relative time ("today", "the day before") the sheet does not state: wrong on another day."""
    stated = " ".join(f"{f.label} {f.display}" for f in sheet.facts).lower()
    pattern = phrase_pattern(domain_list(context.domain_dir, "relative_time.txt"))
    said = {m.group().lower() for m in pattern.finditer(stated)}
    return [
        Finding(f"relative time {m.group()!r} at {m.start()}-{m.end()}: the fact sheet does not state it; "
                f"write the date (the story is dated {sheet.logical_date})", m.span())
        for m in pattern.finditer(text) if m.group().lower() not in said
    ]


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
    if bound and _measure(mention) in _MEASURES:
        return bound  # "14 days" is a measure: only a fact in days states it
    if bound:
        return [f for f in pool if f.kind == "count"]
    if _measure(mention) in _MEASURES:
        return []  # a measure the fact sheet has no fact in
    if mention.in_words:
        return [f for f in pool if f.kind == "count"]  # "one of 957" counts; a 0.9-minute delay is no "one"
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
    if mention.value == 0 and mention.precision > 1:
        return False  # "$0 thousand", "0 billion shares": a scale word on nothing states no amount
    target = value if mention.signed else abs(value)
    return abs(mention.value - target) <= mention.precision / 2 + 1e-9 * max(1.0, abs(value))


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
