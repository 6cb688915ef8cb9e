"""Personal data that must never be published: e-mail addresses, phone numbers, payment
card numbers and US social security numbers.

Findings name the kind of data and where it is, never the value itself, so the check's
own output (stored with the draft, shown in logs) does not spread it further. Card
numbers are confirmed with the Luhn checksum, so long figures such as trading volumes
are not mistaken for cards.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from nightdesk.checks.masking import Span, mask
from nightdesk.checks.result import CheckResult, Finding

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])")
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_SSN = re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])")
# North American: (212) 555-0123, 212-555-0123, 212.555.0123, +1 212 555 0123, 1-800-555-0199.
_PHONE_US = re.compile(r"(?<![\w+])(?:\+?1[ .-]?)?(?:\(\d{3}\)\s?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w-])")
# International with a country code: +44 20 7946 0958, +49 (30) 123456, +33 1 23 45 67 89.
_PHONE_INTL = re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,5}\)?){2,6}(?![\w-])")


def check_pii(text: str) -> CheckResult:
    """Fail on every e-mail address, phone number, Luhn-valid card number and SSN in ``text``.

    Detectors run in order and each blanks out what it found, so one number is reported
    once (a card number is not also a phone number).
    """
    findings: list[Finding] = []
    work = text
    for label, detect in _DETECTORS:
        spans = detect(work)
        findings += [Finding(f"{label} at {s}-{e}: personal data must not be published", (s, e)) for s, e in spans]
        work = mask(work, spans)
    return CheckResult.of("pii", findings)


def _matches(pattern: re.Pattern[str], min_digits: int = 0) -> Callable[[str], list[Span]]:
    def detect(text: str) -> list[Span]:
        return [m.span() for m in pattern.finditer(text) if len(re.sub(r"\D", "", m.group())) >= min_digits]
    return detect


def _cards(text: str) -> list[Span]:
    return [m.span() for m in _CARD.finditer(text) if luhn_valid(re.sub(r"\D", "", m.group()))]


_DETECTORS: tuple[tuple[str, Callable[[str], list[Span]]], ...] = (
    ("e-mail address", _matches(_EMAIL)),
    ("payment card number", _cards),
    ("US social security number", _matches(_SSN)),
    ("phone number", _matches(_PHONE_US)),
    ("phone number", _matches(_PHONE_INTL, min_digits=8)),
)


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum every payment card number satisfies."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return bool(digits) and total % 10 == 0
