"""Stories that are news, figures that say what they count (issue 8, point 5).

Real chDB warehouse: crafted rows go through the real staging and mart SQL, or straight
into the marts, on dates of 2014 that no source holds, so no other test sees them.
"""

from __future__ import annotations

import datetime as dt
import shutil

import pandas as pd
import pytest

from nightdesk.stories.catalog import STORIES_DIR, StoryDeclarationError, load_catalog
from nightdesk.stories.select import select_day
from nightdesk.elt.transform import discover, run_model

ANOMALY = "airport_delay_anomaly"
HISTORY = [10.0, 12.0, 9.0, 11.0, 10.0, 13.0, 8.0]  # mean 10.4, sd about 1.7


def _airport_days(warehouse, airport: str, start: dt.date, delays: list[float]) -> None:
    """One mart_airport_daily row per consecutive day from ``start``, with these average delays."""
    rows = ", ".join(
        f"('{start + dt.timedelta(days=i)}', '{airport}', 100, 2, 10, 80.0, {delay}, "
        "40.0, 0.0, 10.0, 10.0, 98, 1, 85, 85.7)"
        for i, delay in enumerate(delays)
    )
    warehouse.command(
        "INSERT INTO mart_airport_daily (flight_date, airport, departures, cancelled, delayed_15, on_time_pct, "
        "avg_dep_delay_min, avg_temp_f, total_precip_in, max_wind_mph, min_visib_miles, departed, diverted, "
        f"left_on_time, dep_on_time_pct) VALUES {rows}"
    )


def _anomalies(warehouse, day: dt.date, airport: str):
    """The anomaly story type's sheets for ``airport`` on ``day`` and the type's no-story reason."""
    selection = select_day(warehouse, load_catalog(), day)
    sheets = [s for s in selection.sheets if s.story_type == ANOMALY and s.get("airport").value == airport]
    return sheets, selection.no_story.get(ANOMALY, "")


def test_a_day_within_the_airports_normal_spread_is_no_story(warehouse):
    start = dt.date(2014, 6, 1)
    _airport_days(warehouse, "TSA", start, [*HISTORY, 11.5])  # +0.62 sd
    sheets, reason = _anomalies(warehouse, start + dt.timedelta(days=7), "TSA")
    assert sheets == []
    assert "TSA: 0.62 standard deviations from the mean of its previous 7 days, within 1.5" in reason


def test_an_outlier_day_is_the_airports_anomaly_scored_by_its_z_score(warehouse):
    start = dt.date(2014, 6, 11)
    _airport_days(warehouse, "TSB", start, [*HISTORY, 20.0])
    sheets, _ = _anomalies(warehouse, start + dt.timedelta(days=7), "TSB")
    assert len(sheets) == 1
    sheet = sheets[0]
    mean = sum(HISTORY) / len(HISTORY)
    sd = (sum((d - mean) ** 2 for d in HISTORY) / (len(HISTORY) - 1)) ** 0.5
    assert sheet.score == pytest.approx((20.0 - mean) / sd)
    assert sheet.get("trailing_avg_delay_min").value == pytest.approx(round(mean, 1))  # the day itself excluded
    assert sheet.get("trailing_days").value == 7
    assert sheet.get("delay_z").value == pytest.approx(round((20.0 - mean) / sd, 1))
    assert sheet.get("delay_vs_usual").value == "longer"
    assert sheet.get("trailing_avg_delay_min").label.startswith("Average departure delay of the previous 7 days")


def test_an_unusually_good_day_is_news_with_its_direction(warehouse):
    start = dt.date(2014, 6, 21)
    _airport_days(warehouse, "TSC", start, [*HISTORY, 2.0])
    sheets, _ = _anomalies(warehouse, start + dt.timedelta(days=7), "TSC")
    assert [s.get("delay_vs_usual").value for s in sheets] == ["shorter"]
    assert sheets[0].get("delay_z").value < -1.5


@pytest.mark.parametrize(("earlier_days", "story"), [(0, False), (4, False), (5, True)])
def test_no_anomaly_without_enough_history_and_never_against_the_day_itself(warehouse, earlier_days, story):
    start = dt.date(2014, 7, 1) + dt.timedelta(days=20 * earlier_days)
    airport = f"H{earlier_days:02d}"
    _airport_days(warehouse, airport, start, [*HISTORY[:earlier_days], 40.0])
    sheets, reason = _anomalies(warehouse, start + dt.timedelta(days=earlier_days), airport)
    assert bool(sheets) is story
    if not story:
        assert f"{airport}: {earlier_days} earlier days with flights in the previous 7 days, 5 needed" in reason
    else:
        assert sheets[0].get("trailing_days").value == 5
        assert sheets[0].get("trailing_avg_delay_min").value == pytest.approx(round(sum(HISTORY[:5]) / 5, 1))


