"""The analysts' warehouse: views, comparisons, cookbook, CLI output, report and schema page.

One module-scoped night, made by the real pipeline through Airflow: ELT for two dates,
content for the first on the templates and for the second on a tiny random language
model (so checks fail, drafts are regenerated and fall back to the templates), editors'
decisions through the review queue's API, and the publish DAG. Every view's numbers are
compared with counts computed here, in Python, from the base tables' raw rows (no FINAL,
deduplicated by each table's key) and from the review store itself. Then the content and
publish runs of the second date are re-executed, the second date's rows of every
ReplacingMergeTree table are written again (as a killed task leaves them), and every view
must read the same.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter, defaultdict
from html.parser import HTMLParser

import pandas as pd
import pytest

from nightdesk.analytics.cookbook import recipes
from nightdesk.settings import PROJECT_ROOT

DAY1, DAY2 = dt.date(2013, 2, 4), dt.date(2013, 2, 5)  # a Monday and Tuesday no other test uses
EMPTY = (dt.date(2013, 11, 4), dt.date(2013, 11, 8))  # a range with no content at all
EDIT = " — the figures"
HOSTILE = "<script>alert('x')</script> ‏مرفوض 🚫 &amp;"
SCHEMA_DOC = PROJECT_ROOT / "docs" / "warehouse-schema.md"
MIGRATIONS = PROJECT_ROOT / "warehouse" / "migrations"


class Night:
    """What the module fixture made and saw."""


def _decide(queue) -> None:
    """Editors' decisions, as the review UI makes them: one headline edited (the check
    re-run on the new text, as the UI does) then approved, the headline and brief of three
    more stories approved, marketing lines rejected with a reason (one reason hostile),
    the rest left undecided."""
    from nightdesk.review.recheck import recheck, sibling_texts

    items = sorted(queue.list(limit=1000), key=lambda i: i.draft_id)
    passing = sorted({i.story_id for i in items if i.qc_passed and i.kind == "headline"}
                     & {i.story_id for i in items if i.qc_passed and i.kind == "brief"})
    for story_id in passing:
        head = queue.get(f"{story_id}/headline")
        passed, qc = recheck(head, head.text + EDIT, sibling_texts(queue, head))
        if passed:
            queue.edit(head.draft_id, "dana", head.version, head.text + EDIT, qc_passed=passed, qc_json=qc)
            break
    else:
        raise AssertionError("no headline accepts the edit")
    for n, sid in enumerate([story_id] + [s for s in passing if s != story_id][:3]):
        for kind in ("headline", "brief"):
            item = queue.get(f"{sid}/{kind}")
            queue.approve(item.draft_id, "dana" if n % 2 == 0 else "lee", item.version)
    marketing = [i for i in items if i.kind == "marketing"][:6]
    for n, item in enumerate(marketing):
        queue.reject(item.draft_id, "lee", item.version, HOSTILE if n == 0 else "invents names")


def _snapshot(wh) -> dict[str, list[tuple]]:
    """Every analyst view's rows for the module's dates, sorted (the rerun must not change them)."""
    from nightdesk.analytics import analyst_views

    out = {}
    for view in analyst_views(wh):
        df = wh.query_df(f"SELECT * FROM {view} WHERE logical_date IN ({{a:Date}}, {{b:Date}})", {"a": DAY1, "b": DAY2})
        out[view] = sorted(map(repr, df.astype(str).itertuples(index=False)))
    return out


@pytest.fixture(scope="module")
def night(template_night, warehouse, tmp_path_factory):
    from generators.random_models import build_tiny_causal_lm
    from nightdesk.review.queue import ReviewQueue

    n = Night()
    n.url, n.out, run_dag = template_night
    lm = build_tiny_causal_lm(tmp_path_factory.mktemp("analyst-lm") / "lm")
    for day in (DAY1, DAY2):
        assert run_dag("nightdesk_elt", day).ok
    assert run_dag("nightdesk_content", DAY1).ok
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NIGHTDESK_TEXT_MODEL", str(lm))
        assert run_dag("nightdesk_content", DAY2).ok
        n.queue = ReviewQueue(n.url)
        _decide(n.queue)
        assert run_dag("nightdesk_publish", DAY2).ok
        n.before = _snapshot(warehouse)
        assert run_dag("nightdesk_content", DAY2).ok  # the same night re-executed
        assert run_dag("nightdesk_publish", DAY2).ok
    for table in ("generation_log", "drafts", "draft_checks", "review_events"):
        # what a task killed between insert and acknowledgement leaves: the same rows again
        warehouse.command(f"INSERT INTO {table} SELECT * FROM {table} FINAL WHERE logical_date = {{d:Date}}", {"d": DAY2})
    n.after = _snapshot(warehouse)
    n.items = {i.draft_id: i for i in n.queue.list(limit=1000)}
    yield n


# -- independent counts from the base tables' raw rows --------------------------------------

def _latest(wh, table: str, key: list[str], version: str, columns: str = "*") -> pd.DataFrame:
    """The table's raw rows (no FINAL) for the module's dates, keeping the newest per key,
    as ReplacingMergeTree will once merged."""
    df = wh.query_df(f"SELECT {columns} FROM {table} WHERE logical_date IN ({{a:Date}}, {{b:Date}})",
                     {"a": DAY1, "b": DAY2})
    return df.sort_values(version).drop_duplicates(key, keep="last")


GEN_KEY = ["logical_date", "model_id", "prompt_template", "story_id", "content_kind", "facts_digest", "attempt", "status"]


@pytest.fixture(scope="module")
def base(night, warehouse):
    b = Night()
    b.gens = _latest(warehouse, "generation_log", GEN_KEY, "created_at")
    b.drafts = _latest(warehouse, "drafts", ["logical_date", "draft_id"], "created_at")
    b.checks = _latest(warehouse, "draft_checks", ["logical_date", "draft_id", "attempt", "check_name"], "checked_at")
    b.stories = warehouse.query_df("SELECT story_id, story_type, logical_date FROM stories "
                                   "WHERE logical_date IN ({a:Date}, {b:Date})", {"a": DAY1, "b": DAY2})
    b.pubs = warehouse.query_df("SELECT story_id, published_at FROM publications WHERE output_url = {u:String} "
                                "AND action = 'published'", {"u": str(night.out)})
    gen_of = b.gens.set_index("generation_id")
    b.variant = {d.draft_id: (gen_of.at[d.generation_id, "model_id"], gen_of.at[d.generation_id, "prompt_version"])
                 for d in b.drafts.itertuples()}
    return b


def _outcome(item) -> str:
    """The editors' outcome of a queue item, from the review store itself."""
    if item.state == "rejected":
        return "rejected"
    if item.state in ("approved", "edited_approved", "published", "withdrawn") and item.decided_by:
        return "approved_edited" if item.edited else "approved"
    return "undecided"


