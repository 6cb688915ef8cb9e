"""Join keys and measures for analysts (migration 0010, review revision 0004), on real runs.

One night through Airflow with the template writer and chart covers (``template_night``),
run twice, then editors' decisions through the review queue, a regenerated draft, the
queue refresh and the export of the audit trail to the warehouse.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from nightdesk.settings import WAREHOUSE_DIR

DAY = dt.date(2013, 1, 30)  # a Wednesday no other test writes content for
EARLIER = dt.date(2013, 1, 29)  # loaded too, so stock moves have a previous close
EDITOR = "noor"
QUEUED_ID = "stock_movers/2013-01-30/AAPL/brief"


class Night:
    """What the module fixture did and saw."""


def _stories(wh) -> dict[str, tuple]:
    return {s: (first, selected) for s, first, selected in wh.query_rows(
        "SELECT story_id, first_selected_at, selected_at FROM stories WHERE logical_date = {d:Date}", {"d": DAY})}


@pytest.fixture(scope="module")
def night(template_night, warehouse):
    from nightdesk.content.produce import choose_stories
    from nightdesk.review.queue import ReviewQueue

    n = Night()
    n.url, _, run_dag = template_night
    assert run_dag("nightdesk_elt", EARLIER).ok
    assert run_dag("nightdesk_elt", DAY).ok
    assert run_dag("nightdesk_content", DAY).ok
    n.stories1 = _stories(warehouse)
    n.registry1 = warehouse.scalar("SELECT count() FROM prompt_registry")
    choose_stories(warehouse, DAY)  # what a rerun's first task does
    n.stories2 = _stories(warehouse)
    n.queue = ReviewQueue(n.url)
    yield n
    n.queue.close()


def _log(wh):
    return wh.query_df("SELECT * FROM generation_log FINAL WHERE logical_date = {d:Date}", {"d": DAY})


def test_every_generation_has_its_call_batch_times_and_prompt_name(night, warehouse):
    log = _log(warehouse)
    assert len(log) and (log.status == "ok").all()
    assert (log.call_id == log.generation_id).all()
    # Templates and chart cards are batches of one: each row its own batch, all of its wall time.
    assert log.batch_id.str.len().gt(0).all() and log.batch_id.is_unique and (log.batch_size == 1).all()
    assert (log.device_seconds - log.latency_ms / 1000).abs().max() < 1e-9
    assert (log.enqueued_at <= log.finished_at).all() and (log.finished_at <= log.created_at).all()
    assert log.first_token_at.isna().all(), "templates and charts produce no tokens"
    assert (log.load_time_ms == 0).all() and (log.try_number == 1).all()
    expected = log.content_kind.map(lambda k: "cover_prompt/cover" if k == "cover" else f"template/{k}")
    assert (log.prompt_name == expected).all()


def test_prompt_registry_holds_each_version_once_with_its_text(night, warehouse):
    from nightdesk.stories.catalog import load_catalog

    log = _log(warehouse)
    registry = warehouse.query_df("SELECT * FROM prompt_registry WHERE prompt_version IN {v:Array(String)}",
                                  {"v": sorted(set(log.prompt_version))})
    assert registry.prompt_version.is_unique and set(registry.prompt_version) == set(log.prompt_version)
    by_version = registry.set_index("prompt_version")
    catalog = load_catalog()
    for _, g in log.drop_duplicates("prompt_version").iterrows():
        entry = by_version.loc[g.prompt_version]
        assert entry.prompt_name == g.prompt_name
        story = catalog.story_types[g.story_type]
        source = story.cover_prompt if g.content_kind == "cover" else story.templates[g.content_kind]
        assert source in entry.prompt_text  # the unrendered template, facts as placeholders
        assert entry.first_seen_at <= g.created_at


def test_stories_keep_their_first_selection_and_name_their_loads(night, warehouse):
    first, second = night.stories1, night.stories2
    assert first and set(first) == set(second)
    for story_id, (first_selected, selected) in second.items():
        assert first_selected == first[story_id][0], story_id
        assert selected > first[story_id][1], "the rerun selected the story again"
    loads = {b: s for b, s in warehouse.query_rows(
        "SELECT batch_id, source FROM load_log WHERE logical_date = {d:Date} AND status = 'ok'", {"d": DAY})}
    rows = warehouse.query_rows("SELECT story_type, load_ids FROM stories WHERE logical_date = {d:Date}", {"d": DAY})
    sources = {story_type: {loads[b] for b in ids} for story_type, ids in rows}
    assert sources["stock_movers"] == {"stock_prices"}
    assert sources["carrier_spotlight"] == {"flights", "airlines"}
    for story_type, ids in rows:
        # Exactly the load whose rows the raw table holds for the date, one per source.
        assert len(ids) == len(sources[story_type]), story_type


def test_check_time_is_logged_once_per_checked_generation(night, warehouse):
    checks = warehouse.query_df("SELECT generation_id, check_ms FROM draft_checks FINAL WHERE logical_date = {d:Date}",
                                {"d": DAY})
    assert len(checks) and (checks.check_ms > 0).all()
    assert (checks.groupby("generation_id").check_ms.nunique() == 1).all()


def test_device_prices_come_from_the_file_and_reload_adds_nothing(night, warehouse, tmp_path, monkeypatch):
    from nightdesk.warehouse.prices import DevicePricesError, load_device_prices, read_prices

    shipped = read_prices(WAREHOUSE_DIR / "device_prices.yml")
    held = {(d, f): p for d, f, p in warehouse.query_rows(
        "SELECT device, effective_from, usd_per_hour FROM device_prices FINAL")}
    assert {(p.device, p.effective_from): p.usd_per_hour for p in shipped}.items() <= held.items()
    assert held[("cpu", dt.date(2013, 1, 1))] == 0
    assert load_device_prices(warehouse) == 0  # the ELT runs loaded it already
    raised = tmp_path / "prices.yml"
    raised.write_text("prices:\n  - {device: cuda, usd_per_hour: 4.25, effective_from: 2013-01-01}\n")
    monkeypatch.setenv("NIGHTDESK_DEVICE_PRICES", str(raised))
    assert load_device_prices(warehouse) == 1 and load_device_prices(warehouse) == 0
    assert warehouse.scalar("SELECT usd_per_hour FROM device_prices FINAL WHERE device = 'cuda' "
                            "AND effective_from = '2013-01-01'") == 4.25
    assert load_device_prices(warehouse, WAREHOUSE_DIR / "device_prices.yml") == 1  # back to the shipped price
    bad = tmp_path / "bad.yml"
    bad.write_text("prices:\n  - {device: cuda, usd_per_hour: '<script>', effective_from: 2013-01-01}\n")
    with pytest.raises(DevicePricesError, match=r"bad\.yml: prices entry 1 \(cuda\): usd_per_hour"):
        load_device_prices(warehouse, bad)


def _regenerate(wh, draft_id: str) -> str:
    """A new attempt at one draft, written, checked and logged as the pipeline does; its generation id."""
    from nightdesk.content.qc import check_and_repair
    from nightdesk.content.records import RunContext, WorkItem, save
    from nightdesk.content.writers import TemplateTextWriter
    from nightdesk.stories import store
    from nightdesk.stories.catalog import load_catalog

    story_id, kind = draft_id.rsplit("/", 1)
    sheet = next(s for s in store.load(wh, DAY) if s.story_id == story_id)
    attempt = int(wh.scalar("SELECT attempt FROM drafts FINAL WHERE draft_id = {i:String}", {"i": draft_id}))
    [generation] = TemplateTextWriter(load_catalog()).write([WorkItem(sheet, kind, attempt + 1)])
    run = RunContext(DAY, "test", "regenerate")
    save(wh, run, [generation])
    check_and_repair(wh, run)
    return generation.generation_id


def test_decisions_keep_the_generation_decided_on_after_a_refresh(night, warehouse):
    from nightdesk.review.recheck import recheck, sibling_texts
    from nightdesk.review_flow.enqueue import enqueue_date
    from nightdesk.review_flow.events import export_events, store_name

    q = night.queue
    current = dict(warehouse.query_rows("SELECT draft_id, generation_id FROM drafts FINAL WHERE logical_date = {d:Date}",
                                        {"d": DAY}))
    items = {i.draft_id: i for i in q.list(limit=1000)}
    assert {d: i.generation_id for d, i in items.items()} == current
    edited, rejected = sorted(d for d, i in items.items() if i.kind == "headline" and i.qc_passed)[:2]
    head = items[edited]
    text = head.text + " — the figures"
    passed, qc = recheck(head, text, sibling_texts(q, head))
    q.edit(edited, EDITOR, head.version, text, qc_passed=passed, qc_json=qc)
    q.reject(rejected, EDITOR, items[rejected].version, "wrong angle")

    new = {d: _regenerate(warehouse, d) for d in (edited, rejected)}
    # The new attempts used prompt versions already registered: nothing registered twice.
    assert warehouse.scalar("SELECT count() FROM prompt_registry") == night.registry1
    report = enqueue_date(warehouse, DAY, q)
    assert (report.refreshed, report.kept) == (1, 1)
    assert q.get(edited).generation_id == new[edited]  # undecided: refreshed with the new generation
    assert q.get(rejected).generation_id == current[rejected]  # decided: kept as the editor left it
    refreshed = q.get(edited)
    if refreshed.qc_passed:
        q.approve(edited, EDITOR, refreshed.version)
    history = {d: [(e.action, e.generation_id, e.details) for e in q.history(d)] for d in (edited, rejected)}
    assert [(a, g) for a, g, _ in history[rejected]] == [("enqueue", current[rejected]), ("reject", current[rejected])]
    actions = [(a, g) for a, g, _ in history[edited]]
    assert actions[:3] == [("enqueue", current[edited]), ("edit", current[edited]), ("enqueue", new[edited])]
    assert history[edited][2][2]["replaced_generation_id"] == current[edited]
    assert all(g == new[edited] for _, g in actions[3:])

    export_events(warehouse, q, url=night.url)
    exported = warehouse.query_rows(
        "SELECT event_id, generation_id FROM review_events FINAL WHERE review_store = {s:String}",
        {"s": store_name(night.url)})
    assert dict(exported) == {e.id: e.generation_id for e in q.events_since(0)}
    assert all(g for _, g in exported)


def test_a_store_at_0002_is_upgraded_with_its_rows(review_url):
    from nightdesk.review import schema
    from nightdesk.review.queue import ReviewQueue
    from nightdesk.review.views import NewItem

    now = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
    draft_id = "stock_movers/2013-01-30/AAPL/headline"
    engine = sa.create_engine(review_url)
    with engine.begin() as conn:
        schema.upgrade(conn, "0002")
        items = sa.Table("review_items", sa.MetaData(), autoload_with=conn)
        conn.execute(sa.insert(items).values(
            draft_id=draft_id, logical_date=DAY, story_id=draft_id.rsplit("/", 1)[0], story_type="stock_movers",
            kind="headline", text="AAPL fell 2.1% 🚀 ‏עברית", original_text="AAPL fell 2.1%", media_relpath="",
            media_sha256="", facts_json="{}", qc_passed=True, qc_json="[]", attempts_json="[]", attempts=1,
            generator="template", model_id="template", writer="template", fallback=False, failed_attempts=0,
            verified_json="[]", state="approved", version=3, decided_by="ann", decided_at=now, created_at=now,
            updated_at=now))
        conn.execute(sa.insert(items).values(
            draft_id=QUEUED_ID, logical_date=DAY, story_id=QUEUED_ID.rsplit("/", 1)[0], story_type="stock_movers",
            kind="brief", text="AAPL fell.", original_text="AAPL fell.", media_relpath="", media_sha256="",
            facts_json="{}", qc_passed=True, qc_json="[]", attempts_json="[]", attempts=1, generator="template",
            model_id="template", writer="template", fallback=False, failed_attempts=0, verified_json="[]",
            state="queued", version=1, created_at=now, updated_at=now))
        audit = sa.Table("review_audit", sa.MetaData(), autoload_with=conn)
        conn.execute(sa.insert(audit).values(draft_id=draft_id, actor="ann", action="approve", from_state="queued",
                                             to_state="approved", at=now, details='{"edited": true}'))
    engine.dispose()
    queue = ReviewQueue(review_url, clock=lambda: now)  # opening upgrades to the head
    try:
        item = queue.get(draft_id)
        assert (item.text, item.state, item.version, item.decided_by) == ("AAPL fell 2.1% 🚀 ‏עברית", "approved", 3, "ann")
        assert item.generation_id == ""
        [event] = queue.history(draft_id)
        assert (event.action, event.details, event.generation_id) == ("approve", {"edited": True}, "")
        # Enqueued again by the pipeline, unchanged: it gains its generation id, nothing else.
        same = NewItem(draft_id=QUEUED_ID, logical_date=DAY, story_id=QUEUED_ID.rsplit("/", 1)[0],
                       story_type="stock_movers", kind="brief", text="AAPL fell.", facts_json="{}", qc_passed=True,
                       qc_json="[]", attempts=1, generator="template", model_id="template", writer="template",
                       fallback=False, failed_attempts=0, generation_id="0f" * 16)
        assert queue.enqueue([same]).unchanged == 1
        after = queue.get(QUEUED_ID)
        assert (after.generation_id, after.version, queue.history(QUEUED_ID)) == ("0f" * 16, 1, [])
    finally:
        queue.close()
    engine = sa.create_engine(review_url)
    with engine.connect() as conn:
        assert schema.current(conn) == schema.head()
    engine.dispose()


def test_status_names_call_errors_and_check_failures_apart(night, warehouse, capsys):
    from nightdesk.cli import main

    assert main(["status", "--start", DAY.isoformat(), "--end", DAY.isoformat()]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if "call_errors" in line)
    assert header.split() == ["logical_date", "content_kind", "generator", "model_id", "generated", "call_errors",
                              "checks_failed", "fallbacks", "output_tokens", "device_s"]
    assert " failed " not in f" {header} "