def test_choose_stories_counts_a_story_type_without_a_story_as_zero(warehouse):
    from nightdesk.content.produce import choose_stories

    day = dt.date(2014, 9, 1)
    _airport_days(warehouse, "TSD", day, [15.0])
    counts = choose_stories(warehouse, day)
    assert counts[ANOMALY] == 0 and counts["daily_operations"] == 1


def _flights(warehouse, day: dt.date, rows: list[tuple]) -> None:
    """Raw flights for ``day``: (flight_id, carrier, origin, dest, dep_time, dep_delay, arr_delay)."""
    values = ", ".join(
        f"({fid}, {day.year}, {day.month}, {day.day}, {dep_time}, 800, {dep_delay}, {dep_time}, 1000, {arr_delay}, "
        f"'{carrier}', 1, NULL, '{origin}', '{dest}', NULL, 500, 8, 0, '{day} 08:00:00', "
        f"'test', '{day}', 'test', now64(3))"
        for fid, carrier, origin, dest, dep_time, dep_delay, arr_delay in rows
    )
    warehouse.command(f"INSERT INTO raw_flights VALUES {values}")
    models = {m.name: m for m in discover()}
    for name in ("stg_flights", "mart_airport_daily", "mart_carrier_daily"):
        run_model(warehouse, models[name], day)


def test_on_time_is_counted_by_departure_and_arrival_with_cancelled_and_diverted_flights(warehouse):
    day = dt.date(2014, 10, 1)
    _flights(warehouse, day, [
        (1, "ZZ", "EWR", "ATL", 805, 5.0, 20.0),      # left on time, arrived late
        (2, "ZZ", "EWR", "ATL", 820, 20.0, 10.0),     # left late, arrived on time
        (3, "ZZ", "EWR", "ATL", "NULL", "NULL", "NULL"),  # cancelled: scheduled, not departed
        (4, "ZZ", "EWR", "ATL", 800, 0.0, "NULL"),    # diverted: departed, on time by neither measure
        (5, "ZZ", "EWR", "ATL", 757, -3.0, -10.0),    # on time both ways
    ])
    airport = warehouse.query_df(
        "SELECT departures, departed, cancelled, diverted, left_on_time, dep_on_time_pct, on_time_pct "
        "FROM mart_airport_daily WHERE flight_date = {d:Date}", {"d": day}).to_dict("records")
    assert airport == [{"departures": 5, "departed": 4, "cancelled": 1, "diverted": 1, "left_on_time": 2,
                        "dep_on_time_pct": 50.0, "on_time_pct": 40.0}]
    carrier = warehouse.query_df(
        "SELECT flights, departed, cancelled, diverted, arrived_on_time, on_time_pct "
        "FROM mart_carrier_daily WHERE flight_date = {d:Date}", {"d": day}).to_dict("records")
    assert carrier == [{"flights": 5, "departed": 4, "cancelled": 1, "diverted": 1, "arrived_on_time": 2,
                        "on_time_pct": 40.0}]
    recap = [s for s in select_day(warehouse, load_catalog(), day).sheets if s.story_type == "daily_operations"][0]
    assert {n: recap.get(n).value for n in ("scheduled", "departures", "cancelled", "diverted", "on_time_pct")} == {
        "scheduled": 5, "departures": 4, "cancelled": 1, "diverted": 1, "on_time_pct": 50.0}
    assert recap.get("on_time_pct").label.startswith("Departed flights that left less than 15 minutes late")


def test_a_tie_for_busiest_route_is_broken_by_the_rule_its_label_states(warehouse):
    day = dt.date(2014, 10, 2)
    _flights(warehouse, day, [
        (11, "ZY", "LGA", "ORD", 800, 0.0, 0.0), (12, "ZY", "LGA", "ORD", 800, 0.0, 0.0),
        (13, "ZY", "JFK", "MCO", 800, 0.0, 0.0), (14, "ZY", "JFK", "MCO", 800, 0.0, 0.0),
        (15, "ZY", "EWR", "BOS", 800, 0.0, 0.0),
        (16, "ZX", "EWR", "BOS", 800, 0.0, 0.0), (17, "ZX", "EWR", "BOS", 800, 0.0, 0.0),
        (18, "ZX", "JFK", "LAX", 800, 0.0, 0.0),
    ])
    rows = {row[0]: tuple(row[1:]) for row in warehouse.query_rows(
        "SELECT carrier, busiest_route, busiest_route_flights, busiest_route_ties, busiest_routes "
        "FROM mart_carrier_daily WHERE flight_date = {d:Date}", {"d": day})}
    assert rows == {"ZY": ("JFK-MCO", 2, 2, "JFK-MCO, LGA-ORD"), "ZX": ("EWR-BOS", 2, 1, "EWR-BOS")}
    label = next(f.label for f in load_catalog().story_types["carrier_spotlight"].facts if f.name == "busiest_route")
    assert "a tie goes to the alphabetically first" in label


