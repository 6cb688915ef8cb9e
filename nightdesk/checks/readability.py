"""Flesch reading ease, with a floor per content kind.

Readers skim briefs and marketing copy; a draft far harder to read than the house norm
deserves an editor's look, but it is not wrong, so a score below the floor is a warning
and never blocks publishing. Syllables are counted with a vowel-group heuristic (good to
about one syllable per long word, which is all a floor needs). A figure counts as a
one-syllable word: figures are the content the fact sheet demands, and the formula is
meant to judge the prose around them (counting digits would mark every data brief
"very difficult").
"""

from __future__ import annotations

import re

from nightdesk.checks.result import CheckResult, Finding

# Flesch's own bands: 30-50 "difficult", 50-60 "fairly difficult". The shipped story
# templates score 46-96, so faithful copy stays above these floors.
READABILITY_FLOORS: dict[str, float] = {"headline": 30.0, "brief": 40.0, "summary": 30.0, "marketing": 45.0}

_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*|\d+(?:[.,]\d+)*")
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|\n+")
_VOWEL_GROUP = re.compile(r"[aeiouy]+")


def count_syllables(word: str) -> int:
    """Vowel groups, less a silent final "e" ("rate", not "table") or "-ed" ("arrived", not
    "delayed" or "rated"); at least one."""
    if word[0].isdigit():
        return 1
    w = word.lower().replace("’", "'").removesuffix("'s")
    count = len(_VOWEL_GROUP.findall(w))
    if w.endswith("e") and not w.endswith(("le", "ee", "ye")) and count > 1:
        count -= 1
    if w.endswith("ed") and len(w) > 3 and w[-3] not in "aeiouytd" and count > 1:
        count -= 1
    return max(1, count)


def flesch_reading_ease(text: str) -> float:
    """206.835 - 1.015 * words/sentence - 84.6 * syllables/word (higher is easier)."""
    words = _WORD.findall(text)
    if not words:
        return 0.0
    sentences = max(1, len([s for s in _SENTENCE_END.split(text) if _WORD.search(s)]))
    syllables = sum(count_syllables(w) for w in words)
    return 206.835 - 1.015 * len(words) / sentences - 84.6 * syllables / len(words)


def check_readability(kind: str, text: str) -> CheckResult:
    """Warn when the Flesch reading ease of ``text`` is below the floor of ``kind``."""
    try:
        floor = READABILITY_FLOORS[kind]
    except KeyError:
        known = sorted(READABILITY_FLOORS)
        raise ValueError(f"no readability floor for content kind {kind!r}; known: {known}") from None
    score = flesch_reading_ease(text)
    findings = [] if score >= floor else [
        Finding(f"Flesch reading ease {score:.1f} is below the {kind} floor {floor:.0f}: shorter sentences "
                "and shorter words would help", severity="warn")
    ]
    return CheckResult.of("readability", findings)