def _view(wh, sql: str) -> pd.DataFrame:
    return wh.query_df(sql, {"a": DAY1, "b": DAY2})


def test_the_night_has_what_the_views_must_count(night, base):
    """Guards the other tests: failures, fallbacks, two writers, decisions of every kind, publications."""
    assert (base.checks["passed"] == 0).any() and (base.drafts["fallback"] == 1).any()
    assert {"template"} < set(base.gens["model_id"])
    assert {_outcome(i) for i in night.items.values()} == {"approved", "approved_edited", "rejected", "undecided"}
    assert len(base.pubs) >= 2


def test_a_rerun_of_the_night_changes_no_view(night):
    assert set(night.before) >= {"analyst_generations", "analyst_drafts", "analyst_daily_model_prompt",
                                 "analyst_story_type_funnel", "analyst_check_failures", "analyst_published_items"}
    for view, rows in night.before.items():
        assert rows, view
        assert night.after[view] == rows, view


def test_generations_count_each_logged_generation_once(night, base, warehouse):
    view = _view(warehouse, "SELECT * FROM analyst_generations WHERE logical_date IN ({a:Date}, {b:Date})")
    assert len(view) == len(base.gens) and view["generation_id"].is_unique
    assert set(view["generation_id"]) == set(base.gens["generation_id"])
    by_id = base.gens.set_index("generation_id")
    assert view["device_seconds"].sum() == pytest.approx(by_id["device_seconds"].sum())
    prices = warehouse.query_df("SELECT device, effective_from, usd_per_hour, updated_at FROM device_prices")
    prices = prices.sort_values("updated_at").drop_duplicates(["device", "effective_from"], keep="last")
    for row in view.itertuples():
        day = pd.Timestamp(by_id.at[row.generation_id, "created_at"]).tz_localize(None).normalize()
        held = prices[(prices["device"] == row.device) & (prices["effective_from"] <= day)]
        want = held.sort_values("effective_from")["usd_per_hour"].iloc[-1] if len(held) else None
        if want is None:
            assert pd.isna(row.usd_per_hour) and pd.isna(row.cost_usd), row.generation_id
        else:
            assert row.usd_per_hour == want and row.cost_usd == pytest.approx(row.device_seconds / 3600 * want)


