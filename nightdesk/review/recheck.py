"""Re-run the quality checks on an editor's text before it is saved.

An edit replaces the text the pipeline checked, so the stored verdict no longer applies;
the UI calls :func:`recheck` and hands the result to :meth:`ReviewQueue.edit`, and an
edit that fails a check cannot be approved. The near-duplicate check runs without
recently published texts: the UI process cannot read the warehouse (the embedded one
admits a single process, Airflow's).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from nightdesk.checks import passed, results_json, run_alt_text_checks, run_text_checks
from nightdesk.review.errors import ItemNotFound
from nightdesk.review.views import ItemView
from nightdesk.stories.catalog import COVER_KIND, TEXT_KINDS
from nightdesk.stories.factsheet import FactSheet

if TYPE_CHECKING:
    from nightdesk.review.queue import ReviewQueue


def sibling_texts(queue: ReviewQueue, item: ItemView) -> dict[str, str]:
    """The current texts of the story's other text kinds, as the pipeline's checks compared
    them: an edit must not turn the summary into the marketing line either."""
    texts = {}
    for kind in TEXT_KINDS:
        if kind != item.kind:
            try:
                texts[kind] = queue.get(f"{item.story_id}/{kind}").text
            except ItemNotFound:
                continue
    return texts


def recheck(item: ItemView, text: str, siblings: Mapping[str, str] | None = None) -> tuple[bool, str]:
    """Check ``text`` as the new text of ``item``; returns ``(passed, qc_json)``.

    ``qc_json`` has the shape the pipeline stores: a JSON list of
    ``{"name", "passed", "findings": [{"message", "span", "severity"}]}``. For a cover the
    text is its alt text: it gets the checks that apply to any text (facts, banned terms,
    personal data, markup, injection echo), and the image's stored results are kept,
    since editing the alt text does not change the image. ``siblings`` are the story's
    other text kinds (:func:`sibling_texts`), checked for repeats as the pipeline does.
    """
    sheet = FactSheet.from_json(item.facts_json)
    if item.kind == COVER_KIND:
        alt_text = run_alt_text_checks(text, sheet)
        names = {r.name for r in alt_text}
        kept = [r for r in json.loads(item.qc_json) if r["name"] not in names]
        return (passed(alt_text) and all(r["passed"] for r in kept),
                results_json([r.to_dict() for r in alt_text] + kept))
    checked = run_text_checks(item.kind, text, sheet, siblings=siblings)
    return passed(checked), results_json(r.to_dict() for r in checked)
