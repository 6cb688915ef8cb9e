"""Bad source input: every row lands in raw or quarantine, and a failed read loses nothing.

All offline: files in a temp dir or tests/fixtures/hostile, a real HTTP server on
127.0.0.1, a database port nobody listens on. Every source here writes
``raw_stock_prices`` (or ``raw_flights``, ``raw_weather``), whose partitions are per
logical date, so each test owns one date in June, July or August 2013.
"""

from __future__ import annotations

import bz2
import datetime as dt
import gzip
import json
import lzma
import threading
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from nightdesk.elt.load import load_source
from nightdesk.sources import readers
from nightdesk.sources.calendars import EmptyDay
from nightdesk.sources.catalog import FLIGHTS, STOCK_PRICES, WEATHER, Source
from nightdesk.sources.readers import FileReader, HttpJsonReader, SqlReader
from nightdesk.sources.schema import Column, PermanentSourceError, SourceError

HEADER = "ticker,trade_date,open,high,low,close,volume,adj_close"
# Retries in milliseconds, not seconds. A generous read timeout where the server answers
# (a loaded machine must not turn a slow answer into a retry); a short one only where the
# test makes the server hang, since those requests time out whatever the limit.
QUICK = {"timeout": (5.0, 5.0), "backoff": (0.001, 0.01)}
HANGING = {**QUICK, "timeout": (5.0, 0.2)}


def _csv(path: Path, *rows: str) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def _file_source(name: str, path: Path, when_empty: EmptyDay = EmptyDay()) -> Source:
    return Source(name, "raw_stock_prices", STOCK_PRICES, FileReader(url=str(path), date_column="trade_date"),
                  when_empty=when_empty)


def _counts(wh, source: str, day: dt.date) -> tuple[int, int]:
    """(rows in raw, rows in quarantine) for one source and date."""
    raw = wh.scalar("SELECT count() FROM raw_stock_prices WHERE _logical_date = {d:Date} AND _source = {s:String}",
                    {"d": day, "s": source})
    bad = wh.scalar("SELECT count() FROM quarantine WHERE _logical_date = {d:Date} AND _source = {s:String}",
                    {"d": day, "s": source})
    return int(raw), int(bad)


def _last_log(wh, source: str, day: dt.date) -> dict:
    df = wh.query_df(
        "SELECT * FROM load_log WHERE source = {s:String} AND logical_date = {d:Date} ORDER BY started_at DESC LIMIT 1",
        {"s": source, "d": day},
    )
    return df.iloc[0].to_dict()


def _reasons(wh, source: str, day: dt.date) -> dict[int, str]:
    rows = wh.query_rows("SELECT row_number, reason FROM quarantine WHERE _source = {s:String} "
                         "AND _logical_date = {d:Date} ORDER BY row_number", {"s": source, "d": day})
    return {int(n): r for n, r in rows}


# -- files -----------------------------------------------------------------------------

MIXED_ROWS = (                                    # line in the file (the header is line 1)
    "AAPL,{day},10,11,9,10.5,1000,10.5",          # 2 good
    "MSFT,{day},20,21,19,20.5,2000,",             # 3 good (adj_close may be empty)
    "IBM,{day},30,31,29,30.5,3000,30.5,oops",     # 4 one field too many
    "GOOG,{day},abc,41,39,40.5,4000,40.5",        # 5 wrong type
    "AMZN,{day},50,51,49,-5,5000,50.5",           # 6 out of range
    "AAPL,{day},10,11,9,10.7,1100,10.7",          # 7 duplicate key of line 2
    "ORCL,{day},,61,59,60.5,6000,60.5",           # 8 required value missing
    "CSCO,{day},70,71,69,70.5,7000,70.5",         # 9 good
    "INTC,{day},80,81",                           # 10 too few fields
)
MIXED_REASONS = {
    4: "row has 9 fields but the header has 8; extra values: oops",
    5: "open: expected float, got abc",
    6: "close: -5.0 is below 0",
    7: "duplicate primary key (ticker, trade_date) = (AAPL, {day})",
    8: "open: required value is missing",
    10: "close: required value is missing",
}


def _mixed_file(path: Path, day: dt.date) -> Path:
    return _csv(path, *(row.format(day=day) for row in MIXED_ROWS))


