"""Turning stored drafts into what the pages show: check results, highlighted text, facts.

Pure functions over the stored JSON, so they are tested without a browser. Nothing here
produces HTML: templates escape every piece of text they are given, and highlighting is a
list of plain segments the template wraps in ``<mark>``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any

from nightdesk.review.views import ItemView
from nightdesk.stories.factsheet import Fact, FactSheet, format_value


@dataclass(frozen=True)
class FindingRow:
    message: str
    severity: str
    span: tuple[int, int] | None
    excerpt: str = ""


@dataclass(frozen=True)
class CheckRow:
    name: str
    passed: bool
    findings: list[FindingRow] = field(default_factory=list)


@dataclass(frozen=True)
class Segment:
    """A run of the draft's text; ``severity`` is ``"fail"``/``"warn"`` when a finding covers it."""

    text: str
    severity: str | None = None
    messages: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return "; ".join(self.messages)


def parse_checks(qc_json: str, text: str = "") -> list[CheckRow]:
    """The stored check results; spans outside ``text`` are kept but not highlighted.

    Accepts findings under ``findings`` (the queue's shape) or ``details``
    (``dataclasses.asdict`` of a :class:`~nightdesk.checks.result.CheckResult`).
    """
    try:
        data = json.loads(qc_json or "[]")
    except json.JSONDecodeError:
        return [CheckRow("qc_json", False, [FindingRow("stored check results are not valid JSON", "fail", None)])]
    rows = []
    for result in data if isinstance(data, list) else []:
        if not isinstance(result, dict):
            continue
        findings = []
        for f in result.get("findings", result.get("details")) or []:
            if not isinstance(f, dict):
                continue
            span = _span(f.get("span"), len(text))
            findings.append(FindingRow(
                message=str(f.get("message", "")), severity=str(f.get("severity", "fail")), span=span,
                excerpt=text[span[0]:span[1]] if span else "",
            ))
        rows.append(CheckRow(str(result.get("name", "?")), bool(result.get("passed", False)), findings))
    return rows


def _span(value: Any, length: int) -> tuple[int, int] | None:
    if not isinstance(value, list | tuple) or len(value) != 2:
        return None
    start, end = value
    if not (isinstance(start, int) and isinstance(end, int)) or not 0 <= start < end <= length:
        return None
    return start, end


def highlight(text: str, checks: list[CheckRow]) -> list[Segment]:
    """Split ``text`` into runs, marking every character a finding's span covers.

    Where spans overlap a failing finding wins over a warning and all messages are kept,
    so the tooltip of an unbacked figure names every check that objected to it.
    """
    severity: list[str | None] = [None] * len(text)
    messages: list[tuple[str, ...]] = [()] * len(text)
    for check in checks:
        for finding in check.findings:
            if finding.span is None:
                continue
            note = f"{check.name}: {finding.message}"
            for i in range(*finding.span):
                if severity[i] != "fail":
                    severity[i] = "fail" if finding.severity == "fail" else "warn"
                if note not in messages[i]:
                    messages[i] = (*messages[i], note)
    segments: list[Segment] = []
    start = 0
    for i in range(1, len(text) + 1):
        if i == len(text) or (severity[i], messages[i]) != (severity[start], messages[start]):
            segments.append(Segment(text[start:i], severity[start], messages[start]))
            start = i
    return segments


def failing_messages(checks: list[CheckRow]) -> list[str]:
    """``"facts: 85.0% is not in the fact sheet"`` for every failing finding."""
    return [f"{c.name}: {f.message}" for c in checks for f in c.findings if f.severity == "fail"]


#: Failing findings an Approve refusal names; the page's check table lists them all.
_REFUSAL_FINDINGS = 3


def approve_refusal(item: ItemView, checks: list[CheckRow]) -> str | None:
    """Why Approve is disabled for ``item``, or ``None`` when it can be approved.

    The same rule as the queue's refusal (:class:`~nightdesk.review.errors.QCFailedError`),
    said before the click; the queue still refuses, whatever a page or a script sends.
    """
    if item.qc_passed:
        return None
    failing = failing_messages(checks) or [c.name for c in checks if not c.passed]
    shown = "; ".join(failing[:_REFUSAL_FINDINGS])
    more = f"; and {len(failing) - _REFUSAL_FINDINGS} more" if len(failing) > _REFUSAL_FINDINGS else ""
    why = f": {shown}{more}" if failing else ""
    return (f"Approve is disabled: this {item.kind} fails its checks{why}. "
            "Edit it until they pass, or reject it.")


