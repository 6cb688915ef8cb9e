"""Per-kind form rules and unsupported marketing claims.

Each content kind has a shape editors rely on (a headline fits one line of the front
page; a brief is a few sentences), so a draft outside that shape fails before an editor
spends time on it. Claims such as "best" or "guaranteed" are promises the data cannot
back; they pass only when the fact sheet itself says them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nightdesk.checks.result import CheckResult, Finding
from nightdesk.checks.wordlists import load_list, phrase_pattern
from nightdesk.stories.factsheet import FactSheet

# A headline may end in an abbreviation's period ("... United Air Lines Inc.").
_ABBREVIATIONS = ("Inc.", "Co.", "Corp.", "Ltd.", "Jr.", "U.S.")
# A text cut off mid-sentence (the token limit or a stop string hit first) ends on a
# joining word or punctuation: "AAPL fell 2.48% to", "JetBlue Airways on March 1, 2013:".
_UNFINISHED = re.compile(
    r"(?:[:;,\-\u2013\u2014(]|\b(?:a|an|the|to|of|and|or|but|in|on|at|by|for|from|with|as|its|their|than|while))\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class KindRules:
    """The shape of one content kind; ``None`` means no limit."""

    min_words: int
    max_words: int
    max_chars: int | None = None
    one_line: bool = False
    trailing_period: bool = True


KIND_RULES: dict[str, KindRules] = {
    "headline": KindRules(1, 14, max_chars=90, one_line=True, trailing_period=False),
    # Data briefs are short by nature: three sentences of figures run 30-60 words.
    "brief": KindRules(30, 160),
    # A summary is one or two sentences: a dozen words can carry the day's key figures.
    "summary": KindRules(12, 80),
    "marketing": KindRules(15, 120),
}


def word_count(text: str) -> int:
    """Whitespace-separated tokens that contain a letter or digit ("—" is not a word)."""
    return sum(1 for token in text.split() if any(c.isalnum() for c in token))


def check_form(kind: str, text: str) -> CheckResult:
    """Length, line and punctuation rules of ``kind`` (one of :data:`KIND_RULES`)."""
    try:
        rules = KIND_RULES[kind]
    except KeyError:
        raise ValueError(f"no form rules for content kind {kind!r}; known: {sorted(KIND_RULES)}") from None
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
    elif rules.one_line and (second := _second_sentence(body)) is not None:
        findings.append(Finding(f"the {kind} must be one sentence; another starts at {second}", (second, len(body))))
    if unfinished := _UNFINISHED.search(body):
        findings.append(Finding(f"the {kind} stops mid-sentence, on {unfinished.group().strip()!r}",
                                unfinished.span()))
    elif rules.trailing_period and not body.endswith((".", "!", "?", '."', '!"', '?"')):
        findings.append(Finding(f"the {kind} must end a sentence (. ! or ?)", (len(body) - 1, len(body))))
    if not rules.trailing_period and body.endswith(".") and not body.endswith(_ABBREVIATIONS):
        findings.append(Finding(f"the {kind} must not end with a period", (len(body) - 1, len(body))))
    return CheckResult.of("form", findings)


def _second_sentence(text: str) -> int | None:
    """Where a second sentence starts in ``text`` ("... 2013. Departure delays ..."), if one does."""
    for end in re.finditer(r"[.!?]\s+(?=[A-Z0-9])", text):
        if not text[: end.start() + 1].endswith(_ABBREVIATIONS):
            return end.end()
    return None


def check_claims(text: str, sheet: FactSheet) -> CheckResult:
    """Superlatives and promises (``claim_phrases.txt``) that the fact sheet does not contain."""
    sheet_text = " ".join(
        part for f in sheet.facts for part in (str(f.value), f.display, f.label, f.name.replace("_", " "))
    )
    pattern = phrase_pattern(load_list("claim_phrases.txt"))
    said = {_normal(m.group()) for m in pattern.finditer(sheet_text)}
    findings = [
        Finding(f"unsupported claim {m.group()!r} at {m.start()}-{m.end()}: the fact sheet does not say it", m.span())
        for m in pattern.finditer(text)
        if _normal(m.group()) not in said
    ]
    return CheckResult.of("claims", findings)


def _normal(phrase: str) -> str:
    return " ".join(phrase.lower().replace("’", "'").split())