def test_malformed_csv_rows_are_quarantined_with_reasons(warehouse, tmp_path):
    day = dt.date(2013, 6, 3)
    source = _file_source("bad_stocks", _mixed_file(tmp_path / "mixed.csv", day))

    report = load_source(warehouse, source, day)

    assert (report.extracted, report.loaded, report.quarantined) == (9, 3, 6)
    assert _counts(warehouse, "bad_stocks", day) == (3, 6)
    tickers = warehouse.query_rows("SELECT ticker FROM raw_stock_prices WHERE _batch_id = {b:String} ORDER BY ticker",
                                   {"b": report.batch_id})
    assert [t for (t,) in tickers] == ["AAPL", "CSCO", "MSFT"]
    assert warehouse.scalar("SELECT close FROM raw_stock_prices WHERE _batch_id = {b:String} AND ticker = 'AAPL'",
                            {"b": report.batch_id}) == 10.5  # the first AAPL row wins, the later one is quarantined
    reasons = _reasons(warehouse, "bad_stocks", day)
    assert sorted(reasons) == sorted(MIXED_REASONS)
    for line, expected in MIXED_REASONS.items():
        assert reasons[line].startswith(f"{tmp_path / 'mixed.csv'} line {line}: "), reasons[line]
        assert expected.format(day=day) in reasons[line], (line, reasons[line])
    record = json.loads(warehouse.scalar(
        "SELECT record FROM quarantine WHERE _batch_id = {b:String} AND row_number = 5", {"b": report.batch_id}))
    assert record["ticker"] == "GOOG" and record["open"] == "abc"  # kept verbatim, not coerced
    logged = _last_log(warehouse, "bad_stocks", day)
    assert (logged["batch_id"], logged["status"], logged["extractor"]) == (report.batch_id, "ok", "file")
    assert (logged["rows_extracted"], logged["rows_loaded"], logged["rows_quarantined"]) == (9, 3, 6)


def test_rerun_replaces_the_date_without_duplicates(warehouse, tmp_path):
    day = dt.date(2013, 6, 18)
    source = _file_source("bad_stocks_rerun", _mixed_file(tmp_path / "mixed.csv", day))

    first = load_source(warehouse, source, day)
    second = load_source(warehouse, source, day)

    assert first.batch_id != second.batch_id
    assert _counts(warehouse, "bad_stocks_rerun", day) == (3, 6)
    for table in ("raw_stock_prices", "quarantine"):
        batches = warehouse.query_rows("SELECT DISTINCT _batch_id FROM {t:Identifier} WHERE _source = 'bad_stocks_rerun' "
                                       "AND _logical_date = {d:Date}", {"t": table, "d": day})
        assert batches == [(second.batch_id,)], table


def test_rows_with_many_extra_fields_after_the_first_chunk(warehouse, tmp_path, monkeypatch):
    """Two or more extra fields stop the fast parser mid-file; the re-read must not repeat rows."""
    day = dt.date(2013, 6, 4)
    monkeypatch.setattr(readers, "CHUNK_ROWS", 3)
    rows = [f"T{i:02d},2013-06-04,1,2,1,1.5,{i},1.5" for i in range(1, 11)]
    rows[4] = "T05,2013-06-04,1,2,1,1.5,5,1.5,x,y,z"   # line 6, in the second chunk: 11 fields
    rows[8] = "T03,2013-06-04,1,2,1,1.5,9,1.5"         # line 10, third chunk: repeats T03's key
    source = _file_source("bad_stocks_chunks", _csv(tmp_path / "wide.csv", *rows))

    report = load_source(warehouse, source, day)

    assert (report.extracted, report.loaded, report.quarantined) == (10, 8, 2)
    reasons = _reasons(warehouse, "bad_stocks_chunks", day)
    assert sorted(reasons) == [6, 10]
    assert "wide.csv line 6: row has 11 fields but the header has 8; extra values: x,y,z" in reasons[6]
    assert "wide.csv line 10: duplicate primary key (ticker, trade_date) = (T03, 2013-06-04)" in reasons[10]
    volumes = warehouse.query_rows("SELECT volume FROM raw_stock_prices WHERE _batch_id = {b:String} ORDER BY volume",
                                   {"b": report.batch_id})
    assert [v for (v,) in volumes] == [1, 2, 3, 4, 6, 7, 8, 10]


