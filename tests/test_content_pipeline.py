"""The content DAG end to end through Airflow: stories -> five kinds of drafts -> the log.

Text and covers come from tiny randomly initialised models built from configs, saved and
loaded back through the same ``from_pretrained`` paths a hub model takes (no weights can
be downloaded here). The bundled SmolLM2 is exercised in the generator tests.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from nightdesk.content.qc import MODEL_ATTEMPTS
from nightdesk.stories.catalog import CONTENT_KINDS

DAYS = (dt.date(2013, 2, 6), dt.date(2013, 2, 7))  # Wednesday, Thursday


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    from generators.random_models import build_tiny_causal_lm
    from generators.random_pipelines import build_tiny_pipeline

    root = tmp_path_factory.mktemp("tiny-models")
    return build_tiny_causal_lm(root / "lm"), build_tiny_pipeline(root / "sd")


@pytest.fixture(scope="module")
def review_db(tmp_path_factory) -> str:
    """The review store this module's content runs enqueue into (its own SQLite file)."""
    return f"sqlite:///{tmp_path_factory.mktemp('review') / 'review.sqlite'}"


@pytest.fixture(scope="module")
def content_run(warehouse, ops_db, airflow_db, tiny_models, review_db):
    from nightdesk.runner import run_dag

    lm, sd = tiny_models
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NIGHTDESK_REVIEW_DB_URL", review_db)
        mp.setenv("NIGHTDESK_TEXT_MODEL", str(lm))
        mp.setenv("NIGHTDESK_IMAGE_MODEL", str(sd))
        mp.setenv("NIGHTDESK_IMAGE_SIZE", "64")
        mp.setenv("NIGHTDESK_IMAGE_STEPS", "2")
        for day in DAYS:
            assert run_dag("nightdesk_elt", day).ok
        outcome = run_dag("nightdesk_content", DAYS[-1])
        counts = _counts(warehouse, DAYS[-1])
        rerun = run_dag("nightdesk_content", DAYS[-1])
    return outcome, counts, rerun


def _counts(wh, day):
    return {
        "stories": wh.scalar("SELECT count() FROM stories WHERE logical_date = {d:Date}", {"d": day}),
        "log": wh.scalar("SELECT count() FROM generation_log WHERE logical_date = {d:Date}", {"d": day}),
        "drafts": wh.scalar("SELECT count() FROM drafts WHERE logical_date = {d:Date}", {"d": day}),
    }


def test_content_run_succeeds(content_run):
    outcome, _, _ = content_run
    assert outcome.ok, outcome.failed_tasks


def test_drafts_of_all_five_kinds_for_every_story(content_run, warehouse):
    _, counts, _ = content_run
    kinds = dict(warehouse.query_rows(
        "SELECT content_kind, count() FROM drafts FINAL WHERE logical_date = {d:Date} GROUP BY 1", {"d": DAYS[-1]}))
    assert set(kinds) == set(CONTENT_KINDS)
    assert all(n == counts["stories"] for n in kinds.values())
    assert counts["stories"] >= 4


def test_one_log_row_per_generation_with_provenance(content_run, warehouse):
    _, counts, _ = content_run
    # One log row per generation: first attempts, regenerations and fallbacks alike (the
    # drafts table keeps only each draft's current version; the log keeps them all).
    log = warehouse.query_df(
        "SELECT * FROM generation_log WHERE logical_date = {d:Date}", {"d": DAYS[-1]})
    assert len(log) == counts["log"] and log.generation_id.is_unique
    current = {g for (g,) in warehouse.query_rows(
        "SELECT generation_id FROM drafts FINAL WHERE logical_date = {d:Date}", {"d": DAYS[-1]})}
    assert len(current) == 5 * counts["stories"] and current <= set(log.generation_id)
    first = log[log.attempt == 1]
    assert len(first) == 5 * counts["stories"]
    text = first[first.content_kind != "cover"]
    assert set(text.generator) == {"transformers"}
    assert set(first[first.content_kind == "cover"].generator) == {"diffusers"}
    assert (text.input_tokens > 0).all() and (text.output_tokens > 0).all()
    assert text.time_to_first_token_ms.notna().all() and (text.latency_ms > 0).all()
    assert (log.status == "ok").all() and log.model_revision.str.len().gt(0).all()
    assert log.prompt_template.str.match(r"^(headline|brief|summary|marketing|cover)@").all()
    assert log.prompt_version.str.fullmatch(r"[0-9a-f]{12}").all()
    assert text.prompt.str.contains("Facts:").all()
    assert (text.batch_size > 1).any(), "text should be generated in batches"


