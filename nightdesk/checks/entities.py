"""Find the names a draft uses and keep those nothing backs.

A name is a run of capitalised words ("Delta Air Lines"), a code in capitals ("AAPL",
"JFK", "9E") or a word with inner capitals ("JetBlue"), with lower-case joiners inside
("Bank of America"). Capitals are the evidence that a word names something, so that
evidence is discounted where English capitalises anyway: the first word of a sentence,
and every word of a headline written in Title Case. There a *common English word*
(``common_words.txt``) is not taken for a name; any other capitalised word still is, so
"Apple shares rose" at the start of a sentence is checked.

Which names are backed is the caller's business (a predicate), so this module only
knows about text. The predicate says whether a stretch is backed from the *start* of a
known name ("United", "United Airlines") or only as an inner *part* of one ("Air Lines"
of "United Air Lines Inc."). A part counts only in a run with nothing unbacked, so
"Delta Air Lines" is reported whole, not as "Delta".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Literal

from nightdesk.checks.masking import Span

_TOKEN = re.compile(
    r"[A-Za-z0-9]+(?:[&.\-][A-Za-z0-9]+|['’](?!s(?![A-Za-z0-9]))[A-Za-z0-9]+)*(?P<poss>['’]s?(?![A-Za-z0-9]))?"
)
_JOINERS = frozenset({"of", "de", "del", "du", "la", "le", "van", "von", "der", "den", "y"})
_SENTENCE_END = ".!?:;\n"
_OPENERS = "\"'“‘([ \t\r"
_TITLE_CASE_SHARE = 0.75
_TITLE_CASE_MIN_WORDS = 3

Backing = Literal["none", "part", "start"]


@dataclass(frozen=True)
class NameMention:
    text: str
    span: Span


@dataclass(frozen=True)
class _Token:
    text: str
    start: int
    end: int
    core_end: int  # end without a possessive "'s"
    sentence_start: bool

    @property
    def name_like(self) -> bool:
        return any(c.isupper() for c in self.text) and any(c.isalpha() for c in self.text)


def unbacked_names(
    text: str, original: str, backs: Callable[[str], Backing], common_words: Collection[str]
) -> list[NameMention]:
    """Names in ``text`` that ``backs`` does not accept.

    :param text: the draft with already-checked parts blanked out (see :mod:`masking`).
    :param original: the unmasked draft, to see where sentences start.
    :param backs: how a written name (e.g. "United Air Lines") is backed.
    :param common_words: lower-case common words, not names where capitals are routine.
    """
    tokens = [_token(m, original) for m in _TOKEN.finditer(text)]
    title_case = _is_title_case(original)
    found: list[NameMention] = []
    for group in _groups(tokens, original):
        exempt = [
            t.text.lower() in _JOINERS
            or ((title_case or t.sentence_start) and original[t.start:t.core_end].lower() in common_words)
            for t in group
        ]
        unbacked = _uncovered(group, exempt, original, backs)
        found += _merge(group, unbacked, original)
    return found


def name_runs(text: str, original: str) -> list[NameMention]:
    """Every run of name-like words in ``text`` (backed or not), for binding names to facts."""
    tokens = [_token(m, original) for m in _TOKEN.finditer(text)]
    return [_mention(group, original) for group in _groups(tokens, original)]


def _token(match: re.Match[str], original: str) -> _Token:
    start, end = match.span()
    core_end = match.start("poss") if match["poss"] else end
    before = original[:start].rstrip(_OPENERS)
    return _Token(match.group(), start, end, core_end, not before or before[-1] in _SENTENCE_END)


def _is_title_case(original: str) -> bool:
    """Headline-style capitalisation: most longer words (codes in capitals aside) start with a capital."""
    words = [w for w in re.findall(r"[A-Za-z]+", original) if len(w) >= 4 and not w.isupper()]
    capitalised = sum(w[0].isupper() for w in words)
    return len(words) >= _TITLE_CASE_MIN_WORDS and capitalised >= _TITLE_CASE_SHARE * len(words)


def _groups(tokens: list[_Token], original: str) -> list[list[_Token]]:
    """Runs of name-like tokens separated only by spaces, joiners allowed inside a run."""
    groups: list[list[_Token]] = []
    current: list[_Token] | None = None
    for i, token in enumerate(tokens):
        joins = token.text.lower() in _JOINERS and _next_is_name(tokens, i, original)
        glued = current is not None and not original[current[-1].end:token.start].strip()
        if current is not None and glued and (token.name_like or joins):
            current.append(token)
        elif token.name_like:
            current = [token]
            groups.append(current)
        else:
            current = None
    return groups


def _next_is_name(tokens: list[_Token], i: int, original: str) -> bool:
    return (i + 1 < len(tokens) and tokens[i + 1].name_like
            and not original[tokens[i].end:tokens[i + 1].start].strip())


def _uncovered(group: list[_Token], exempt: list[bool], original: str, backs: Callable[[str], Backing]) -> list[bool]:
    """Mark tokens no backed stretch covers, taking the longest backed stretch from each position."""
    unbacked = [False] * len(group)
    parts: list[int] = []
    i = 0
    while i < len(group):
        stretch = next(
            ((j, b) for j in range(len(group), i, -1)
             if (b := backs(original[group[i].start:group[j - 1].core_end])) != "none"), None
        )
        if stretch is not None:
            if stretch[1] == "part":
                parts += range(i, stretch[0])
            i = stretch[0]
            continue
        unbacked[i] = not exempt[i]
        i += 1
    if any(unbacked):
        for k in parts:
            unbacked[k] = not exempt[k]
    return unbacked


def _merge(group: list[_Token], unbacked: list[bool], original: str) -> list[NameMention]:
    """Adjacent unbacked tokens (joiners between them included) become one mention."""
    mentions: list[NameMention] = []
    run: list[_Token] = []
    for token, bad in zip(group, unbacked, strict=True):
        if bad:
            run.append(token)
        elif run and token.text.lower() not in _JOINERS:
            mentions.append(_mention(run, original))
            run = []
    if run:
        mentions.append(_mention(run, original))
    return mentions


def _mention(run: list[_Token], original: str) -> NameMention:
    start, end = run[0].start, run[-1].core_end
    return NameMention(original[start:end], (start, end))