def test_empty_file_fails_and_keeps_the_previous_load(warehouse, tmp_path):
    day = dt.date(2013, 6, 5)
    path = _csv(tmp_path / "prices.csv", "AAPL,2013-06-05,10,11,9,10.5,1000,10.5", "MSFT,2013-06-05,x,21,19,20.5,2000,")
    source = _file_source("bad_stocks_empty", path)
    load_source(warehouse, source, day)
    assert _counts(warehouse, "bad_stocks_empty", day) == (1, 1)

    path.write_bytes(b"")
    with pytest.raises(PermanentSourceError, match=f"file {path} is empty"):
        load_source(warehouse, source, day)

    assert _counts(warehouse, "bad_stocks_empty", day) == (1, 1)
    logged = _last_log(warehouse, "bad_stocks_empty", day)
    assert logged["status"] == "failed" and "is empty" in logged["error"] and str(path) in logged["error"]


def test_missing_file_is_a_clear_error(warehouse, tmp_path):
    day = dt.date(2013, 6, 6)
    path = tmp_path / "nowhere" / "prices.csv"

    with pytest.raises(PermanentSourceError, match=f"file {path} does not exist"):
        load_source(warehouse, _file_source("bad_stocks_missing", path), day)

    logged = _last_log(warehouse, "bad_stocks_missing", day)
    assert logged["status"] == "failed" and str(path) in logged["error"]
    assert (logged["rows_extracted"], logged["rows_loaded"]) == (0, 0)


# -- hostile files (tests/fixtures/hostile) ----------------------------------------------

HOSTILE = Path(__file__).parent / "fixtures" / "hostile"


def _logged_counts(wh, source: str, day: dt.date) -> tuple[int, int, int]:
    logged = _last_log(wh, source, day)
    assert logged["status"] == "ok", logged["error"]
    return int(logged["rows_extracted"]), int(logged["rows_loaded"]), int(logged["rows_quarantined"])


def test_duplicate_key_beside_an_empty_and_an_unreadable_key(warehouse):
    """Used to raise TypeError while writing the duplicate's reason and fail the whole source."""
    day, path = dt.date(2013, 7, 1), HOSTILE / "duplicate_key_beside_empty_key.csv"

    load_source(warehouse, _file_source("hostile_dup_key", path), day)

    assert _logged_counts(warehouse, "hostile_dup_key", day) == (5, 2, 3)
    assert _reasons(warehouse, "hostile_dup_key", day) == {
        3: f"{path} line 3: ticker: required value is missing",
        4: f"{path} line 4: trade_date: expected date, got 2013-07-99",
        5: f"{path} line 5: duplicate primary key (ticker, trade_date) = (AAPL, 2013-07-01)",
    }


def test_infinite_and_huge_numbers_in_an_integer_column_are_quarantined(warehouse):
    """inf, -inf and 1e308 cannot become integers: they used to crash the cast (OverflowError)."""
    day, path = dt.date(2013, 7, 2), HOSTILE / "nonfinite_integers.csv"

    load_source(warehouse, _file_source("hostile_int_inf", path), day)

    assert _logged_counts(warehouse, "hostile_int_inf", day) == (4, 1, 3)
    assert _reasons(warehouse, "hostile_int_inf", day) == {
        3: f"{path} line 3: volume: expected int, got inf",
        4: f"{path} line 4: volume: expected int, got 1e308",
        5: f"{path} line 5: volume: expected int, got -inf",
    }


def _weather_source(name: str, *, precip_finite: bool = True) -> Source:
    """The demo's weather schema, with ``origin`` limited to the three airports."""
    columns = tuple(replace(c, allowed=("EWR", "JFK", "LGA")) if c.name == "origin"
                    else replace(c, finite=precip_finite) if c.name == "precip" else c for c in WEATHER.columns)
    reader = FileReader(str(HOSTILE / "weather_nonfinite_and_unknown_origin.csv"), date_parts=("year", "month", "day"))
    return Source(name, "raw_weather", replace(WEATHER, columns=columns), reader)


def test_non_finite_floats_and_unknown_codes_are_quarantined(warehouse):
    day, path = dt.date(2013, 7, 3), HOSTILE / "weather_nonfinite_and_unknown_origin.csv"

    load_source(warehouse, _weather_source("hostile_weather"), day)

    assert _logged_counts(warehouse, "hostile_weather", day) == (5, 1, 4)
    assert _reasons(warehouse, "hostile_weather", day) == {
        3: f"{path} line 3: precip: inf is not a finite number within ±1e+100",
        4: f"{path} line 4: precip: 1e308 is not a finite number within ±1e+100",
        5: f"{path} line 5: origin: 'XYZ' is not one of EWR, JFK, LGA",
        6: f"{path} line 6: pressure: -inf is not a finite number within ±1e+100",
    }