def test_daily_model_prompt_matches_base_tables_and_review_store(night, base, warehouse):
    view = _view(warehouse, "SELECT * FROM analyst_daily_model_prompt WHERE logical_date IN ({a:Date}, {b:Date})")
    key = ["logical_date", "model_id", "prompt_version", "content_kind"]
    ok = base.gens[base.gens["status"] == "ok"]
    verdict = base.checks.groupby("generation_id")["passed"].min()
    expected: dict[tuple, Counter] = defaultdict(Counter)
    for g in ok.itertuples():
        k = (g.logical_date, g.model_id, g.prompt_version, g.content_kind)
        expected[k].update(generations=1, input_tokens=g.input_tokens, output_tokens=g.output_tokens,
                           fallbacks=g.fallback, checked=int(g.generation_id in verdict),
                           checks_passed=int(verdict.get(g.generation_id, 0) == 1))
    for d in base.drafts.itertuples():
        model, prompt = base.variant[d.draft_id]
        outcome = _outcome(night.items[d.draft_id])
        expected[(d.logical_date, model, prompt, d.content_kind)].update(
            drafts=1, decided=int(outcome != "undecided"), **{outcome: 1})
    rows = {tuple(r[c] for c in key): r for r in view.to_dict("records")}
    assert set(rows) == set(expected)
    for k, want in expected.items():
        got = rows[k]
        for column in ("generations", "input_tokens", "output_tokens", "fallbacks", "checked", "checks_passed",
                       "drafts", "decided", "rejected"):
            assert got[column] == want[column], (k, column)
        assert got["approved_unedited"] == want["approved"] and got["approved_edited"] == want["approved_edited"], k
        if want["decided"]:
            assert got["acceptance_rate"] == pytest.approx((want["approved"] + want["approved_edited"]) / want["decided"])
    assert view["approved_edited"].sum() == 1 and view["edit_distance"].sum() == len(EDIT)


def test_decisions_name_the_generation_the_editor_decided_on(warehouse):
    view = _view(warehouse, "SELECT generation_id, decided_generation_id FROM analyst_drafts "
                            "WHERE logical_date IN ({a:Date}, {b:Date}) AND outcome != 'undecided'")
    assert len(view) and (view["decided_generation_id"] == view["generation_id"]).all()


def test_latency_percentiles_are_those_of_the_calls(base, warehouse):
    view = _view(warehouse, "SELECT model_id, content_kind, latency_p50_ms, latency_p95_ms, latency_p99_ms "
                            "FROM analyst_daily_model_prompt WHERE logical_date = {b:Date}")
    ok = base.gens[(base.gens["status"] == "ok") & (base.gens["logical_date"] == pd.Timestamp(DAY2))]
    for row in view.itertuples():
        values = sorted(ok[(ok["model_id"] == row.model_id) & (ok["content_kind"] == row.content_kind)]["latency_ms"])
        assert values[0] <= row.latency_p50_ms <= row.latency_p95_ms <= row.latency_p99_ms <= values[-1]
        assert {row.latency_p50_ms, row.latency_p95_ms, row.latency_p99_ms} <= set(values)


