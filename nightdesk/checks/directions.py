"""Direction and comparison words: what a draft says about which way a figure went.

"Shares fell 2.48%" is wrong when the shares rose, whatever the figure: a signed fact
(``directions:`` in ``story.yml``) lists the words for each sign, and a word bound to it
must agree with its value. A figure written as a change ("a 78.7% increase") must be a
signed fact, and "X above Y" between two figures of one kind and unit needs X > Y.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence

from nightdesk.checks.clauses import Bound, Clauses, Word, name_occurrences
from nightdesk.checks.masking import Span
from nightdesk.checks.numbers import NumberMention
from nightdesk.checks.result import Finding
from nightdesk.stories.factsheet import Fact

MAX_COMPARE = 12  # words (and stops) from a comparison word to the figures it compares
#: Words that may stand between a direction word and its figure ("rose by about 23.9%"), two at most.
_FILLERS = frozenset({"by", "of", "about", "some", "around", "roughly", "approximately", "a", "an", "("})
MAX_FILLERS = 2
_SENSES = ("more", "less", "better", "worse", "ahead", "behind")  # of comparison_words.txt
_PASSIVE = {"more": "less", "less": "more", "better": "worse", "worse": "better", "ahead": "behind", "behind": "ahead"}
_UNKNOWN = {
    **dict.fromkeys(("better", "worse"), "than, and the two facts do not declare one better way (better: in story.yml)"),
    **dict.fromkeys(("ahead", "behind"), "of, which for facts better lower says both higher and better"),
}


class Directions:
    """Direction words ("rose", "below") bound to a signed fact, which must agree with its sign.

    A word written against a figure ("rose 23.9%", "rose by 23.9%", "23.9% higher", "a
    1.94% gain") states that figure's move: the figure's own fact must list the word, and
    a fact other than the story's key fact must be named in the clause ("FB was up 23.9%"
    reads as the share price, even when 23.9% is the volume's lead over its average).
    Otherwise a word binds to the nearest figure of its clause stated by a signed fact
    that lists it; failing that, to a signed fact its clause names; failing that, to the
    story's key fact when that lists it. A word bound to nothing is not checked.
    """

    def __init__(self, clauses: Clauses, facts: Sequence[Fact], figures: Sequence[Bound], key_fact: str | None) -> None:
        self.findings: list[Finding] = []
        self.bound: list[Bound] = []
        self.checked = 0
        signed = {f.name: f for f in facts if f.signed and f.numeric}
        if not signed:
            return
        by_name, self._signed = {f.name: f for f in facts}, signed
        at = {clauses.index(b.span[0]): b for b in figures if b.what == "figure"}
        # Over every fact, then kept for the signed: "trading days" names volume_avg_days, so
        # its "trading" names no volume comparison.
        occurrences = [(f, j) for f, j in name_occurrences(clauses, facts) if f.name in signed]
        for t, word in enumerate(clauses.words):
            listing = {n for n, f in signed.items() if any(word.text in ws for ws in f.directions.values())}
            if not listing:
                continue
            first, last = clauses.clause(t)
            figure = _stated_of(clauses, at, t)
            fact = _moving(by_name[figure.fact], listing, signed) if figure is not None else None
            if figure is not None and fact is not None:
                self._stated(clauses, word, figure, fact, listing, key_fact,
                             {f.name for f, j in occurrences if first <= j <= last})
                continue
            near = sorted((abs(clauses.index(b.span[0]) - t), b.fact) for b in figures
                          if b.fact in listing and first <= clauses.index(b.span[0]) <= last)
            named = sorted((abs(j - t), f.name) for f, j in occurrences if f.name in listing and first <= j <= last)
            target = (near or named or [(0, key_fact)] if key_fact in listing else near or named or [])
            if not target:
                continue
            self._check(word.text, (word.start, word.end), signed[target[0][1]])

    def _stated(self, clauses: Clauses, word: Word, figure: Bound, fact: Fact, listing: set[str],
                key_fact: str | None, named: set[str]) -> None:
        """Check a direction word written against ``figure``, whose move is ``fact``'s."""
        span, written = (word.start, word.end), clauses.words[clauses.index(figure.span[0])].text
        if fact.name not in listing and fact.name in named:
            # "volume surged 23.9% above its average": a move word of another fact, said of this
            # one by name; its sign is the word's.
            self._check(word.text, span, fact, says=self._sign(word.text, listing))
        elif fact.name not in listing:
            self.findings.append(Finding(
                f"direction word {word.text!r} at {span[0]}-{span[1]} is stated of {written!r}, which is "
                f"{fact.name} ({fact.label or fact.name}): {word.text!r} is no direction of it", span))
        elif fact.name != key_fact and fact.name not in named:
            self.findings.append(Finding(
                f"{word.text!r} {written!r} at {span[0]}-{span[1]} reads as the story's main move"
                f"{f' ({key_fact})' if key_fact else ''}, but {written!r} is {fact.name}: name it"
                f"{' (' + ', '.join(repr(n) for n in fact.names[:3]) + ')' if fact.names else ''}", span))
        else:
            self._check(word.text, span, fact)

    def _sign(self, word: str, listing: set[str]) -> str:
        """The sign ``word`` carries in the facts that list it."""
        return "positive" if any(word in self._signed[n].directions.get("positive", ()) for n in listing) else "negative"

    def _check(self, word: str, span: Span, fact: Fact, says: str | None = None) -> None:
        self.checked += 1
        self.bound.append(Bound(fact.name, span, "direction"))
        value = float(fact.value)
        says = says or ("positive" if word in fact.directions.get("positive", ()) else "negative")
        if (says == "positive" and value > 0) or (says == "negative" and value < 0):
            return
        went = "up" if says == "positive" else "down"
        self.findings.append(Finding(
            f"direction word {word!r} at {span[0]}-{span[1]} says {fact.name} went {went}, but it is {fact.display}",
            span))


def comparisons(clauses: Clauses, facts: Sequence[Fact], figures: Sequence[Bound], taken: set[Span],
                entries: Sequence[str], better: Mapping[str, str]) -> list[Finding]:
    """"X above Y" between two bound figures of one kind and unit needs X > Y ("below": X < Y).

    A word followed by "by" is passive ("was topped by"): it says the later figure is the
    larger. "Better" words ("worse than") say more or less by the facts' ``better:`` way
    (higher on-time rates, lower delays), and position words ("ahead of", "trailing") say
    higher or lower; where what they claim is not known (see :func:`_way`), they fail
    rather than pass unverified."""
    sense = {}
    for entry in entries:
        way, _, word = entry.partition(":")
        if way.strip() not in _SENSES:
            raise ValueError(f"comparison_words.txt: {entry!r} has no sense of {_SENSES}")
        sense[word.strip().lower()] = way.strip()
    by_name = {f.name: f for f in facts}
    # Sorted by position only: one figure may be bound to two facts of equal value (EWR's
    # 15.2-minute delay and trailing average), and facts have no order.
    placed = sorted(((clauses.index(b.span[0]), by_name[b.fact], b.span) for b in figures if b.what == "figure"),
                    key=lambda p: (p[0], p[2]))
    findings = []
    for t, word in enumerate(clauses.words):
        if word.text not in sense or (word.start, word.end) in taken:
            continue
        before = [p for p in placed if t - MAX_COMPARE <= p[0] < t and _same_sentence(clauses, p[0], t)]
        after = [p for p in placed if t < p[0] <= t + MAX_COMPARE and _same_sentence(clauses, t, p[0])]
        if not before or not after:
            continue
        (_, left, left_span), (_, right, right_span) = before[-1], after[0]
        if left.name == right.name or (left.kind, left.unit) != (right.kind, right.unit):
            continue
        where, span = f"comparison {word.text!r} at {word.start}-{word.end}", (left_span[0], right_span[1])
        said = sense[word.text]
        if t + 1 < len(clauses.words) and clauses.words[t + 1].text == "by":
            said = _PASSIVE[said]  # "83.8% was topped by the 80.2%": the later figure is the larger
        ways = {better.get(left.name), better.get(right.name)}
        way = _way(said, ways.pop() if len(ways) == 1 else None)  # two ways, or one declared: none known
        if way is None:
            findings.append(Finding(
                f"{where} says {left.name} ({left.display}) is {said} {right.name} ({right.display}) "
                f"{_UNKNOWN[said]}: write 'above' or 'below'", span))
            continue
        larger = float(left.value) > float(right.value)
        smaller = float(left.value) < float(right.value)
        if (way == "more" and not larger) or (way == "less" and not smaller):
            says = said if said in ("better", "worse") else way
            findings.append(Finding(
                f"{where} says {left.name} ({left.display}) is {says} than {right.name} ({right.display})", span))
    return findings


def _way(sense: str, better: str | None) -> str | None:
    """``more`` or ``less`` for a comparison word's sense, or ``None`` where it is not known.

    ``better``/``worse`` need the facts' one declared better way; ``ahead``/``behind``
    ("ahead of its previous close", "trailing the 80.2%") read as higher and lower, and
    for facts that are better lower ("delays trailing the usual 10.0 minutes") they say
    two things at once, so they are not known either."""
    if sense in ("more", "less"):
        return sense
    if sense in ("ahead", "behind"):
        return None if better == "lower" else "more" if sense == "ahead" else "less"
    if better not in ("higher", "lower"):
        return None
    return "more" if (sense == "better") == (better == "higher") else "less"


def _moving(fact: Fact, listing: set[str], signed: dict[str, Fact]) -> Fact | None:
    """Whose move a direction word written against a figure of ``fact`` states.

    A signed fact's own; a size of move's ("rose 2.48%" bound to abs_change_pct), the
    signed fact of its names that lists the word; a level's ("closing at $27.78, up from
    $27.25") nobody's in particular: ``None``, and the word is read as if unattached.
    """
    if fact.signed:
        return fact
    return next((by for by in signed.values() if by.name in listing and fact.names and by.names == fact.names), None)


def _stated_of(clauses: Clauses, figures_at: dict[int, Bound], t: int) -> Bound | None:
    """The bound figure direction word ``t`` is written against, if any (see :func:`stated_figure`)."""
    k = stated_figure(clauses, figures_at, t)
    return figures_at[k] if k is not None else None


def stated_figure(clauses: Clauses, figures: Container[int], t: int) -> int | None:
    """The word index, among ``figures``, of the figure direction word ``t`` is written against:
    after it, across at most two filler words ("rose by about 23.9%", "a gain of 23.9%"),
    else right before it ("23.9% higher")."""
    words = clauses.words
    j = t + 1
    while j < len(words) and j - t <= MAX_FILLERS and words[j].text in _FILLERS and j not in figures:
        j += 1
    for k in (j, t - 1):
        if 0 <= k < len(words) and k in figures:
            return k
    return None


def _same_sentence(clauses: Clauses, i: int, j: int) -> bool:
    return not any(w.text in (".", "!", "?") for w in clauses.words[i:j + 1])


def changes(numbers: Sequence[NumberMention], bound: Sequence[Bound], facts: Sequence[Fact],
             change_words: frozenset[str]) -> list[Finding]:
    """A figure written as a change ("a 78.7% increase") must be bound to a signed fact."""
    by_name = {f.name: f for f in facts}
    facts_at = {b.span: by_name[b.fact] for b in bound if b.what == "figure"}
    return [
        Finding(f"{m.text!r} at {m.span[0]}-{m.span[1]} is written as a change ({m.next_word!r}) but "
                f"{fact.name} ({fact.display}) is not a change", m.span)
        for m in numbers
        if m.next_word in change_words and (fact := facts_at.get(m.span)) is not None and not fact.signed
    ]