def test_a_column_that_allows_non_finite_values_loads_them(warehouse):
    day = dt.date(2013, 7, 4)  # the file's rows are dated 2013-07-03: load them as of another date
    source = replace(_weather_source("hostile_weather_inf", precip_finite=False),
                     reader=FileReader(str(HOSTILE / "weather_nonfinite_and_unknown_origin.csv")))

    load_source(warehouse, source, day)

    assert _logged_counts(warehouse, "hostile_weather_inf", day) == (5, 3, 2)
    precip = warehouse.query_rows("SELECT precip FROM raw_weather WHERE _source = 'hostile_weather_inf' "
                                  "AND _logical_date = {d:Date} ORDER BY precip", {"d": day})
    assert [p for (p,) in precip] == [0.0, 1e308, float("inf")]


def _load_good_day(wh, name: str, day: dt.date, tmp_path: Path) -> Source:
    """Load two good rows for ``day``: the rows a failed reload must leave in place."""
    good = _csv(tmp_path / "good.csv", f"AAPL,{day},10,11,9,10.5,1000,10.5", f"MSFT,{day},20,21,19,20.5,2000,")
    source = _file_source(name, good)
    load_source(wh, source, day)
    assert _counts(wh, name, day) == (2, 0)
    return source


def _assert_failed_keeping_the_day(wh, name: str, day: dt.date, message: str) -> None:
    assert _counts(wh, name, day) == (2, 0)
    logged = _last_log(wh, name, day)
    assert (logged["status"], logged["rows_loaded"]) == ("failed", 0)
    assert message in logged["error"]


def test_bytes_that_are_not_the_encoding_fail_naming_byte_and_line(warehouse, tmp_path):
    day, path = dt.date(2013, 7, 5), HOSTILE / "not_utf8.csv"
    good = _load_good_day(warehouse, "hostile_encoding", day, tmp_path)
    offset = path.read_bytes().index(b"\xfc")

    with pytest.raises(PermanentSourceError) as caught:
        load_source(warehouse, replace(good, reader=FileReader(str(path), date_column="trade_date")), day)

    message = f"file {path}: byte {offset} (line 3) is not utf-8: 0xfc (invalid start byte)"
    assert str(caught.value) == message
    _assert_failed_keeping_the_day(warehouse, "hostile_encoding", day, message)


def test_declared_encoding_reads_the_same_file(warehouse):
    day, path = dt.date(2013, 7, 5), HOSTILE / "not_utf8.csv"
    reader = FileReader(str(path), encoding="latin-1", date_column="trade_date")

    report = load_source(warehouse, Source("hostile_latin1", "raw_stock_prices", STOCK_PRICES, reader), day)

    assert (report.extracted, report.loaded) == (2, 2)
    assert warehouse.scalar("SELECT count() FROM raw_stock_prices WHERE _batch_id = {b:String} "
                            "AND ticker = 'München AG'", {"b": report.batch_id}) == 1


def test_truncated_gzip_fails_naming_byte_and_line(warehouse, tmp_path):
    day, path = dt.date(2013, 7, 8), HOSTILE / "truncated.csv.gz"
    good = _load_good_day(warehouse, "hostile_gzip", day, tmp_path)
    readable = zlib.decompressobj(wbits=31).decompress(path.read_bytes())  # what survives the cut

    with pytest.raises(PermanentSourceError) as caught:
        load_source(warehouse, replace(good, reader=FileReader(str(path), date_column="trade_date")), day)

    line = readable.count(b"\n") + 1
    message = (f"file {path}: the data breaks off at byte {len(readable)} (line {line}): "
               "Compressed file ended before the end-of-stream marker was reached")
    assert str(caught.value) == message
    _assert_failed_keeping_the_day(warehouse, "hostile_gzip", day, message)


def test_missing_file_is_permanent_and_keeps_the_day(warehouse, tmp_path):
    day = dt.date(2013, 7, 9)
    good = _load_good_day(warehouse, "hostile_missing", day, tmp_path)
    gone = tmp_path / "gone.csv"

    with pytest.raises(PermanentSourceError, match=f"^file {gone} does not exist$"):
        load_source(warehouse, replace(good, reader=FileReader(str(gone))), day)

    _assert_failed_keeping_the_day(warehouse, "hostile_missing", day, f"file {gone} does not exist")


