"""The figure recount (benchmarks/figure_recount.py) against a real night of templated drafts.

Two days of ELT and one content run with the template writer; every figure of the passing
drafts must recount correct from the raw tables. A passing draft whose fact sheet (and so
its text) is off by one flight, or whose share price went the other way, passes the fact
check but must not pass the recount.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import figure_recount  # noqa: E402

from nightdesk.checks.facts import bind  # noqa: E402
from nightdesk.stories.factsheet import Fact, FactSheet, format_value  # noqa: E402

EARLIER, DAY = dt.date(2013, 1, 22), dt.date(2013, 1, 23)  # Tuesday, Wednesday: a previous close


@pytest.fixture(scope="module")
def night(template_night, warehouse):
    _, _, run_dag = template_night
    assert run_dag("nightdesk_elt", EARLIER).ok
    assert run_dag("nightdesk_elt", DAY).ok
    assert run_dag("nightdesk_content", DAY).ok
    return warehouse


def test_every_templated_figure_recounts_correct(night):
    report = figure_recount.recount(night, [DAY])
    assert report.drafts >= 12 and report.figures > 0
    assert report.ok, report.table()
    kinds = report.counts()
    assert {t for t, _ in kinds} >= {"carrier_spotlight", "daily_operations", "stock_movers"}
    assert sum(c["correct"] for c in kinds.values()) > 0
    assert "flight_date" in report.skipped["daily_operations"]


def test_airport_facts_recount_to_the_mart(night):
    """No airport story on a day without a week of history, so its SQL is checked here:
    the raw recount of each airport's day agrees with its mart row."""
    marts = night.query_df("SELECT * FROM mart_airport_daily WHERE flight_date = {d:Date}", {"d": DAY})
    assert len(marts) == 3
    for row in marts.itertuples():
        sheet = FactSheet(f"airport_delay_anomaly/{DAY}/{row.airport}", "airport_delay_anomaly", str(DAY), "", ())
        raw = figure_recount.recount_facts(night, sheet, {"window_days": 7})
        assert (raw["scheduled"], raw["departures"], raw["cancelled"], raw["diverted"]) == (
            row.departures, row.departed, row.cancelled, row.diverted)
        assert round(raw["on_time_pct"], 1) == pytest.approx(row.dep_on_time_pct)
        assert round(raw["avg_dep_delay_min"], 1) == pytest.approx(row.avg_dep_delay_min)
        assert round(raw["total_precip_in"], 2) == pytest.approx(row.total_precip_in)
        assert raw["trailing_days"] == 1 and raw["delay_z"] is None


def _passing(wh, story_type: str, kind: str) -> pd.Series:
    rows = wh.query_df(
        "SELECT * FROM drafts FINAL WHERE logical_date = {d:Date} AND story_type = {t:String} "
        "AND content_kind = {k:String} AND status = 'checked_ok' ORDER BY story_id LIMIT 1",
        {"d": DAY, "t": story_type, "k": kind})
    assert len(rows) == 1, f"no passing {story_type} {kind} on {DAY}"
    return rows.iloc[0]


def _tampered(wh, draft: pd.Series, sheet: FactSheet, text: str, suffix: str):
    """Insert ``draft`` again as a passing draft with ``sheet`` and ``text``; yield its id."""
    assert not bind(text, sheet).findings, "the tampered draft must still pass the fact check"
    row = draft.to_dict() | {"draft_id": f"{draft['draft_id']}/{suffix}", "text": text,
                             "facts_json": sheet.to_json(), "created_at": pd.Timestamp.now(tz="UTC")}
    wh.insert_df("drafts", pd.DataFrame([row]))
    try:
        yield row["draft_id"]
    finally:
        wh.command("ALTER TABLE drafts DELETE WHERE draft_id = {i:String} SETTINGS mutations_sync = 1",
                   {"i": row["draft_id"]})


def _with(sheet: FactSheet, **values) -> FactSheet:
    facts = tuple(dataclasses.replace(f, value=values[f.name],
                                      display=format_value(f.kind, values[f.name], f.decimals, f.unit))
                  if f.name in values else f for f in sheet.facts)
    return dataclasses.replace(sheet, facts=facts)


@pytest.fixture
def one_flight_more(night):
    """A carrier brief whose sheet and text say one more scheduled flight than there were."""
    draft = _passing(night, "carrier_spotlight", "brief")
    sheet = FactSheet.from_json(draft["facts_json"])
    flights: Fact = sheet.get("flights")
    wrong = _with(sheet, flights=int(flights.value) + 1)
    assert flights.display in draft["text"]
    text = draft["text"].replace(flights.display, wrong.get("flights").display, 1)
    yield from _tampered(night, draft, wrong, text, "one-more")


@pytest.fixture
def reversed_move(night):
    """A stock brief whose sheet and text say the price went the other way."""
    draft = _passing(night, "stock_movers", "brief")
    sheet = FactSheet.from_json(draft["facts_json"])
    said, other = (("rose", "fell") if sheet.get("direction").value == "rose" else ("fell", "rose"))
    flipped = _with(sheet, change_pct=-float(sheet.get("change_pct").value), direction=other)
    yield from _tampered(night, draft, flipped, draft["text"].replace(f" {said} ", f" {other} ", 1), "reversed")


def test_a_figure_off_by_one_is_wrong(night, one_flight_more):
    report = figure_recount.recount(night, [DAY])
    problems = report.problems()
    assert [(p.draft_id, p.fact, p.verdict) for p in problems] == [(one_flight_more, "flights", "wrong")]
    assert "WRONG" in report.table() and problems[0].text in report.table()
    assert figure_recount.main(["--dates", DAY.isoformat()]) == 1


def test_a_move_the_other_way_is_reversed(night, reversed_move):
    problems = figure_recount.recount(night, [DAY]).problems()
    assert [(p.draft_id, p.fact, p.verdict) for p in problems] == [(reversed_move, "change_pct", "reversed")]


def test_bad_dates_are_refused_with_their_column():
    with pytest.raises(SystemExit, match=r"'2013-02-30' at column 12"):
        figure_recount.main(["--dates", "2013-02-01,2013-02-30"])


def test_a_figure_the_raw_tables_give_another_fact_is_misbound():
    """A sheet whose two percentages were swapped upstream: the text agrees with the sheet,
    so the fact check passes it, but the raw tables say each figure is the other fact's."""
    from nightdesk.stories.catalog import load_catalog

    story = load_catalog().story_types["stock_movers"]
    values = {"trade_date": "2013-03-01", "ticker": "FB", "change_pct": 1.94, "abs_change_pct": 1.94,
              "direction": "rose", "volume_vs_avg_pct": 23.9}
    facts = tuple(Fact(f.name, f.kind, values.get(f.name), format_value(f.kind, values.get(f.name), f.decimals, f.unit),
                       f.unit, f.decimals, f.label, f.names, f.directions) for f in story.facts)
    sheet = FactSheet("stock_movers/2013-03-01/FB", "stock_movers", "2013-03-01", "t", facts)
    text = "FB shares rose 1.94% on March 1, 2013, and volume was 23.9% above its average."
    assert bind(text, sheet).findings == ()
    raw = {"change_pct": 23.9, "abs_change_pct": 23.9, "volume_vs_avg_pct": 1.94}
    verdicts = figure_recount.recount_draft(text, sheet, raw, kind="brief")
    assert {(v.written, v.verdict) for v in verdicts if v.written.endswith("%")} == {
        ("1.94%", "misbound"), ("23.9%", "misbound")}
