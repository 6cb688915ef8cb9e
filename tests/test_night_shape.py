"""The night's GPU work in one task: each model loads once, work is saved as it finishes,
and a draft that fails alone costs no other draft.

The content functions run for real on the session warehouse with hand-made fact sheets
(each test its own date, in 2012, which no other module uses); the writers are the real
ones: the templates, the chart card, and the tiny random LM and diffusion pipeline saved
and loaded like hub models. The end-to-end DAG run is in test_content_pipeline.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

import pytest

from nightdesk.content.night import ItemsFailed, write_drafts
from nightdesk.content.produce import GenerationFailed, write_items
from nightdesk.content.records import RunContext, WorkItem
from nightdesk.content.writers import DiffusionCoverWriter
from nightdesk.settings import get_settings
from nightdesk.stories import store
from nightdesk.stories.catalog import COVER_KIND, TEXT_KINDS, load_catalog
from nightdesk.stories.factsheet import Fact, FactSheet, format_value

_VALUES = {"count": 19730300, "percent": 2.48, "currency": 437.92, "number": 15.2, "text": "fell"}


def _sheets(day: dt.date, subjects: list[str]) -> list[FactSheet]:
    """stock_movers sheets with every declared fact (values made up per kind)."""
    spec = load_catalog().story_types["stock_movers"]
    out = []
    for subject in subjects:
        values = {f.name: {"date": day.isoformat(), "entity": subject}.get(f.kind, _VALUES.get(f.kind))
                  for f in spec.facts}
        facts = tuple(Fact(f.name, f.kind, values[f.name], format_value(f.kind, values[f.name], f.decimals, f.unit),
                           f.unit, f.decimals, f.label) for f in spec.facts)
        out.append(FactSheet(f"stock_movers/{day.isoformat()}/{subject}", "stock_movers", day.isoformat(),
                             f"{subject} on {day}", facts))
    return out


def _good_and_broken(wh, day: dt.date) -> tuple[FactSheet, FactSheet]:
    """Stores two stories for ``day``: one whole, one whose sheet lacks the ticker its
    prompts and templates need (every text of it fails alone, its cover does not)."""
    good, broken = _sheets(day, ["AAPL", "MSFT"])
    broken = dataclasses.replace(broken, facts=tuple(f for f in broken.facts if f.kind != "entity"))
    store.save(wh, day, [good, broken])
    return good, broken


def _log(wh, day: dt.date):
    return wh.query_df("SELECT * FROM generation_log WHERE logical_date = {d:Date}", {"d": day})


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    from generators.random_models import build_tiny_causal_lm
    from generators.random_pipelines import build_tiny_pipeline

    root = tmp_path_factory.mktemp("night-models")
    return build_tiny_causal_lm(root / "lm"), build_tiny_pipeline(root / "sd")


def test_a_draft_that_fails_alone_is_logged_and_the_rest_of_the_night_is_written(warehouse, monkeypatch):
    """A sheet missing the ticker its templates need: its texts fail alone (error rows),
    every other draft (its cover too) is written and checked, then the task fails for a retry:
    the template is the writer of last resort, so nothing retries them in this task."""
    day = dt.date(2012, 11, 14)
    monkeypatch.setenv("NIGHTDESK_TEXT_MODEL", "template")
    monkeypatch.delenv("NIGHTDESK_IMAGE_MODEL", raising=False)
    good, broken = _good_and_broken(warehouse, day)

    with pytest.raises(ItemsFailed, match=f"{day}: 4"):
        write_drafts(warehouse, [RunContext(day, "test", "isolation")])

    log = _log(warehouse, day)
    errors = log[log.status == "error"]
    assert set(errors.story_id) == {broken.story_id} and sorted(errors.content_kind) == sorted(TEXT_KINDS)
    assert errors.error.str.startswith("UndefinedError: 'ticker' is undefined").all()
    drafts = warehouse.query_df("SELECT * FROM drafts FINAL WHERE logical_date = {d:Date}", {"d": day})
    assert sorted(zip(drafts.story_id, drafts.content_kind)) == sorted(
        [(good.story_id, kind) for kind in (*TEXT_KINDS, COVER_KIND)] + [(broken.story_id, COVER_KIND)])
    assert set(drafts.status) <= {"checked_ok", "checked_failed"}


def test_a_writer_that_cannot_load_fails_after_logging_every_item(warehouse, tmp_path):
    day = dt.date(2012, 11, 15)
    sheets = _sheets(day, ["AAPL", "MSFT"])
    store.save(warehouse, day, sheets)
    settings = dataclasses.replace(get_settings(), image_model=str(tmp_path / "no-such-model"))
    writer = DiffusionCoverWriter(load_catalog(), settings)

    with pytest.raises(GenerationFailed, match="generation failed for 2 drafts"):
        write_items(warehouse, RunContext(day, "test", "no-model"), writer, [WorkItem(s, COVER_KIND) for s in sheets])

    log = _log(warehouse, day)
    assert sorted(log.story_id) == sorted(s.story_id for s in sheets)
    assert set(log.status) == {"error"} and set(log.generator) == {"diffusers"}
    assert log.batch_id.nunique() == 1  # one failed writer, not two failed items


def test_the_night_loads_each_model_once_and_logs_what_it_cost(warehouse, tiny_models, monkeypatch, caplog):
    """Generation and every round of regeneration share the model loaded once: every row
    the model wrote carries the same load time, and the task logs it in one line."""
    day = dt.date(2012, 11, 16)
    lm, sd = tiny_models
    for name, value in {"NIGHTDESK_TEXT_MODEL": str(lm), "NIGHTDESK_IMAGE_MODEL": str(sd),
                        "NIGHTDESK_IMAGE_SIZE": "64", "NIGHTDESK_IMAGE_BATCH_SIZE": "2"}.items():
        monkeypatch.setenv(name, value)
    store.save(warehouse, day, _sheets(day, ["AAPL", "MSFT", "NVDA"]))

    with caplog.at_level(logging.INFO, logger="nightdesk.content.night"):
        counts = write_drafts(warehouse, [RunContext(day, "test", "one-load")])

    assert counts[day.isoformat()]["checks"]["regenerated"] > 0, "random weights should fail and be regenerated"
    log = _log(warehouse, day)
    text = log[log.generator == "transformers"]
    assert text.attempt.nunique() > 1
    assert text.load_time_ms.nunique() == 1 and (text.load_time_ms > 0).all()
    covers = log[log.generator == "diffusers"]
    assert len(covers) == 3 and covers.load_time_ms.nunique() == 1 and (covers.load_time_ms > 0).all()
    # the covers were saved one pipeline call at a time: a call of 2, then a call of 1
    assert sorted(covers.groupby("batch_id").size()) == [1, 2]
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("model load time in this task")]
    assert f"transformers {lm} {text.load_time_ms.iloc[0]:.0f} ms" in line
    assert f"diffusers {sd} {covers.load_time_ms.iloc[0]:.0f} ms" in line


def test_a_draft_that_fails_alone_with_the_model_moves_on_to_new_seeds_and_then_the_template(
        warehouse, tiny_models, monkeypatch):
    """Its prompt cannot be built (the sheet lacks its ticker): each try is logged as an
    error and owed the next attempt, two more by the model under new seeds, then the
    template, as a draft that fails its checks is; the template cannot write it either,
    so the task fails for it alone, after every other draft was written and checked."""
    from nightdesk.content.qc import MODEL_ATTEMPTS

    day = dt.date(2012, 11, 17)
    lm, _ = tiny_models
    monkeypatch.setenv("NIGHTDESK_TEXT_MODEL", str(lm))
    monkeypatch.delenv("NIGHTDESK_IMAGE_MODEL", raising=False)
    good, broken = _good_and_broken(warehouse, day)

    with pytest.raises(ItemsFailed, match=f"{day}: 4"):
        write_drafts(warehouse, [RunContext(day, "test", "alone-with-a-model")])

    log = _log(warehouse, day)
    errors = log[log.story_id == broken.story_id].sort_values("attempt")
    for kind in TEXT_KINDS:
        tries = errors[errors.content_kind == kind]
        assert list(tries.attempt) == list(range(1, MODEL_ATTEMPTS + 2)), kind
        assert list(tries.generator) == ["transformers"] * MODEL_ATTEMPTS + ["template"], kind
        assert set(tries.status) == {"error"}
    drafts = warehouse.query_df("SELECT * FROM drafts FINAL WHERE logical_date = {d:Date}", {"d": day})
    assert {(good.story_id, kind) for kind in TEXT_KINDS} <= set(zip(drafts.story_id, drafts.content_kind))
    assert set(drafts.status) <= {"checked_ok", "checked_failed"}
