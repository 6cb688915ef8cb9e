"""Words around a figure that change what it claims: bounds ("more than 2.48%") and denials.

The fact check verifies that a figure equals a fact. "More than 11.5 million shares" or
"nearly 84%" claim a bound, which is true or false of the fact in its own way: a bound
word (``hedge_words.txt``) beside a bound figure must hold of the fact's value, or it
fails ("nearly 83.8%" of 83.8% says less than it is). "Over" and "under" before a span of
time ("over 20 trading days") are prepositions, not bounds.

A negation (``negation_words.txt``, a phrase there such as "far from", or a word ending in
"n't") up to three words before a bound figure, direction word or the naming word of a
fact bound in its clause ("did not fall 2.48%", "were not on time", "EWR was not the most
delayed airport") denies the claim: the checks verify what a draft states, not what it
denies, so it fails. A negation further off ("without any precipitation") denies
something else and is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from nightdesk.checks.clauses import Bound, Clauses, name_occurrences
from nightdesk.checks.masking import Span
from nightdesk.checks.numbers import NumberMention
from nightdesk.checks.result import Finding
from nightdesk.stories.factsheet import Fact

#: Words a negation may stand before what it denies ("did not, in the end, fall" aside).
NEGATION_REACH = 3
_CONTRACTED = re.compile(r"n[’'ʼ]t$")  # "didn't"; without the apostrophe only the words below ("went" is no denial)
_CONTRACTED_WORDS = frozenset({"didnt", "doesnt", "dont", "wasnt", "werent", "isnt", "arent", "hasnt", "havent",
                               "hadnt", "wont", "cant", "couldnt", "wouldnt", "shouldnt"})
_ARTICLES = frozenset({"a", "an"})
_WINDOW = 40  # characters either side of a figure that a bound phrase may take
_SPANS = frozenset({"day", "days", "trading", "session", "sessions", "week", "weeks", "month", "months", "year",
                    "years", "hour", "hours"})
_PREPOSITIONS = frozenset({"over", "under"})
_WORDS = re.compile(r"-?[\w'’]+")
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)")


@dataclass(frozen=True)
class _Hedge:
    sense: str  # above, at least, below, at most
    after: bool  # written after the figure


def bounds(text: str, mentions: Sequence[NumberMention], facts_at: Mapping[Span, Fact],
           entries: Iterable[str]) -> list[Finding]:
    """Each bound word beside a bound figure must hold of the figure's fact."""
    hedges = _hedges(entries)
    findings = []
    for mention in mentions:
        fact = facts_at.get(mention.span)
        if fact is None:
            continue
        compared = any(other.span[1] <= mention.span[0] and other.kind == mention.kind and other.span in facts_at
                       and not _SENTENCE_END.search(text, other.span[1], mention.span[0]) for other in mentions)
        for phrase, hedge in _beside(text, mention, hedges):
            if phrase in _PREPOSITIONS and mention.next_word in _SPANS:
                continue  # "over 20 trading days": a span, not a bound
            if compared and not hedge.after:
                continue  # "ran 83.8%, better than 80.2% for all airlines": a comparison of two figures
            finding = _broken(phrase, hedge, mention, fact)
            if finding:
                findings.append(finding)
    return findings


def _hedges(entries: Iterable[str]) -> dict[str, _Hedge]:
    """``SENSE: PHRASE`` entries by phrase (lower-cased, single spaces)."""
    hedges = {}
    for entry in entries:
        sense, _, phrase = entry.partition(":")
        words = phrase.lower().split()
        after = words[-1:] == ["(after)"]
        hedges[" ".join(words[:-1] if after else words)] = _Hedge(sense.strip(), after)
    return hedges


