"""The fast load paths (the engine's for local files, Arrow's elsewhere) load exactly what
the careful path loads, and hand every file they are unsure of to it.

Each case is loaded three times into the same date: through the careful path alone,
through Arrow (as on a ClickHouse server), and by default (the engine's path, on the
embedded warehouse). Raw rows, quarantine rows and counts must be identical, whichever
path ran. Each case owns one date in September or October 2013.
"""

from __future__ import annotations

import datetime as dt
import gzip
from dataclasses import dataclass
from pathlib import Path

import pytest

from nightdesk.elt import load
from nightdesk.sources.catalog import STOCK_PRICES, WEATHER, Source
from nightdesk.sources.readers import FileReader

STOCKS = "ticker,trade_date,open,high,low,close,volume,adj_close"
WEATHER_HEADER = "origin,year,month,day,hour,temp,dewp,humid,wind_dir,wind_speed,wind_gust,precip,pressure,visib,time_hour"


@dataclass(frozen=True)
class Case:
    name: str
    day: dt.date
    lines: tuple[str, ...]
    paths: tuple[str, str]  # the paths that load it with Arrow first and by default (engine first)
    weather: bool = False
    suffix: str = ".csv"
    dated: bool = True  # False: no date column, every row is the logical date's

    def write(self, folder: Path) -> Path:
        path = folder / f"{self.name}{self.suffix}"
        text = "\n".join(self.lines).format(day=self.day, y=self.day.year, m=self.day.month, d=self.day.day) + "\n"
        if self.suffix == ".csv.gz":
            path.write_bytes(gzip.compress(text.encode()))
        elif self.suffix == ".tsv":
            path.write_text(text.replace(",", "\t"))
        else:
            path.write_text(text, encoding="utf-8")
        return path

    def source(self, path: Path) -> Source:
        if self.weather:
            return Source(f"fast_{self.name}", "raw_weather", WEATHER,
                          FileReader(url=str(path), date_parts=("year", "month", "day")))
        return Source(f"fast_{self.name}", "raw_stock_prices", STOCK_PRICES,
                      FileReader(url=str(path), date_column="trade_date" if self.dated else None))


FAST, CAREFUL = ("arrow", "engine"), ("careful", "careful")


def _day(n: int) -> dt.date:
    return dt.date(2013, 9, 2) + dt.timedelta(days=n)


