"""Banned and profane terms (``banned_terms.txt``), matched as whole words in any case.

Word boundaries matter both ways: "class" and "Scunthorpe" must pass while "Damn" and
"fucking" (via a ``fuck*`` entry) must not.
"""

from __future__ import annotations

from nightdesk.checks.result import CheckResult, Finding
from nightdesk.checks.wordlists import load_list, phrase_pattern


def check_banned_terms(text: str) -> CheckResult:
    """Fail on every occurrence of a banned term."""
    pattern = phrase_pattern(load_list("banned_terms.txt"))
    return CheckResult.of("banned_terms", [
        Finding(f"banned term {m.group()!r} at {m.start()}-{m.end()}", m.span()) for m in pattern.finditer(text)
    ])
