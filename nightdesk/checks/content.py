"""Content minimums: what a draft of each kind must carry, declared once in
``stories/kinds.yml`` (``requires``), and what it must not copy.

A headline that is a label ("AAPL: 2013-03-01 2.48%") or a brief that restates one figure
passes every fact rule and is still no story. So each kind declares how many of the
sheet's facts it states (``min_facts``), and whether it names the subject, has a verb and
states the story type's ``key_fact`` with its direction. No draft repeats the story type's
description or angle, the prompt, or (see :func:`check_siblings`) another kind's text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from nightdesk.checks.context import StoryContext, story_context
from nightdesk.checks.facts import Binding, bind
from nightdesk.checks.result import CheckResult, Finding
from nightdesk.checks.rules import kind_rules
from nightdesk.checks.wordlists import domain_list, domain_set, phrase_pattern
from nightdesk.stories.factsheet import FactSheet

# A run of this many words shared with the description, angle or prompt is a copy: the
# longest run a template shares with its angle is 5 ("the three new york airports").
ECHO_WORDS = 6
# A run of this many words shared with a sibling kind's text is a repeat (the shipped
# templates share at most 7: "15.2 minutes late on february 21 2013").
SIBLING_WORDS = 8
_SHORTEST_RUN = 4  # a shorter text contained in the other is no copy ("AAPL fell")
_WORD = re.compile(r"[a-z0-9]+(?:[.,'’][a-z0-9]+)*")
_NOT_VERB_BEFORE = frozenset({"most", "least", "the", "a", "an", "more", "less"})


def check_content(kind: str, text: str, sheet: FactSheet) -> CheckResult:
    """The ``requires`` of ``kind`` and the no-copy rule, for one draft."""
    rules = kind_rules(kind)
    context = story_context(sheet)
    binding = bind(text, sheet)
    stated = binding.facts()
    findings = []
    if len(stated) < rules.min_facts:
        findings.append(Finding(f"the {kind} states {len(stated)} fact(s) of the sheet"
                                f"{' (' + ', '.join(sorted(stated)) + ')' if stated else ''}; "
                                f"it must state at least {rules.min_facts}"))
    if rules.subject and context.subject and not _names_subject(text, binding, context):
        findings.append(Finding(f"the {kind} does not name its subject {context.subject!r}"))
    if rules.verb and not _has_verb(text, context):
        findings.append(Finding(f"the {kind} has no verb: write a sentence, not a label"))
    if rules.key_fact and context.key_fact:
        findings += _key_fact(kind, text, binding, context)
    if rules.max_unlisted_words is not None:
        findings += _unlisted_words(kind, text, sheet, context, rules.max_unlisted_words)
    for echo in context.echoes:
        if run := shared_run(text, echo, ECHO_WORDS):
            findings.append(Finding(f"the {kind} copies its instructions or story description: {run!r}"))
            break
    return CheckResult.of("content", findings)


def check_siblings(kind: str, text: str, siblings: Mapping[str, str]) -> CheckResult:
    """A draft must not repeat another kind's text of the same story (a marketing line that is
    its summary): each sibling sharing a run of :data:`SIBLING_WORDS` words fails."""
    findings = [
        Finding(f"the {kind} repeats the {other}: {run!r}")
        for other, sibling in sorted(siblings.items())
        if other != kind and sibling and (run := shared_run(text, sibling, SIBLING_WORDS))
    ]
    return CheckResult.of("siblings", findings)


def shared_run(text: str, other: str, length: int) -> str:
    """The first run of ``length`` words (lower-cased, punctuation aside) both texts contain,
    or "" (a text shorter than ``length`` words shares one when the other contains all of it)."""
    mine, theirs = _WORD.findall(text.lower()), _WORD.findall(other.lower())
    n = min(length, len(mine), len(theirs))
    if n < _SHORTEST_RUN:
        return ""
    grams = {tuple(theirs[i:i + n]) for i in range(len(theirs) - n + 1)}
    for i in range(len(mine) - n + 1):
        if tuple(mine[i:i + n]) in grams:
            return " ".join(mine[i:i + n])
    return ""


#: Word lists of the domain whose words any story of it may use.
_LEXICON_LISTS = ("common_words.txt", "verbs.txt", "change_words.txt", "comparison_words.txt",
                  "allowed_phrases.txt", "not_superlatives.txt")
_LETTERS = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


def _unlisted_words(kind: str, text: str, sheet: FactSheet, context: StoryContext, limit: int) -> list[Finding]:
    """Words outside the story's lexicon, beyond ``limit``; a letter of a script the sheet
    does not use ("threeные") always fails, since no fact is written in it."""
    lexicon = set(context.vocabulary) | _domain_lexicon(context.domain_dir)
    sheet_text = " ".join(f"{f.display} {' '.join(w for ws in f.directions.values() for w in ws)}" for f in sheet.facts)
    lexicon |= {w.lower() for w in _LETTERS.findall(sheet_text)}
    findings = []
    foreign_script = sorted({m.group() for m in _LETTERS.finditer(text)
                             if not _latin(m.group()) and m.group() not in sheet_text})
    if foreign_script:
        findings.append(Finding(f"the {kind} writes {', '.join(repr(w) for w in foreign_script)}, in a script none "
                                "of the facts is written in"))
    unlisted = sorted({w.lower() for w in _LETTERS.findall(text) if w.lower() not in lexicon and _latin(w)})
    if len(unlisted) > limit:
        findings.append(Finding(f"the {kind} says what no fact states: {len(unlisted)} words outside the story's "
                                f"own and its domain's ({', '.join(repr(w) for w in unlisted[:12])}); at most "
                                f"{limit} allowed"))
    return findings


@lru_cache(maxsize=None)
def _domain_lexicon(domain_dir: Path) -> frozenset[str]:
    """Every word of the domain's lists, built once per domain rather than per draft."""
    return frozenset(w.lower() for name in _LEXICON_LISTS for entry in domain_list(domain_dir, name)
                     for w in _LETTERS.findall(entry))