CASES = [
    Case("plain", _day(0), (STOCKS, "AAPL,{day},10,11,9,10.5,1000,10.5", "MSFT,{day},20,21,19,20.5,2000,20.1"), FAST),
    Case("missing_values", _day(1), (STOCKS, 'AAPL,{day},10,11,9,10.5,1000,NA', '"IBM",{day},1,2,0.5,1.5,3,null',
                                     'GOOG,{day},1e2,2.5E2,.5,100.,0,""', "AMZN,{day},0.1,0.2,0.05,0.15,007,"), FAST),
    Case("other_days_in_the_file", _day(2), (STOCKS, "AAPL,2013-01-02,1,2,1,1,1,1", "AAPL,{day},3,4,2,3,30,3",
                                             "MSFT,2014-12-31,abc,2,1,-1,1.5,1"), FAST),
    Case("literal_backslash_n_and_unicode", _day(3), (STOCKS, r"\N,{day},1,2,1,1,1,1", "Ünï_çødé,{day},1,2,1,1,1,1",
                                                       '"A,B",{day},1,2,1,1,1,1'), FAST),
    Case("tab_separated", _day(4), (STOCKS, "AAPL,{day},1,2,1,1,1,1"), FAST, suffix=".tsv"),
    Case("gzip", _day(5), (STOCKS, "AAPL,{day},1,2,1,1,1,1", "IBM,{day},5,6,4,5,50,"), FAST, suffix=".csv.gz"),
    Case("weather_date_parts_and_timestamps", _day(6), (
        WEATHER_HEADER,
        "EWR,{y},{m},{d},1,39.02,26.06,59.37,270,10.35702,NA,0,1012,10,{day} 01:00:00",
        "JFK,{y},{m},{d},2,39.02,,59.37,,,NA,0,NA,10,{day} 02:00:00",
        "LGA,2013,1,1,3,39.02,26.06,59.37,270,10.35,NA,0,1012,10,2013-01-01 03:00:00"), FAST, weather=True),
    # Arrow reads a column of one timestamp form at a time; the engine reads each value.
    Case("timestamp_forms", _day(16), (
        WEATHER_HEADER,
        "EWR,{y},{m},{d},1,39.02,26.06,59.37,270,10.35702,NA,0,1012,10,{day} 01:00:00",
        "JFK,{y},{m},{d},2,39.02,,59.37,,,NA,0,NA,10,{day}T02:00:00Z",
        "LGA,{y},{m},{d},3,39.02,26.06,59.37,270,10.35,NA,0,1012,10,{day} 04:00:00+01:00"), ("careful", "engine"),
        weather=True),
    Case("line_break_inside_a_value", _day(7), (STOCKS, '"AA\nPL",{day},1,2,1,1,1,1', "IBM,{day},1,2,1,1,1,1"), FAST),
    Case("columns_reordered_and_extra", _day(17), ("volume,extra,close,low,high,open,trade_date,ticker,adj_close",
                                                   "5,x,1,1,2,1,{day},AAPL,", "6,y,2,2,3,2,{day},IBM,2"), FAST),
    Case("windows_line_ends_and_a_byte_order_mark", _day(18), ("\ufeff" + STOCKS + "\r", "AAPL,{day},1,2,1,1,1,1\r",
                                                               "IBM,{day},1,2,1,1,1,\r"), FAST),
    # Rows only the careful path may judge: each hands the file over, with the same outcome.
    Case("space_around_a_value", _day(8), (STOCKS, " AAPL ,{day},1,2,1,1,1,1", "IBM,{day},1,2,1,1,1,1"), CAREFUL),
    Case("no_break_space_at_the_edge", _day(9), (STOCKS, "AAPL\u00a0,{day},1,2,1,1,1,1"), CAREFUL),
    Case("integer_written_as_a_float", _day(10), (STOCKS, "AAPL,{day},1,2,1,1,1.0,1", "IBM,{day},1,2,1,1,+5,1"), CAREFUL),
    Case("a_bad_row", _day(11), (STOCKS, "AAPL,{day},1,2,1,1,1,1", "GOOG,{day},abc,41,39,40.5,4000,40.5",
                                 "AMZN,{day},50,51,49,-5,5000,50.5", "INTC,{day},80,81"), CAREFUL),
    Case("duplicate_key", _day(12), (STOCKS, "AAPL,{day},1,2,1,1,1,1", "AAPL,{day},3,4,3,3,3,3"), CAREFUL),
    Case("blank_line_and_too_many_fields", _day(13), (STOCKS, "AAPL,{day},1,2,1,1,1,1", "",
                                                      "IBM,{day},1,2,1,1,1,1,extra,more"), CAREFUL),
    Case("infinite_and_huge_numbers", _day(14), (STOCKS, "AMZN,{day},1,2,1,1,1,1", "AAPL,{day},inf,2,1,1,1,1", "IBM,{day},1e308,2,1,1,1,1",
                                                 "MSFT,{day},1,2,1,1,99999999999999999999,1"), CAREFUL),
    Case("hexadecimal_integer", _day(19), (STOCKS, "AAPL,{day},1,2,1,1,0x1F,1", "IBM,{day},1,2,1,1,5,1"), CAREFUL),
    # Beyond 2**53 a float64 rounds: every path reads integers exactly (see the test below).
    Case("integer_beyond_2_53", _day(20), (STOCKS, "AAPL,{day},1,2,1,1,9007199254740993,1",
                                           "IBM,{day},1,2,1,1,9223372036854775807,"), FAST),
    Case("a_row_with_no_value", _day(21), (STOCKS, "AAPL,{day},1,2,1,1,1,1", ",,,,,,,", "NA,,null,,,,,"), CAREFUL),
    Case("not_a_missing_value_token", _day(22), (STOCKS, "AAPL,{day},1,2,1,1,1,N/A", "IBM,{day},1,2,1,1,1,1"),
         CAREFUL),
    Case("not_a_number_in_a_finite_column", _day(23), (STOCKS, "AAPL,{day},nan,2,1,1,1,1",
                                                       "IBM,{day},1,Infinity,1,1,1,1", "MSFT,{day},1,2,1,1,1,1"),
         CAREFUL),
    # No date column: every row is the logical date's, and each column's own check stands
    # in for the file-wide tests (UTF-8, a row with no value).
    Case("no_date_column", _day(24), (STOCKS, "AAPL,2013-01-02,1,2,1,1,1,1", "IBM,2013-01-03,1,2,1,1,7,"), FAST,
         dated=False),
    Case("no_date_column_and_a_row_with_no_value", _day(25), (STOCKS, "AAPL,2013-01-02,1,2,1,1,1,1", ",,,,,,,"),
         CAREFUL, dated=False),
    Case("no_date_column_and_an_integer_below_its_minimum", _day(26),
         (STOCKS, "AAPL,2013-01-02,1,2,1,1,-1,1", "MSFT,2013-01-03,1,2,1,1,3,1"), CAREFUL, dated=False),
    Case("no_date_column_and_an_integer_beyond_int64", _day(27),
         (STOCKS, "IBM,2013-01-03,1,2,1,1,9223372036854775808,1", "MSFT,2013-01-03,1,2,1,1,3,1"), CAREFUL,
         dated=False),
    Case("timestamp_offset_beyond_a_day", _day(28), (
        WEATHER_HEADER,
        "EWR,{y},{m},{d},1,39.02,26.06,59.37,270,10.35702,NA,0,1012,10,{day} 01:00:00+99:99",
        "JFK,{y},{m},{d},2,39.02,26.06,59.37,270,10.35702,NA,0,1012,10,{day} 02:00:00+24:00",
        "LGA,{y},{m},{d},3,39.02,26.06,59.37,270,10.35,NA,0,1012,10,{day} 03:00:00"), CAREFUL, weather=True),
    Case("date_part_beyond_int64", _day(29), (
        WEATHER_HEADER,
        "EWR,99999999999999999999,{m},{d},1,39.02,26.06,59.37,270,10.35702,NA,0,1012,10,{day} 01:00:00",
        "LGA,{y},{m},{d},3,39.02,26.06,59.37,270,10.35,NA,0,1012,10,{day} 03:00:00"), CAREFUL, weather=True),
    Case("impossible_dates", _day(15), (WEATHER_HEADER,
                                        "EWR,{y},{m},{d},1,39,26,59,270,10,NA,0,1012,10,{y}-02-31 01:00:00",
                                        "JFK,{y},2,30,2,39,26,59,270,10,NA,0,1012,10,{day} 02:00:00",
                                        "LGA,{y},{m},{d},3,39,26,59,270,10,NA,0,1012,10,{day} 03:00:00"), CAREFUL,
         weather=True),
]


