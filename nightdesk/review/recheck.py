"""Re-run the quality checks on an editor's text before it is saved.

An edit replaces the text the pipeline checked, so the stored verdict no longer applies;
the UI calls :func:`recheck` and hands the result to :meth:`ReviewQueue.edit`, and an
edit that fails a check cannot be approved. The near-duplicate check runs without
recently published texts: the UI process cannot read the warehouse (the embedded one
admits a single process, Airflow's).
"""

from __future__ import annotations

import json
from dataclasses import asdict

from nightdesk.checks import CheckResult, passed, run_text_checks
from nightdesk.checks.banned import check_banned_terms
from nightdesk.checks.facts import check_facts
from nightdesk.checks.leakage import check_injection_echo, check_plain_text
from nightdesk.checks.pii import check_pii
from nightdesk.review.views import ItemView
from nightdesk.stories.catalog import COVER_KIND
from nightdesk.stories.factsheet import FactSheet


def recheck(item: ItemView, text: str) -> tuple[bool, str]:
    """Check ``text`` as the new text of ``item``; returns ``(passed, qc_json)``.

    ``qc_json`` has the shape the pipeline stores: a JSON list of
    ``{"name", "passed", "findings": [{"message", "span", "severity"}]}``. For a cover the
    text is its alt text: it gets the checks that apply to any text (facts, banned terms,
    personal data, markup, injection echo), and the image's stored results are kept,
    since editing the alt text does not change the image.
    """
    sheet = FactSheet.from_json(item.facts_json)
    if item.kind == COVER_KIND:
        alt_text = [check_facts(text, sheet), check_banned_terms(text), check_pii(text), check_plain_text(text),
                    check_injection_echo(text, sheet)]
        names = {r.name for r in alt_text}
        kept = [r for r in json.loads(item.qc_json) if r["name"] not in names]
        results = [_as_json(r) for r in alt_text] + kept
        return passed(alt_text) and all(r["passed"] for r in kept), json.dumps(results)
    checked = run_text_checks(item.kind, text, sheet)
    return passed(checked), json.dumps([_as_json(r) for r in checked])


def _as_json(result: CheckResult) -> dict:
    return {"name": result.name, "passed": result.passed, "findings": [asdict(f) for f in result.details]}
