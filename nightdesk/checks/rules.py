"""Per-kind form rules, and claims the fact sheet does not make.

Each content kind has a shape editors rely on (a headline fits one line of the front
page; a brief is a few sentences), declared once in ``stories/kinds.yml`` (``limits``), so
a draft outside that shape fails before an editor spends time on it. Claims are what a
sentence asserts beyond its figures: causes ("due to"), events ("storm", "record"),
rankings and superlatives ("busiest", any "-est" word), attributions ("according to"),
evaluations ("iconic") and promises ("guaranteed"). A claim passes only when the fact
sheet itself says it (a label such as "Busiest route" backs "busiest"); the word lists
belong to the story's domain folder (``claims_*.txt``, ``promises.txt``).
"""

from __future__ import annotations

import calendar
import re

from nightdesk.checks.context import kinds_catalog, story_context
from nightdesk.checks.result import CheckResult, Finding
from nightdesk.checks.wordlists import domain_list, domain_set, phrase_pattern
from nightdesk.stories.catalog import KindRules
from nightdesk.stories.factsheet import FactSheet

# A headline may end in an abbreviation's period ("... United Air Lines Inc.").
ABBREVIATIONS = ("Inc.", "Co.", "Corp.", "Ltd.", "Jr.", "U.S.")
# A text cut off mid-sentence (the token limit or a stop string hit first) ends on a
# joining word or punctuation: "AAPL fell 2.48% to", "JetBlue Airways on March 1, 2013:",
# or on a date whose day never came: "AAPL fell 2.48% on March" ("in March" is a month).
_MONTH_NAMES = "|".join(calendar.month_name[1:])
_UNFINISHED = re.compile(
    r"(?:[:;,\-\u2013\u2014($€£¥]|\b(?:a|an|the|to|of|and|or|but|in|on|at|by|for|from|with|as|its|their|than|while)"
    rf"|\bon\s+(?:{_MONTH_NAMES}))\s*$",
    re.IGNORECASE,
)
# What each claims_<category>.txt holds, for the finding.
CLAIM_CATEGORIES = {"causes": "a cause", "events": "an event", "rankings": "a ranking",
                    "attributions": "an attribution", "evaluations": "an evaluation"}
_SUPERLATIVE = re.compile(r"(?<![\w-])[A-Za-z]{2,}est(?![\w-])")


def kind_rules(kind: str) -> KindRules:
    """The declared limits and minimums of ``kind`` (``stories/kinds.yml``)."""
    kinds = kinds_catalog().kinds
    if kind not in kinds:
        raise ValueError(f"no form rules for content kind {kind!r}; known: {sorted(kinds)}")
    return kinds[kind].rules


def word_count(text: str) -> int:
    """Whitespace-separated tokens that contain a letter or digit ("—" is not a word)."""
    return sum(1 for token in text.split() if any(c.isalnum() for c in token))


def check_form(kind: str, text: str) -> CheckResult:
    """Length, line and punctuation rules of ``kind``, as ``kinds.yml`` declares them."""
    rules = kind_rules(kind)
    body = text.strip()
    if not body:
        return CheckResult.of("form", [Finding(f"the {kind} is empty")])
    findings = []
    words = word_count(body)
    if not rules.min_words <= words <= rules.max_words:
        findings.append(Finding(f"the {kind} has {words} words; it must have {rules.min_words}-{rules.max_words}"))
    if rules.max_chars is not None and len(body) > rules.max_chars:
        findings.append(Finding(f"the {kind} has {len(body)} characters; at most {rules.max_chars} allowed",
                                (rules.max_chars, len(body))))
    if rules.one_line and (newline := re.search(r"[\r\n]", body)):
        findings.append(Finding(f"the {kind} must be one line; it breaks at {newline.start()}",
                                (newline.start(), newline.end())))
    elif rules.one_line and len(sentences(body)) > 1:
        second = sentences(body)[1][0]
        findings.append(Finding(f"the {kind} must be one sentence; another starts at {second}", (second, len(body))))
    if unfinished := _UNFINISHED.search(body):
        findings.append(Finding(f"the {kind} stops mid-sentence, on {unfinished.group().strip()!r}",
                                unfinished.span()))
    elif rules.trailing_period and not body.endswith((".", "!", "?", '."', '!"', '?"')):
        findings.append(Finding(f"the {kind} must end a sentence (. ! or ?)", (len(body) - 1, len(body))))
    if not rules.trailing_period and body.endswith(".") and not body.endswith(ABBREVIATIONS):
        findings.append(Finding(f"the {kind} must not end with a period", (len(body) - 1, len(body))))
    return CheckResult.of("form", findings)