def _state(wh, case: Case, report: load.LoadReport) -> tuple:
    table = "raw_weather" if case.weather else "raw_stock_prices"
    raw = wh.query_df(f"SELECT * EXCEPT (_batch_id, _loaded_at) FROM {table} WHERE _logical_date = {{d:Date}} "
                      "AND _source = {s:String} ORDER BY ALL", {"d": case.day, "s": f"fast_{case.name}"})
    bad = wh.query_rows("SELECT row_number, record, reason FROM quarantine WHERE _logical_date = {d:Date} "
                        "AND _source = {s:String} ORDER BY row_number", {"d": case.day, "s": f"fast_{case.name}"})
    raw = raw.astype(object).where(raw.notna(), None)  # NaN != NaN; None == None
    return raw.to_dict(orient="list"), bad, (report.extracted, report.loaded, report.quarantined, report.status)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_path_loads_what_the_careful_path_loads(warehouse, tmp_path, case):
    path = case.write(tmp_path)
    source = case.source(path)

    careful = load.load_source(warehouse, source, case.day, fast_paths=())
    careful_state = _state(warehouse, case, careful)
    arrow = load.load_source(warehouse, source, case.day, fast_paths=("arrow",))
    arrow_state = _state(warehouse, case, arrow)
    default = load.load_source(warehouse, source, case.day)
    default_state = _state(warehouse, case, default)

    assert careful.path == "careful" and careful_state[2][1] > 0
    assert arrow_state == careful_state
    assert default_state == careful_state
    assert (arrow.path, default.path) == case.paths, (arrow.handed_over, default.handed_over)
    for report in (arrow, default):
        assert bool(report.handed_over) == (report.path == "careful"), report.handed_over


