"""What a draft's verdict says, and who wrote it, in the words the queue and the API use.

A text passes only when its checks passed *and* verified something against the fact
sheet: a draft with no figure, name or direction to bind used to pass every check
trivially, which told an editor nothing. Such a draft is ``unverified``, never shown or
approved as passed. What was verified is each check result's ``verified`` list
("4 of 4 figures bound", "2 names", "direction agrees"); results stored before the
checks listed it have none, so they read as nothing verified. A cover is judged by its
image checks alone: it has no text whose facts could be bound.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from nightdesk.stories.catalog import COVER_KIND

PASSED, UNVERIFIED, FAILED = "passed", "unverified", "failed"
VERDICTS = (PASSED, UNVERIFIED, FAILED)
NOTHING_VERIFIED = "nothing verified"


def verified_of(results: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every check result's ``verified`` phrases, in result order."""
    return [str(phrase) for result in results for phrase in result.get("verified", [])]


def verified_json(qc_json: str) -> str:
    """The ``verified`` phrases of stored check results (``qc_json``) as a JSON list."""
    results = json.loads(qc_json)
    return json.dumps(verified_of(r for r in results if isinstance(r, Mapping)), ensure_ascii=False)


def verdict(kind: str, qc_passed: bool, verified: Sequence[str]) -> str:
    """``passed``, ``unverified`` (the checks passed but verified nothing) or ``failed``."""
    if not qc_passed:
        return FAILED
    return PASSED if verified or kind == COVER_KIND else UNVERIFIED


def verified_summary(kind: str, verified: Sequence[str]) -> str:
    """``"4 of 4 figures bound, 2 names, direction agrees"``, or why there is nothing to list."""
    if verified:
        return ", ".join(verified)
    return "image checks only" if kind == COVER_KIND else NOTHING_VERIFIED


_WRITER_NAMES = {"model": "the model", "template": "the template", "chart": "the chart card",
                 "diffusion": "the diffusion model"}


def written_by(writer: str, *, fallback: bool, failed_attempts: int, attempt: int, model_id: str = "") -> str:
    """``"the model (SmolLM2) on attempt 2"`` or ``"template fallback after 3 failed attempts"``."""
    if fallback:
        plural = "" if failed_attempts == 1 else "s"
        return f"{writer} fallback after {failed_attempts} failed attempt{plural}"
    name = _WRITER_NAMES.get(writer, writer)
    model = f" ({model_id})" if model_id and writer in ("model", "diffusion") else ""
    return f"{name}{model} on attempt {attempt}"


def writer_badge(writer: str, *, fallback: bool, attempt: int) -> str:
    """The queue's short badge: ``"model, attempt 2"``, ``"template fallback"``, ``"chart"``.

    A model's attempt number is the news (a first attempt that passed, or a third); a
    fallback's is not: it is always the last resort after the model's attempts failed.
    """
    if fallback:
        return f"{writer} fallback"
    return f"{writer}, attempt {attempt}" if writer in ("model", "diffusion") else writer