def test_every_draft_is_checked_and_failures_are_repaired(content_run, warehouse):
    """Random-weight models write nonsense: the checks must catch it, retry, then fall back."""
    day = {"d": DAYS[-1]}
    final = warehouse.query_df("SELECT * FROM drafts FINAL WHERE logical_date = {d:Date}", day)
    assert set(final.status) <= {"checked_ok", "checked_failed"}
    checks = warehouse.query_df("SELECT * FROM draft_checks FINAL WHERE logical_date = {d:Date}", day)
    log = warehouse.query_df("SELECT * FROM generation_log WHERE logical_date = {d:Date}", day)
    # Every generation was checked, each by every check of its kind.
    assert set(checks.generation_id) == set(log.generation_id)
    verdicts = checks.groupby("generation_id").passed.min()
    failed_text = log[(log.content_kind != "cover") & log.generation_id.map(verdicts).eq(0)]
    assert len(failed_text), "random weights should fail the fact checks"
    findings = checks[(checks.check_name == "facts") & (checks.passed == 0)].findings_json
    assert findings.str.contains("message").all()
    # Each failed model attempt, and only those, led to one more generation.
    failed_model = log[log.generation_id.map(verdicts).eq(0) & ~log.generator.isin(["template", "chart"])]
    assert len(log) == 5 * log.story_id.nunique() + len(failed_model)
    # After the model's attempts the data-to-text template writes the draft.
    for _, g in failed_text.iterrows():
        later = log[(log.story_id == g.story_id) & (log.content_kind == g.content_kind) & (log.attempt == g.attempt + 1)]
        assert len(later) == 1, (g.story_id, g.content_kind, g.attempt)
        expected = "template" if g.attempt >= MODEL_ATTEMPTS else "transformers"
        assert later.generator.iloc[0] == expected
    # What the model could not write, the template did, and the template's drafts pass.
    templated = final[final.generator == "template"]
    assert len(templated) and set(templated.status) == {"checked_ok"}
    # Only a cover can end failed (the chart card is its last resort); it is queued as failing.
    assert set(final[final.status == "checked_failed"].content_kind) <= {"cover"}


def test_queued_fallback_drafts_carry_the_models_failed_attempts(content_run, review_db):
    """The editors see what the model wrote before the template took over, and why it failed."""
    from nightdesk.review.queue import QueueFilter, ReviewQueue

    queue = ReviewQueue(review_db)
    try:
        items = queue.list(QueueFilter(logical_date=DAYS[-1]), limit=1000)
        enqueues = {i.draft_id: [e for e in queue.history(i.draft_id) if e.action == "enqueue"] for i in items}
    finally:
        queue.close()
    templated = [i for i in items if i.generator == "template"]
    assert templated, "random weights should leave some drafts to the template"
    for draft in templated:
        attempts = json.loads(draft.attempts_json)
        assert [a["attempt"] for a in attempts] == list(range(1, MODEL_ATTEMPTS + 1)), draft.draft_id
        assert {a["generator"] for a in attempts} == {"transformers"} and all(a["model_id"] for a in attempts)
        assert all(a["failed_checks"] and all(c["name"] for c in a["failed_checks"]) for a in attempts)
        assert all(len(a["text"]) <= 2000 for a in attempts)
    assert all(i.attempts_json == "[]" for i in items if i.attempts == 1)
    # The rerun of the date rebuilt the same attempts: no draft was refreshed by it.
    assert all(len(events) == 1 for events in enqueues.values())


def test_covers_are_stored_by_content_hash(content_run, warehouse, nightdesk_home):
    rows = warehouse.query_rows(
        "SELECT media_url, media_sha256, media_bytes FROM drafts FINAL WHERE logical_date = {d:Date} "
        "AND content_kind = 'cover'", {"d": DAYS[-1]})
    import hashlib
    from pathlib import Path

    _, counts, _ = content_run
    assert len(rows) == counts["stories"]
    for url, sha, size in rows:
        data = Path(url.removeprefix("file://")).read_bytes()
        assert hashlib.sha256(data).hexdigest() == sha and len(data) == size and sha in url


def test_rerunning_the_date_adds_nothing(content_run, warehouse):
    _, before, rerun = content_run
    assert rerun.ok
    assert _counts(warehouse, DAYS[-1]) == before