def test_a_file_the_careful_path_refuses_is_refused_the_same_way(warehouse):
    """Bytes that are not UTF-8: the engine would store them; it hands over instead, and the
    careful path fails the load naming the byte and line, as before."""
    from nightdesk.sources.schema import SourceError

    path = Path(__file__).parent / "fixtures" / "hostile" / "not_utf8.csv"
    source = Source("fast_not_utf8", "raw_stock_prices", STOCK_PRICES, FileReader(url=str(path), date_column="trade_date"))
    with pytest.raises(SourceError, match="utf-8"):
        load.load_source(warehouse, source, dt.date(2013, 7, 5))  # the fixture's date; the failed load swaps nothing in


@pytest.mark.parametrize(("where", "bad_row", "date_column"), [
    ("a column not loaded, another date's row", "IBM,2013-01-02,1,2,1,1,1,1,München", "trade_date"),
    ("a column not loaded, no date column", "IBM,2013-01-02,1,2,1,1,1,1,München", None),
    ("a number, no date column", "IBM,2013-01-02,1,2,1,1,1é,1,fine", None),
])
def test_bytes_that_are_not_utf8_outside_the_loaded_rows_fail_the_load_on_every_path(
        warehouse, tmp_path, where, bad_row, date_column):
    """The careful path decodes the whole file: bad bytes in a column the schema does not
    use, on a row of another date, or where a number should be, still fail the load,
    whichever path tries first."""
    from nightdesk.sources.schema import SourceError

    path = tmp_path / "latin1_elsewhere.csv"
    path.write_bytes((STOCKS + ",note\nAAPL,2013-10-02,1,2,1,1,1,1,fine\n").encode()
                     + f"{bad_row}\n".encode("latin-1"))
    source = Source("fast_latin1_elsewhere", "raw_stock_prices", STOCK_PRICES,
                    FileReader(url=str(path), date_column=date_column))
    for paths in ((), ("arrow",), load.FAST_PATHS):
        with pytest.raises(SourceError, match="utf-8"):
            load.load_source(warehouse, source, dt.date(2013, 10, 2), fast_paths=paths)


def test_the_demo_sources_load_through_the_engine(warehouse):
    """The bundled stock prices (a gzip file, renamed columns) and weather (date parts)."""
    from nightdesk.sources.catalog import load_sources

    catalog = load_sources()
    for name, day in (("stock_prices", dt.date(2013, 2, 28)), ("weather", dt.date(2013, 2, 28))):
        report = load.load_source(warehouse, catalog[name], day)
        assert report.path == "engine" and report.loaded > 0 and report.quarantined == 0, report
        assert set(report.seconds) >= {"engine", "swap"}


def test_integers_beyond_2_53_keep_every_digit_beside_a_missing_value(warehouse, tmp_path):
    """A missing value in the chunk once sent pandas through float64, which wrote
    9007199254740993 as ...992 without a word; a spelling that is not plain digits is
    read as a float and refused beyond 2**53, never rounded."""
    path = tmp_path / "big_integers.csv"
    day = dt.date(2013, 10, 3)
    path.write_text(f"{STOCKS}\nAAPL,{day},1,2,1,1,9007199254740993,1\nIBM,{day},1,2,1,1,,1\n"
                    f"MSFT,{day},1,2,1,1,9.007199254740993e15,1\nGOOG,{day},1,2,1,1,1e3,1\n")
    source = Source("fast_big_integers", "raw_stock_prices", STOCK_PRICES, FileReader(url=str(path), date_column="trade_date"))
    for paths in ((), ("arrow",), load.FAST_PATHS):
        report = load.load_source(warehouse, source, day, fast_paths=paths)
        volumes = dict(warehouse.query_rows("SELECT ticker, volume FROM raw_stock_prices WHERE _logical_date = {d:Date} "
                                            "AND _source = 'fast_big_integers'", {"d": day}))
        assert volumes == {"AAPL": 9007199254740993, "GOOG": 1000}, (paths, report.path)
        assert report.quarantined == 2


@pytest.mark.parametrize(("keys", "duplicated"), [
    ((1, 2, 3), False), ((1, 2, 1), True),
    ((-1, 2**63 - 1, -(2**63), 0, 2**32), False), ((-1, 2**32, -1), True), ((2**32, 0), False),
])
def test_a_single_integer_key_seen_twice_is_found(warehouse, keys, duplicated):
    """The bitmap count of a one-integer key (flights' flight_id) sees negative and large
    keys as distinct, and a repeated one as a duplicate, exactly as grouping does."""
    from nightdesk.elt.engine_csv import _has_duplicate
    from nightdesk.sources.catalog import FLIGHTS

    with warehouse.scratch_table("raw_flights") as scratch:
        warehouse.command(f"INSERT INTO {scratch} (flight_id) SELECT arrayJoin({list(keys)!r}::Array(Int64))")
        assert _has_duplicate(warehouse, scratch, FLIGHTS) is duplicated


