"""The ELT DAG end to end through Airflow on the embedded warehouse.

Counts per layer are compared with the sources themselves: the operational database,
the weather CSV and the stock-price file. These tests own the dates 2013-02-25 .. 03-01.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

from nightdesk.sources.catalog import load_sources

DAY = dt.date(2013, 3, 1)
LAYER_TABLES = {
    "raw_flights": "_logical_date", "raw_weather": "_logical_date", "raw_stock_prices": "_logical_date",
    "raw_airlines": "_logical_date", "stg_flights": "flight_date", "stg_weather_hourly": "obs_date",
    "stg_stock_prices": "trade_date", "mart_carrier_daily": "flight_date",
    "mart_airport_daily": "flight_date", "mart_stock_daily": "trade_date",
}


def _counts(wh, day: dt.date) -> dict[str, int]:
    return {
        t: wh.scalar("SELECT count() FROM {t:Identifier} WHERE {c:Identifier} = {d:Date}", {"t": t, "c": c, "d": day})
        for t, c in LAYER_TABLES.items()
    }


def _source_rows(ops_db: str, day: dt.date) -> dict[str, int]:
    engine = sa.create_engine(ops_db)
    with engine.connect() as conn:
        flights = conn.execute(sa.text("SELECT count(*) FROM flights WHERE flight_date = :d"), {"d": day.isoformat()}).scalar_one()
        airlines = conn.execute(sa.text("SELECT count(*) FROM airlines")).scalar_one()
    engine.dispose()
    weather = pd.read_csv(load_sources()["weather"].reader.resolved_url(day))
    stocks = pd.read_csv(load_sources()["stock_prices"].reader.resolved_url(day))
    return {
        "flights": flights,
        "airlines": airlines,
        "weather": int(((weather.year == day.year) & (weather.month == day.month) & (weather.day == day.day)).sum()),
        "stock_prices": int((stocks.Date == day.isoformat()).sum()),
    }


@pytest.fixture(scope="module")
def first_run(warehouse, ops_db, airflow_db):
    from nightdesk.runner import run_dag

    outcome = run_dag("nightdesk_elt", DAY)
    return outcome, _counts(warehouse, DAY)


def test_run_succeeds_through_airflow(first_run):
    outcome, _ = first_run
    assert outcome.ok, outcome.failed_tasks


def test_row_counts_per_layer_match_the_sources(first_run, ops_db, warehouse):
    _, counts = first_run
    source = _source_rows(ops_db, DAY)
    assert source["flights"] > 900 and source["weather"] == 72 and source["stock_prices"] == 5
    assert counts["raw_flights"] == counts["stg_flights"] == source["flights"]
    assert counts["raw_weather"] == counts["stg_weather_hourly"] == source["weather"]
    assert counts["raw_stock_prices"] == counts["stg_stock_prices"] == counts["mart_stock_daily"] == source["stock_prices"]
    assert counts["raw_airlines"] == source["airlines"]
    mart_flights = warehouse.scalar("SELECT sum(flights) FROM mart_carrier_daily WHERE flight_date = {d:Date}", {"d": DAY})
    assert mart_flights == source["flights"]
    assert counts["mart_airport_daily"] == 3
    loads = warehouse.query_df(
        "SELECT source, argMax(rows_extracted, finished_at) AS e, argMax(rows_loaded, finished_at) AS l, "
        "argMax(rows_quarantined, finished_at) AS q FROM load_log WHERE logical_date = {d:Date} GROUP BY source",
        {"d": DAY},
    ).set_index("source")
    for name, rows in source.items():
        assert loads.loc[name, "e"] == rows == loads.loc[name, "l"] + loads.loc[name, "q"]


def test_rerun_of_the_same_date_gives_the_same_counts(first_run, warehouse):
    from nightdesk.runner import run_dag

    _, before = first_run
    assert run_dag("nightdesk_elt", DAY).ok
    assert _counts(warehouse, DAY) == before


def test_backfill_of_three_days_gives_three_days(first_run, warehouse):
    from nightdesk.cli import main

    assert main(["backfill", "--start", "2013-02-25", "--end", "2013-02-27"]) == 0
    days = warehouse.query_rows(
        "SELECT DISTINCT flight_date FROM mart_carrier_daily WHERE flight_date BETWEEN '2013-02-25' AND '2013-02-27' ORDER BY 1"
    )
    assert [d for (d,) in days] == [dt.date(2013, 2, 25), dt.date(2013, 2, 26), dt.date(2013, 2, 27)]
    per_day = warehouse.query_rows(
        "SELECT _logical_date, count(), uniqExact(flight_id) FROM raw_flights "
        "WHERE _logical_date BETWEEN '2013-02-25' AND '2013-02-27' GROUP BY 1 ORDER BY 1"
    )
    assert all(n == unique and n > 900 for _, n, unique in per_day) and len(per_day) == 3


def test_marts_asset_is_updated_with_the_logical_date(first_run):
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as session:
        extras = [e.extra for e in session.query(AssetEvent).all() if e.asset.uri == "nightdesk://warehouse/marts"]
    assert {"logical_date": DAY.isoformat()} in extras