def sentences(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence: a stop followed by a capital or a digit, unless the
    stop ends an abbreviation ("United Air Lines Inc. ran ...")."""
    spans, start = [], 0
    for end in re.finditer(r"[.!?]+\s+(?=[A-Z0-9\"'“])", text):
        if not text[: end.start() + 1].endswith(ABBREVIATIONS):
            spans.append((start, end.start() + 1))
            start = end.end()
    if text[start:].strip():
        spans.append((start, len(text.rstrip())))
    return spans


def check_claims(text: str, sheet: FactSheet, *, kind: str | None = None) -> CheckResult:
    """Causes, events, rankings, attributions, evaluations and (where ``kind`` forbids them,
    or with no kind) promises that the fact sheet does not itself say."""
    domain = story_context(sheet).domain_dir
    sheet_text = " ".join(
        part for f in sheet.facts for part in (str(f.value), f.display, f.label, f.name.replace("_", " "))
    )
    lists = {what: domain_list(domain, f"claims_{category}.txt") for category, what in CLAIM_CATEGORIES.items()}
    if kind is None or kind_rules(kind).no_promise:
        lists["a promise"] = domain_list(domain, "promises.txt")
    findings: list[Finding] = []
    seen: set[tuple[int, int]] = set()
    for what, phrases in lists.items():
        pattern = phrase_pattern(phrases)
        said = {_normal(m.group()) for m in pattern.finditer(sheet_text)}
        for m in pattern.finditer(text):
            if _normal(m.group()) not in said and not _inside(m.span(), seen):
                seen.add(m.span())
                findings.append(_claim(m.group(), m.span(), what))
    said_words = {w.lower() for w in re.findall(r"[A-Za-z]+", sheet_text)}
    not_superlative = domain_set(domain, "not_superlatives.txt")
    for m in _SUPERLATIVE.finditer(text):
        word = m.group().lower()
        if word not in said_words and word not in not_superlative and not _inside(m.span(), seen):
            seen.add(m.span())
            findings.append(_claim(m.group(), m.span(), "a superlative"))
    return CheckResult.of("claims", findings)


def check_grounded(text: str, sheet: FactSheet) -> CheckResult:
    """Every sentence states at least one fact of the sheet (a bound figure, date or name):
    "Flying from New York?" asserts nothing an editor can check."""
    from nightdesk.checks.facts import bind

    spans = [b.span for b in bind(text, sheet).bound]
    findings = [
        Finding(f"sentence at {start}-{end} states no fact of the sheet: {text[start:end].strip()!r}", (start, end))
        for start, end in sentences(text)
        if not any(start <= s < end for s, _ in spans)
    ]
    return CheckResult.of("grounded", findings)


def _claim(written: str, span: tuple[int, int], what: str) -> Finding:
    return Finding(f"unsupported claim {written!r} at {span[0]}-{span[1]} ({what}): the fact sheet does not say it",
                   span)


def _inside(span: tuple[int, int], seen: set[tuple[int, int]]) -> bool:
    return any(s <= span[0] and span[1] <= e for s, e in seen)


def _normal(phrase: str) -> str:
    return " ".join(phrase.lower().replace("’", "'").split())