@pytest.mark.parametrize(("rows", "limit", "deferred"), [
    ([f"AAPL,{_day(60)},1,2,1,1,100,1", f"IBM,{_day(60)},1,2,1,1,100,1"], 500, True),   # clean: left to the target
    ([f"AAPL,{_day(60)},1,2,1,1,100,1", f"IBM,{_day(60)},1,2,1,1,-5,1"], 500, False),   # handed to the careful path
    ([f"AAPL,{_day(60)},1,2,1,1,100,1", f"IBM,{_day(60)},1,2,1,1,100,1"], 0, False),     # too big to leave unmerged
])
def test_the_engine_path_defers_merges_only_for_parts_it_hands_over_and_bounds(warehouse, tmp_path, monkeypatch,
                                                                              rows, limit, deferred):
    """The engine path stops the scratch table's merges (the target merges the parts after
    the swap), but not for a file that could leave too many parts, and it starts them
    again before the careful path writes its chunks there. A table with merges stopped
    refuses ``OPTIMIZE ... FINAL`` (ABORTED), which is how this test sees it."""
    from nightdesk.elt import engine_csv
    from nightdesk.sources.arrow_csv import NotClean
    from nightdesk.warehouse.clickhouse import WarehouseError

    monkeypatch.setattr(engine_csv, "MAX_UNMERGED_PARTS", limit)
    path = tmp_path / "merges.csv"
    path.write_text("\n".join([STOCKS, *rows]) + "\n")
    reader = FileReader(url=str(path), date_column="trade_date")
    with warehouse.scratch_table("raw_stock_prices") as scratch:
        warehouse.command(f"INSERT INTO {scratch} (ticker) VALUES ('an earlier part')")
        try:
            loaded = engine_csv.load(warehouse, reader, STOCK_PRICES, _day(60), path, scratch,
                                     {"_batch_id": "b", "_logical_date": _day(60), "_source": "merges"})
            assert loaded == 2
        except NotClean:
            warehouse.command(f"INSERT INTO {scratch} (ticker) VALUES ('a careful chunk')")
        if deferred:
            with pytest.raises(WarehouseError, match="ABORTED"):
                warehouse.command(f"OPTIMIZE TABLE {scratch} FINAL")
        else:
            warehouse.command(f"OPTIMIZE TABLE {scratch} FINAL")


def test_a_file_bounds_its_parts_by_its_size_and_a_compressed_one_does_not(tmp_path):
    from nightdesk.elt.engine_csv import _max_parts
    from nightdesk.sources.readers import CHUNK_ROWS

    for name in ("a.csv", "a.dat"):  # plain text, whatever the suffix
        (tmp_path / name).write_bytes(b"x" * (2 * 8 * CHUNK_ROWS + 1))  # 8 columns: at most 2 parts and a row
        assert _max_parts(tmp_path / name, 8) == 3, name
    for name in ("a.csv.gz", "a.csv.bz2", "a.csv.xz"):
        (tmp_path / name).write_bytes(b"x")
        assert _max_parts(tmp_path / name, 8) is None, name


@pytest.mark.parametrize(("name", "engine"), [
    ("a.csv", True), ("a.dat", True), ("a.csv.gz", True), ("a.csv.xz", True),
    ("a.csv.zst", False), ("a.csv.zstd", False), ("a.csv.lz4", False), ("a.csv.br", False), ("a.csv.gzip", False),
])
def test_a_compression_only_the_engine_infers_is_left_to_the_careful_path(warehouse, tmp_path, name, engine):
    """The engine decompresses ``.zst``, ``.lz4``, ``.br``... by their suffix, where pandas
    reads such a file as text or not at all: the two paths would read different bytes."""
    from nightdesk.elt import engine_csv

    path = tmp_path / name
    path.write_text(f"{STOCKS}\nAAPL,{_day(61)},1,2,1,1,100,1\n")
    reader = FileReader(url=str(path), date_column="trade_date", format="csv")  # as a source file names it
    assert (engine_csv.applicable(warehouse, reader, STOCK_PRICES, _day(61)) == path) is engine