def test_header_only_file_reads_as_zero_rows_with_its_columns():
    chunks = list(FileReader(str(HOSTILE / "header_only.csv"), date_column="trade_date").read(dt.date(2013, 7, 9)))

    assert sum(len(c) for c in chunks) == 0
    assert set(STOCK_PRICES.names) <= set(chunks[0].columns)


def test_row_number_is_the_line_in_the_file_not_the_row_of_the_day(warehouse, tmp_path):
    """Another day's row, a value spanning two lines and a blank line all come before the bad row."""
    day = dt.date(2013, 7, 10)
    path = tmp_path / "multiline.csv"
    path.write_text(f'{HEADER}\nAAPL,2013-07-09,1,2,1,1.5,10,1.5\n"Big\nCo",{day},1,2,1,1.5,10,1.5\n\n'
                    f'BAD,{day},1,2,1,-1,10,1.5\n')

    load_source(warehouse, _file_source("hostile_lines", path), day)

    assert _logged_counts(warehouse, "hostile_lines", day) == (2, 1, 1)  # the blank line holds no row
    assert _reasons(warehouse, "hostile_lines", day) == {6: f"{path} line 6: close: -1.0 is below 0"}


@pytest.mark.parametrize("text", ["", "[1, 2]\n\n{\n"])
def test_json_lines_with_no_usable_object_is_zero_rows_or_quarantine(warehouse, tmp_path, text):
    day = dt.date(2013, 7, 11) + dt.timedelta(days=len(text) > 0)
    path = tmp_path / "prices.jsonl"
    path.write_text(text)

    # A day of no rows is allowed here (policy warn): what is tested is how the reader counts.
    report = load_source(warehouse, _file_source("hostile_jsonl_nothing", path, EmptyDay("warn")), day)

    assert (report.extracted, report.loaded, report.quarantined) == ((0, 0, 0) if not text else (2, 0, 2))


# -- formats ---------------------------------------------------------------------------

FORMAT_ROWS = [  # the second row is out of range; where it is depends on the format
    {"ticker": "AAPL", "trade_date": "{day}", "open": 10.0, "high": 11.0, "low": 9.0, "close": 10.5,
     "volume": 1000, "adj_close": 10.5},
    {"ticker": "MSFT", "trade_date": "{day}", "open": 20.0, "high": 21.0, "low": 19.0, "close": -5.0,
     "volume": 2000, "adj_close": 20.5},
    {"ticker": "IBM", "trade_date": "{day}", "open": 30.0, "high": 31.0, "low": 29.0, "close": 30.5,
     "volume": 3000, "adj_close": 30.5},
]


def _frame(day: dt.date):
    import pandas as pd

    return pd.DataFrame([{k: v.format(day=day) if isinstance(v, str) else v for k, v in r.items()}
                         for r in FORMAT_ROWS])


def _write_csv(path: Path, day: dt.date, opener=open) -> None:
    with opener(path, "wt") as out:
        _frame(day).to_csv(out, index=False)


def _write_zip(path: Path, day: dt.date) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("prices.csv", _frame(day).to_csv(index=False))


# name -> (file name, writer, the line the validator names for the second row, where it says it is)
FORMAT_CASES = {
    "tsv": ("prices.tsv", lambda p, d: _frame(d).to_csv(p, sep="\t", index=False), 3, ""),
    "jsonl": ("prices.jsonl", lambda p, d: _frame(d).to_json(p, orient="records", lines=True), 2, ""),
    "json": ("prices.json", lambda p, d: _frame(d).to_json(p, orient="records"), 2, ""),
    "parquet": ("prices.parquet", lambda p, d: _frame(d).to_parquet(p, index=False), 2, ""),
    "excel": ("prices.xlsx", lambda p, d: _frame(d).to_excel(p, index=False), 3, ""),
    "stata": ("prices.dta", lambda p, d: _frame(d).to_stata(p, write_index=False), 2, ""),
    "gzip": ("prices.csv.gz", lambda p, d: _write_csv(p, d, gzip.open), 3, ""),
    "bz2": ("prices.csv.bz2", lambda p, d: _write_csv(p, d, bz2.open), 3, ""),
    "xz": ("prices.csv.xz", lambda p, d: _write_csv(p, d, lzma.open), 3, ""),
    "zip": ("prices.zip", _write_zip, 3, " member prices.csv"),
}