def test_daily_checks_count_each_check_of_each_generation(base, warehouse):
    view = _view(warehouse, "SELECT check_name, sum(checked) AS checked, sum(passes) AS passes "
                            "FROM analyst_daily_checks WHERE logical_date IN ({a:Date}, {b:Date}) GROUP BY check_name")
    want = base.checks.groupby("check_name")["passed"].agg(["count", "sum"])
    assert {r.check_name: (r.checked, r.passes) for r in view.itertuples()} == {
        name: (int(c), int(s)) for name, (c, s) in want.iterrows()}


def test_check_failures_list_every_failing_finding(base, warehouse):
    view = _view(warehouse, "SELECT check_name, count() AS n FROM analyst_check_failures "
                            "WHERE logical_date IN ({a:Date}, {b:Date}) GROUP BY check_name")
    want: Counter = Counter()
    for c in base.checks[base.checks["passed"] == 0].itertuples():
        fails = [f for f in json.loads(c.findings_json) if f.get("severity", "fail") != "warn"]
        want[c.check_name] += max(len(fails), 1)
    assert dict(zip(view["check_name"], view["n"])) == dict(want)
    reasons = _view(warehouse, "SELECT reason FROM analyst_check_failures WHERE logical_date = {b:Date}")["reason"]
    assert not any(re.search(r"\d", r) for r in reasons)  # figures blanked, so one rule ranks as one reason


def test_story_type_funnel_counts_stories_at_each_stage(night, base, warehouse):
    view = _view(warehouse, "SELECT * FROM analyst_story_type_funnel WHERE logical_date IN ({a:Date}, {b:Date})")
    by_story: dict[str, set[str]] = defaultdict(set)
    reasons: dict[tuple, set[str]] = defaultdict(set)
    for item in night.items.values():
        by_story[item.story_id].add(_outcome(item))
        if item.state == "rejected":
            reasons[(pd.Timestamp(item.logical_date), item.story_type)].add(item.reject_reason)
    published = set(base.pubs["story_id"])
    for row in view.itertuples():
        stories = base.stories[(base.stories["logical_date"] == row.logical_date)
                               & (base.stories["story_type"] == row.story_type)]["story_id"]
        assert row.stories_found == len(stories) == row.stories_drafted
        assert row.stories_approved == sum(bool(by_story[s] & {"approved", "approved_edited"}) for s in stories)
        assert row.stories_rejected == sum("rejected" in by_story[s] for s in stories)
        assert row.stories_published == len(published & set(stories))
        assert set(row.reject_reasons) == reasons[(row.logical_date, row.story_type)]
    assert HOSTILE in {r for rs in view["reject_reasons"] for r in rs}


def test_published_items_time_from_landing_and_regenerations(night, base, warehouse):
    view = warehouse.query_df("SELECT * FROM analyst_published_items WHERE output_url = {u:String}",
                              {"u": str(night.out)})
    loads = warehouse.query_df("SELECT source, logical_date, finished_at FROM load_log WHERE status = 'ok' "
                               "AND logical_date IN ({a:Date}, {b:Date})", {"a": DAY1, "b": DAY2})
    landed = loads.groupby(["logical_date", "source"])["finished_at"].min().groupby("logical_date").max()
    first = base.pubs.groupby("story_id")["published_at"].min()
    assert set(view["story_id"]) == set(first.index)
    for row in view.itertuples():
        want_s = int((first[row.story_id] - landed[row.logical_date]).total_seconds())
        assert abs(row.landing_to_publish_s - want_s) <= 1  # dateDiff counts whole-second boundaries
        drafts = base.drafts[base.drafts["story_id"] == row.story_id]
        assert row.regenerations == int((drafts["attempt"] - 1).sum())
        assert row.generations == int((base.gens["story_id"] == row.story_id).sum())


