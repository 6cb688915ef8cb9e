"""Roles: which of a sheet's entities a name in a draft is said to be.

A sheet may hold two entities of one kind in different roles: the most and the least
delayed airport. "LGA was the most delayed airport" names a real airport of the sheet in
the wrong role; the name is backed, the claim is not. An entity fact with ``names:``
("most delayed", "worst") is a role, and its role words say which entity a name must be:

* a role word belongs to the nearest name of its clause ("EWR had the longest delays and
  LGA the shortest"); with no name in its clause, to the nearest of its sentence, since
  appositions and relative clauses put the role beyond a comma ("At LGA, the most delayed
  airport, ...", "LGA, which posted the longest delays"); as near to two, to both;
* every role word a name holds must be a role of that name;
* a name no role word belongs to is backed by its value alone, as before.
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
    """A finding for every name its role words give the role of an entity it is not."""
    role_facts = [f for f in facts if f.kind == "entity" and f.names]
    if not role_facts:
        return []
    at = {n.span: clauses.index(n.span[0]) for n in names}
    held: dict[Span, list[tuple[Fact, int]]] = {n.span: [] for n in names}
    for fact, j in name_occurrences(clauses, role_facts):
        for owner in _owners(clauses, j, names, at):
            held[owner.span].append((fact, j))
    findings = []
    for name in names:
        wrong = [(fact, j) for fact, j in held[name.span] if fact.name not in name.facts]
        if wrong:
            own = [f for f in facts if f.name in name.facts]
            said = " and ".join(f"{_written(clauses, j, fact)!r} ({fact.name}, {fact.display})" for fact, j in wrong)
            findings.append(Finding(
                f"{name.text!r} at {name.span[0]}-{name.span[1]} is named by {said}, but it is "
                f"{', '.join(f'{f.name} ({f.display})' for f in own)}", name.span))
    return findings


def _owners(clauses: Clauses, j: int, names: Sequence[NameBacking], at: dict[Span, int]) -> list[NameBacking]:
    """The names the role word at ``j`` belongs to: the nearest of its clause, or with none
    there, the nearest of its sentence (both, when two are as near)."""
    for first, last in (clauses.clause(j), clauses.sentence(j)):
        near = [(abs(at[n.span] - j), n) for n in names if first <= at[n.span] <= last]
        if near:
            closest = min(d for d, _ in near)
            return [n for d, n in near if d == closest]
    return []


def _written(clauses: Clauses, j: int, fact: Fact) -> str:
    """The naming phrase of ``fact`` that starts at word ``j``, as the finding quotes it."""
    words = [w.text for w in clauses.words[j:j + 4]]
    return max((n for n in fact.names if words[:len(n.split())] == n.split()), key=len, default=words[0])