@pytest.mark.parametrize("case", sorted(FORMAT_CASES))
def test_each_format_loads_and_names_the_bad_row(warehouse, tmp_path, case):
    day = dt.date(2013, 8, 1) + dt.timedelta(days=sorted(FORMAT_CASES).index(case))
    name, write, line, member = FORMAT_CASES[case]
    path = tmp_path / name
    write(path, day)
    source = Source(f"format_{case}", "raw_stock_prices", STOCK_PRICES, FileReader(str(path), date_column="trade_date"))

    report = load_source(warehouse, source, day)

    assert (report.extracted, report.loaded, report.quarantined) == (3, 2, 1)
    assert _reasons(warehouse, f"format_{case}", day) == {line: f"{path}{member} line {line}: close: -5.0 is below 0"}


def test_a_glob_reads_every_matching_file_in_name_order(warehouse, tmp_path):
    day = dt.date(2013, 8, 20)
    _csv(tmp_path / "part-1.csv", f"AAPL,{day},10,11,9,10.5,1000,10.5")
    _csv(tmp_path / "part-2.csv", f"MSFT,{day},20,21,19,20.5,2000,", f"AAPL,{day},10,11,9,10.5,1000,10.5")

    load_source(warehouse, _file_source("format_glob", tmp_path / "part-*.csv"), day)

    assert _logged_counts(warehouse, "format_glob", day) == (3, 2, 1)
    assert _reasons(warehouse, "format_glob", day) == {
        3: f"{tmp_path / 'part-2.csv'} line 3: duplicate primary key (ticker, trade_date) = (AAPL, {day})"}


def test_a_json_lines_line_that_is_not_an_object_is_quarantined(warehouse, tmp_path):
    day = dt.date(2013, 8, 21)
    path = tmp_path / "prices.jsonl"
    good = json.dumps({k: v.format(day=day) if isinstance(v, str) else v for k, v in FORMAT_ROWS[0].items()})
    path.write_text(f'{good}\n{{"ticker": "MSFT", \n[1, 2]\n')

    load_source(warehouse, _file_source("format_jsonl_broken", path), day)

    assert _logged_counts(warehouse, "format_jsonl_broken", day) == (3, 1, 2)
    assert _reasons(warehouse, "format_jsonl_broken", day) == {
        2: f'{path} line 2: not valid JSON (Expecting property name enclosed in double quotes at column 20): '
           '{"ticker": "MSFT",',
        3: f"{path} line 3: not a JSON object: [1, 2]",
    }


@pytest.mark.parametrize("kwargs, message", [
    ({"url": "prices.txt"}, "cannot tell the format from the name; set format to one of csv, tsv, parquet"),
    ({"url": "prices.csv", "format": "xml"}, "format 'xml' is not one of csv, tsv"),
    ({"url": "prices.csv", "encoding": "utf-99"}, "unknown encoding 'utf-99'"),
    ({"url": "prices.csv", "read_options": {"chunksize": 5}}, "['chunksize'] are set by the csv reader itself"),
    ({"url": "prices.xlsx", "read_options": {"sheet_name": None}}, "sheet_name must name one sheet"),
    ({"url": "prices.jsonl", "read_options": {"orient": "records"}}, "['orient'] are not options of jsonl"),
])
def test_file_reader_settings_are_checked_up_front(kwargs, message):
    with pytest.raises(ValueError, match=f"^file source {kwargs['url']}: .*") as caught:
        FileReader(**kwargs)
    assert message in str(caught.value)


@pytest.mark.parametrize("kwargs, message", [
    ({"type": "text"}, "type 'text' is not one of int, float, str, date, datetime"),
    ({"type": "str", "min": 1}, "min/max apply to int and float columns, not str"),
    ({"type": "int", "min": 5, "max": 1}, "min 5 is above max 1"),
    ({"type": "str", "allowed": "EWR"}, "allowed must be a non-empty list of values"),
])
def test_column_declarations_are_checked(kwargs, message):
    with pytest.raises(ValueError, match="^column 'x': ") as caught:
        Column("x", **kwargs)
    assert message in str(caught.value)


# -- HTTP ------------------------------------------------------------------------------

@dataclass
class Endpoint:
    """One path of the test API: pages of records, served by ``?page=N`` or by next links."""

    pages: list[list[dict]] = field(default_factory=list)
    hang_first: int = 0   # this many requests are held unanswered until the test ends
    status: int = 200
    hits: int = 0
    seen: list[dict] = field(default_factory=list)  # query and Authorization of each request


