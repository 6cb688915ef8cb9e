"""Words around a figure that change what it claims: bounds ("more than 2.48%") and denials.

The fact check verifies that a figure equals a fact. "More than 2.48%", "nearly 83.8%" or
"up to 957" claim a bound, not the figure, and "did not fall 2.48%" denies what the
figure would state: a check that bound the figure and passed would vouch for a claim it
never tested. So a figure right after a bound word (``hedge_words.txt``) fails, and so
does a negation (``negation_words.txt``, and any word ending in "n't") in the clause of a
bound figure or direction word. Approximations that rounding already covers ("about 84%")
are not bounds: the figure's precision says how close it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from nightdesk.checks.clauses import Bound, Clauses
from nightdesk.checks.numbers import NumberMention
from nightdesk.checks.result import Finding
from nightdesk.checks.wordlists import phrase_pattern

_CONTRACTED = ("n't", "n’t")


def bounds(text: str, numbers: Sequence[NumberMention], hedges: Iterable[str]) -> list[Finding]:
    """A figure written right after a bound word ("more than 2.48%") fails: it states a bound."""
    starts = {m.span[0]: m for m in numbers}
    findings = []
    for match in phrase_pattern(hedges).finditer(text):
        at = match.end()
        while at < len(text) and text[at].isspace():
            at += 1
        figure = starts.get(at)
        if figure is not None:
            findings.append(Finding(
                f"{match.group()!r} at {match.start()}-{match.end()} makes {figure.text!r} a bound, not a figure: "
                "the checks verify figures; state the figure itself", (match.start(), figure.span[1])))
    return findings


def denials(clauses: Clauses, bound: Sequence[Bound], negations: frozenset[str]) -> list[Finding]:
    """A negation in the clause of a bound figure or direction word fails, once per negation."""
    findings, seen = [], set()
    for b in bound:
        if b.what not in ("figure", "direction"):
            continue
        first, last = clauses.clause(clauses.index(b.span[0]))
        for word in clauses.words[first:last + 1]:
            denies = word.text in negations or word.text.endswith(_CONTRACTED)
            if denies and (word.start, word.end) not in seen:
                seen.add((word.start, word.end))
                findings.append(Finding(
                    f"{word.text!r} at {word.start}-{word.end} denies the {b.what} it stands with ({b.fact}): "
                    "the checks verify what a draft states, not what it denies", (word.start, word.end)))
    return findings
