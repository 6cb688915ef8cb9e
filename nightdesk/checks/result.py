"""Check results as plain data.

A failed check is an outcome the editors' UI shows, not an error: every check returns a
:class:`CheckResult` whose findings say what is wrong and where (character offsets into
the draft, so the UI can highlight an unbacked figure), instead of raising.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Literal

Severity = Literal["fail", "warn"]


@dataclass(frozen=True)
class Finding:
    """One problem in a draft.

    :param message: for a human: names the figure, term or rule and why it is a problem.
    :param span: ``(start, end)`` character offsets into the checked text (end exclusive),
        when the problem sits at one place in it.
    :param severity: ``"fail"`` blocks publishing; ``"warn"`` is advice for the editor.
    """

    message: str
    span: tuple[int, int] | None = None
    severity: Severity = "fail"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one named check: ``passed`` is False exactly when a finding fails.

    :param verified: what the check confirmed, in short phrases for editors ("4 of 4
        figures bound", "2 names", "direction agrees"): a pass with nothing verified means
        nothing, so the facts check fails a draft that has nothing to verify.
    """

    name: str
    passed: bool
    details: list[Finding] = field(default_factory=list)
    verified: tuple[str, ...] = ()

    @classmethod
    def of(cls, name: str, findings: Iterable[Finding], verified: Iterable[str] = ()) -> CheckResult:
        """Build a result whose ``passed`` agrees with its findings (one place decides it)."""
        details = sorted(findings, key=lambda f: f.span or (-1, -1))
        return cls(name, not any(f.severity == "fail" for f in details), details, tuple(verified))

    def to_dict(self) -> dict:
        """The stored shape (``draft_checks``, the review queue):
        ``{"name", "passed", "findings", "verified"}``."""
        return {"name": self.name, "passed": self.passed, "findings": [asdict(f) for f in self.details],
                "verified": list(self.verified)}


def results_json(results: Iterable[dict]) -> str:
    """Check results (as :meth:`CheckResult.to_dict` gives them) as canonical JSON: by name,
    keys sorted, so the same results are always the same text."""
    return json.dumps(sorted(results, key=lambda r: r["name"]), ensure_ascii=False, sort_keys=True)


def passed(results: Iterable[CheckResult]) -> bool:
    """True when no result carries a failing finding (warnings do not block)."""
    return not any(f.severity == "fail" for r in results for f in r.details)
