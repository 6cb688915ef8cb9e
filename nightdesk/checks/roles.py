"""Roles: which of a sheet's entities a name in a draft is said to be.

A sheet may hold two entities of one kind in different roles: the most and the least
delayed airport. "LGA was the most delayed airport" names a real airport of the sheet in
the wrong role; the name is backed, the claim is not. An entity fact with ``names:``
("most delayed", "worst") is a role, and the role words of a name's clause say which
entity the name must be, the way naming words say which fact a figure states:

* the nearest role word decides, and a role word belongs to the nearest name of its
  clause ("LGA trailed the most delayed EWR");
* a name no role word stands near is backed by its value alone, as before;
* two role words of different roles as near leave the name's role unsaid, and fail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nightdesk.checks.clauses import Clauses, name_occurrences
from nightdesk.checks.masking import Span
from nightdesk.checks.result import Finding
from nightdesk.stories.factsheet import Fact


@dataclass(frozen=True)
class NameBacking:
    """A name written in a draft and the entity facts whose values back it."""

    span: Span
    text: str
    facts: frozenset[str]


def roles(clauses: Clauses, names: Sequence[NameBacking], facts: Sequence[Fact]) -> list[Finding]:
    """A finding for every name whose clause gives it the role of an entity it is not."""
    role_facts = [f for f in facts if f.kind == "entity" and f.names]
    if not role_facts:
        return []
    occurrences = name_occurrences(clauses, role_facts)
    at = {n.span: clauses.index(n.span[0]) for n in names}
    findings = []
    for name in names:
        i = at[name.span]
        first, last = clauses.clause(i)
        near = sorted((abs(j - i), fact) for fact, j in occurrences
                      if first <= j <= last and not _closer(j, i, name, names, at, clauses))
        if not near:
            continue
        nearest = [fact for distance, fact in near if distance == near[0][0]]
        said = {fact.name for fact in nearest}
        where = f"{name.text!r} at {name.span[0]}-{name.span[1]}"
        if len(said) > 1 and said & name.facts:
            findings.append(Finding(
                f"{where} is given the roles {_roles(nearest)} by words as near: say which it is", name.span))
        elif not said & name.facts:
            own = [f for f in facts if f.name in name.facts]
            findings.append(Finding(
                f"{where} is named as {_roles(nearest)}, but it is "
                f"{', '.join(f'{f.name} ({f.display})' for f in own) or 'no entity of that role'}", name.span))
    return findings


def _closer(j: int, i: int, name: NameBacking, names: Sequence[NameBacking], at: dict[Span, int],
            clauses: Clauses) -> bool:
    """Whether the role word at ``j`` belongs to another name of its clause, nearer to it than ``name``."""
    for other in names:
        o = at[other.span]
        first, last = clauses.clause(o)
        if other.span != name.span and first <= j <= last and abs(o - j) < abs(i - j):
            return True
    return False


def _roles(facts: Sequence[Fact]) -> str:
    return " and ".join(f"{f.names[0]!r} ({f.name}, {f.display})" for f in facts)
