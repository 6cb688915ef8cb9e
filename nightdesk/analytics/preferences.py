"""Editors' decisions as training data: preference pairs, unpaired rows and an SFT set.

Every decided text draft in the review store says something about what a good text for
its prompt is. This module turns those decisions into the conversational JSON-lines
formats TRL reads (see ``docs/training-data.md``):

* **pairs** (``DPOTrainer``: ``prompt``/``chosen``/``rejected``): an edited draft gives
  (generated text -> editor's text); a draft approved after failed attempts gives one
  pair per failed attempt (``pair_type: "failed_attempt"``), the approved text chosen;
* **unpaired** (``KTOTrainer``: ``prompt``/``completion``/``label``, every label false):
  texts known to be bad that have no chosen text beside them: a rejected draft's text and
  its failed attempts, and the failed attempts of a draft whose only "chosen" text would
  be a template's (below);
* **sft** (``SFTTrainer``: ``prompt``/``completion``): the approved texts.

The pipeline's own data-to-text templates are never chosen unless asked for
(``include_template_chosen``): the model's prompt quotes the template's text as its
"Draft:" line, so an unedited template text as the chosen answer rewards copying the
prompt, not writing well. An editor's rewrite of a template text is a person's text and
is chosen by default (``chosen_source: "editor"``, with ``fallback`` saying where it began).

Where the data come from: the review store (decision, editor's text, the generated
``original_text``, earlier attempts in ``attempts_json`` with their generation ids) and
the warehouse's ``generation_log`` (each generation's prompt, full output, model and
prompt version; ``warehouse/sql/training_generations.sql``). A failed attempt joins its
log row exactly by generation id. The draft's own current generation is found by its key
(story, kind, fact-sheet digest, attempt) and its output being the draft's
``original_text``: review items carry no generation id yet. Once they do (``keys``'s
review revision 0004, ``review_items.generation_id``), :meth:`_Generations.current`
becomes a lookup by id.

Output is deterministic: rows in (date, draft, attempt) order, keys sorted, and each row
has a ``row_id`` hashed from its content, so an export of the same range writes the same
bytes, a row appears once per file, and files of overlapping ranges deduplicate on it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nightdesk.content.prompts import text_prompt
from nightdesk.review.states import APPROVED_STATES, PUBLISHED, REJECTED
from nightdesk.settings import WAREHOUSE_DIR, get_settings
from nightdesk.stories.catalog import COVER_KIND, Catalog, load_catalog
from nightdesk.stories.factsheet import FactSheet

if TYPE_CHECKING:
    from nightdesk.review.queue import ReviewQueue
    from nightdesk.review.views import ItemView
    from nightdesk.warehouse.clickhouse import Warehouse

GENERATIONS_SQL = WAREHOUSE_DIR / "sql" / "training_generations.sql"
#: States whose current text an editor signed off (a withdrawn draft is left out: the
#: editors took their approval back, for reasons the store does not classify).
CHOSEN_STATES = APPROVED_STATES | {PUBLISHED}
MODEL_WRITER = "model"
TEMPLATE_WRITER = "template"
EDITOR = "editor"
#: Review items read per page (the queue's listing is paged).
_PAGE = 1000
# Characters that end a line for some readers (Python's str.splitlines, JavaScript) but
# that JSON may leave raw: escaped so every row is exactly one line for any reader.
_LINE_BREAKS = {"\u0085": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


@dataclass(frozen=True)
class Generation:
    """One ``generation_log`` row (``training_generations.sql``)."""

    generation_id: str
    story_id: str
    content_kind: str
    facts_digest: str
    attempt: int
    writer: str
    model_id: str
    prompt_template: str
    prompt_version: str
    prompt: str
    output: str
    status: str
    created_at: str


@dataclass(frozen=True)
class Prompt:
    """A prompt as chat messages and where it came from.

    :param source: ``logged`` (the prompt a model call was sent, from ``generation_log``)
        or ``rebuilt`` (no model wrote for this draft, e.g. on a template night: the
        prompt the model would be sent for its fact sheet, from today's catalog).
    """

    messages: tuple[tuple[str, str], ...]
    source: str
    template: str
    version: str

    def fields(self) -> dict[str, Any]:
        return {"prompt": [{"role": role, "content": content} for role, content in self.messages],
                "prompt_source": self.source, "prompt_template": self.template, "prompt_version": self.version}


@dataclass
class TrainingData:
    """The rows of one export, and how many candidates were left out and why."""

    pairs: list[dict[str, Any]] = field(default_factory=list)
    unpaired: list[dict[str, Any]] = field(default_factory=list)
    sft: list[dict[str, Any]] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class _Attempt:
    """A failed earlier attempt of a draft that has a text (a call that raised has none)."""

    attempt: int
    text: str
    failed_checks: tuple[str, ...]
    generation: Generation | None
    generation_id: str
    model_id: str


class _Generations:
    """The range's generations, by id and by the key that names a draft's attempt."""

    def __init__(self, rows: Iterable[Generation]) -> None:
        self.by_id: dict[str, Generation] = {}
        self._by_key: dict[tuple[str, str, str, int], list[Generation]] = {}
        for g in rows:
            if g.generation_id not in self.by_id:
                self.by_id[g.generation_id] = g
                self._by_key.setdefault((g.story_id, g.content_kind, g.facts_digest, g.attempt), []).append(g)

    def current(self, item: ItemView, digest: str) -> Generation | None:
        """The generation that wrote ``item.original_text``: same key, status ok, same output;
        the latest if a rerun wrote it twice. (With ``review_items.generation_id``: by id.)"""
        found = [g for g in self._by_key.get((item.story_id, item.kind, digest, item.attempts), [])
                 if g.status == "ok" and g.output == item.original_text]
        return max(found, key=lambda g: (g.created_at, g.generation_id), default=None)


def collect(start: dt.date, end: dt.date, *, include_template_chosen: bool = False,
            queue: ReviewQueue | None = None, wh: Warehouse | None = None,
            catalog: Catalog | None = None) -> TrainingData:
    """The training rows of every decided text draft with a logical date in ``[start, end]``.

    :param include_template_chosen: also take an approved, unedited template text as the
        chosen text (pairs with its failed attempts; an SFT row), with
        ``chosen_source: "template"`` on each such row.
    :param queue: the review store; default the one ``NIGHTDESK_REVIEW_DB_URL`` names.
    :param wh: the warehouse; default :func:`nightdesk.warehouse.clickhouse.connect`.
    """
    from nightdesk.review.queue import ReviewQueue
    from nightdesk.warehouse import clickhouse

    if end < start:
        raise ValueError(f"--end {end} is before --start {start}")
    catalog = catalog or load_catalog()
    gens = _Generations(_generations(wh or clickhouse.connect(), start, end))
    own_queue = queue is None
    queue = queue or ReviewQueue()
    try:
        items = list(_decided_items(queue, start, end))
    finally:
        if own_queue:
            queue.close()
    data = TrainingData()
    for item in sorted(items, key=lambda i: (i.logical_date, i.draft_id)):
        _add_item(data, item, gens, catalog, include_template_chosen)
    data.pairs, data.unpaired, data.sft = (_unique(rows) for rows in (data.pairs, data.unpaired, data.sft))
    return data


def _generations(wh: Warehouse, start: dt.date, end: dt.date) -> list[Generation]:
    rows = wh.query_df(GENERATIONS_SQL.read_text(), {"start": start, "end": end, "cover": COVER_KIND})
    return [Generation(
        generation_id=r["generation_id"], story_id=r["story_id"], content_kind=r["content_kind"],
        facts_digest=r["facts_digest"], attempt=int(r["attempt"]), writer=r["writer"], model_id=r["model_id"],
        prompt_template=r["prompt_template"], prompt_version=r["prompt_version"], prompt=r["prompt"],
        output=r["output"], status=r["status"], created_at=str(r["created_at"]),
    ) for r in rows.to_dict("records")]


def _decided_items(queue: ReviewQueue, start: dt.date, end: dt.date) -> Iterator[ItemView]:
    from nightdesk.review.queue import QueueFilter

    for offset in range((end - start).days + 1):
        f = QueueFilter(logical_date=start + dt.timedelta(days=offset))
        page = 0
        while batch := queue.list(f, limit=_PAGE, offset=page * _PAGE):
            yield from (i for i in batch if i.kind != COVER_KIND and (i.state in CHOSEN_STATES or i.state == REJECTED))
            page += 1


def _add_item(data: TrainingData, item: ItemView, gens: _Generations, catalog: Catalog,
              include_template_chosen: bool) -> None:
    """Append the rows one decided draft gives (module docstring)."""
    sheet = FactSheet.from_json(item.facts_json)
    current = gens.current(item, sheet.digest)
    attempts = _failed_attempts(item, gens, data.skipped)
    # The draft's prompt: what the model was sent for it (its current generation's, else its
    # latest model attempt's: the same prompt, only the seed changes), else rebuilt.
    model_gens = [g for g in (current, *(a.generation for a in reversed(attempts))) if g and g.writer == MODEL_WRITER]
    draft_prompt = _logged_prompt(model_gens[0], catalog) if model_gens else _rebuilt_prompt(sheet, item.kind, catalog)
    if draft_prompt is None:
        data.skipped["no prompt (story type or kind not in the catalog)"] += 1
        return
    base = _base(item)
    if item.state == REJECTED:
        data.unpaired.append(_unpaired(base, draft_prompt, "editor_rejected", item.original_text, item.writer,
                                       current.generation_id if current else "", item.attempts,
                                       current.model_id if current else item.model_id, (),
                                       reject_reason=item.reject_reason, edited_before_reject=item.edited))
        data.unpaired.extend(_unpaired_attempt(base, a, draft_prompt, catalog) for a in attempts)
        return
    chosen_source = EDITOR if item.edited else item.writer
    if chosen_source == TEMPLATE_WRITER and not include_template_chosen:
        data.skipped["approved template text (pass --include-template-chosen)"] += 1
        data.unpaired.extend(_unpaired_attempt(base, a, draft_prompt, catalog) for a in attempts)
        return
    chosen = {"chosen": [_assistant(item.text)], "chosen_source": chosen_source}
    if item.edited:
        data.pairs.append(_row(base, draft_prompt, chosen, {
            "pair_type": "edited", "rejected": [_assistant(item.original_text)], "rejected_source": item.writer,
            "rejected_generation_id": current.generation_id if current else "", "rejected_attempt": item.attempts,
            "rejected_model_id": current.model_id if current else item.model_id, "rejected_failed_checks": [],
        }))
    for a in attempts:
        if a.text == item.text:
            continue  # no preference between a text and itself
        data.pairs.append(_row(base, _attempt_prompt(a, draft_prompt, catalog), chosen, {
            "pair_type": "failed_attempt", "rejected": [_assistant(a.text)], "rejected_source": MODEL_WRITER,
            "rejected_generation_id": a.generation_id, "rejected_attempt": a.attempt,
            "rejected_model_id": a.model_id, "rejected_failed_checks": list(a.failed_checks),
        }))
    data.sft.append(_row(base, draft_prompt, {
        "completion": [_assistant(item.text)], "completion_source": chosen_source,
        "generation_id": "" if item.edited or current is None else current.generation_id,
        "model_id": current.model_id if current and not item.edited else "",
    }))


def _failed_attempts(item: ItemView, gens: _Generations, skipped: Counter[str]) -> list[_Attempt]:
    """The draft's earlier attempts that wrote a text, oldest first, each with the full
    output from the log (``attempts_json`` keeps 2,000 characters of it)."""
    out = []
    for entry in json.loads(item.attempts_json or "[]"):
        g = gens.by_id.get(entry.get("generation_id", ""))
        text = g.output if g else entry.get("text", "")
        if entry.get("status") != "ok" or not text.strip():
            continue
        if g is None and entry.get("truncated"):
            skipped["failed attempt cut to 2,000 characters, no log row"] += 1
            continue
        out.append(_Attempt(int(entry["attempt"]), text, tuple(c["name"] for c in entry.get("failed_checks", [])),
                            g, entry.get("generation_id", ""), entry.get("model_id", "")))
    return out


def _attempt_prompt(a: _Attempt, draft_prompt: Prompt, catalog: Catalog) -> Prompt:
    """The prompt the attempt itself was sent, when the log has it."""
    if a.generation and a.generation.writer == MODEL_WRITER:
        return _logged_prompt(a.generation, catalog)
    return draft_prompt


def _unpaired_attempt(base: dict[str, Any], a: _Attempt, draft_prompt: Prompt, catalog: Catalog) -> dict[str, Any]:
    return _unpaired(base, _attempt_prompt(a, draft_prompt, catalog), "failed_attempt", a.text, MODEL_WRITER,
                     a.generation_id, a.attempt, a.model_id, a.failed_checks)


def _unpaired(base: dict[str, Any], prompt: Prompt, row_type: str, text: str, source: str, generation_id: str,
              attempt: int, model_id: str, failed_checks: Sequence[str], *, reject_reason: str | None = None,
              edited_before_reject: bool = False) -> dict[str, Any]:
    return _row(base, prompt, {
        "row_type": row_type, "completion": [_assistant(text)], "label": False, "completion_source": source,
        "generation_id": generation_id, "attempt": attempt, "model_id": model_id,
        "failed_checks": list(failed_checks), "reject_reason": reject_reason,
        "edited_before_reject": edited_before_reject,
    })


def _logged_prompt(g: Generation, catalog: Catalog) -> Prompt:
    """A logged prompt as messages. The log keeps ``system + "\\n\\n" + user`` (content
    records); the system message is split off where it is the catalog's, else the whole
    prompt is one user message (the catalog's system text changed since)."""
    head = f"{catalog.system}\n\n"
    if catalog.system and g.prompt.startswith(head):
        messages = (("system", catalog.system), ("user", g.prompt[len(head):]))
    else:
        messages = (("user", g.prompt),)
    return Prompt(messages, "logged", g.prompt_template, g.prompt_version)


def _rebuilt_prompt(sheet: FactSheet, kind: str, catalog: Catalog) -> Prompt | None:
    try:
        p = text_prompt(catalog, sheet, kind)
    except KeyError:
        return None
    messages = (("system", p.system), ("user", p.user)) if p.system else (("user", p.user),)
    return Prompt(messages, "rebuilt", p.template, p.version)


def _base(item: ItemView) -> dict[str, Any]:
    """What every row of a draft says about it: the story, the facts and the decision."""
    return {
        "draft_id": item.draft_id, "story_id": item.story_id, "story_type": item.story_type, "kind": item.kind,
        "logical_date": item.logical_date.isoformat(), "facts_json": item.facts_json, "state": item.state,
        "writer": item.writer, "fallback": item.fallback, "failed_attempts": item.failed_attempts,
        "decided_by": item.decided_by or "",
        "decided_at": item.decided_at.isoformat(timespec="milliseconds") if item.decided_at else "",
    }


def _row(base: dict[str, Any], prompt: Prompt, *parts: Mapping[str, Any]) -> dict[str, Any]:
    row = {**base, **prompt.fields()}
    for part in parts:
        row.update(part)
    content = {k: row[k] for k in ("draft_id", "prompt", "chosen", "rejected", "completion", "label") if k in row}
    row["row_id"] = hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]
    return row


def _assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def _unique(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` without repeats of a ``row_id`` (the first, i.e. the lowest attempt, kept)."""
    kept: dict[str, dict[str, Any]] = {}
    for row in rows:
        kept.setdefault(row["row_id"], row)
    return list(kept.values())


# -- files -----------------------------------------------------------------------------

def jsonl_line(row: Mapping[str, Any]) -> str:
    """One row as one line of JSON: UTF-8 text as is, keys sorted, no raw line breaks."""
    text = json.dumps(row, ensure_ascii=False, sort_keys=True, allow_nan=False)
    for raw, escaped in _LINE_BREAKS.items():
        text = text.replace(raw, escaped)
    return text + "\n"


def write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> int:
    """Replace ``path`` with ``rows`` as JSON lines, atomically (a reader never sees half a
    file, and a second export of the same range overwrites, never appends); returns the count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            for row in rows:
                out.write(jsonl_line(row))
                count += 1
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count


def default_path(name: str, start: dt.date, end: dt.date) -> Path:
    """``<data_dir>/exports/<name>_<start>_<end>.jsonl``."""
    return get_settings().data_dir / "exports" / f"{name}_{start.isoformat()}_{end.isoformat()}.jsonl"


def unpaired_path(pairs_path: Path) -> Path:
    """Where the unpaired rows go beside the pairs: ``x.jsonl`` -> ``x.unpaired.jsonl``."""
    return pairs_path.with_name(f"{pairs_path.name.removesuffix('.jsonl')}.unpaired.jsonl")
