"""Automatic quality checks on generated drafts.

Every check returns a :class:`CheckResult` (data, never an exception) whose findings say
what is wrong and where, so the pipeline can store them with the draft and the editors'
UI can highlight them. :func:`passed` is the publishing gate: no failing finding.

Importing this package is cheap: torch, transformers and Pillow load only when a
near-duplicate or image check actually runs.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from nightdesk.checks.banned import check_banned_terms
from nightdesk.checks.card_text import check_card_text
from nightdesk.checks.content import check_content, check_siblings
from nightdesk.checks.facts import check_facts
from nightdesk.checks.images import check_image, image_sha256
from nightdesk.checks.leakage import check_injection_echo, check_plain_text
from nightdesk.checks.pii import check_pii
from nightdesk.checks.readability import check_readability
from nightdesk.checks.result import CheckResult, Finding, passed, results_json
from nightdesk.checks.rules import check_claims, check_form, check_grounded
from nightdesk.checks.similarity import NearDuplicateChecker
from nightdesk.stories.catalog import COVER_KIND, TEXT_KINDS
from nightdesk.stories.factsheet import FactSheet

__all__ = [
    "CheckResult", "Finding", "NearDuplicateChecker", "check_facts", "check_siblings", "image_sha256", "passed",
    "results_json", "run_alt_text_checks", "run_cover_checks", "run_image_checks", "run_text_checks",
]


def run_text_checks(
    kind: str, text: str, factsheet: FactSheet, *, recent_texts: Sequence[str] = (),
    near_duplicates: NearDuplicateChecker | None = None, siblings: Mapping[str, str] | None = None,
) -> list[CheckResult]:
    """Every text check for a draft of ``kind`` ("headline", "brief", "summary", "marketing").

    ``recent_texts`` are recently published items to compare against; the embedding
    model is loaded only when there are any. Pass one ``near_duplicates`` checker for a
    whole run so the recent items are embedded once. ``siblings`` (kind -> text) are the
    same story's drafts of other kinds, which this draft must not repeat; without them
    that check is not run.
    """
    if kind not in TEXT_KINDS:
        hint = " (covers go through run_image_checks)" if kind == COVER_KIND else ""
        raise ValueError(f"unknown text kind {kind!r}{hint}; known: {list(TEXT_KINDS)}")
    results = [
        check_facts(text, factsheet),
        check_form(kind, text),
        check_content(kind, text, factsheet),
        check_claims(text, factsheet, kind=kind),
        check_grounded(text, factsheet),
        check_banned_terms(text),
        check_pii(text),
        check_plain_text(text),
        check_injection_echo(text, factsheet),
        check_readability(kind, text),
        (near_duplicates or NearDuplicateChecker()).check(text, recent_texts),
    ]
    return results + ([check_siblings(kind, text, siblings)] if siblings is not None else [])


def run_alt_text_checks(text: str, factsheet: FactSheet) -> list[CheckResult]:
    """The checks that apply to any text, for a cover's alt text: facts, banned terms,
    personal data, markup and injection echo (no form or readability rules)."""
    return [check_facts(text, factsheet), check_banned_terms(text), check_pii(text), check_plain_text(text),
            check_injection_echo(text, factsheet)]


def run_image_checks(data: bytes, *, expected_size: tuple[int, int], nsfw: bool | None,
                     published_hashes: Collection[str]) -> list[CheckResult]:
    """Every check for a cover image: decodes, size, not blank, safety flag, not yet published."""
    return check_image(data, expected_size=expected_size, nsfw=nsfw, published_hashes=published_hashes)


def run_cover_checks(data: bytes, *, expected_size: tuple[int, int], nsfw: bool | None,
                     published_hashes: Collection[str], alt_text: str, factsheet: FactSheet,
                     card: tuple[Sequence[tuple[str, str]], Sequence[str]] | None = None) -> list[CheckResult]:
    """Every check for a cover: the image's, its alt text's (as :func:`run_alt_text_checks`)
    and, for a chart card, those on every string it drew.

    :param card: ``(drawn (role, text) pairs, problems)`` of a chart card
        (:func:`generators.chart_cover.render_chart_cover`); None for an image that
        draws no strings of ours.
    """
    results = run_image_checks(data, expected_size=expected_size, nsfw=nsfw, published_hashes=published_hashes)
    results += run_alt_text_checks(alt_text, factsheet)
    return results + (check_card_text(*card, factsheet) if card is not None else [])