@dataclass
class Api:
    base: str
    endpoints: dict[str, Endpoint]


@pytest.fixture
def api() -> Iterator[Api]:
    """A real JSON API on 127.0.0.1 (ephemeral port), one thread per request."""
    endpoints: dict[str, Endpoint] = {}
    release = threading.Event()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            endpoint = endpoints.get(url.path)
            if endpoint is None:
                return self._send(404, {"error": f"no such endpoint {url.path}"})
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            with lock:
                endpoint.hits += 1
                hit = endpoint.hits
                endpoint.seen.append({**query, "authorization": self.headers.get("Authorization")})
            if hit <= endpoint.hang_first:
                release.wait()  # the client has long timed out; answer nothing
                return None
            if endpoint.status != 200:
                return self._send(endpoint.status, {"error": "refused", "echo": self.path})
            page = int(query.get("page", 1))
            items = endpoint.pages[page - 1] if page <= len(endpoint.pages) else []
            following = f"{url.path}?page={page + 1}" if page < len(endpoint.pages) else None
            return self._send(200, {"data": items, "links": {"next": following}})

        def _send(self, status: int, body: dict) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args) -> None:  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Api(f"http://127.0.0.1:{server.server_address[1]}", endpoints)
    release.set()
    server.shutdown()
    server.server_close()


def _prices(day: dt.date, count: int, start: int = 0) -> list[dict]:
    return [{"ticker": f"T{i:02d}", "trade_date": day.isoformat(), "open": 10.0 + i, "high": 11.0 + i,
             "low": 9.0 + i, "close": 10.5 + i, "volume": 1000 * (i + 1), "adj_close": None}
            for i in range(start, start + count)]


def _http_source(name: str, reader: HttpJsonReader) -> Source:
    return Source(name, "raw_stock_prices", STOCK_PRICES, reader)


def test_http_page_numbers_assemble_every_page(warehouse, api):
    day = dt.date(2013, 6, 7)
    pages = [_prices(day, 5), _prices(day, 5, start=5), _prices(day, 2, start=10)]
    pages[1][3]["volume"] = "n/a"
    api.endpoints["/prices/2013-06-07"] = endpoint = Endpoint(pages)
    reader = HttpJsonReader(url=api.base + "/prices/{ds}", params={"as_of": "{ds}"}, page_param="page",
                            page_size_param="per_page", page_size=5, **QUICK)

    report = load_source(warehouse, _http_source("bad_stocks_http_pages", reader), day)

    assert (report.extracted, report.loaded, report.quarantined) == (12, 11, 1)
    assert [(q["page"], q["per_page"], q["as_of"]) for q in endpoint.seen] == [
        ("1", "5", "2013-06-07"), ("2", "5", "2013-06-07"), ("3", "5", "2013-06-07")]
    # An API has no lines: the row number is the record's ordinal in the extract, and the reason says so.
    assert _reasons(warehouse, "bad_stocks_http_pages", day) == {
        9: f"{api.base}/prices/{{ds}} row 9 of the extract: volume: expected int, got n/a"}
    logged = _last_log(warehouse, "bad_stocks_http_pages", day)
    assert (logged["extractor"], logged["status"], logged["rows_loaded"]) == ("http", "ok", 11)


def test_http_page_numbers_stop_on_an_empty_page(warehouse, api):
    day = dt.date(2013, 6, 8)
    api.endpoints["/full"] = endpoint = Endpoint([_prices(day, 3), _prices(day, 3, start=3)])
    reader = HttpJsonReader(url=api.base + "/full", page_param="page", page_size=3, **QUICK)

    report = load_source(warehouse, _http_source("bad_stocks_http_full", reader), day)

    assert (report.extracted, report.loaded, endpoint.hits) == (6, 6, 3)


def test_http_next_links_and_bearer_token(warehouse, api, monkeypatch):
    day = dt.date(2013, 6, 10)
    monkeypatch.setenv("BAD_STOCKS_TOKEN", "s3cr3t-token")
    api.endpoints["/linked"] = endpoint = Endpoint([_prices(day, 4), _prices(day, 4, start=4), _prices(day, 1, start=8)])
    reader = HttpJsonReader(url=api.base + "/linked", next_path="links.next", token_env="BAD_STOCKS_TOKEN", **QUICK)

    report = load_source(warehouse, _http_source("bad_stocks_http_links", reader), day)

    assert (report.extracted, report.loaded, endpoint.hits) == (9, 9, 3)
    assert [q.get("page") for q in endpoint.seen] == [None, "2", "3"]
    assert {q["authorization"] for q in endpoint.seen} == {"Bearer s3cr3t-token"}


