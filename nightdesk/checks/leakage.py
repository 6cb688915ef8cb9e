"""Plain-text output and prompt-injection leakage.

Drafts are published as plain text, so markup in a draft is either the model imitating
web pages or source data leaking through; either way it must not reach readers (a
``<script>`` from a company name in the source data would run in their browsers).
Model chatter ("As an AI...", "Here is the headline:") and unrendered template braces
mean the output is not the content that was asked for. Finally a fact whose value looks
like an attack (markup, instructions to the model) must not be echoed, even when the
model dropped the angle brackets.
"""

from __future__ import annotations

import re

from nightdesk.checks.result import CheckResult, Finding
from nightdesk.checks.wordlists import load_list, phrase_pattern
from nightdesk.stories.factsheet import FactSheet

_MARKUP: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("HTML tag", re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>|<!--.*?-->|<![A-Za-z][^<>]*>", re.DOTALL)),
    ("HTML entity", re.compile(r"&(?:#\d+|#x[0-9A-Fa-f]+|[A-Za-z]+);")),
    ("markdown image or link", re.compile(r"!?\[[^\]\n]*\]\([^)\n]*\)")),
    ("code fence", re.compile(r"```|~~~")),
    ("markdown heading", re.compile(r"(?m)^[ \t]*#{1,6}[ \t]+\S")),
    ("markdown emphasis", re.compile(r"(\*\*|__)[^\s*_](?:.*?[^\s*_])?\1")),
    ("list bullet", re.compile(r"(?m)^[ \t]*(?:[-*•+]|\d{1,2}[.)])[ \t]+\S")),
    ("link", re.compile(r"\b(?:https?://|www\.)\S+|\bjavascript:", re.IGNORECASE)),
    ("template placeholder", re.compile(r"\{\{|\}\}|\{%|%\}|\{[A-Za-z_]\w*\}")),
)
# Inside a suspicious fact value: what makes it suspicious, plus the body of a script.
_SCRIPT_BODY = re.compile(r"<\s*(script|style)[^>]*>(.*?)<\s*/\s*\1\s*>", re.IGNORECASE | re.DOTALL)
_MIN_FRAGMENT = 3


def check_plain_text(text: str) -> CheckResult:
    """Fail on markup, links, template braces and model chatter (``leak_phrases.txt``)."""
    findings = [
        Finding(f"{label} {m.group()[:40]!r} at {m.start()}-{m.end()}: drafts must be plain text", m.span())
        for label, pattern in _MARKUP for m in pattern.finditer(text)
    ]
    findings += [
        Finding(f"model or prompt text {m.group()!r} at {m.start()}-{m.end()}: not part of the content", m.span())
        for m in phrase_pattern(load_list("leak_phrases.txt")).finditer(text)
    ]
    return CheckResult.of("plain_text", findings)


def suspicious_fragments(value: str) -> list[str]:
    """The parts of a source value that look like an attack: markup, script bodies,
    template braces and instructions to a model. Empty for ordinary values."""
    found = [m.group() for _, pattern in _MARKUP for m in pattern.finditer(value)]
    found += [m.group(2).strip() for m in _SCRIPT_BODY.finditer(value)]
    found += [m.group() for m in phrase_pattern(load_list("leak_phrases.txt")).finditer(value)]
    return [f for f in dict.fromkeys(s.strip() for s in found) if len(f) >= _MIN_FRAGMENT]


def check_injection_echo(text: str, sheet: FactSheet) -> CheckResult:
    """Fail when the draft repeats a suspicious fragment of any fact (case and spacing ignored)."""
    findings = []
    for fact in sheet.facts:
        for fragment in suspicious_fragments(f"{fact.value} {fact.display}"):
            pattern = re.compile(r"\s*".join(map(re.escape, fragment.split())), re.IGNORECASE)
            findings += [
                Finding(f"echoes suspicious source text {fragment[:40]!r} of fact {fact.name} "
                        f"at {m.start()}-{m.end()}", m.span())
                for m in pattern.finditer(text)
            ]
    return CheckResult.of("injection_echo", dict.fromkeys(findings))