def _prices(warehouse, ticker: str, days: list[dt.date], volumes: list[int]) -> None:
    rows = ", ".join(f"('{d}', '{ticker}', 10, 11, 9, {10 + i}, {v})" for i, (d, v) in enumerate(zip(days, volumes)))
    warehouse.command(f"INSERT INTO stg_stock_prices VALUES {rows}")


def _weekdays(start: dt.date, n: int) -> list[dt.date]:
    days, day = [], start
    while len(days) < n:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


@pytest.mark.parametrize(("earlier_days", "full"), [(19, False), (20, True)])
def test_volume_is_compared_with_the_previous_20_trading_days_only_when_all_are_known(warehouse, earlier_days, full):
    ticker = f"V{earlier_days}"
    days = _weekdays(dt.date(2014, 3, 3), earlier_days + 1)
    volumes = [1000 + 10 * i for i in range(earlier_days)] + [5000]
    _prices(warehouse, ticker, days, volumes)
    run_model(warehouse, {m.name: m for m in discover()}["mart_stock_daily"], days[-1])
    got = warehouse.query_df(
        "SELECT volume_vs_avg_pct, avg_volume_20d, trading_days_in_window, prev_trade_date FROM mart_stock_daily "
        "WHERE trade_date = {d:Date} AND ticker = {t:String}", {"d": days[-1], "t": ticker}).iloc[0]
    assert got.trading_days_in_window == earlier_days
    assert got.prev_trade_date.date() == days[-2]
    if full:
        average = sum(volumes[:-1]) / 20  # the day's own 5000 is not in its average
        assert got.avg_volume_20d == round(average)
        assert got.volume_vs_avg_pct == pytest.approx(round(100 * (5000 - average) / average, 1))
    else:
        assert pd.isna(got.volume_vs_avg_pct) and pd.isna(got.avg_volume_20d)


def _story_copy(tmp_path, old: str, new: str):
    copy = tmp_path / "stories"
    shutil.copytree(STORIES_DIR, copy)
    story = copy / ANOMALY / "story.yml"
    story.write_text(story.read_text().replace(old, new))
    return load_catalog(copy)


def test_a_declared_param_the_query_does_not_use_is_refused(warehouse, tmp_path):
    catalog = _story_copy(tmp_path, "min_abs_z: 1.5}", "min_abs_z: 1.5, min_flights: 20}")
    with pytest.raises(StoryDeclarationError,
                       match=r"airport_delay_anomaly/story.yml: params \['min_flights'\] are not used"):
        select_day(warehouse, catalog, dt.date(2014, 6, 8))


def test_a_param_the_query_needs_but_the_story_lacks_is_refused(warehouse, tmp_path):
    catalog = _story_copy(tmp_path, "min_history_days: 5, ", "")
    with pytest.raises(StoryDeclarationError, match=r"candidates.sql uses \['min_history_days'\], not declared"):
        select_day(warehouse, catalog, dt.date(2014, 6, 8))


def test_a_label_naming_an_undeclared_param_is_refused(warehouse, tmp_path):
    catalog = _story_copy(tmp_path, "previous {{ window_days }} days (days", "previous {{ window }} days (days")
    with pytest.raises(StoryDeclarationError, match=r"label of fact 'trailing_avg_delay_min': 'window' is undefined"):
        select_day(warehouse, catalog, dt.date(2014, 6, 18))


def test_a_share_with_no_earlier_close_is_no_story_and_says_so(warehouse):
    day = dt.date(2014, 8, 4)
    _prices(warehouse, "ONE", [day], [1000])
    run_model(warehouse, {m.name: m for m in discover()}["mart_stock_daily"], day)
    selection = select_day(warehouse, load_catalog(), day)
    assert [s for s in selection.sheets if s.story_type == "stock_movers"] == []
    assert selection.no_story["stock_movers"] == "ONE: no earlier close in the warehouse within 40 days"