def test_http_retries_timeouts_then_loads(warehouse, api):
    day = dt.date(2013, 6, 11)
    api.endpoints["/slow"] = endpoint = Endpoint([_prices(day, 3)], hang_first=2)
    reader = HttpJsonReader(url=api.base + "/slow", attempts=4, **HANGING)

    report = load_source(warehouse, _http_source("bad_stocks_http_slow", reader), day)

    assert (report.loaded, endpoint.hits) == (3, 3)


def test_http_gives_up_after_attempts_and_keeps_the_previous_load(warehouse, api):
    day = dt.date(2013, 6, 12)
    api.endpoints["/good"] = Endpoint([_prices(day, 4)])
    api.endpoints["/dead"] = dead = Endpoint([_prices(day, 4)], hang_first=10**6)
    load_source(warehouse, _http_source("bad_stocks_http_dead", HttpJsonReader(url=api.base + "/good", **QUICK)), day)
    assert _counts(warehouse, "bad_stocks_http_dead", day) == (4, 0)

    failing = _http_source("bad_stocks_http_dead", HttpJsonReader(url=api.base + "/dead", attempts=3, **HANGING))
    with pytest.raises(SourceError) as caught:
        load_source(warehouse, failing, day)

    assert str(caught.value) == f"GET {api.base}/dead: gave up after 3 attempts: read timed out after 0.2s"
    assert dead.hits == 3
    assert _counts(warehouse, "bad_stocks_http_dead", day) == (4, 0)
    logged = _last_log(warehouse, "bad_stocks_http_dead", day)
    assert logged["status"] == "failed" and "gave up after 3 attempts" in logged["error"]


def test_http_client_error_fails_at_once_with_credentials_masked(warehouse, api, monkeypatch):
    day = dt.date(2013, 6, 13)
    monkeypatch.setenv("BAD_STOCKS_TOKEN", "s3cr3t-token")
    api.endpoints["/forbidden"] = endpoint = Endpoint(status=403)
    host = api.base.removeprefix("http://")
    reader = HttpJsonReader(url=f"http://robot:hunter2@{host}/forbidden", params={"api_key": "k-123", "day": "{ds}"},
                            token_env="BAD_STOCKS_TOKEN", attempts=4, **QUICK)

    with pytest.raises(SourceError) as caught:
        load_source(warehouse, _http_source("bad_stocks_http_403", reader), day)

    message = str(caught.value)
    assert endpoint.hits == 1
    assert f"GET http://robot:***@{host}/forbidden?api_key=***&day=2013-06-13: HTTP 403 Forbidden" in message
    logged = _last_log(warehouse, "bad_stocks_http_403", day)
    for text in (message, logged["error"]):
        assert "hunter2" not in text and "k-123" not in text and "s3cr3t" not in text


def test_http_not_found_is_not_retried(warehouse, api):
    day = dt.date(2013, 6, 14)
    api.endpoints["/gone"] = endpoint = Endpoint(status=404)
    reader = HttpJsonReader(url=api.base + "/gone", attempts=4, **QUICK)

    with pytest.raises(PermanentSourceError, match=r"^GET http://127\.0\.0\.1:\d+/gone: HTTP 404 Not Found \(not retried"):
        load_source(warehouse, _http_source("bad_stocks_http_404", reader), day)

    assert endpoint.hits == 1


# -- database --------------------------------------------------------------------------

def test_unreachable_database_names_the_host_not_the_password(warehouse):
    day = dt.date(2013, 6, 17)
    reader = SqlReader(query="flights_for_date.sql", url="postgresql+psycopg2://nobody:pw-0451@127.0.0.1:1/none")

    with pytest.raises(SourceError) as caught:
        load_source(warehouse, Source("bad_flights_db", "raw_flights", FLIGHTS, reader), day)

    message = str(caught.value)
    assert "postgresql+psycopg2://nobody:***@127.0.0.1:1/none" in message and "unreachable" in message
    logged = _last_log(warehouse, "bad_flights_db", day)
    assert (logged["status"], logged["extractor"]) == ("failed", "sql")
    assert "127.0.0.1" in logged["error"]
    assert "pw-0451" not in message and "pw-0451" not in logged["error"]