# -- comparisons, notebook, CLI ---------------------------------------------------------------

def test_compare_two_models_gives_the_counts_behind_each_rate(night, warehouse, base, tmp_path):
    from nightdesk.analytics.compare import compare
    from nightdesk.cli import main

    lm = next(m for m in base.gens["model_id"] if m.endswith("/lm"))
    df = compare("model", "template", lm, DAY1, DAY2, wh=warehouse)
    assert list(df["variant"]) == ["template", lm]
    daily = _view(warehouse, "SELECT * FROM analyst_daily_model_prompt WHERE logical_date IN ({a:Date}, {b:Date})")
    for row in df.itertuples():
        part = daily[daily["model_id"] == row.variant]
        assert (row.generations, row.decided, row.checked, row.checks_passed) == tuple(
            int(part[c].sum()) for c in ("generations", "decided", "checked", "checks_passed"))
        if row.checked:
            assert row.pass_rate == pytest.approx(row.checks_passed / row.checked, abs=1e-3)
    with pytest.raises(ValueError, match="there are: .*template"):
        compare("model", "template", "no-such-model", DAY1, DAY2, wh=warehouse)
    out = tmp_path / "ab.csv"
    assert main(["compare", "--by", "model", "--a", "template", "--b", lm, "--start", str(DAY1), "--end", str(DAY2),
                 "--format", "csv", "--output", str(out)]) == 0
    assert pd.read_csv(out)["generations"].tolist() == df["generations"].tolist()


def test_notebook_frame_returns_a_view_for_a_range(night, warehouse):
    from nightdesk.analytics import frame

    df = frame("daily_model_prompt", start=str(DAY2), end=DAY2, wh=warehouse)
    assert len(df) and set(df["logical_date"].dt.date) == {DAY2}
    with pytest.raises(ValueError, match="no analyst view 'drafts_final'; the views are: .*daily_model_prompt"):
        frame("drafts_final", wh=warehouse)


def test_query_prints_a_table_and_writes_csv_and_parquet(night, tmp_path, capsys):
    from nightdesk.cli import main

    sql = f"SELECT content_kind, count() AS n FROM analyst_drafts WHERE logical_date = '{DAY2}' GROUP BY content_kind"
    assert main(["query", sql]) == 0
    assert "content_kind" in capsys.readouterr().out
    assert main(["query", sql, "--format", "csv", "--output", str(tmp_path / "k.csv")]) == 0
    assert main(["query", sql, "--format", "parquet", "--output", str(tmp_path / "k.parquet")]) == 0
    csv, parquet = pd.read_csv(tmp_path / "k.csv"), pd.read_parquet(tmp_path / "k.parquet")
    assert sorted(csv["content_kind"]) == sorted(parquet["content_kind"]) and csv["n"].sum() == parquet["n"].sum() > 0
    capsys.readouterr()
    assert main(["query", sql, "--format", "parquet"]) == 2
    assert "give --output" in capsys.readouterr().out


# -- cookbook ---------------------------------------------------------------------------------

def test_cookbook_page_is_rendered_from_the_sql_files():
    from nightdesk.analytics.cookbook import DOC, render

    assert len(recipes()) == 10
    assert DOC.read_text() == render(), "run: python -m nightdesk.analytics.cookbook"


@pytest.mark.parametrize("recipe", [r.path.name for r in recipes()])
def test_cookbook_query_answers_on_the_night(night, warehouse, recipe):
    from nightdesk.analytics.cookbook import COOKBOOK_DIR
    from nightdesk.analytics.views import sql_frame

    df = sql_frame(COOKBOOK_DIR / recipe, {"start": DAY1, "end": DAY2}, warehouse)
    assert len(df), recipe
    empty = sql_frame(COOKBOOK_DIR / recipe, {"start": EMPTY[0], "end": EMPTY[1]}, warehouse)
    assert len(empty) == 0 and list(empty.columns) == list(df.columns)