def _beside(text: str, mention: NumberMention, hedges: Mapping[str, _Hedge]) -> list[tuple[str, _Hedge]]:
    """The bound phrases written right before ``mention`` (an article may stand between) or right after it."""
    before = _WORDS.findall(text[max(0, mention.span[0] - _WINDOW):mention.span[0]].lower())
    if before[-1:] and before[-1] in _ARTICLES:  # "more than a 2.48% drop"; "more than the 80.2%" compares
        before = before[:-1]
    after = _WORDS.findall(text[mention.span[1]:mention.span[1] + _WINDOW].lower())
    found = [(phrase, hedge) for phrase, hedge in hedges.items()
             if (after[:len(phrase.split())] if hedge.after else before[-len(phrase.split()):]) == phrase.split()]
    # The longest phrase on each side: "no less than" is not also "less than".
    return [(phrase, hedge) for phrase, hedge in found
            if not any(other != phrase and o.after == hedge.after and _within_phrase(phrase, other, hedge.after)
                       for other, o in found)]


def _within_phrase(short: str, long: str, after: bool) -> bool:
    return len(long) > len(short) and (long.startswith(short) if after else long.endswith(short))


def _broken(phrase: str, hedge: _Hedge, mention: NumberMention, fact: Fact) -> Finding | None:
    value, written = abs(float(fact.value)), abs(mention.value)
    holds = {"above": value > written, "at least": value >= written,
             "below": value < written, "at most": value <= written}[hedge.sense]
    if holds:
        return None
    return Finding(f"{phrase!r} with {mention.text!r} at {mention.span[0]}-{mention.span[1]} says {fact.name} is "
                   f"{hedge.sense} {mention.text}, but it is {fact.display}", mention.span)


def denials(clauses: Clauses, bound: Sequence[Bound], facts: Sequence[Fact], negations: frozenset[str]) -> list[Finding]:
    """A negation right before a bound figure, direction word or the naming word of a fact bound near it fails."""
    claimed = {clauses.index(b.span[0]): b for b in bound if b.what in ("figure", "direction")}
    # A role word of a name bound near it ("EWR was not the most delayed airport") is denied too.
    said = {**claimed, **{clauses.index(b.span[0]): b for b in bound if b.what == "name"}}
    stated = {b.fact for b in said.values()}
    naming = {}  # word index of a naming word -> the claim of its fact in the same clause
    for fact, j in [(f, j) for f, j in name_occurrences(clauses, facts) if f.name in stated]:
        first, last = clauses.clause(j)
        start, end = clauses.sentence(j)  # a role is read over its sentence (roles.py)
        naming.update({j: b for i, b in said.items() if b.fact == fact.name and (
            first <= i <= last or (b.what == "name" and start <= i <= end))})
    phrases = sorted((n.split() for n in negations if " " in n), key=len, reverse=True)  # "far from being" first
    findings = []
    for k, word in enumerate(clauses.words):
        length = _negation(clauses, k, negations, phrases)
        if not length or (k and length > 1 and _negation(clauses, k - 1, negations, [])):
            continue  # "not far from" is near: a denied denial
        following = [w.text for w in clauses.words[k + length:k + length + 2]]
        if following[:1] == ["only"] or (following[:1] in (["less"], ["more"], ["fewer"]) and following[1:] == ["than"]):
            continue  # "not only a 0.74% drop but also...", "no less than": no denial
        for j in range(k + length, min(k + length + NEGATION_REACH, len(clauses.words))):
            if clauses.words[j].stop:
                break
            denied = claimed.get(j) or naming.get(j)
            if denied is not None:
                end = clauses.words[k + length - 1].end
                written = " ".join(w.text for w in clauses.words[k:k + length])
                findings.append(Finding(
                    f"{written!r} at {word.start}-{end} denies the {denied.what} it stands "
                    f"before ({denied.fact}): the checks verify what a draft states, not what it denies",
                    (word.start, end)))
                break
    return findings


def _negation(clauses: Clauses, k: int, words: frozenset[str], phrases: Sequence[list[str]]) -> int:
    """How many words the negation starting at word ``k`` takes ("not": 1, "far from": 2), or 0."""
    text = clauses.words[k].text
    if text in words or text in _CONTRACTED_WORDS or _CONTRACTED.search(text):
        return 1
    for phrase in phrases:
        if [w.text for w in clauses.words[k:k + len(phrase)]] == phrase:
            return len(phrase)
    return 0
