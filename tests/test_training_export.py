"""Editors' decisions as training data: the export on real runs, then TRL reading it.

Two content nights into one review store: 2013-01-24 on the data-to-text templates
(editors edit, approve and reject them) and 2013-01-25 on a tiny random-weight model,
whose texts fail their checks three times before the template takes over, so its drafts
carry failed attempts. Editors decide through the review UI's JSON API; the export runs
through the CLI; TRL loads the files and takes one DPO step on the tiny model.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import Counter
from pathlib import Path

import pytest

from nightdesk.content.qc import MODEL_ATTEMPTS

TEMPLATE_DAY = dt.date(2013, 1, 24)  # Thursday: content on the templates; no other test uses it
MODEL_DAY = dt.date(2013, 1, 25)  # Friday: content from the tiny random model; no other test uses it
EDITOR, PASSWORD = "erin", "correct horse battery staple"


def hostile(text: str) -> str:
    """An editor's rewrite with what breaks naive exporters, that still passes the checks:
    a line break after the first sentence, an RTL mark, a line separator and a NEL (line
    ends for some readers), a backslash, quotes and a non-BMP character."""
    head, _, rest = text.partition(". ")
    rest = rest[:-1].replace(" ", "\u2028 ", 1).replace(" ", " \u0085", 1)
    return f'{head}.\n\u200f{rest} \\ "\U0001f6eb".'


class Night:
    """What the module fixture did: decisions by draft id, and the export files."""


def _decide(client, token: str, draft_id: str, verb: str, **body) -> dict:
    from urllib.parse import quote

    current = client.get(f"/api/drafts/{quote(draft_id)}").json()
    response = client.post(f"/api/drafts/{quote(draft_id)}/{verb}", headers={"X-CSRF-Token": token},
                           json={"expected_version": current["version"], **body})
    assert response.status_code == 200, (draft_id, verb, response.text)
    return response.json()


def _edit(client, token: str, draft_id: str, text: str) -> str:
    """Edit the draft to ``text``, which must pass the checks (so it can be approved)."""
    edited = _decide(client, token, draft_id, "edit", text=text)
    assert edited["qc_passed"], (draft_id, text, [c for c in edited["checks"] if not c["passed"]])
    return text


@pytest.fixture(scope="module")
def night(template_night, warehouse, tmp_path_factory):
    from fastapi.testclient import TestClient

    from generators.random_models import build_tiny_causal_lm
    from nightdesk.cli import main
    from nightdesk.review.queue import ReviewQueue
    from nightdesk.review.users import UserStore
    from nightdesk.review.web import create_app

    url, _, run_dag = template_night
    root = tmp_path_factory.mktemp("training-export")
    lm = build_tiny_causal_lm(root / "lm")
    for day in (TEMPLATE_DAY, MODEL_DAY):
        assert run_dag("nightdesk_elt", day).ok
    assert run_dag("nightdesk_content", TEMPLATE_DAY).ok
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NIGHTDESK_TEXT_MODEL", str(lm))
        mp.setenv("NIGHTDESK_TEXT_DECODING", "free")  # nonsense either way; no per-token masks to compute
        assert run_dag("nightdesk_content", MODEL_DAY).ok

    queue, users = ReviewQueue(url), UserStore(url)
    users.add(EDITOR, PASSWORD, "editor")
    client = TestClient(create_app(queue=queue, users=users, secret_key="k" * 32))
    token = client.post("/api/login", json={"username": EDITOR, "password": PASSWORD}).json()["csrf_token"]
    items = {i["draft_id"]: i for i in client.get("/api/drafts", params={"limit": 1000}).json()["items"]}
    n = Night()
    n.lm, n.root = lm, root

    def story(day: dt.date, index: int) -> str:
        return sorted({i["story_id"] for i in items.values() if i["logical_date"] == day.isoformat()})[index]

    # The template night: an edited approval, a plain approval, a rejection, an edit then a rejection.
    a, b = story(TEMPLATE_DAY, 0), story(TEMPLATE_DAY, 1)
    n.edited = f"{a}/brief"
    n.edited_text = _edit(client, token, n.edited, hostile(items[n.edited]["text"]))
    _decide(client, token, n.edited, "approve")
    n.plain = f"{a}/headline"
    _decide(client, token, n.plain, "approve")
    n.rejected = f"{b}/summary"
    _decide(client, token, n.rejected, "reject", reason="dull, and <script>alert(1)</script> \"quoted\"")
    n.edited_rejected = f"{b}/marketing"
    _decide(client, token, n.edited_rejected, "edit", text=items[n.edited_rejected]["text"] + " Really.")
    _decide(client, token, n.edited_rejected, "reject", reason="still not right")
    _decide(client, token, f"{a}/cover", "approve")  # a cover's alt text is never training data

    # The model night: its text drafts are template fallbacks after three failed attempts.
    c, d = story(MODEL_DAY, 0), story(MODEL_DAY, 1)
    n.fallback_plain = f"{c}/headline"
    assert items[n.fallback_plain]["fallback"] and len(items[n.fallback_plain]["previous_attempts"]) == MODEL_ATTEMPTS
    _decide(client, token, n.fallback_plain, "approve")
    n.fallback_edited = f"{c}/brief"
    broken = items[n.fallback_edited]["text"].replace(". ", ".\n", 1)  # a line break between sentences
    n.fallback_edited_text = _edit(client, token, n.fallback_edited, broken)
    _decide(client, token, n.fallback_edited, "approve")
    n.fallback_rejected = f"{d}/summary"
    _decide(client, token, n.fallback_rejected, "reject", reason="wrong angle")
    n.items = {i.draft_id: i for i in queue.list(limit=1000)}
    queue.close()
    users.close()

    span = ["--start", TEMPLATE_DAY.isoformat(), "--end", MODEL_DAY.isoformat()]
    n.pairs_path, n.sft_path = root / "prefs.jsonl", root / "sft.jsonl"
    assert main(["export", "preferences", *span, "--out", str(n.pairs_path)]) == 0
    n.first_bytes = n.pairs_path.read_bytes(), (root / "prefs.unpaired.jsonl").read_bytes()
    assert main(["export", "preferences", *span, "--out", str(n.pairs_path)]) == 0  # again: same bytes
    assert main(["export", "sft", *span, "--out", str(n.sft_path)]) == 0
    n.with_templates = root / "with-templates.jsonl"
    assert main(["export", "preferences", *span, "--out", str(n.with_templates), "--include-template-chosen"]) == 0
    assert main(["export", "sft", *span, "--out", str(root / "sft-with-templates.jsonl"),
                 "--include-template-chosen"]) == 0
    return n


def _rows(path: Path) -> list[dict]:
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == "", "the file ends with a newline"
    return [json.loads(line) for line in lines[:-1]]


def _by_draft(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r["draft_id"], []).append(r)
    return out


def test_an_edited_draft_pairs_the_generated_text_with_the_editors(night):
    pairs = _by_draft(_rows(night.pairs_path))
    item = night.items[night.edited]
    (pair,) = pairs[night.edited]
    assert pair["pair_type"] == "edited" and pair["chosen_source"] == "editor" and pair["rejected_source"] == "template"
    assert pair["chosen"] == [{"role": "assistant", "content": night.edited_text}]
    assert pair["rejected"] == [{"role": "assistant", "content": item.original_text}]
    # No model wrote on a template night: the prompt is the one the model would be sent.
    assert pair["prompt_source"] == "rebuilt" and [m["role"] for m in pair["prompt"]] == ["system", "user"]
    assert "Facts:" in pair["prompt"][1]["content"] and item.original_text in pair["prompt"][1]["content"]
    assert json.loads(pair["facts_json"]) == json.loads(item.facts_json)
    assert (pair["story_type"], pair["kind"], pair["decided_by"]) == (item.story_type, "brief", EDITOR)


def test_a_draft_approved_after_failed_attempts_pairs_each_attempt(night, warehouse):
    pairs = _by_draft(_rows(night.pairs_path))
    item = night.items[night.fallback_edited]
    attempts = json.loads(item.attempts_json)
    got = pairs[night.fallback_edited]
    assert [p["pair_type"] for p in got] == ["edited"] + ["failed_attempt"] * MODEL_ATTEMPTS
    assert all(p["chosen"][0]["content"] == night.fallback_edited_text and p["fallback"] for p in got)
    failed = got[1:]
    assert [p["rejected_generation_id"] for p in failed] == [a["generation_id"] for a in attempts]
    assert [p["rejected_attempt"] for p in failed] == list(range(1, MODEL_ATTEMPTS + 1))
    assert all(p["rejected_failed_checks"] and p["rejected_source"] == "model" for p in failed)
    # Each rejected text and prompt is the logged generation's, in full.
    log = dict(((g, (o, p)) for g, o, p in warehouse.query_rows(
        "SELECT generation_id, output, prompt FROM generation_log FINAL WHERE logical_date = {d:Date}",
        {"d": MODEL_DAY})))
    for p in failed:
        output, prompt = log[p["rejected_generation_id"]]
        assert p["rejected"][0]["content"] == output and p["prompt_source"] == "logged"
        assert "\n\n".join(m["content"] for m in p["prompt"]) == prompt
    assert got[0]["rejected"][0]["content"] == item.original_text and got[0]["rejected_source"] == "template"


def test_template_texts_are_chosen_only_when_asked_and_then_flagged(night):
    default, flagged = _by_draft(_rows(night.pairs_path)), _by_draft(_rows(night.with_templates))
    assert night.fallback_plain not in default and night.plain not in default
    assert all(r["chosen_source"] != "template" for rows in default.values() for r in rows)
    got = flagged[night.fallback_plain]
    assert [p["pair_type"] for p in got] == ["failed_attempt"] * MODEL_ATTEMPTS
    assert all(p["chosen_source"] == "template" and p["fallback"] for p in got)
    assert night.plain not in flagged  # approved unchanged, no failed attempt: nothing to pair
    sft = _by_draft(_rows(night.sft_path))
    sft_flagged = _by_draft(_rows(night.sft_path.with_name("sft-with-templates.jsonl")))
    assert set(sft) == {night.edited, night.fallback_edited}
    assert set(sft_flagged) == set(sft) | {night.plain, night.fallback_plain}
    assert sft_flagged[night.plain][0]["completion_source"] == "template"
    assert sft[night.edited][0]["completion"] == [{"role": "assistant", "content": night.edited_text}]


def test_rejected_drafts_and_unchosen_attempts_are_unpaired_rows(night):
    unpaired = _by_draft(_rows(night.pairs_path.with_name("prefs.unpaired.jsonl")))
    assert set(unpaired) == {night.rejected, night.edited_rejected, night.fallback_rejected, night.fallback_plain}
    assert all(r["label"] is False for rows in unpaired.values() for r in rows)
    (row,) = unpaired[night.rejected]
    assert row["row_type"] == "editor_rejected" and row["reject_reason"].startswith("dull, and <script>")
    assert row["completion"][0]["content"] == night.items[night.rejected].original_text
    (row,) = unpaired[night.edited_rejected]
    assert row["edited_before_reject"]
    assert row["completion"][0]["content"] == night.items[night.edited_rejected].original_text
    assert [r["row_type"] for r in unpaired[night.fallback_rejected]] == \
        ["editor_rejected"] + ["failed_attempt"] * MODEL_ATTEMPTS
    # A template approval left out of the pairs still leaves its failed attempts as bad examples.
    assert [r["row_type"] for r in unpaired[night.fallback_plain]] == ["failed_attempt"] * MODEL_ATTEMPTS


def test_export_is_deterministic_without_duplicates_and_hostile_text_round_trips(night):
    assert (night.pairs_path.read_bytes(), night.pairs_path.with_name("prefs.unpaired.jsonl").read_bytes()) == \
        night.first_bytes
    for path in (night.pairs_path, night.with_templates, night.sft_path):
        rows = _rows(path)
        assert len({r["row_id"] for r in rows}) == len(rows), path
        assert len({json.dumps([r["prompt"], r.get("chosen"), r.get("rejected"), r.get("completion")])
                    for r in rows}) == len(rows), path
    raw = night.pairs_path.read_text(encoding="utf-8")
    assert raw.count("\n") == len(raw.splitlines())  # one row, one line, for any reader
    assert {"\n", "\u2028", "\u0085", "\u200f", '"', "\\", "\U0001f6eb"} <= set(night.edited_text)
    assert [r["chosen"][0]["content"] for r in _rows(night.pairs_path) if r["draft_id"] == night.edited] == \
        [night.edited_text]


def test_bad_range_is_refused_and_empty_range_writes_empty_files(night, capsys):
    from nightdesk.cli import main

    assert main(["export", "sft", "--start", "2013-02-02", "--end", "2013-02-01"]) == 2
    assert "before --start" in capsys.readouterr().out
    out = night.root / "empty.jsonl"
    assert main(["export", "preferences", "--start", "2012-06-01", "--end", "2012-06-01", "--out", str(out)]) == 0
    assert out.read_bytes() == b"" and (night.root / "empty.unpaired.jsonl").read_bytes() == b""


def test_trl_loads_the_export_and_takes_a_dpo_step(night, tmp_path):
    import torch
    from datasets import load_dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer
    from trl.data_utils import is_conversational

    pairs = load_dataset("json", data_files=str(night.pairs_path), split="train")
    unpaired = load_dataset("json", data_files=str(night.pairs_path.with_name("prefs.unpaired.jsonl")), split="train")
    sft = load_dataset("json", data_files=str(night.sft_path), split="train")
    assert all(is_conversational(ds[0]) for ds in (pairs, unpaired, sft))
    assert {"prompt", "chosen", "rejected"} <= set(pairs.column_names)
    assert {"prompt", "completion", "label"} <= set(unpaired.column_names) and set(unpaired["label"]) == {False}
    assert {"prompt", "completion"} <= set(sft.column_names)

    model = AutoModelForCausalLM.from_pretrained(night.lm)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    args = DPOConfig(output_dir=str(tmp_path / "dpo"), max_steps=1, per_device_train_batch_size=4, learning_rate=1e-2,
                     use_cpu=True, report_to=[], save_strategy="no", logging_steps=1, max_length=None)
    trainer = DPOTrainer(model=model, args=args, train_dataset=pairs,
                         processing_class=AutoTokenizer.from_pretrained(night.lm))
    trainer.train()
    (logged,) = [h for h in trainer.state.log_history if "loss" in h]
    assert math.isfinite(logged["loss"])
    assert any(not torch.equal(before[name], p) for name, p in model.named_parameters())


def test_trl_reads_the_unpaired_and_sft_files_as_the_docs_say(night, tmp_path):
    from datasets import concatenate_datasets, load_dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer
    from trl.data_utils import unpair_preference_dataset

    columns = ["prompt", "completion", "label"]
    pairs = load_dataset("json", data_files=str(night.pairs_path), split="train")
    unpaired = load_dataset("json", data_files=str(night.pairs_path.with_name("prefs.unpaired.jsonl")), split="train")
    kto = concatenate_datasets([unpair_preference_dataset(pairs).select_columns(columns),
                                unpaired.select_columns(columns)])
    assert Counter(kto["label"]) == {True: len(pairs), False: len(pairs) + len(unpaired)}

    sft = load_dataset("json", data_files=str(night.sft_path), split="train")
    args = SFTConfig(output_dir=str(tmp_path / "sft"), max_steps=1, per_device_train_batch_size=2, use_cpu=True,
                     report_to=[], save_strategy="no", logging_steps=1, max_length=None)
    trainer = SFTTrainer(model=AutoModelForCausalLM.from_pretrained(night.lm), args=args, train_dataset=sft,
                         processing_class=AutoTokenizer.from_pretrained(night.lm))
    trainer.train()
    (logged,) = [h for h in trainer.state.log_history if "loss" in h]
    assert math.isfinite(logged["loss"])
