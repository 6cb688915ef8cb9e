"""Clauses: the stretch of words a figure or a direction word is read in.

A figure means what the words around it say: "a 1.94% increase in volume" claims a
volume figure whatever its value matches. The clause of a position runs to the nearest
comma, semicolon, bracket, dash, sentence end or joining word ("and", "but", "while",
"against", "compared"...), and at most :data:`MAX_REACH` words either way. Figures and
dates are passed in as spans and count as one word each, so the commas inside "19,730,300"
or "March 1, 2013" end nothing. This module also finds where the words that name each
fact (``names:`` in ``story.yml``) occur, and holds :class:`Bound`, one stretch of a draft
bound to one fact, which the binding rules pass between them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from nightdesk.checks.masking import Span
from nightdesk.checks.wordlists import phrase_pattern
from nightdesk.stories.factsheet import Fact

MAX_REACH = 8
_SENTENCE_ENDS = frozenset({".", "!", "?", ";"})
_JOINERS = frozenset({"and", "but", "or", "nor", "while", "whereas", "against", "versus", "vs", "although",
                      "though", "yet", "compared", "where", "which", "when", "whilst"})
_PIECE = re.compile(r"[,;!?()\u2014\u2013]|\.(?=\s|$)|[^\s,;!?()\u2014\u2013]+?(?=\.(?:\s|$)|[\s,;!?()\u2014\u2013]|$)")


@dataclass(frozen=True)
class Word:
    text: str  # lower-cased
    start: int
    end: int
    stop: bool  # punctuation or a joining word: a clause boundary


class Clauses:
    """The words of a text, and the clause around any of them."""

    def __init__(self, text: str, atoms: Iterable[Span]) -> None:
        flat = list(text)
        for start, end in atoms:
            flat[start:end] = "x" * (end - start)
        flat_text = "".join(flat)
        self.words = [
            Word(text[m.start():m.end()].lower(), m.start(), m.end(),
                 not any(c.isalnum() for c in m.group()) or m.group().lower() in _JOINERS)
            for m in _PIECE.finditer(flat_text)
        ]

    def index(self, at: int) -> int:
        """The index of the word containing (or first after) character ``at``."""
        for i, word in enumerate(self.words):
            if word.end > at:
                return i
        return len(self.words) - 1

    def clause(self, i: int) -> tuple[int, int]:
        """Word indexes ``(first, last)`` of the clause around word ``i``."""
        first = i
        while first > 0 and not self.words[first - 1].stop and i - first < MAX_REACH:
            first -= 1
        last = i
        while last + 1 < len(self.words) and not self.words[last + 1].stop and last - i < MAX_REACH:
            last += 1
        return first, last

    def sentence(self, i: int) -> tuple[int, int]:
        """Word indexes ``(first, last)`` of the sentence around word ``i`` (to ".", "!", "?" or ";")."""
        first = i
        while first > 0 and self.words[first - 1].text not in _SENTENCE_ENDS:
            first -= 1
        last = i
        while last + 1 < len(self.words) and self.words[last + 1].text not in _SENTENCE_ENDS:
            last += 1
        return first, last

    def gap(self, i: int, j: int) -> int:
        """Words strictly between words ``i`` and ``j``."""
        return abs(i - j) - 1


@dataclass(frozen=True)
class Bound:
    """One stretch of a draft bound to one fact (``what``: figure, date, name or direction)."""

    fact: str
    span: Span
    what: str


def name_occurrences(clauses: Clauses, facts: Sequence[Fact]) -> list[tuple[Fact, int]]:
    """(fact, word index) for every naming word of every fact in the text."""
    text = " ".join(w.text for w in clauses.words)
    starts, at = [], 0
    for word in clauses.words:
        starts.append(at)
        at += len(word.text) + 1
    matches = []
    for fact in facts:
        if not fact.names:
            continue
        pattern = phrase_pattern([*fact.names, *(n + "s" for n in fact.names if not n.endswith("s"))])
        matches += [(fact, match.span()) for match in pattern.finditer(text)]
    # A name inside a longer name of another fact is that fact's: "previous close" names
    # prev_close, not close.
    return [(fact, max(k for k, s in enumerate(starts) if s <= start))
            for fact, (start, end) in matches
            if not any(other.name != fact.name and o_start <= start and end <= o_end and o_end - o_start > end - start
                       for other, (o_start, o_end) in matches)]