def test_cookbook_edits_by_editor_match_the_audit_trail(night, warehouse):
    from nightdesk.analytics.cookbook import COOKBOOK_DIR
    from nightdesk.analytics.views import sql_frame

    df = sql_frame(COOKBOOK_DIR / "10_edits_by_editor.sql", {"start": DAY1, "end": DAY2}, warehouse)
    events = [e for e in night.queue.events_since(0) if e.action in ("edit", "approve", "reject")]
    got = {r.editor: (r.edits, r.approvals, r.rejections) for r in df.itertuples()}
    want = {actor: tuple(sum(e.actor == actor and e.action == a for e in events) for a in ("edit", "approve", "reject"))
            for actor in {e.actor for e in events}}
    assert got == want


# -- report -----------------------------------------------------------------------------------

class _Page(HTMLParser):
    """Sections with their svg/table counts, and every attribute that could fetch something."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, Counter] = {}
        self.current: str | None = None
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.current = attrs.get("id")
            self.sections[self.current] = Counter()
        elif self.current:
            self.sections[self.current][tag] += 1
        self.links += [v for k, v in attrs.items() if k in ("src", "href", "xlink:href", "srcset", "action") and v]


@pytest.mark.parametrize("dates", [(DAY1, DAY2), EMPTY], ids=["with-data", "empty"])
def test_report_is_one_offline_file_with_every_chart_and_its_table(night, dates, tmp_path):
    from nightdesk.cli import main

    out = tmp_path / "report.html"
    assert main(["report", "--start", str(dates[0]), "--end", str(dates[1]), "--output", str(out)]) == 0
    text = out.read_text()
    page = _Page()
    page.feed(text)
    page.close()
    assert set(page.sections) == {"acceptance", "pass-rate", "latency", "cost", "failures"}
    for name, tags in page.sections.items():
        assert tags["svg"] == 1 and tags["table"] == 1 and tags["th"] >= 2, name
        assert (tags["td"] > 1) == (dates != EMPTY), name
    assert page.links == [] and not re.search(r"https?:|//[a-z]|url\(|@import", text, re.I)
    assert "<script" not in text.lower()


def test_chart_labels_from_data_are_escaped():
    from nightdesk.analytics import svg

    drawn = svg.hbar_chart([HOSTILE], [3], label=HOSTILE) + svg.line_chart(["01-29"], {HOSTILE: [0.5]}, label="x")
    assert "<script" not in drawn and "&lt;script&gt;" in drawn


# -- the schema page --------------------------------------------------------------------------

def _documented() -> dict[str, dict[str, str]]:
    """Table/view -> column -> type, from the schema page's '### name' headings and column tables."""
    tables: dict[str, dict[str, str]] = {}
    current = None
    for line in SCHEMA_DOC.read_text().splitlines():
        if m := re.match(r"^### `(\w+)`", line):
            current = tables.setdefault(m.group(1), {})
        elif current is not None and (m := re.match(r"^\| `(\w+)` \| `([^`]+)` \|", line)):
            current[m.group(1)] = m.group(2)
    return tables


def _project_tables() -> set[str]:
    """The tables and views the project's migrations create (raw/staging layers excluded:
    they mirror the source files' schemas and are the pipeline's, not the analysts')."""
    names = set()
    for path in MIGRATIONS.glob("*.sql"):
        names |= set(re.findall(r"CREATE (?:TABLE IF NOT EXISTS|OR REPLACE VIEW) (\w+)", path.read_text()))
    return {n for n in names if not n.startswith(("raw_", "stg_"))}


def test_schema_page_documents_every_column_of_the_live_schema(warehouse):
    documented = _documented()
    assert _project_tables() <= set(documented), sorted(_project_tables() - set(documented))
    live = defaultdict(dict)
    for table, column, type_ in warehouse.query_rows(
            "SELECT table, name, type FROM system.columns WHERE database = currentDatabase() "
            "AND table IN {t:Array(String)}", {"t": sorted(documented)}):
        live[table][column] = type_
    for table, columns in documented.items():
        assert columns == live[table], f"docs/warehouse-schema.md, table {table}: update its column table"
