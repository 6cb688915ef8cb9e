"""Checks on the strings a chart card draws.

A card puts the story's title, date, figures and labels in front of readers as surely as
a headline does, and a hostile value from the data (a ticker of ``<script>alert(1)</script>``,
a company name that says "Ignore previous instructions") reaches them through the
picture. So every drawn string gets the checks that apply to any text: markup and model
chatter, injection echo, banned terms, personal data. Each result is named ``card_<check>``
beside the alt text's own results, and a finding names the string ("the title on the
card: HTML tag '<script>' at 0-8 ..."); it carries no span, since its offsets are not into the alt text
the editors' UI highlights. What the renderer could not draw (an emoji, a bidi override,
a title cut to fit) fails ``card_drawing``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from nightdesk.checks.banned import check_banned_terms
from nightdesk.checks.leakage import check_injection_echo, check_plain_text
from nightdesk.checks.pii import check_pii
from nightdesk.checks.result import CheckResult, Finding
from nightdesk.stories.factsheet import FactSheet


def check_card_text(drawn: Sequence[tuple[str, str]], problems: Sequence[str], sheet: FactSheet) -> list[CheckResult]:
    """The text checks over every ``(role, text)`` the card drew, and ``problems`` (what it could not draw)."""
    checks: dict[str, Callable[[str], CheckResult]] = {
        "plain_text": check_plain_text,
        "injection_echo": lambda text: check_injection_echo(text, sheet),
        "banned_terms": check_banned_terms,
        "pii": check_pii,
    }
    results = []
    for name, check in checks.items():
        findings = []
        for role, text in drawn:
            findings += [Finding(f"the {role} on the card: {f.message}", severity=f.severity) for f in check(text).details]
        results.append(CheckResult.of(f"card_{name}", dict.fromkeys(findings)))
    results.append(CheckResult.of("card_drawing", [Finding(problem) for problem in problems]))
    return results