@dataclass(frozen=True)
class FailedCheck:
    name: str
    messages: tuple[str, ...] = ()


@dataclass(frozen=True)
class AttemptRow:
    """An earlier attempt at the draft: who wrote what, and why it was not kept."""

    attempt: int
    generator: str
    model_id: str
    text: str
    truncated: bool = False
    status: str = "ok"
    error: str = ""
    created_at: str = ""
    failed_checks: tuple[FailedCheck, ...] = ()


def parse_attempts(attempts_json: str) -> list[AttemptRow]:
    """The stored earlier attempts, oldest first; malformed entries are skipped, and
    unreadable JSON is reported as one row saying so rather than hiding the section."""
    try:
        data = json.loads(attempts_json or "[]")
    except json.JSONDecodeError:
        return [AttemptRow(0, "?", "", "", error="the stored earlier attempts are not valid JSON")]
    rows = []
    for entry in data if isinstance(data, list) else []:
        if not isinstance(entry, dict):
            continue
        failed = tuple(
            FailedCheck(str(c.get("name", "?")), tuple(str(m) for m in c.get("messages") or () if m))
            for c in entry.get("failed_checks") or () if isinstance(c, dict)
        )
        attempt = entry.get("attempt")
        rows.append(AttemptRow(
            attempt=attempt if isinstance(attempt, int) else 0, generator=str(entry.get("generator", "")),
            model_id=str(entry.get("model_id") or ""), text=str(entry.get("text") or ""),
            truncated=bool(entry.get("truncated", False)), status=str(entry.get("status") or "ok"),
            error=str(entry.get("error") or ""), created_at=str(entry.get("created_at") or ""),
            failed_checks=failed,
        ))
    return rows


def parse_facts(facts_json: str) -> tuple[FactSheet | None, str]:
    """The fact sheet, or ``(None, why)`` when the stored JSON does not parse."""
    try:
        return FactSheet.from_json(facts_json), ""
    except (ValueError, TypeError, KeyError) as exc:
        return None, f"the stored fact sheet could not be read: {exc}"


@dataclass(frozen=True)
class FactRow:
    """One line of the fact sheet as editors read it.

    :param written: the fact as a draft must write it (:attr:`Fact.display`, made by
        :func:`~nightdesk.stories.factsheet.format_value`: units, plurals and rounding
        already right, "1 flight", "0.00 inches").
    :param exact: the stored value in the same form, only where ``written`` rounds it
        ("83.75%" behind "83.8%"); ``None`` when ``written`` already says all there is.
    """

    name: str
    label: str
    written: str
    exact: str | None = None


# More decimals than any source carries; beyond them a float's repr is noise.
_EXACT_PLACES = 6
# Digits of the largest float (1.8e308) plus those places: rounding never overflows.
_FLOAT_DIGITS = 309 + _EXACT_PLACES


def fact_rows(sheet: FactSheet | None) -> list[FactRow]:
    """The fact sheet's rows for a table: label, written form, and the exact value if rounded.

    The table used to print the raw value and its unit beside the written form, which
    repeated it for every name and date and got what the formatter gets right wrong
    ("1 flights", "0.0 inches" beside "0.00 inches"). The written form is the one to show;
    the raw value adds something only where rounding hid digits.
    """
    return [FactRow(f.name, f.label or f.name, f.display, _exact(f)) for f in (sheet.facts if sheet else ())]


def _exact(fact: Fact) -> str | None:
    if fact.kind in ("date", "entity", "text") or not fact.numeric or isinstance(fact.value, bool):
        return None
    value = Decimal(repr(float(fact.value)))
    if not value.is_finite():
        return None
    shown = 0 if fact.kind == "count" else (2 if fact.decimals is None else fact.decimals)
    with localcontext(prec=_FLOAT_DIGITS):  # room for every digit of the largest float
        value = round(value, _EXACT_PLACES)
        if value == round(value, shown):
            return None
    places = min(_EXACT_PLACES, max(shown, -value.normalize().as_tuple().exponent))
    kind = "number" if fact.kind == "count" else fact.kind  # a count rounds to whole numbers
    return format_value(kind, fact.value, places, fact.unit)


def audit_summary(details: Any) -> tuple[list[tuple[str, str]], str]:
    """Audit details as (key, value) pairs for a table, plus the unified diff if any."""
    if not isinstance(details, dict):
        return ([("details", str(details))] if details else []), ""
    diff = details.get("diff")
    pairs = [(str(k), v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
             for k, v in details.items() if k != "diff"]
    return pairs, diff if isinstance(diff, str) else ""