def test_templates_and_charts_need_no_model(warehouse, content_run, monkeypatch):
    """The factual baseline writers: every figure comes from the fact sheet by construction."""
    from nightdesk.content.produce import produce
    from nightdesk.content.records import RunContext
    from nightdesk.stories import store

    day = DAYS[0]
    monkeypatch.setenv("NIGHTDESK_TEXT_MODEL", "template")
    monkeypatch.delenv("NIGHTDESK_IMAGE_MODEL", raising=False)
    from nightdesk.content.produce import choose_stories

    choose_stories(warehouse, day)
    run = RunContext(day, "test", "template-run")
    assert produce(warehouse, run, ("headline", "brief"))["generated"] == 2 * len(store.load(warehouse, day))
    assert produce(warehouse, run, ("cover",))["generated"] == len(store.load(warehouse, day))
    briefs = dict(warehouse.query_rows(
        "SELECT story_id, text FROM drafts FINAL WHERE logical_date = {d:Date} AND content_kind = 'brief'", {"d": day}))
    for sheet in store.load(warehouse, day):
        assert sheet.get(next(f.name for f in sheet.facts if f.kind == "date")).display in briefs[sheet.story_id]
    generators = {g for (g,) in warehouse.query_rows(
        "SELECT DISTINCT generator FROM generation_log WHERE logical_date = {d:Date}", {"d": day})}
    assert generators == {"template", "chart"}


def test_model_calls_log_their_batch_times_and_load(content_run, warehouse):
    """Per request: the batch it ran in, when it was handed over, got its first token and
    finished, its share of the device's time, and the task's model load time.

    A diffusion batch is one call whose rows share its wall time. The text engine's rows
    share a run of ``batch_size`` slots, each with its own time from admission to finish
    (``latency_ms``, of which ``time_to_first_token_ms``): both end at the same admission.
    """
    log = warehouse.query_df("SELECT * FROM generation_log FINAL WHERE logical_date = {d:Date}", {"d": DAYS[-1]})
    model = log[log.generator.isin(["transformers", "diffusers"])]
    for _, batch in model[model.generator == "diffusers"].groupby("batch_id"):
        assert len(batch) == batch.batch_size.iloc[0] and batch.latency_ms.nunique() == 1
        assert abs(batch.device_seconds.sum() - batch.latency_ms.iloc[0] / 1000) < 1e-6
    text = model[model.generator == "transformers"]
    for _, run in text.groupby("batch_id"):
        assert len(run) >= run.batch_size.iloc[0]  # every slot was used
    admitted_first = _epoch_s(text.first_token_at) - text.time_to_first_token_ms / 1000
    admitted_last = _epoch_s(text.finished_at) - text.latency_ms / 1000
    assert ((admitted_first - admitted_last).abs() < 0.01).all()  # DateTime64(3): millisecond rounding
    assert text.first_token_at.notna().all()
    assert ((text.enqueued_at <= text.first_token_at) & (text.first_token_at <= text.finished_at)).all()
    assert model[model.generator == "diffusers"].first_token_at.isna().all()
    # write_drafts loaded each model once: generation and every round of regeneration
    # share it, so every row of a model carries the same load time.
    assert text.attempt.nunique() > 1, "random weights should fail and be regenerated"
    for rows in (text, model[model.generator == "diffusers"]):
        assert rows.load_time_ms.nunique() == 1 and (rows.load_time_ms > 0).all()
    assert (log[log.generator.isin(["template", "chart"])].load_time_ms == 0).all()
    assert set(text.prompt_name) == {f"text_prompt/{k}" for k in text.content_kind.unique()}
    assert (log.try_number == 1).all()


def _epoch_s(column):
    import pandas as pd

    return (pd.to_datetime(column, utc=True) - pd.Timestamp(0, tz="UTC")).dt.total_seconds()


def test_status_counts_call_errors_and_failed_checks_apart(content_run, warehouse):
    """The random models' drafts fail their checks without any call raising."""
    from nightdesk.settings import WAREHOUSE_DIR

    day = {"start": DAYS[-1], "end": DAYS[-1]}
    status = warehouse.query_df((WAREHOUSE_DIR / "sql" / "status_content.sql").read_text(), day)
    failed = warehouse.scalar(
        "SELECT count() FROM (SELECT generation_id FROM draft_checks FINAL WHERE logical_date = {start:Date} "
        "GROUP BY generation_id HAVING min(passed) = 0)", day)
    assert failed > 0 and status.checks_failed.sum() == failed
    assert status.call_errors.sum() == 0