def _latin(word: str) -> bool:
    import unicodedata

    return all(not c.isalpha() or unicodedata.name(c, "").startswith("LATIN") for c in word)


def _names_subject(text: str, binding: Binding, context: StoryContext) -> bool:
    if context.subject_fact:
        return any(b.fact == context.subject_fact and b.what == "name" for b in binding.bound)
    return re.search(rf"(?<!\w){re.escape(context.subject)}(?!\w)", text, re.IGNORECASE) is not None


def _has_verb(text: str, context: StoryContext) -> bool:
    """A listed verb, a direction word of a signed fact, or a word in -ed after a noun."""
    verbs = domain_set(context.domain_dir, "verbs.txt")
    verbs |= {w for f in context.facts for words in f.directions.values() for w in words}
    words = re.findall(r"[A-Za-z]+", text)
    for i, word in enumerate(words):
        lower = word.lower()
        if lower in verbs:
            return True
        if lower.endswith("ed") and len(lower) > 4 and (i == 0 or words[i - 1].lower() not in _NOT_VERB_BEFORE):
            return True
    return False


def _key_fact(kind: str, text: str, binding: Binding, context: StoryContext) -> list[Finding]:
    """The key fact (or a fact of the same meaning, its size) is stated; a signed one with a
    direction word bound to it."""
    facts = {f.name: f for f in context.facts}
    key = facts.get(context.key_fact or "")
    if key is None:
        return []
    same = {n for n, f in facts.items() if n == key.name or (key.names and f.names == key.names)}
    if not any(b.fact in same and b.what in ("figure", "name") for b in binding.bound):
        return [Finding(f"the {kind} does not state the story's key fact {key.name} ({key.display})")]
    if key.signed and not any(b.fact == key.name and b.what == "direction" for b in binding.bound):
        words = key.directions.get("positive" if float(key.value) > 0 else "negative", ())
        return [Finding(f"the {kind} states {key.name} without its direction ({'/'.join(words[:3])})")]
    if not key.signed and key.names and not phrase_pattern(key.names).search(text):
        # "JetBlue Airways on February 27, 2013, ran 24.5%": the figure is the key fact's,
        # but nothing says what it counts; a signed fact is named by its direction word.
        return [Finding(f"the {kind} states {key.display} without saying what it is ({'/'.join(key.names[:3])})")]
    return []
